#pragma once
// The commands of `facegan`: one registration function per command (or per group of related
// commands), listed in kCommands. main() adds them all, parses, and runs the job chosen.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

namespace facegan::cli {

/// What the command line asks for. A command's CLI11 callback stores its job here instead of
/// running it, so that main() runs it after the whole line has parsed: usage errors keep CLI11's
/// messages and exit codes, tune_cpu_heap() runs before any job, and a job's exception becomes
/// "facegan: <message>" with exit status 1.
struct Invocation {
  /// "facegan ARG...", recorded by `experiment` in its results.
  std::string command_line;
  /// Returns the exit status; empty until a command is chosen.
  std::function<int()> job;
};

/// Makes `command`'s callback hand `job(args)` to main(). The arguments live in a shared object
/// because the options write into it during parsing and the job reads it afterwards.
template <class Args, class Job>
void on_run(CLI::App* command, Invocation& invocation, std::shared_ptr<Args> args, Job job) {
  command->callback([&invocation, args, job] { invocation.job = [args, job] { return job(*args); }; });
}

void add_list_command(CLI::App& app, Invocation& invocation);
/// render and pack (cmd_data.cpp).
void add_data_commands(CLI::App& app, Invocation& invocation);
/// train, resume and eval: the commands on a run folder (cmd_train.cpp).
void add_train_commands(CLI::App& app, Invocation& invocation);
void add_experiment_command(CLI::App& app, Invocation& invocation);
/// infer and its operations on photos (photo_commands.cpp), with `infer translate`.
void add_infer_command(CLI::App& app, Invocation& invocation);
void add_detect_command(CLI::App& app, Invocation& invocation);
/// import and export of PyTorch state dicts (cmd_weights.cpp).
void add_weights_commands(CLI::App& app, Invocation& invocation);
/// `infer translate`, added by add_infer_command (cmd_weights.cpp).
void add_translate_operation(CLI::App& infer, Invocation& invocation);
void add_report_command(CLI::App& app, Invocation& invocation);

using AddCommands = void (*)(CLI::App& app, Invocation& invocation);

/// In the order `facegan --help` lists them.
inline constexpr AddCommands kCommands[] = {
    add_list_command,   add_data_commands, add_train_commands,   add_experiment_command,
    add_infer_command,  add_detect_command, add_weights_commands, add_report_command,
};

}  // namespace facegan::cli
