#pragma once
// Running a DeRL experiment config: one Trainer per stage on given data sets. Shared by
// examples/derl.cpp and benchmarks/derl_table.cpp so that both read the same configs
// (configs/derl_*.json).
//
// Config layout:
//   {"data": {"train": dataset spec, "eval": dataset spec (optional), "loader": LoaderOptions},
//    "deexpression": {"trainer": TrainerOptions, "task": DeRLTaskOptions},
//    "classify":     {"trainer": ..., "task": ...},
//    "baseline_cnn": {"trainer": ..., "task": ...}      (optional; the benchmark's comparison)
//    "protocol":     {"folds": k, "seed": s}}           (optional; the benchmark's k-fold split)
// Each stage's "task" gets "stage" set to the stage's key; its "type" may be omitted ("derl").

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/train/trainer.hpp>

#include <memory>
#include <ostream>
#include <string>

namespace facegan::models {

/// A trained stage: its task, its trainer (for evaluate()) and its last checkpoint.
struct DeRLStageRun {
  std::shared_ptr<DeRLTask> task;
  std::unique_ptr<train::Trainer> trainer;
  std::string checkpoint;
};

/// Trains stage `stage` ("deexpression", "classify" or "baseline_cnn") of `config` on `train_data`
/// (evaluating on `eval_data`, which may be null). `trainer_overrides` and `task_overrides` are
/// merged over the stage's trainer and task objects (e.g. {"steps": 200}, {"generator_checkpoint":
/// path}). Seeds torch with the trainer's seed before the task builds its networks; progress goes
/// to `progress`. ConfigError naming the key when the config is malformed.
DeRLStageRun train_derl_stage(const json& config, const std::string& stage,
                              std::shared_ptr<const data::Dataset> train_data,
                              std::shared_ptr<const data::Dataset> eval_data, const json& trainer_overrides = {},
                              const json& task_overrides = {}, std::ostream* progress = nullptr);

}  // namespace facegan::models
