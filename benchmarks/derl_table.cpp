// The DeRL reproduction table on synthetic faces under the person-independent k-fold protocol
// (folds split by identity, as CK+ studies do). Per fold: stage 1 (de-expression cGAN) and stage 2
// (residue classifier) of DeRL, the final-head-only ablation on the same frozen generator, and a
// plain CNN of similar parameter count trained on the images directly. Prints a markdown table
// (accuracy mean ± std over folds; de-expression PSNR / SSIM against the ground-truth neutral
// render) and DeRL's confusion matrix summed over folds.
//
//   OMP_NUM_THREADS=2 build/benchmarks/derl_table [--config configs/derl_synthetic.json]
//       [--folds 3] [--samples 1200] [--size 32] [--steps1 800] [--steps2 500] [--threads 2]
//       [--full]   (the config's own networks, sizes and schedules: the long run)
//       [--out DIR] (keep every stage's run folder under DIR/fold<k>/ with its metrics.jsonl and
//                    sample grids, and write DIR/derl.table.json and DIR/derl_confusion.table.json
//                    for `facegan report`; the demo uses it)
//
// Without --full a small schedule is used (32-pixel faces, depth-5 U-Net with 16 base channels).

#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/eval/metrics.hpp>
#include <facegan/eval/report.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/derl/derl_experiment.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

using namespace facegan;
namespace fs = std::filesystem;

namespace {

struct Stats {
  std::vector<double> values;
  void add(double v) { values.push_back(v); }
  double mean() const { return std::accumulate(values.begin(), values.end(), 0.0) / std::max<size_t>(values.size(), 1); }
  double stdev() const {
    if (values.size() < 2) return 0.0;
    const double m = mean();
    double s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return std::sqrt(s / static_cast<double>(values.size() - 1));
  }
  std::string pm(double scale = 1.0, int precision = 1) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f", precision, mean() * scale, precision, stdev() * scale);
    return buf;
  }
};

std::shared_ptr<data::Dataset> subset(const std::vector<data::Sample>& pool, const std::vector<size_t>& idx) {
  std::vector<data::Sample> s;
  s.reserve(idx.size());
  for (size_t i : idx) s.push_back(pool[i]);
  return std::make_shared<data::InMemoryDataset>(std::move(s));
}

int64_t derl_parameters(const json& config) {
  models::DeRLTaskOptions o = apply_json(models::DeRLTaskOptions(), config.at("classify").at("task"), "classify.task");
  models::UNetGenerator g(o.generator);
  models::ResidueClassifierOptions c = o.classifier;
  c.num_classes(static_cast<int64_t>(o.classes.size()));
  models::ResidueClassifier r(c.for_generator(o.generator));
  return models::count_parameters(*g) + models::count_parameters(*r);
}

/// Base channel count of the baseline ConvEncoder (max_channels = 8 * base) whose parameter count is
/// closest to `target`.
int64_t matched_baseline_width(const json& baseline, int64_t num_classes, int64_t target, int64_t* count) {
  int64_t best = 4, best_diff = -1;
  for (int64_t base = 4; base <= 256; base += 2) {
    models::ConvEncoderOptions o = apply_json(models::ConvEncoderOptions(3), baseline, "baseline");
    o.base_channels(base).max_channels(8 * base).out_dim(num_classes);
    const int64_t n = models::count_parameters(*models::ConvEncoder(o));
    const int64_t diff = std::llabs(n - target);
    if (best_diff < 0 || diff < best_diff) best = base, best_diff = diff, *count = n;
    if (n > 2 * target) break;
  }
  return best;
}

json small_patch(int64_t size, int64_t steps1, int64_t steps2) {
  const json gen = {{"depth", 5}, {"base_channels", 16}, {"dropout", 0.0}};
  return json{
      {"data", {{"train", {{"size", size}, {"num_identities", 60}, {"held_out_identities", 0}}},
                {"loader", {{"batch_size", 16}, {"prefetch_threads", 0}}}}},
      {"deexpression",
       {{"trainer", {{"steps", steps1}}},
        {"task", {{"generator", gen}, {"discriminator", {{"base_channels", 16}, {"num_layers", 2}}},
                  {"optimizer_g", {{"lr", 0.001}}}}}}},
      {"classify",
       {{"trainer", {{"steps", steps2}}},
        {"task", {{"generator", gen}, {"classifier", {{"local_channels", 32}, {"hidden", 64}, {"dropout", 0.0}}}}}}},
      {"baseline_cnn", {{"trainer", {{"steps", steps2}}}, {"task", {{"baseline", {{"num_layers", 4}}}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    std::string config_path = "configs/derl_synthetic.json", out_dir;
    int64_t folds = 3, samples = 1200, size = 32, steps1 = 800, steps2 = 500, threads = 2;
    bool full = false;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw ConfigError("missing value after " + a);
        return argv[++i];
      };
      if (a == "--config") config_path = next();
      else if (a == "--folds") folds = std::stoll(next());
      else if (a == "--samples") samples = std::stoll(next());
      else if (a == "--size") size = std::stoll(next());
      else if (a == "--steps1") steps1 = std::stoll(next());
      else if (a == "--steps2") steps2 = std::stoll(next());
      else if (a == "--threads") threads = std::stoll(next());
      else if (a == "--full") full = true;
      else if (a == "--out") out_dir = next();
      else {
        std::cerr << "unknown argument " << a << "\n";
        return 2;
      }
    }
    std::ifstream file(config_path);
    if (!file) throw ConfigError("cannot open config " + config_path);
    json config = json::parse(file);
    if (!full) config.merge_patch(small_patch(size, steps1, steps2));
    if (full && config.contains("protocol")) folds = config["protocol"].value("folds", folds);
    const uint64_t seed = config.contains("protocol") ? config["protocol"].value("seed", 0) : 0;
    json& train_spec = config["data"]["train"];
    if (train_spec.value("type", "") == "synthetic_pairs") train_spec["num_samples"] = samples;
    for (const char* stage : {"deexpression", "classify", "baseline_cnn"}) {
      config[stage]["trainer"].merge_patch(json{{"threads", threads}, {"progress", "none"}, {"sample_every", 0},
                                                {"checkpoint_every", 0}, {"eval_every", 0}, {"resume", "none"},
                                                {"eval_batch_size", 64}, {"device", "cpu"}});
      if (!out_dir.empty()) {
        // Kept runs get a loss curve and one sample grid at their end.
        const int64_t steps = config[stage]["trainer"].value("steps", int64_t{1});
        config[stage]["trainer"].merge_patch(json{{"log_every", std::max<int64_t>(1, steps / 50)}, {"sample_every", steps},
                                                  {"progress", "auto"}});
      }
    }
    at::set_num_threads(static_cast<int>(threads));

    // The pool, held in memory, and its person-independent folds.
    const auto t0 = std::chrono::steady_clock::now();
    auto source = data::create_dataset(train_spec, "data.train");
    std::vector<data::Sample> pool;
    std::vector<int64_t> identities;
    for (size_t i = 0; i < source->size(); ++i) {
      pool.push_back(source->get(i));
      identities.push_back(pool.back().at("identity").item<int64_t>());
    }
    const std::vector<int64_t> fold_of = eval::identity_folds(identities, folds, seed);

    const json& classify_task = config["classify"]["task"];
    const std::vector<int64_t> classes = classify_task.value("classes", std::vector<int64_t>{1, 2, 3, 4, 5, 6});
    const int64_t k = static_cast<int64_t>(classes.size());
    const int64_t derl_count = derl_parameters(config);
    int64_t base_count = 0;
    const int64_t base_width = matched_baseline_width(config["baseline_cnn"]["task"].value("baseline", json::object()), k,
                                                      derl_count, &base_count);
    config["baseline_cnn"]["task"]["baseline"]["base_channels"] = base_width;
    config["baseline_cnn"]["task"]["baseline"]["max_channels"] = 8 * base_width;
    config["baseline_cnn"]["task"]["classes"] = classes;

    std::cout << "DeRL table: " << pool.size() << " samples, " << folds << " person-independent folds, steps "
              << config["deexpression"]["trainer"].value("steps", 0) << " (stage 1) / "
              << config["classify"]["trainer"].value("steps", 0) << " (stage 2, ablation, baseline), " << threads
              << " threads\nparameters: DeRL (generator + residue classifier) " << derl_count
              << ", plain CNN (base " << base_width << ") " << base_count << "\n";

    Stats acc_derl, acc_final, acc_cnn, psnr, ssim, psnr_input, ssim_input;
    std::map<std::string, Stats> acc_local;
    torch::Tensor confusion = torch::zeros({k, k}, torch::kLong);
    const fs::path root = out_dir.empty() ? fs::temp_directory_path() / "facegan_derl_table" : fs::path(out_dir);
    for (int64_t f = 0; f < folds; ++f) {
      const eval::FoldSplit split = eval::fold_split(fold_of, f);
      auto train = subset(pool, split.train), test = subset(pool, split.test);
      const std::string dir = (root / ("fold" + std::to_string(f))).string();
      auto out = [&](const char* stage) { return json{{"out_dir", dir + "/" + stage}, {"seed", f}}; };

      models::DeRLStageRun s1 = models::train_derl_stage(config, "deexpression", train, test, out("deexpression"));
      const json e1 = s1.trainer->evaluate();
      psnr.add(e1.at("psnr").get<double>());
      ssim.add(e1.at("ssim").get<double>());
      {
        // The do-nothing reference: the expressive input itself scored against the neutral render.
        std::vector<torch::Tensor> a, b;
        for (size_t i = 0; i < test->size(); ++i) {
          const data::Sample s = test->get(i);
          a.push_back(s.at("input"));
          b.push_back(s.at("target"));
        }
        psnr_input.add(eval::psnr(torch::stack(a), torch::stack(b)));
        ssim_input.add(eval::ssim(torch::stack(a), torch::stack(b)));
      }
      s1.trainer.reset();

      const json ckpt = {{"generator_checkpoint", s1.checkpoint}};
      models::DeRLStageRun s2 = models::train_derl_stage(config, "classify", train, test, out("classify"), ckpt);
      const json e2 = s2.trainer->evaluate();
      acc_derl.add(e2.at("accuracy").get<double>());
      for (auto it = e2.at("local_accuracy").begin(); it != e2.at("local_accuracy").end(); ++it) {
        acc_local[it.key()].add(it.value().get<double>());
      }
      for (int64_t t = 0; t < k; ++t) {
        for (int64_t p = 0; p < k; ++p) confusion[t][p] += e2.at("confusion")[t][p].get<int64_t>();
      }
      json ablation = ckpt;
      ablation["classifier"] = {{"local_heads", false}};
      models::DeRLStageRun s3 = models::train_derl_stage(config, "classify", train, test, out("final_only"), ablation);
      acc_final.add(s3.trainer->evaluate().at("accuracy").get<double>());
      models::DeRLStageRun s4 = models::train_derl_stage(config, "baseline_cnn", train, test, out("baseline_cnn"));
      acc_cnn.add(s4.trainer->evaluate().at("accuracy").get<double>());
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::cout << "fold " << f << " (" << split.train.size() << " train / " << split.test.size()
                << " test): DeRL " << acc_derl.values.back() << ", final head only " << acc_final.values.back()
                << ", plain CNN " << acc_cnn.values.back() << ", de-expression PSNR " << psnr.values.back()
                << " dB SSIM " << ssim.values.back() << "  [" << static_cast<int64_t>(secs) << " s]\n"
                << std::flush;
    }
    if (out_dir.empty()) fs::remove_all(root);

    std::cout << "\n| method | accuracy (%) | de-expression PSNR (dB) | de-expression SSIM |\n"
              << "|---|---|---|---|\n"
              << "| DeRL (local heads + final head) | " << acc_derl.pm(100) << " | " << psnr.pm(1, 2) << " | "
              << ssim.pm(1, 3) << " |\n"
              << "| final head only (no local heads) | " << acc_final.pm(100) << " | same generator | |\n"
              << "| plain CNN on the images (" << base_count << " params) | " << acc_cnn.pm(100) << " | | |\n"
              << "| no-op reference (expressive input vs neutral) | | " << psnr_input.pm(1, 2) << " | "
              << ssim_input.pm(1, 3) << " |\n";
    std::cout << "\nLocal heads alone (accuracy %, by U-Net level):";
    for (auto& [level, s] : acc_local) std::cout << " level " << level << ": " << s.pm(100) << ";";
    std::cout << "\n\nDeRL confusion matrix, summed over folds (rows: truth, columns: prediction, % of row):\n\n|  |";
    for (int64_t c : classes) std::cout << " " << data::kExpressionClassNames.at(static_cast<size_t>(c)) << " |";
    std::cout << "\n|---|";
    for (int64_t c = 0; c < k; ++c) std::cout << "---|";
    std::cout << "\n";
    for (int64_t t = 0; t < k; ++t) {
      std::cout << "| " << data::kExpressionClassNames.at(static_cast<size_t>(classes[static_cast<size_t>(t)])) << " |";
      const double row = static_cast<double>(std::max<int64_t>(confusion[t].sum().item<int64_t>(), 1));
      for (int64_t p = 0; p < k; ++p) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " %.1f |", 100.0 * static_cast<double>(confusion[t][p].item<int64_t>()) / row);
        std::cout << buf;
      }
      std::cout << "\n";
    }
    if (!out_dir.empty()) {
      std::ostringstream how;
      how << pool.size() << " synthetic faces, " << folds << " person-independent folds (mean ± std); stage 1 "
          << config["deexpression"]["trainer"].value("steps", 0) << " steps, stage 2 and the CNN "
          << config["classify"]["trainer"].value("steps", 0) << " steps; command: derl_table";
      for (int i = 1; i < argc; ++i) how << ' ' << argv[i];
      eval::ReportTable table;
      table.title = "DeRL: expression accuracy on unseen identities and de-expression quality";
      table.columns = {"method", "accuracy (%)", "PSNR to neutral (dB)", "SSIM to neutral"};
      table.rows = {{"DeRL (local heads + final head)", acc_derl.pm(100), psnr.pm(1, 2), ssim.pm(1, 3)},
                    {"final head only (ablation)", acc_final.pm(100), "", ""},
                    {"plain CNN on the images (baseline)", acc_cnn.pm(100), "", ""},
                    {"expressive input itself (no-op baseline)", "", psnr_input.pm(1, 2), ssim_input.pm(1, 3)}};
      table.note = how.str();
      eval::write_table(table, (root / "derl.table.json").string());
      eval::ReportTable cm;
      cm.title = "DeRL confusion matrix, summed over folds (rows: truth, columns: prediction, % of row)";
      cm.columns = {"truth"};
      for (int64_t c : classes) cm.columns.push_back(data::kExpressionClassNames.at(static_cast<size_t>(c)));
      for (int64_t t = 0; t < k; ++t) {
        std::vector<json> row{data::kExpressionClassNames.at(static_cast<size_t>(classes[static_cast<size_t>(t)]))};
        const double n = static_cast<double>(std::max<int64_t>(confusion[t].sum().item<int64_t>(), 1));
        for (int64_t p = 0; p < k; ++p) row.push_back(100.0 * static_cast<double>(confusion[t][p].item<int64_t>()) / n);
        cm.rows.push_back(row);
      }
      cm.precision = 1;
      eval::write_table(cm, (root / "derl_confusion.table.json").string());
      std::cout << "wrote " << (root / "derl.table.json").string() << "\n";
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "\ntotal " << static_cast<int64_t>(secs) << " s\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "derl_table: " << e.what() << "\n";
    return 1;
  }
}
