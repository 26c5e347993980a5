// The `facegan` command: one program for the library's jobs. Run `facegan --help`, or
// `facegan <command> --help` for each command's options. The commands are in tools/commands.hpp.
#include "commands.hpp"

#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{
      "facegan: face GANs of CVPR 2018 (Bao et al. open-set synthesis, PairedCycleGAN makeup, DeRL) on "
      "LibTorch.\nData sets, losses and tasks are built from JSON specs {\"type\": name, ...options}; "
      "`facegan list` shows them with their options."};
  app.require_subcommand(1);
  app.footer(
      "Memory: facegan keeps freed CPU blocks of up to 1 GiB in the process for reuse (facegan::tune_cpu_heap: "
      "forward passes up to a quarter faster, training peaks up to ~6 % higher). Setting MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ "
      "in the environment overrides it.");
  app.set_version_flag("--version", "facegan 0.1.0");

  facegan::cli::Invocation invocation;
  invocation.command_line = "facegan";
  for (int i = 1; i < argc; ++i) invocation.command_line += std::string(" ") + argv[i];
  for (const auto add : facegan::cli::kCommands) add(app, invocation);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    facegan::tune_cpu_heap();
    if (invocation.job) return invocation.job();
  } catch (const std::exception& e) {
    std::cerr << "facegan: " << facegan::error_message(e) << std::endl;
    return 1;
  }
  return 0;
}
