#pragma once
// `facegan experiment` and the pipeline side of `facegan train` / `facegan resume`.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace facegan::cli {

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

/// Runs an experiment spec; returns the exit status (130 when interrupted).
int run_experiment(const ExperimentArgs& args, const std::string& command_line);

/// Trains a config (a pipeline of stages, or a single run) after applying `sets`; exit status.
int train_config(const std::string& config_path, const std::vector<std::string>& sets);

/// The single-run config a run folder's config.json holds (written by the trainer), with out_dir
/// set to `run_dir` and `sets` applied: what `resume` and `eval` read. ConfigError naming the folder
/// when it is not a run folder.
nlohmann::json run_folder_config(const std::string& run_dir, const std::vector<std::string>& sets);

/// Continues the run in `run_dir`: a pipeline folder (pipeline.json) or a single run (config.json).
int resume_run(const std::string& run_dir, const std::vector<std::string>& sets);

}  // namespace facegan::cli
