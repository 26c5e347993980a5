// `facegan experiment`: every variant of a spec for every seed (and fold), its baselines, and the
// table of paired comparisons (docs/experiments.md).
#include "commands.hpp"

#include <facegan/core/error.hpp>
#include <facegan/experiment/experiment.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace facegan::cli {
namespace {

/// Arguments of `facegan experiment`.
struct ExperimentArgs {
  std::string spec;
  std::vector<std::string> sets;
  /// Overrides of the spec itself ("data.folds=2").
  std::vector<std::string> spec_sets;
  std::string seeds;
  /// Only these folds, e.g. "0,1" (tuning on part of the folds).
  std::string folds;
  std::string out;
  std::string split = "held_out";
  std::vector<std::string> only;
  int64_t threads = 0;
  bool validate_only = false;
};

/// A comma-separated list of integers given to `flag` (--seeds, --folds).
std::vector<int64_t> parse_integers(const std::string& flag, const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      values.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ConfigError(flag + ": '" + item + "' is not an integer (expected e.g. " + flag + " 0,1,2)");
    }
  }
  if (values.empty()) throw ConfigError(flag + ": no value given (expected e.g. " + flag + " 0,1,2)");
  return values;
}

/// Runs an experiment spec; returns the exit status (130 when interrupted).
int run_experiment(const ExperimentArgs& args, const std::string& command_line) {
  json raw = load_json_file(args.spec);
  apply_overrides(raw, args.spec_sets);
  const experiment::ExperimentSpec spec = experiment::parse_spec(raw, args.spec);
  experiment::RunOptions options;
  options.out_dir = args.out.empty() ? (fs::path("runs") / "experiments" / spec.name).string() : args.out;
  options.split = args.split;
  if (!args.seeds.empty()) options.seeds = parse_integers("--seeds", args.seeds);
  if (!args.folds.empty()) options.folds = parse_integers("--folds", args.folds);
  options.only = args.only;
  options.set = args.sets;
  options.threads = args.threads;
  options.command = command_line;
  if (args.validate_only) {
    experiment::validate_experiment(spec, options);
    std::printf("%s: valid (%zu variants, %zu baselines)\n", args.spec.c_str(), spec.variants.size(), spec.baselines.size());
    return 0;
  }
  try {
    experiment::run_experiment(spec, options);
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "facegan: %s\n", e.what());
    return 130;
  }
  return 0;
}

}  // namespace

void add_experiment_command(CLI::App& app, Invocation& invocation) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* experiment = app.add_subcommand(
      "experiment", "Run an experiment spec: every variant for every seed (and fold), its baselines, and a table of "
                    "mean ± std with paired 95% intervals (configs/experiments/, docs/experiments.md)");
  experiment->add_option("--spec", args->spec, "Experiment spec (JSON)")->required()->check(CLI::ExistingFile);
  experiment->add_option("--set", args->sets,
                         "Overrides of every variant's config, applied last, e.g. --set stages.classify.trainer.steps=50");
  experiment->add_option("--spec-set", args->spec_sets,
                         "Overrides of the spec itself, e.g. --spec-set data.folds=2 --spec-set data.pool.num_samples=600");
  experiment->add_option("--seeds", args->seeds, "Seeds instead of the spec's, e.g. --seeds 1,2,3");
  experiment->add_option("--folds", args->folds,
                         "Only these folds of a folds protocol, e.g. --folds 0,1 (tuning on part of the folds)");
  experiment->add_option("--out", args->out, "Output folder (default runs/experiments/<name>)");
  experiment->add_option("--split", args->split,
                         "held_out (the table) or selection (training identities: for choosing settings)")
      ->check(CLI::IsMember({"held_out", "selection"}));
  experiment->add_option("--only", args->only, "Only these variants (comma-separated names)")->delimiter(',');
  experiment->add_option("--threads", args->threads, "Intra-op threads of every run (0: the configs' own)")
      ->check(CLI::NonNegativeNumber);
  experiment->add_flag("--validate", args->validate_only,
                       "Only check the spec (every variant's configs, baselines, data, scorers) and exit");
  on_run(experiment, invocation, args,
         [&invocation](const ExperimentArgs& a) { return run_experiment(a, invocation.command_line); });
}

}  // namespace facegan::cli
