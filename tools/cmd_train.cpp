// `facegan train`, `facegan resume` and `facegan eval`: the commands that start, continue and
// evaluate a run or a pipeline of runs.
#include "commands.hpp"

#include <facegan/core/error.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/pipeline.hpp>
#include <facegan/train/trainer.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace facegan::cli {
namespace {

/// A config file (train) or a run folder (resume, eval), and the --set overrides.
struct RunArgs {
  std::string path;
  std::vector<std::string> sets;
};

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

/// The single-run config a run folder's config.json holds (written by the trainer), with out_dir
/// set to `run_dir` and `sets` applied: what `resume` and `eval` read. ConfigError naming the folder
/// when it is not a run folder.
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

int run_train(const RunArgs& args) {
  json config = load_json_file(args.path);
  apply_overrides(config, args.sets);
  return run_config(config);
}

int run_resume(const RunArgs& args) {
  const fs::path pipeline = fs::path(args.path) / "pipeline.json";
  if (fs::exists(pipeline)) {
    json config = load_json_file(pipeline.string());
    config["trainer"]["out_dir"] = args.path;
    apply_overrides(config, args.sets);
    return run_config(config);
  }
  json config = run_folder_config(args.path, args.sets);
  config["trainer"]["resume"] = "auto";
  return run_config(config);
}

int run_eval(const RunArgs& args) {
  const json config = run_folder_config(args.path, args.sets);
  auto trainer = train::Trainer::from_config(config);
  const auto latest = train::latest_checkpoint((fs::path(args.path) / "checkpoints").string());
  if (!latest) throw CheckpointError("no checkpoint in " + args.path + "/checkpoints to evaluate");
  trainer->load_checkpoint(latest->path);
  const json metrics = trainer->evaluate();
  std::printf("%s\n", json{{"step", latest->step}, {"checkpoint", latest->path}, {"metrics", metrics}}.dump(2).c_str());
  return 0;
}

}  // namespace

void add_train_commands(CLI::App& app, Invocation& invocation) {
  auto train_args = std::make_shared<RunArgs>();
  auto* train = app.add_subcommand(
      "train", "Train from a JSON config: a single run, or a pipeline of stages run in order (see configs/ and "
               "docs/training.md)");
  train->add_option("--config", train_args->path,
                    "Config file: {\"trainer\", \"task\", \"data\"}, or {\"trainer\", \"data\", \"stages\": [...]}")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--set", train_args->sets,
                    "Config overrides, e.g. --set trainer.steps=200, or a stage's: --set stages.classify.trainer.steps=50");
  on_run(train, invocation, train_args, run_train);

  auto resume_args = std::make_shared<RunArgs>();
  auto* resume = app.add_subcommand(
      "resume", "Continue a run or a pipeline from its latest checkpoint (exactly where it stopped)");
  resume->add_option("--run", resume_args->path, "The run folder (trainer.out_dir of the run or of the pipeline)")
      ->required()
      ->check(CLI::ExistingDirectory);
  resume->add_option("--set", resume_args->sets, "Config overrides, e.g. --set trainer.steps=2000 to train longer");
  on_run(resume, invocation, resume_args, run_resume);

  auto eval_args = std::make_shared<RunArgs>();
  auto* eval = app.add_subcommand("eval", "Evaluate a run's latest checkpoint on its eval data set; prints JSON");
  eval->add_option("--run", eval_args->path, "The run folder")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--set", eval_args->sets, "Config overrides, e.g. --set data.eval.num_samples=500");
  on_run(eval, invocation, eval_args, run_eval);
}

}  // namespace facegan::cli
