#include <facegan/core/error.hpp>
#include <facegan/models/derl/derl_experiment.hpp>

namespace facegan::models {

DeRLStageRun train_derl_stage(const json& config, const std::string& stage,
                              std::shared_ptr<const data::Dataset> train_data,
                              std::shared_ptr<const data::Dataset> eval_data, const json& trainer_overrides,
                              const json& task_overrides, std::ostream* progress) {
  if (!config.is_object() || !config.contains(stage) || !config.at(stage).is_object()) {
    throw ConfigError("derl config: missing stage object '" + stage + "'");
  }
  const json& stage_cfg = config.at(stage);
  for (auto it = stage_cfg.begin(); it != stage_cfg.end(); ++it) {
    if (it.key() != "trainer" && it.key() != "task") {
      throw ConfigError("derl config: " + stage + ": unknown key '" + it.key() + "'; known: task, trainer");
    }
  }
  json trainer_json = stage_cfg.value("trainer", json::object());
  if (trainer_overrides.is_object()) trainer_json.merge_patch(trainer_overrides);
  json task_json = stage_cfg.value("task", json::object());
  if (task_overrides.is_object()) task_json.merge_patch(task_overrides);
  if (task_json.contains("type") && task_json.at("type") != DeRLTask::kType) {
    throw ConfigError("derl config: " + stage + ".task.type must be 'derl'");
  }
  task_json.erase("type");
  task_json["stage"] = stage;
  const train::TrainerOptions options = apply_json(train::TrainerOptions(), trainer_json, stage + ".trainer");
  const json data_cfg = config.value("data", json::object());
  data::LoaderOptions loader =
      apply_json(data::LoaderOptions(16), data_cfg.value("loader", json::object()), "data.loader");
  if (!data_cfg.contains("loader") || !data_cfg.at("loader").contains("seed")) loader.seed(options.seed());

  torch::manual_seed(static_cast<uint64_t>(options.seed()));
  DeRLStageRun run;
  run.task = std::make_shared<DeRLTask>(apply_json(DeRLTaskOptions(), task_json, stage + ".task"));
  run.trainer = std::make_unique<train::Trainer>(options, run.task, std::move(train_data), loader, nullptr,
                                                 std::move(eval_data));
  if (progress) run.trainer->set_progress_stream(*progress);
  run.checkpoint = train::require_completed(run.trainer->fit()).checkpoint;
  return run;
}

}  // namespace facegan::models
