#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/core/json_keys.hpp>
#include <facegan/train/pipeline.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

namespace fs = std::filesystem;

namespace facegan::train {
namespace {

const json& stage_object(const json& config, const std::string& name) {
  for (const auto& s : config.at("stages")) {
    if (s.value("name", "") == name) return s;
  }
  throw ConfigError("pipeline: no stage named '" + name + "'; stages: " + join_names(pipeline_stage_names(config)));
}

/// data::create_dataset, each distinct spec built once (stages often share their data).
DatasetResolver caching_resolver() {
  auto cache = std::make_shared<std::map<std::string, std::shared_ptr<const data::Dataset>>>();
  return [cache](const json& spec, const std::string& where) {
    auto& slot = (*cache)[spec.dump()];
    if (!slot) slot = data::create_dataset(spec, where);
    return slot;
  };
}

}  // namespace

StageRun& PipelineRun::stage(const std::string& name) {
  std::vector<std::string> names;
  for (auto& s : stages) {
    if (s.name == name) return s;
    names.push_back(s.name);
  }
  throw ConfigError("pipeline run: no stage '" + name + "'; it ran: " + join_names(names));
}

bool is_pipeline(const json& config) { return config.is_object() && config.contains("stages"); }

std::vector<std::string> pipeline_stage_names(const json& config) {
  require_known_keys(config, {"trainer", "data", "stages", "description"}, "pipeline");
  const json& stages = config.at("stages");
  if (!stages.is_array() || stages.empty()) {
    throw ConfigError("pipeline: 'stages' must be a non-empty list of {\"name\", \"task\", ...}");
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string where = "stages[" + std::to_string(i) + "]";
    const json& s = stages[i];
    require_known_keys(s, {"name", "trainer", "task", "data", "inputs", "description"}, where);
    if (!s.contains("name") || !s.at("name").is_string() || !is_snake_name(s.at("name").get<std::string>())) {
      throw ConfigError(where + ".name: every stage needs a lowercase snake name ([a-z][a-z0-9_]*)");
    }
    const std::string name = s.at("name").get<std::string>();
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw ConfigError(where + ".name: stage '" + name + "' appears twice");
    }
    if (!s.contains("task")) throw ConfigError(where + " ('" + name + "'): missing 'task'");
    if (s.contains("inputs")) {
      const json& inputs = s.at("inputs");
      if (!inputs.is_object()) throw ConfigError(where + ".inputs: expected an object {task key: earlier stage}");
      for (auto it = inputs.begin(); it != inputs.end(); ++it) {
        if (!it->is_string() || std::find(names.begin(), names.end(), it->get<std::string>()) == names.end()) {
          throw ConfigError(where + ".inputs." + it.key() + ": must name an earlier stage (" +
                            (names.empty() ? std::string("there is none") : join_names(names)) + "), got " + it->dump());
        }
      }
    }
    names.push_back(name);
  }
  return names;
}

json stage_config(const json& config, const std::string& name, const std::map<std::string, std::string>& checkpoints) {
  pipeline_stage_names(config);  // the structure first, so that every error below names a real key
  const json& s = stage_object(config, name);
  const std::string where = "stages." + name;
  json trainer = config.value("trainer", json::object());
  if (!trainer.is_object()) throw ConfigError("pipeline.trainer: expected an object");
  const std::string root = trainer.value("out_dir", std::string("runs/pipeline"));
  trainer["out_dir"] = (fs::path(root) / name).string();
  // A stage's key replaces the shared key as a whole (a stage's own data set is not mixed with the
  // shared one); null removes it.
  auto overlay = [&](json& shared, const std::string& key) {
    if (!s.contains(key)) return;
    if (!s.at(key).is_object()) throw ConfigError(where + "." + key + ": expected an object");
    for (auto it = s.at(key).begin(); it != s.at(key).end(); ++it) {
      if (it->is_null()) shared.erase(it.key());
      else shared[it.key()] = *it;
    }
  };
  overlay(trainer, "trainer");
  json data = config.value("data", json::object());
  if (!data.is_object()) throw ConfigError("pipeline.data: expected an object");
  overlay(data, "data");
  json task = s.at("task");
  if (s.contains("inputs")) {
    const json& inputs = s.at("inputs");
    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
      const std::string key = where + ".inputs." + it.key();
      auto found = checkpoints.find(it->get<std::string>());
      set_json_path(task, it.key(), found == checkpoints.end() ? std::string() : found->second, key);
    }
  }
  return json{{"trainer", trainer}, {"task", task}, {"data", data}};
}

void validate_pipeline(const json& config, const DatasetResolver& resolve) {
  const DatasetResolver make = resolve ? resolve : caching_resolver();
  for (const std::string& name : pipeline_stage_names(config)) {
    const json cfg = stage_config(config, name, {});
    const std::string where = "stages." + name;
    try {
      apply_json(TrainerOptions(), cfg.at("trainer"), "trainer");
      create_task(cfg.at("task"), "task");
      const json& data = cfg.at("data");
      if (!data.contains("train")) throw ConfigError("data: missing 'train'");
      make(data.at("train"), "data.train");
      if (data.contains("eval")) make(data.at("eval"), "data.eval");
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    }
  }
}

PipelineRun run_pipeline(const json& config, const PipelineOptions& options) {
  const std::vector<std::string> names = pipeline_stage_names(config);
  const DatasetResolver resolve = options.resolve ? options.resolve : caching_resolver();
  const std::string root = config.value("trainer", json::object()).value("out_dir", std::string("runs/pipeline"));
  fs::create_directories(root);
  write_file_atomic((fs::path(root) / "pipeline.json").string(), config.dump(2) + "\n");
  std::ostream& out = options.progress ? *options.progress : std::cout;
  PipelineRun run;
  std::map<std::string, std::string> checkpoints;
  for (size_t i = 0; i < names.size(); ++i) {
    StageRun stage;
    stage.name = names[i];
    stage.config = stage_config(config, names[i], checkpoints);
    out << "pipeline: stage " << i + 1 << "/" << names.size() << " '" << names[i] << "' in "
        << stage.config["trainer"].value("out_dir", "") << std::endl;
    try {
      stage.trainer = Trainer::from_config(stage.config, resolve);
    } catch (const ConfigError& e) {
      throw ConfigError("stages." + names[i] + ": " + e.what());
    }
    stage.trainer->set_progress_stream(out);
    const TrainResult result = stage.trainer->fit();
    stage.checkpoint = result.checkpoint;
    checkpoints[names[i]] = result.checkpoint;
    if (!options.keep_trainers && !run.stages.empty()) run.stages.back().trainer.reset();
    run.stages.push_back(std::move(stage));
    if (result.status == RunStatus::kInterrupted) {
      run.status = RunStatus::kInterrupted;
      return run;
    }
  }
  return run;
}

}  // namespace facegan::train
