// The `facegan` command: one program for the library's jobs. Run `facegan --help`, or
// `facegan <command> --help` for each command's options.
#include "cmd_weights.hpp"

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

/// The run folder's copy of the full config (written by the trainer): `resume` and `eval` read it.
constexpr const char* kRunConfig = "config.json";

int run_train(const std::string& config_path, const std::vector<std::string>& sets) {
  json config = facegan::load_json_file(config_path);
  facegan::apply_overrides(config, sets);
  const auto result = facegan::train::Trainer::from_config(config)->fit();
  std::printf("%s at step %lld; last checkpoint %s\n", facegan::enum_to_string(result.status).c_str(),
              static_cast<long long>(result.step), result.checkpoint.empty() ? "none" : result.checkpoint.c_str());
  return result.status == facegan::train::RunStatus::kCompleted ? 0 : 130;
}

json run_config(const std::string& run_dir, const std::vector<std::string>& sets) {
  const auto path = fs::path(run_dir) / kRunConfig;
  if (!fs::exists(path)) {
    throw facegan::ConfigError(run_dir + " is not a run folder of `facegan train` (no " + kRunConfig + ")");
  }
  json config = facegan::load_json_file(path.string());
  if (!config.contains("data")) {
    throw facegan::ConfigError(path.string() + " holds no \"data\" section: the run was not started by `facegan train`");
  }
  config["trainer"]["out_dir"] = run_dir;
  facegan::apply_overrides(config, sets);
  return config;
}

int run_resume(const std::string& run_dir, const std::vector<std::string>& sets) {
  json config = run_config(run_dir, sets);
  config["trainer"]["resume"] = "auto";
  const auto result = facegan::train::Trainer::from_config(config)->fit();
  std::printf("%s at step %lld; last checkpoint %s\n", facegan::enum_to_string(result.status).c_str(),
              static_cast<long long>(result.step), result.checkpoint.empty() ? "none" : result.checkpoint.c_str());
  return result.status == facegan::train::RunStatus::kCompleted ? 0 : 130;
}

int run_eval(const std::string& run_dir, const std::vector<std::string>& sets) {
  const json config = run_config(run_dir, sets);
  auto trainer = facegan::train::Trainer::from_config(config);
  const auto latest = facegan::train::latest_checkpoint((fs::path(run_dir) / "checkpoints").string());
  if (!latest) throw facegan::CheckpointError("no checkpoint in " + run_dir + "/checkpoints to evaluate");
  trainer->load_checkpoint(latest->path);
  const json metrics = trainer->evaluate();
  std::printf("%s\n", json{{"step", latest->step}, {"checkpoint", latest->path}, {"metrics", metrics}}.dump(2).c_str());
  return 0;
}


cv::Mat read_image_file(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw facegan::DataError("cannot read image " + path + " (missing, or not an image OpenCV can decode)");
  return image;
}

void write_image_file(const std::string& path, const cv::Mat& image) {
  const auto parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  if (!cv::imwrite(path, image)) throw facegan::Error("cannot write image " + path);
  std::printf("wrote %s\n", path.c_str());
}

/// Arguments of `facegan infer <operation>`.
struct InferArgs {
  std::string checkpoint;
  std::string image;
  std::string out;
  std::string device = "cpu";
  int64_t size = 0;
};

torch::Device parse_device(const std::string& text) {
  try {
    return torch::Device(text);
  } catch (const std::exception&) {
    throw facegan::ConfigError("--device: '" + text + "' is not a device (cpu, cuda, cuda:1)");
  }
}

int run_neutralize(const InferArgs& a) {
  const auto model = facegan::models::DeRL::load(a.checkpoint, parse_device(a.device), a.size);
  write_image_file(a.out, model.neutralize(read_image_file(a.image)));
  return 0;
}

int run_classify(const InferArgs& a) {
  const auto model = facegan::models::DeRL::load(a.checkpoint, parse_device(a.device), a.size);
  if (!model.can_classify()) {
    throw facegan::ConfigError(a.checkpoint + " is a stage-1 (deexpression) DeRL checkpoint: it can neutralize, not "
                               "classify; use the checkpoint of a 'classify' run");
  }
  const std::vector<double> p = model.classify(read_image_file(a.image));
  const auto names = model.class_names();
  json probabilities = json::object();
  size_t best = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    probabilities[names[i]] = p[i];
    if (p[i] > p[best]) best = i;
  }
  std::printf("%s\n", json{{"image", a.image}, {"expression", names[best]}, {"probabilities", probabilities}}.dump(2).c_str());
  return 0;
}

int run_mix(const InferArgs& a, const std::string& attribute) {
  const auto model = facegan::models::OpenSet::load(a.checkpoint, parse_device(a.device));
  write_image_file(a.out, model.mix(read_image_file(a.image), read_image_file(attribute)));
  return 0;
}

/// Arguments of `facegan infer transfer/remove` beside InferArgs.
struct MakeupArgs {
  std::string landmarks;
  std::string reference;
  std::string reference_landmarks;
  double intensity = 1.0;
  std::vector<std::string> regions;
};

int run_transfer(const InferArgs& a, const MakeupArgs& m) {
  const auto model = facegan::models::Makeup::load(a.checkpoint, parse_device(a.device));
  const cv::Mat out = model.transfer(read_image_file(a.image), facegan::data::read_landmarks_file(m.landmarks),
                                     read_image_file(m.reference),
                                     facegan::data::read_landmarks_file(m.reference_landmarks), m.intensity, m.regions);
  write_image_file(a.out, out);
  return 0;
}

int run_remove(const InferArgs& a, const MakeupArgs& m) {
  const auto model = facegan::models::Makeup::load(a.checkpoint, parse_device(a.device));
  write_image_file(a.out, model.remove(read_image_file(a.image), facegan::data::read_landmarks_file(m.landmarks)));
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
  auto* train = app.add_subcommand("train", "Train a task from a JSON config (see configs/ and docs/training.md)");
  train->add_option("--config", train_config, "Config file: {\"trainer\", \"task\", \"data\"}")->required()->check(
      CLI::ExistingFile);
  train->add_option("--set", train_sets, "Config overrides, e.g. --set trainer.steps=200 --set task.generator.depth=6");

  std::string run_dir;
  std::vector<std::string> run_sets;
  auto* resume = app.add_subcommand("resume", "Continue a run from its latest checkpoint (exactly where it stopped)");
  resume->add_option("--run", run_dir, "The run folder (trainer.out_dir of the run)")->required()->check(
      CLI::ExistingDirectory);
  resume->add_option("--set", run_sets, "Config overrides, e.g. --set trainer.steps=2000 to train longer");
  auto* eval = app.add_subcommand("eval", "Evaluate a run's latest checkpoint on its eval data set; prints JSON");
  eval->add_option("--run", run_dir, "The run folder")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--set", run_sets, "Config overrides, e.g. --set data.eval.num_samples=500");

  InferArgs infer_args;
  auto* infer = app.add_subcommand("infer", "Run a trained model on image files (8-bit PNG/JPEG, any size)");
  infer->require_subcommand(1);
  auto add_common = [&](CLI::App* op, bool writes_image, bool resizes = true) {
    op->add_option("--checkpoint", infer_args.checkpoint, "A checkpoint of a run (runs/.../checkpoints/ckpt_*.pt)")
        ->required()
        ->check(CLI::ExistingFile);
    if (writes_image) op->add_option("--out", infer_args.out, "Output image file (.png, .jpg)")->required();
    op->add_option("--device", infer_args.device, "cpu, cuda or cuda:N");
    if (resizes) op->add_option("--size", infer_args.size,
                   "Resize inputs to SIZE x SIZE for the network (the training size; 0 = as they are); "
                   "outputs are resized back");
  };
  auto* neutralize = infer->add_subcommand("neutralize", "DeRL stage 1: the same face with a neutral expression");
  neutralize->add_option("--image", infer_args.image, "Face image")->required()->check(CLI::ExistingFile);
  add_common(neutralize, true);
  auto* classify = infer->add_subcommand("classify", "DeRL stage 2: expression probabilities of a face (JSON)");
  classify->add_option("--image", infer_args.image, "Face image")->required()->check(CLI::ExistingFile);
  add_common(classify, false);

  std::string mix_attribute;
  auto* mix = infer->add_subcommand(
      "mix", "Open-set synthesis (Bao et al.): the identity of one face with the pose, expression, light and "
             "background of another");
  mix->add_option("--image", infer_args.image, "The face whose identity is kept")->required()->check(CLI::ExistingFile);
  mix->add_option("--attribute", mix_attribute, "The face whose attributes are kept")->required()->check(
      CLI::ExistingFile);
  add_common(mix, true, false);

  MakeupArgs makeup_args;
  auto* transfer = infer->add_subcommand(
      "transfer", "PairedCycleGAN: the source face wearing the reference's makeup (images of the training size)");
  transfer->add_option("--image", infer_args.image, "Source face (bare)")->required()->check(CLI::ExistingFile);
  transfer->add_option("--landmarks", makeup_args.landmarks, "Source's 68 landmarks (.pts, or 'x y' lines; "
                                                             "`facegan render` writes them)")
      ->required()
      ->check(CLI::ExistingFile);
  transfer->add_option("--reference", makeup_args.reference, "Reference face wearing makeup")->required()->check(
      CLI::ExistingFile);
  transfer->add_option("--reference-landmarks", makeup_args.reference_landmarks, "Reference's 68 landmarks")
      ->required()
      ->check(CLI::ExistingFile);
  transfer->add_option("--intensity", makeup_args.intensity, "Makeup strength in [0, 1] (0 returns the source)")
      ->check(CLI::Range(0.0, 1.0));
  transfer->add_option("--regions", makeup_args.regions, "Areas to transfer: eyes, lips, skin (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"eyes", "lips", "skin"}));
  add_common(transfer, true, false);
  auto* remove = infer->add_subcommand("remove", "PairedCycleGAN: the face without its makeup");
  remove->add_option("--image", infer_args.image, "Face wearing makeup")->required()->check(CLI::ExistingFile);
  remove->add_option("--landmarks", makeup_args.landmarks, "Its 68 landmarks (.pts)")->required()->check(
      CLI::ExistingFile);
  add_common(remove, true, false);

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
    if (*train) return run_train(train_config, train_sets);
    if (*resume) return run_resume(run_dir, run_sets);
    if (*eval) return run_eval(run_dir, run_sets);
    if (*neutralize) return run_neutralize(infer_args);
    if (*classify) return run_classify(infer_args);
    if (*mix) return run_mix(infer_args, mix_attribute);
    if (*transfer) return run_transfer(infer_args, makeup_args);
    if (*remove) return run_remove(infer_args, makeup_args);
    if (*report) return run_report(report_runs, report_out, report_title);
    if (const auto code = weights.run()) return *code;
  } catch (const std::exception& e) {
    std::cerr << "facegan: " << facegan::error_message(e) << std::endl;
    return 1;
  }
  return 0;
}
