// The `facegan` command: one program for the library's jobs. Run `facegan --help`, or
// `facegan <command> --help` for each command's options.
#include "cmd_experiment.hpp"
#include "cmd_weights.hpp"
#include "photo_commands.hpp"

#include <facegan/facegan.hpp>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

namespace {

using facegan::json;
namespace fs = std::filesystem;
using facegan::cli::InferArgs;
using facegan::cli::MakeupArgs;
using facegan::cli::PhotoOperation;

/// A JSON value given on the command line: inline JSON, or @path to a JSON file.
json json_argument(const std::string& text, const std::string& what) {
  if (!text.empty() && text[0] == '@') return facegan::load_json_file(text.substr(1));
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw facegan::ConfigError(what + " is not valid JSON (" + e.what() + "); pass JSON or @file.json");
  }
}

/// Prints "label  done/total  rate  ETA" on one line (a terminal) or every 10% (a log file).
class Progress {
 public:
  Progress(std::string label, size_t total)
      : label_(std::move(label)), total_(total), tty_(isatty(fileno(stdout)) != 0),
        start_(std::chrono::steady_clock::now()) {}
  void update(size_t done) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    if (tty_) {
      std::printf("\r%s %zu/%zu  %.0f/s  ETA %.0f s   ", label_.c_str(), done, total_, rate, eta);
      if (done == total_) std::printf("\n");
    } else if (done == total_ || done * 10 / std::max<size_t>(total_, 1) != last_decile_) {
      last_decile_ = done * 10 / std::max<size_t>(total_, 1);
      std::printf("%s %zu/%zu  %.0f/s\n", label_.c_str(), done, total_, rate);
    }
    std::fflush(stdout);
  }

 private:
  std::string label_;
  size_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  size_t last_decile_ = 0;
};

void print_registry_entry(const std::string& name, const std::string& summary, const json& defaults) {
  std::printf("  %-24s %s\n", name.c_str(), summary.c_str());
  if (!defaults.empty()) std::printf("  %-24s options: %s\n", "", defaults.dump().c_str());
}

int run_list(const std::string& what) {
  if (what == "all" || what == "datasets") {
    std::printf("data sets (\"dataset\": {\"type\": name, ...options}):\n");
    auto& reg = facegan::data::dataset_registry();
    for (const auto& name : reg.names()) print_registry_entry(name, reg.entry(name).summary, reg.entry(name).defaults);
  }
  if (what == "all" || what == "tasks") {
    std::printf("tasks (\"task\": {\"type\": name, ...options}):\n");
    auto& reg = facegan::train::task_registry();
    for (const auto& name : reg.names()) print_registry_entry(name, reg.entry(name).summary, reg.entry(name).defaults);
  }
  if (what == "all" || what == "losses") {
    std::printf("losses ({\"type\": name, ...options}):\n");
    auto& reg = facegan::losses::loss_registry();
    for (const auto& name : reg.names()) print_registry_entry(name, reg.entry(name).summary, reg.entry(name).defaults);
  }
  return 0;
}

struct RenderArgs {
  std::string out;
  int64_t count = 64;
  std::vector<std::string> sets;
};

int run_render(const RenderArgs& args) {
  json spec = {{"type", "synthetic_faces"}, {"num_samples", args.count}};
  facegan::apply_overrides(spec, args.sets);
  const auto dataset = facegan::data::create_dataset(spec, "render");
  if (fs::path(args.out).extension() == ".h5") {
    Progress progress("render+pack", dataset->size());
    auto options = facegan::data::PackOptions().progress_every(256);
    options.progress = [&](size_t done, size_t) { progress.update(done); };
    facegan::data::pack(*dataset, args.out, options);
    std::printf("wrote %zu faces to %s\n", dataset->size(), args.out.c_str());
    return 0;
  }
  fs::create_directories(args.out);
  std::ofstream factors(fs::path(args.out) / "factors.jsonl");
  Progress progress("render", dataset->size());
  for (size_t i = 0; i < dataset->size(); ++i) {
    const auto sample = dataset->get(i);
    char name[32];
    std::snprintf(name, sizeof(name), "face_%06zu.png", i);
    facegan::data::write_image((fs::path(args.out) / name).string(), sample.at("image"));
    // The landmarks in ibug's .pts format, which `infer transfer/remove` read.
    std::ofstream pts(fs::path(args.out) / (fs::path(name).stem().string() + ".pts"));
    const torch::Tensor lm = sample.at("landmarks").contiguous();
    pts << "version: 1\nn_points: " << lm.size(0) << "\n{\n";
    for (int64_t k = 0; k < lm.size(0); ++k) pts << lm[k][0].item<float>() << ' ' << lm[k][1].item<float>() << '\n';
    pts << "}\n";
    factors << json{{"file", name}, {"factors", sample.meta}}.dump() << "\n";
    if ((i + 1) % 64 == 0 || i + 1 == dataset->size()) progress.update(i + 1);
  }
  std::printf("wrote %zu faces (with .pts landmarks) and factors.jsonl to %s\n", dataset->size(), args.out.c_str());
  return 0;
}

int run_pack(const std::string& spec_text, const std::string& out, int64_t gzip) {
  const json spec = json_argument(spec_text, "--dataset");
  const auto dataset = facegan::data::create_dataset(spec, "--dataset");
  Progress progress("pack", dataset->size());
  auto options = facegan::data::PackOptions().gzip_level(gzip).progress_every(256);
  options.progress = [&](size_t done, size_t) { progress.update(done); };
  facegan::data::pack(*dataset, out, options);
  std::printf("wrote %zu samples of %s to %s\n", dataset->size(), dataset->type().c_str(), out.c_str());
  return 0;
}

int run_eval(const std::string& run_dir, const std::vector<std::string>& sets) {
  const json config = facegan::cli::run_folder_config(run_dir, sets);
  auto trainer = facegan::train::Trainer::from_config(config);
  const auto latest = facegan::train::latest_checkpoint((fs::path(run_dir) / "checkpoints").string());
  if (!latest) throw facegan::CheckpointError("no checkpoint in " + run_dir + "/checkpoints to evaluate");
  trainer->load_checkpoint(latest->path);
  const json metrics = trainer->evaluate();
  std::printf("%s\n", json{{"step", latest->step}, {"checkpoint", latest->path}, {"metrics", metrics}}.dump(2).c_str());
  return 0;
}


int run_report(const std::string& runs, const std::string& out, const std::string& title) {
  facegan::eval::ReportOptions options;
  if (!title.empty()) options.title = title;
  const std::string path = out.empty() ? (fs::path(runs) / "report.html").string() : out;
  const auto s = facegan::eval::write_report(runs, path, options);
  std::printf("wrote %s: %d sections, %d images, %d tables, %d plots\n", path.c_str(), s.sections, s.images, s.tables,
              s.plots);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "facegan: face GANs of CVPR 2018 (Bao et al. open-set synthesis, PairedCycleGAN makeup, DeRL) on "
      "LibTorch.\nData sets, losses and tasks are built from JSON specs {\"type\": name, ...options}; "
      "`facegan list` shows them with their options."};
  app.require_subcommand(1);
  app.footer(
      "Memory: facegan keeps freed CPU blocks of up to 1 GiB in the process for reuse (facegan::tune_cpu_heap: "
      "forward passes up to a quarter faster, training peaks up to ~6 % higher). Setting MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ "
      "in the environment overrides it.");
  app.set_version_flag("--version", "facegan 0.1.0");

  std::string list_what = "all";
  auto* list = app.add_subcommand("list", "List the registered tasks, data sets and losses with their default options");
  list->add_option("what", list_what, "all, tasks, datasets or losses")
      ->check(CLI::IsMember({"all", "tasks", "datasets", "losses"}));

  RenderArgs render_args;
  auto* render = app.add_subcommand(
      "render", "Render synthetic faces to a folder of PNGs (+ factors.jsonl) or to an HDF5 file (.h5)");
  render->add_option("--out", render_args.out, "Output folder, or a file ending in .h5")->required();
  render->add_option("--count", render_args.count, "Number of faces")->check(CLI::PositiveNumber);
  render->add_option("--set", render_args.sets,
                     "Renderer option overrides, e.g. --set size=128 --set split=held_out --set seed=3");

  std::string pack_spec, pack_out;
  int64_t pack_gzip = 0;
  auto* pack = app.add_subcommand("pack", "Pack any data set into one HDF5 file (layout: docs/hdf5-layout.md)");
  pack->add_option("--dataset", pack_spec, "Data set spec as JSON or @file.json, e.g. '{\"type\":\"celeba\",\"root\":\"/data/celeba\"}'")
      ->required();
  pack->add_option("--out", pack_out, "Output .h5 file")->required();
  pack->add_option("--gzip", pack_gzip, "gzip level 0-9 (0: off, fastest to read)")->check(CLI::Range(0, 9));

  std::string train_config;
  std::vector<std::string> train_sets;
  auto* train = app.add_subcommand(
      "train", "Train from a JSON config: a single run, or a pipeline of stages run in order (see configs/ and "
               "docs/training.md)");
  train->add_option("--config", train_config,
                    "Config file: {\"trainer\", \"task\", \"data\"}, or {\"trainer\", \"data\", \"stages\": [...]}")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--set", train_sets,
                    "Config overrides, e.g. --set trainer.steps=200, or a stage's: --set stages.classify.trainer.steps=50");

  std::string run_dir;
  std::vector<std::string> run_sets;
  auto* resume = app.add_subcommand(
      "resume", "Continue a run or a pipeline from its latest checkpoint (exactly where it stopped)");
  resume->add_option("--run", run_dir, "The run folder (trainer.out_dir of the run or of the pipeline)")->required()->check(
      CLI::ExistingDirectory);
  resume->add_option("--set", run_sets, "Config overrides, e.g. --set trainer.steps=2000 to train longer");
  auto* eval = app.add_subcommand("eval", "Evaluate a run's latest checkpoint on its eval data set; prints JSON");
  eval->add_option("--run", run_dir, "The run folder")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--set", run_sets, "Config overrides, e.g. --set data.eval.num_samples=500");

  facegan::cli::ExperimentArgs experiment_args;
  auto* experiment = app.add_subcommand(
      "experiment", "Run an experiment spec: every variant for every seed (and fold), its baselines, and a table of "
                    "mean ± std with paired 95% intervals (configs/experiments/, docs/experiments.md)");
  experiment->add_option("--spec", experiment_args.spec, "Experiment spec (JSON)")->required()->check(CLI::ExistingFile);
  experiment->add_option("--set", experiment_args.sets,
                         "Overrides of every variant's config, applied last, e.g. --set stages.classify.trainer.steps=50");
  experiment->add_option("--spec-set", experiment_args.spec_sets,
                         "Overrides of the spec itself, e.g. --spec-set data.folds=2 --spec-set data.pool.num_samples=600");
  experiment->add_option("--seeds", experiment_args.seeds, "Seeds instead of the spec's, e.g. --seeds 1,2,3");
  experiment->add_option("--folds", experiment_args.folds,
                         "Only these folds of a folds protocol, e.g. --folds 0,1 (tuning on part of the folds)");
  experiment->add_option("--out", experiment_args.out, "Output folder (default runs/experiments/<name>)");
  experiment->add_option("--split", experiment_args.split,
                         "held_out (the table) or selection (training identities: for choosing settings)")
      ->check(CLI::IsMember({"held_out", "selection"}));
  experiment->add_option("--only", experiment_args.only, "Only these variants (comma-separated names)")->delimiter(',');
  experiment->add_option("--threads", experiment_args.threads, "Intra-op threads of every run (0: the configs' own)")
      ->check(CLI::NonNegativeNumber);
  experiment->add_flag("--validate", experiment_args.validate_only,
                       "Only check the spec (every variant's configs, baselines, data, scorers) and exit");

  InferArgs infer_args;
  facegan::cli::PhotoArgs photo_args;
  auto* infer = app.add_subcommand(
      "infer", "Run a trained model on photos: each face is detected, aligned, edited and pasted back "
               "(--no-detect: on face crops aligned like the training data)");
  infer->require_subcommand(1);
  auto add_common = [&](CLI::App* op, bool writes_image, bool resizes = true) {
    op->add_option("--checkpoint", infer_args.checkpoint, "A checkpoint of a run (runs/.../checkpoints/ckpt_*.pt)")
        ->required()
        ->check(CLI::ExistingFile);
    if (writes_image) op->add_option("--out", infer_args.out, "Output image file (.png, .jpg)")->required();
    op->add_option("--device", infer_args.device, "cpu, cuda or cuda:N");
    if (resizes) op->add_option("--size", infer_args.size,
                   "Side of the face crop the network sees (default: the training size from the run's config; "
                   "--no-detect: resize inputs to SIZE x SIZE, 0 = as they are, and outputs back)");
  };
  auto* neutralize = infer->add_subcommand("neutralize", "DeRL stage 1: the same face with a neutral expression");
  neutralize->add_option("--image", infer_args.image, "Photo (or aligned crop with --no-detect)")->required()->check(
      CLI::ExistingFile);
  add_common(neutralize, true);
  facegan::cli::add_photo_options(neutralize, PhotoOperation::kNeutralize, photo_args, infer_args);
  auto* classify = infer->add_subcommand("classify", "DeRL stage 2: expression probabilities of a face (JSON)");
  classify->add_option("--image", infer_args.image, "Photo (or aligned crop with --no-detect)")->required()->check(
      CLI::ExistingFile);
  add_common(classify, false);
  facegan::cli::add_photo_options(classify, PhotoOperation::kClassify, photo_args, infer_args);

  std::string mix_attribute;
  auto* mix = infer->add_subcommand(
      "mix", "Open-set synthesis (Bao et al.): the identity of one face with the pose, expression, light and "
             "background of another");
  mix->add_option("--image", infer_args.image, "The photo whose face's identity is kept")->required()->check(
      CLI::ExistingFile);
  mix->add_option("--attribute", mix_attribute, "The photo whose faces get that identity (pose, expression, light kept)")
      ->required()
      ->check(CLI::ExistingFile);
  add_common(mix, true, false);
  facegan::cli::add_photo_options(mix, PhotoOperation::kMix, photo_args, infer_args);

  MakeupArgs makeup_args;
  auto* transfer = infer->add_subcommand(
      "transfer", "PairedCycleGAN: the source face wearing the reference's makeup (images of the training size)");
  transfer->add_option("--image,--source", infer_args.image, "Source photo (bare face)")->required()->check(
      CLI::ExistingFile);
  transfer->add_option("--landmarks", makeup_args.landmarks, "Source's 68 landmarks (.pts, or 'x y' lines; "
                                                             "`facegan detect` and `facegan render` write them): "
                                                             "instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  transfer->add_option("--reference", makeup_args.reference, "Reference photo (face wearing makeup)")->required()->check(
      CLI::ExistingFile);
  transfer->add_option("--reference-landmarks", makeup_args.reference_landmarks,
                       "Reference's 68 landmarks: instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  transfer->add_option("--intensity", makeup_args.intensity, "Makeup strength in [0, 1] (0 returns the source)")
      ->check(CLI::Range(0.0, 1.0));
  transfer->add_option("--regions", makeup_args.regions, "Areas to transfer: eyes, lips, skin (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"eyes", "lips", "skin"}));
  add_common(transfer, true, false);
  facegan::cli::add_photo_options(transfer, PhotoOperation::kTransfer, photo_args, infer_args);
  auto* remove = infer->add_subcommand("remove", "PairedCycleGAN: the face without its makeup");
  remove->add_option("--image", infer_args.image, "Photo of a face wearing makeup")->required()->check(
      CLI::ExistingFile);
  remove->add_option("--landmarks", makeup_args.landmarks,
                     "Its 68 landmarks (.pts): instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  add_common(remove, true, false);
  facegan::cli::add_photo_options(remove, PhotoOperation::kRemove, photo_args, infer_args);

  facegan::cli::DetectArgs detect_args;
  auto* detect = facegan::cli::add_detect_command(app, detect_args);

  const WeightsCommands weights(app, *infer);  // import, export, infer translate

  std::string report_runs, report_out, report_title;
  auto* report = app.add_subcommand(
      "report", "Write an HTML report (sample grids, loss curves, evaluation tables) of the runs under a folder");
  report->add_option("--runs", report_runs, "Folder of runs: each sub-folder is a section (e.g. runs/demo)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report->add_option("--out", report_out, "Output HTML file (default: RUNS/report.html)");
  report->add_option("--title", report_title, "Page title");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    facegan::tune_cpu_heap();
    if (*list) return run_list(list_what);
    if (*render) return run_render(render_args);
    if (*pack) return run_pack(pack_spec, pack_out, pack_gzip);
    if (*train) return facegan::cli::train_config(train_config, train_sets);
    if (*resume) return facegan::cli::resume_run(run_dir, run_sets);
    if (*experiment) {
      std::string command = "facegan";
      for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
      return facegan::cli::run_experiment(experiment_args, command);
    }
    if (*eval) return run_eval(run_dir, run_sets);
    if (*neutralize) return facegan::cli::run_neutralize(infer_args, photo_args);
    if (*classify) return facegan::cli::run_classify(infer_args, photo_args);
    if (*mix) return facegan::cli::run_mix(infer_args, mix_attribute, photo_args);
    if (*transfer) return facegan::cli::run_transfer(infer_args, makeup_args, photo_args);
    if (*remove) return facegan::cli::run_remove(infer_args, makeup_args, photo_args);
    if (*detect) return facegan::cli::run_detect(detect_args);
    if (*report) return run_report(report_runs, report_out, report_title);
    if (const auto code = weights.run()) return *code;
  } catch (const std::exception& e) {
    std::cerr << "facegan: " << facegan::error_message(e) << std::endl;
    return 1;
  }
  return 0;
}
