#pragma once
// Multi-stage training as data: a config whose "stages" run one after another through the Trainer,
// a later stage reading an earlier stage's final checkpoint (DeRL: the de-expression generator,
// then the classifier on it frozen; open-set: the identity classifier, then the model warm-started
// from it). `facegan train` runs a pipeline config as it runs a single one.
//
// A pipeline config:
//   {"trainer": TrainerOptions shared by every stage (its out_dir is the pipeline's folder),
//    "data":    {"train", "eval", "loader", "transforms"} shared by every stage,
//    "stages":  [{"name": "deexpression", "trainer": {...}, "task": {...}, "data": {...}},
//                {"name": "classify", "inputs": {"generator_checkpoint": "deexpression"}, ...}]}
// A stage's "trainer" and "data" keys replace the shared ones of the same name (a stage's own
// "train" data set is not mixed with the shared one; a null removes a shared key, e.g. "eval": null
// for a stage that cannot read the shared eval set); it trains
// in <out_dir>/<name>. "inputs" maps a dotted key of the stage's task options to an earlier stage:
// the key receives that stage's final checkpoint path. Each stage resumes from its own checkpoints,
// and a finished stage is not trained again, so an interrupted pipeline continues where it stopped.

#include <facegan/core/config.hpp>
#include <facegan/train/trainer.hpp>

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace facegan::train {

/// One stage of a pipeline after it ran.
struct StageRun {
  std::string name;
  /// The stage's complete single-run config (what its out_dir/config.json holds).
  json config;
  std::unique_ptr<Trainer> trainer;
  /// Its final checkpoint.
  std::string checkpoint;
};

/// What run_pipeline did.
struct PipelineRun {
  RunStatus status = RunStatus::kCompleted;
  /// The stages that ran, in order (up to the interrupted one).
  std::vector<StageRun> stages;
  /// The stage called `name`; ConfigError listing the stage names when there is none.
  StageRun& stage(const std::string& name);
};

/// Options of run_pipeline.
struct PipelineOptions {
  /// Data set specs go through this (default: data::create_dataset, each distinct spec built once).
  DatasetResolver resolve;
  /// Where the trainers' progress goes (default std::cout).
  std::ostream* progress = nullptr;
  /// Trainers of stages before the last are released once their successor has started (they hold
  /// networks and data); keep them when true.
  bool keep_trainers = false;
};

/// True for a config with "stages" (a pipeline); false for a single run {"trainer", "task", "data"}.
bool is_pipeline(const json& config);

/// The names of the stages in order. ConfigError naming the key when the pipeline's structure is
/// wrong: an unknown key at the top or in a stage, a stage name that is not snake case or appears
/// twice, an input naming no earlier stage, no stages.
std::vector<std::string> pipeline_stage_names(const json& config);

/// Stage `name`'s own single-run config: the shared trainer and data merged under its own,
/// trainer.out_dir = <pipeline out_dir>/<name>, each input key set to `checkpoints[stage]` (left
/// empty when that stage has no entry, as validation does). ConfigError naming the key.
json stage_config(const json& config, const std::string& name, const std::map<std::string, std::string>& checkpoints);

/// Builds every stage's trainer options, task (inputs not loaded) and data sets without training:
/// what run_pipeline would reject, it rejects first, naming the stage and the key.
void validate_pipeline(const json& config, const DatasetResolver& resolve = nullptr);

/// Trains the stages in order (see the file comment). Writes the whole config to
/// <out_dir>/pipeline.json first (`facegan resume --run <out_dir>` continues from it). Stops after
/// an interrupted stage with status kInterrupted. Throws what the trainers throw.
PipelineRun run_pipeline(const json& config, const PipelineOptions& options = {});

}  // namespace facegan::train
