#include "cmd_experiment.hpp"

#include <facegan/core/error.hpp>
#include <facegan/experiment/experiment.hpp>
#include <facegan/train/pipeline.hpp>
#include <facegan/train/trainer.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace facegan::cli {
namespace {

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

int finish(const train::TrainResult& r) {
  std::printf("%s at step %lld; last checkpoint %s\n", enum_to_string(r.status).c_str(), static_cast<long long>(r.step),
              r.checkpoint.empty() ? "none" : r.checkpoint.c_str());
  return r.status == train::RunStatus::kCompleted ? 0 : 130;
}

int run_config(const json& config) {
  if (!train::is_pipeline(config)) return finish(train::Trainer::from_config(config)->fit());
  train::validate_pipeline(config);
  const train::PipelineRun run = train::run_pipeline(config);
  for (const auto& s : run.stages) std::printf("stage %s: checkpoint %s\n", s.name.c_str(), s.checkpoint.c_str());
  if (run.status == train::RunStatus::kInterrupted) {
    std::printf("interrupted in stage %s; continue with `facegan resume --run %s`\n", run.stages.back().name.c_str(),
                config.value("trainer", json::object()).value("out_dir", std::string("runs/pipeline")).c_str());
    return 130;
  }
  return 0;
}

}  // namespace

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

int train_config(const std::string& config_path, const std::vector<std::string>& sets) {
  json config = load_json_file(config_path);
  apply_overrides(config, sets);
  return run_config(config);
}

int resume_run(const std::string& run_dir, const std::vector<std::string>& sets) {
  const fs::path pipeline = fs::path(run_dir) / "pipeline.json";
  if (fs::exists(pipeline)) {
    json config = load_json_file(pipeline.string());
    config["trainer"]["out_dir"] = run_dir;
    apply_overrides(config, sets);
    return run_config(config);
  }
  json config = run_folder_config(run_dir, sets);
  config["trainer"]["resume"] = "auto";
  return run_config(config);
}

json run_folder_config(const std::string& run_dir, const std::vector<std::string>& sets) {
  const fs::path path = fs::path(run_dir) / "config.json";
  if (!fs::exists(path)) {
    throw ConfigError(run_dir + " is not a run folder of `facegan train` (no pipeline.json or config.json)");
  }
  json config = load_json_file(path.string());
  if (!config.contains("data")) {
    throw ConfigError(path.string() + " holds no \"data\" section: the run was not started by `facegan train`");
  }
  config["trainer"]["out_dir"] = run_dir;
  apply_overrides(config, sets);
  return config;
}

}  // namespace facegan::cli
