// `facegan report`: one HTML page of the runs under a folder.
#include "commands.hpp"

#include <facegan/eval/report.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

namespace facegan::cli {
namespace {

struct ReportArgs {
  std::string runs;
  std::string out;
  std::string title;
};

int run_report(const ReportArgs& args) {
  eval::ReportOptions options;
  if (!args.title.empty()) options.title = args.title;
  const std::string path = args.out.empty() ? (std::filesystem::path(args.runs) / "report.html").string() : args.out;
  const auto s = eval::write_report(args.runs, path, options);
  std::printf("wrote %s: %d sections, %d images, %d tables, %d plots\n", path.c_str(), s.sections, s.images, s.tables,
              s.plots);
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, Invocation& invocation) {
  auto args = std::make_shared<ReportArgs>();
  auto* report = app.add_subcommand(
      "report", "Write an HTML report (sample grids, loss curves, evaluation tables) of the runs under a folder");
  report->add_option("--runs", args->runs, "Folder of runs: each sub-folder is a section (e.g. runs/demo)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report->add_option("--out", args->out, "Output HTML file (default: RUNS/report.html)");
  report->add_option("--title", args->title, "Page title");
  on_run(report, invocation, args, run_report);
}

}  // namespace facegan::cli
