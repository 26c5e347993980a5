// The C++ side of the C++ vs Python benchmark harness (benchmarks/run_harness.py; the Python side is
// benchmarks/python/bench_steps.py with the same flags and the same JSON keys). One measurement per
// process, so that the peak resident set size (getrusage ru_maxrss) belongs to that measurement.
//
//   bench_steps --task pix2pix --size 64 --batch 1 --steps 20 --warmup 3 --threads 1
//       -> {"steps_per_s", "images_per_s", "peak_rss_mib", "baseline_rss_mib", "peak_rss_delta_mib",
//           "parameters", ...}: train steps through the real library path (train::create_task,
//           train::Trainer on an in-memory data set, loader on the calling thread, no checkpoints,
//           samples, evaluation or logs), timed from the end of the warm-up steps to the end of the
//           last step by the trainer's on_step callback.
//   bench_steps --task pix2pix --size 256 --infer --runs 20 --threads 1
//       -> {"latency_ms" (median), "latency_ms_min", ...}: one call of the task's inference (eval
//          mode, c10::InferenceMode; inputs prepared before the clock): pix2pix's G on one image,
//          open_set's mix(x_s, x_a), makeup's Makeup::transfer on a rendered pair.
//   bench_steps --task pix2pix --size 64 --optimizer --runs 10 --threads 1
//       -> {"adam_ms", "fused_adam_ms", ...}: the optimizer step alone (every group of the task, random
//          gradients), with both optimizers train::make_adam builds for the trainer: torch::optim::Adam
//          and train::FusedAdam (at::_fused_adam_, the kernel behind Python's Adam(fused=True)). A
//          diagnostic for the split of a step's time.
//   bench_steps --task open_set --size 64 --batch 2 --check FILE
//       -> writes the task's networks (weights perturbed away from the initialisation), one batch and
//          the task's deterministic outputs in eval mode; bench_steps.py --check FILE recomputes them
//          with the Python mirror (the harness runs this before timing).
//   --default-heap: leave glibc's heap thresholds at their defaults instead of facegan::tune_cpu_heap()
//       (which every facegan program calls first); every JSON line says which in "heap". The harness
//       gives the Python side the same thresholds through MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_.
//   --profile FILE (with a train or --infer measurement): the Kineto CPU trace of the timed steps or
//       calls (chrome://tracing JSON, input shapes), as bench_steps.py --profile writes it.
//   bench_steps --list   the tasks of the table, one per line.
//
// Adding a task = one entry in bench_tasks() here and one builder in bench_steps.py's BUILDERS.

#include <facegan/facegan.hpp>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

using namespace facegan;
namespace fs = std::filesystem;

namespace {

/// Peak resident set size of this process so far, MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// CPU time of this process (all threads), seconds: on a machine shared with other jobs the wall
/// clock also counts the time the scheduler gives to them; with one intra-op thread and the loader on
/// the calling thread, CPU time is the step's own cost (Python's time.process_time() is the same clock).
double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size();
  return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

/// U-Net depth whose bottleneck is 1x1 at `size` pixels (pix2pix's unet_256 at 256: depth 8).
int64_t unet_depth(int64_t size) {
  int64_t depth = 0;
  while ((int64_t{1} << (depth + 1)) <= size) ++depth;
  if ((int64_t{1} << depth) != size) throw ConfigError("--size: must be a power of two, got " + std::to_string(size));
  return depth;
}

/// The pix2pix configuration (Isola et al. 2017): U-Net with batch norm and dropout 0.5, 70x70
/// PatchGAN, vanilla GAN + 100 * L1, Adam 2e-4 / beta1 0.5.
json pix2pix_generator(int64_t size) {
  return json{{"depth", unet_depth(size)}, {"base_channels", 64}, {"dropout", 0.5}, {"norm", "batch"}};
}

/// One row of the task table.
struct BenchTask {
  /// Harness name (also the key of bench_steps.py's BUILDERS).
  std::string name;
  /// The task spec for train::create_task at a given image size.
  std::function<json(int64_t size)> spec;
  /// The data set spec (data::create_dataset) giving the keys the task reads, `n` samples of `size`.
  std::function<json(int64_t size, int64_t n)> data;
  /// Single-image inference: prepares its inputs before the clock (x, y: two random images
  /// [1, 3, S, S] in [-1, 1]; a task may build more, e.g. makeup's rendered pair) and returns the call
  /// that is timed: the task's generator or classifier on x, open_set's mix(x, y), makeup's transfer.
  std::function<std::function<torch::Tensor()>(train::Task& task, const torch::Tensor& x, const torch::Tensor& y)> infer;
  /// --check: deterministic outputs of the task on a batch with every network in eval() (loss terms,
  /// inference), for benchmarks/python/bench_steps.py --check to recompute with the same weights.
  /// Empty for the tasks whose mirror is checked otherwise (pix2pix, DeRL: reference_nets' counts).
  std::function<std::map<std::string, torch::Tensor>(train::Task& task, const data::Batch& batch)> check;
};

/// BenchTask::infer for a task whose inference is one call on the first image.
template <class Fn>
auto on_x(Fn fn) {
  return [fn](train::Task& t, const torch::Tensor& x, const torch::Tensor&) -> std::function<torch::Tensor()> {
    return [fn, &t, x] { return fn(t, x); };
  };
}

json synthetic_pairs(int64_t size, int64_t n) {
  return json{{"type", "synthetic_pairs"}, {"pairing", "neutralize"}, {"size", size}, {"num_samples", n}, {"seed", 0}};
}

/// configs/open_set_synthetic.json's training pairs (the open_set stage), n of them.
json synthetic_identity_pairs(int64_t size, int64_t n) {
  return json{{"type", "synthetic_identity_pairs"}, {"size", size}, {"num_samples", n}, {"split", "train"},
              {"num_identities", 200}, {"held_out_identities", 40}, {"seed", 0}, {"makeup_probability", 0.0},
              {"same_probability", 0.5}, {"unlabeled_fraction", 0.0}, {"pair_seed", 0}};
}

/// configs/open_set_synthetic.json's open_set task (network sizes, losses, optimizers) at `size`
/// pixels, I/C trained from their random initialisation (no identity_checkpoint: the speed does not
/// depend on the weights). Kept in step with benchmarks/python/bench_steps.py's OpenSet by the
/// harness's parameter-count check.
json open_set_spec(int64_t size) {
  return json{{"type", "open_set"},
              {"image_size", size},
              {"num_identities", 160},
              {"identity", {{"base_channels", 32}, {"num_stages", 4}, {"blocks_per_stage", 2}, {"embedding_dim", 128}}},
              {"attribute",
               {{"trunk", {{"base_channels", 32}, {"num_layers", 0}, {"max_channels", 256}, {"out_dim", 0}}},
                {"latent_dim", 64}}},
              {"generator", {{"base_channels", 32}, {"max_channels", 256}}},
              {"discriminator", {{"base_channels", 32}, {"num_layers", 3}}},
              {"identity_loss", {{"type", "cross_entropy"}, {"weight", 1.0}}},
              {"kl", {{"type", "kl_normal"}, {"weight", 0.001}}},
              {"reconstruction", {{"type", "weighted_reconstruction"}, {"distance", "l2"}, {"weight", 1.0}}},
              {"different_weight", 0.1},
              {"discriminator_matching", {{"type", "feature_matching"}, {"distance", "l2"}, {"weight", 1.0}}},
              {"classifier_matching", {{"type", "feature_matching"}, {"distance", "l2"}, {"weight", 1.0}}},
              {"classifier_features", "embedding"},
              {"adversarial", {{"type", "vanilla"}}},
              {"generator_adversarial_weight", 0.0},
              {"identity_checkpoint", ""},
              {"train_identity", true},
              {"optimizer_identity", {{"lr", 0.0002}, {"beta1", 0.5}}},
              {"optimizer_generator", {{"lr", 0.0005}, {"beta1", 0.5}}},
              {"optimizer_discriminator", {{"lr", 0.0002}, {"beta1", 0.5}}}};
}

/// configs/makeup_synthetic.json's training pairs, n of them.
json synthetic_makeup(int64_t size, int64_t n) {
  return json{{"type", "synthetic_makeup"}, {"size", size}, {"expression_probability", 0.0}, {"num_samples", n},
              {"split", "train"}};
}

/// configs/makeup_synthetic.json's makeup task (network sizes, losses, optimizers); the image size
/// comes from the data (the global U-Net's depth 6 needs sides divisible by 64). Kept in step with
/// benchmarks/python/bench_steps.py's Makeup by the harness's parameter-count check.
json makeup_spec(int64_t) {
  const json unet16 = {{"base_channels", 16}, {"norm", "instance"}};
  json global = unet16, region = unet16, remover = unet16;
  global["depth"] = 6;
  region["depth"] = 5;
  remover["depth"] = 6;
  const json patch = {{"base_channels", 32}, {"num_layers", 3}, {"norm", "instance"}};
  const json adam = {{"lr", 0.0002}, {"beta1", 0.5}, {"beta2", 0.999}};
  return json{{"type", "makeup"},
              {"generator",
               {{"global", global},
                {"region", region},
                {"crop_size", 32},
                {"box_padding", 0.15},
                {"regions", {"eyes", "lips", "skin"}},
                {"per_region", true},
                {"use_global", true}}},
              {"remover", remover},
              {"discriminator", patch},
              {"style_discriminator", patch},
              {"adversarial", {{"type", "lsgan"}}},
              {"style_adversarial", {{"type", "lsgan"}}},
              {"identity", {{"type", "l1"}, {"weight", 10.0}}},
              {"style", {{"type", "l1"}, {"weight", 10.0}}},
              {"histogram", {{"type", "l1"}, {"weight", 0.0}}},
              {"use_style_discriminator", true},
              {"use_style_loss", true},
              {"optimizer_g", adam},
              {"optimizer_d", adam}};
}

std::vector<BenchTask> bench_tasks() {
  return {
      {"pix2pix",
       [](int64_t s) { return json{{"type", "pix2pix"}, {"generator", pix2pix_generator(s)}}; },
       synthetic_pairs,
       // G laid out channels-last, as the library's U-Net inference is (models::to_channels_last;
       // models::DeRL::load does it on CPU): the layout is set before the clock, once.
       [](train::Task& t, const torch::Tensor& x, const torch::Tensor&) -> std::function<torch::Tensor()> {
         auto g = dynamic_cast<models::Pix2PixTask&>(t).generator();
         models::to_channels_last(*g);
         return [g, x]() mutable { return g->forward(x); };
       }},
      {"derl_deexpression",
       [](int64_t s) {
         return json{{"type", "derl"}, {"stage", "deexpression"}, {"generator", pix2pix_generator(s)}, {"theta", 100.0}};
       },
       synthetic_pairs,
       on_x([](train::Task& t, const torch::Tensor& x) { return dynamic_cast<models::DeRLTask&>(t).generator()->forward(x); })},
      {"derl_classify",
       [](int64_t s) {
         // configs/derl_synthetic.json's stage 2 (the generator frozen at its random initialisation:
         // the speed does not depend on its weights).
         return json{{"type", "derl"},
                     {"stage", "classify"},
                     {"generator", pix2pix_generator(s)},
                     {"classes", {1, 2, 3, 4, 5, 6}},
                     {"classifier", {{"local_channels", 64}, {"local_layers", 2}, {"hidden", 128}, {"dropout", 0.3}}},
                     {"optimizer_c", {{"lr", 0.001}, {"beta1", 0.9}}}};
       },
       synthetic_pairs,
       // Generator and classifier channels-last, as models::DeRL::load lays them out on CPU.
       [](train::Task& t, const torch::Tensor& x, const torch::Tensor&) -> std::function<torch::Tensor()> {
         auto& task = dynamic_cast<models::DeRLTask&>(t);
         models::to_channels_last(*task.generator());
         models::to_channels_last(*task.classifier());
         return [&task, x] { return task.classify_logits(x); };
       }},
      {"open_set", open_set_spec, synthetic_identity_pairs,
       // mix(x_s, x_a) in eval mode: f_I(x_s) from I, z_a = A(x_a)'s mean, G([f_I, z_a]) (what
       // models::OpenSet::mix computes).
       [](train::Task& t, const torch::Tensor& x, const torch::Tensor& y) -> std::function<torch::Tensor()> {
         return [&t, x, y] { return dynamic_cast<models::OpenSetTask&>(t).mix(x, y); };
       },
       [](train::Task& t, const data::Batch& b) {
         auto& task = dynamic_cast<models::OpenSetTask&>(t);
         const models::OpenSetLosses l = task.generator_losses(b);
         return std::map<std::string, torch::Tensor>{{"identity", task.identity_loss(b)},
                                                     {"kl", l.kl},
                                                     {"gr", l.reconstruction},
                                                     {"gd", l.discriminator_matching},
                                                     {"gc", l.classifier_matching},
                                                     {"mix", task.mix(b.at("source"), b.at("attribute"))}};
       }},
      {"makeup", makeup_spec, synthetic_makeup,
       // transfer(x, y) on a rendered pair (W(x, y), x's areas and landmarks prepared as a data set
       // gives them): models::Makeup::transfer(batch), i.e. G's deltas and their composition at
       // intensity 1. The random images are not used: the pair must carry consistent geometry.
       [](train::Task& t, const torch::Tensor& x, const torch::Tensor&) -> std::function<torch::Tensor()> {
         auto pairs = data::create_dataset(synthetic_makeup(x.size(2), 1), "bench makeup pair");
         const data::Batch batch = data::collate({pairs->get(0)});
         const models::Makeup model = models::Makeup::from_task(dynamic_cast<models::MakeupTask&>(t));
         return [model, batch] { return model.transfer(batch); };
       },
       [](train::Task& t, const data::Batch& b) {
         auto& task = dynamic_cast<models::MakeupTask&>(t);
         std::map<std::string, torch::Tensor> out = task.generator_losses(b);
         const models::MakeupForward fw = task.forward(b, true);
         out["transfer"] = fw.transfer;
         out["removal"] = fw.removal;
         out["style_cycle"] = fw.style_cycle;
         return out;
       }},
  };
}

const BenchTask& find_task(const std::vector<BenchTask>& tasks, const std::string& name) {
  for (const auto& t : tasks) {
    if (t.name == name) return t;
  }
  std::string known;
  for (const auto& t : tasks) known += (known.empty() ? "" : ", ") + t.name;
  throw ConfigError("--task: unknown task '" + name + "'; known: " + known);
}

int64_t total_parameters(train::Task& task) {
  int64_t n = 0;
  for (const auto& [name, net] : task.networks()) n += models::count_parameters(*net);
  return n;
}

/// Thrown by the step callback after the last timed step: fit() would otherwise write its final
/// checkpoint (hundreds of MB at 256 px), which is neither a train step nor in the Python loop.
struct BenchDone {};

struct Args {
  std::string task, check, profile;
  int64_t size = 64, batch = 1, steps = 20, warmup = 3, threads = 1, runs = 20;
  bool infer = false, optimizer = false, list = false;
  bool default_heap = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ConfigError(flag + ": missing value");
      return argv[++i];
    };
    auto integer = [&]() -> int64_t {
      const std::string v = value();
      try {
        return std::stoll(v);
      } catch (const std::exception&) {
        throw ConfigError(flag + ": expected an integer, got '" + v + "'");
      }
    };
    if (flag == "--task") a.task = value();
    else if (flag == "--size") a.size = integer();
    else if (flag == "--batch") a.batch = integer();
    else if (flag == "--steps") a.steps = integer();
    else if (flag == "--warmup") a.warmup = integer();
    else if (flag == "--threads") a.threads = integer();
    else if (flag == "--runs") a.runs = integer();
    else if (flag == "--infer") a.infer = true;
    else if (flag == "--optimizer") a.optimizer = true;
    else if (flag == "--list") a.list = true;
    else if (flag == "--default-heap") a.default_heap = true;
    else if (flag == "--check") a.check = value();
    else if (flag == "--profile") a.profile = value();
    else throw ConfigError("unknown flag '" + flag + "' (see the top of benchmarks/bench_steps.cpp)");
  }
  if (!a.list && a.task.empty()) throw ConfigError("--task: required");
  if (a.batch < 1 || a.steps < 1 || a.warmup < 0 || a.threads < 1 || a.runs < 1) {
    throw ConfigError("--batch, --steps, --threads and --runs must be >= 1, --warmup >= 0");
  }
  return a;
}

/// The StepContext of --check's one train step: zero the group's gradients, backward, the group's
/// optimizer as the trainer builds it with fused_adam (train::make_adam). No AMP, no all-reduce, no
/// clipping: what the trainer does with one process and those options off, on a batch of our choosing.
class CheckContext : public train::StepContext {
 public:
  explicit CheckContext(const std::vector<train::OptimizerGroup>& groups) {
    for (const auto& g : groups) groups_.push_back({g.name, g.parameters, train::make_adam(g.parameters, g.adam, true)});
  }
  void step(const std::string& name, const torch::Tensor& loss, bool retain_graph) override {
    for (auto& g : groups_) {
      if (g.name != name) continue;
      for (auto& p : g.params) p.mutable_grad().reset();
      loss.reshape({}).backward({}, retain_graph);
      g.optimizer->step();
      return;
    }
    TORCH_CHECK(false, "no optimizer group ", name);
  }
  train::AutocastGuard autocast() const override { return train::AutocastGuard(train::AmpMode::kNone, torch::kCPU); }
  int64_t global_step() const override { return 0; }
  torch::Device device() const override { return torch::kCPU; }

 private:
  struct Group {
    std::string name;
    std::vector<torch::Tensor> params;
    std::unique_ptr<torch::optim::Adam> optimizer;
  };
  std::vector<Group> groups_;
};

/// One train measurement's JSON line.
json train_line(const std::string& mode, const BenchTask& bt, const Args& a, double wall_s, double cpu_s_total,
                double peak, double baseline_mib, int64_t parameters) {
  const double steps_per_s = static_cast<double>(a.steps) / wall_s;
  const double steps_per_cpu_s = static_cast<double>(a.steps) / cpu_s_total;
  return json{{"language", "cpp"},
              {"mode", mode},
              {"task", bt.name},
              {"size", a.size},
              {"batch", a.batch},
              {"steps", a.steps},
              {"warmup", a.warmup},
              {"threads", at::get_num_threads()},
              {"steps_per_s", steps_per_s},
              {"images_per_s", steps_per_s * static_cast<double>(a.batch)},
              {"steps_per_cpu_s", steps_per_cpu_s},
              {"images_per_cpu_s", steps_per_cpu_s * static_cast<double>(a.batch)},
              {"peak_rss_mib", peak},
              {"baseline_rss_mib", baseline_mib},
              {"peak_rss_delta_mib", peak - baseline_mib},
              {"parameters", parameters}};
}

json measure_train(const BenchTask& bt, const Args& a, double baseline_mib) {
  // As many samples as a few batches: the data set is rendered once, before the clock starts, and
  // the loader then only collates on the calling thread (as the Python loop's DataLoader does).
  const int64_t n = std::max<int64_t>(8, 4 * a.batch);
  auto rendered = data::create_dataset(bt.data(a.size, n), "bench data");
  std::vector<data::Sample> samples;
  for (size_t i = 0; i < rendered->size(); ++i) samples.push_back(rendered->get(i));
  rendered.reset();
  auto dataset = std::make_shared<data::InMemoryDataset>(std::move(samples));

  at::set_num_threads(static_cast<int>(a.threads));
  torch::manual_seed(0);
  std::shared_ptr<train::Task> task = train::create_task(bt.spec(a.size), "task '" + bt.name + "'");
  const int64_t parameters = total_parameters(*task);

  const fs::path out = fs::temp_directory_path() / ("facegan_bench_steps_" + std::to_string(::getpid()));
  train::TrainerOptions options;
  options.steps(a.warmup + a.steps)
      .device("cpu")
      .threads(a.threads)
      .log_every(1000000000)
      .sample_every(0)
      .checkpoint_every(0)
      .eval_every(0)
      .out_dir(out.string())
      .resume("none")
      .progress(train::ProgressMode::kNone)
      .distributed("off");
  train::Trainer trainer(options, task, dataset, data::LoaderOptions(a.batch).seed(0).prefetch_threads(0));
  std::ostream null_stream(nullptr);
  trainer.set_progress_stream(null_stream);

  double t_start = now_s(), t_end = 0.0, c_start = cpu_s(), c_end = 0.0, peak = 0.0;
  // --profile FILE: the Kineto profiler's CPU trace (chrome://tracing JSON, input shapes recorded) of
  // the timed steps, as Python's torch.autograd.profiler.profile(record_shapes=True) writes it; the
  // timings of such a run include the profiler's own cost.
  namespace prof = torch::autograd::profiler;
  const torch::profiler::impl::ProfilerConfig profile_config(torch::profiler::impl::ProfilerState::KINETO,
                                                             /*report_input_shapes=*/true);
  const std::set<torch::profiler::impl::ActivityType> cpu_only{torch::profiler::impl::ActivityType::CPU};
  if (!a.profile.empty()) prof::prepareProfiler(profile_config, cpu_only);
  trainer.on_step([&](int64_t step, const train::StepValues&) {
    if (step == a.warmup) {
      if (!a.profile.empty()) prof::enableProfiler(profile_config, cpu_only);
      t_start = now_s(), c_start = cpu_s();
    }
    if (step == a.warmup + a.steps) {
      t_end = now_s();
      c_end = cpu_s();
      peak = peak_rss_mib();
      if (!a.profile.empty()) prof::disableProfiler()->save(a.profile);
      throw BenchDone{};
    }
  });
  try {
    trainer.fit();
  } catch (const BenchDone&) {
  }
  std::error_code ec;
  fs::remove_all(out, ec);
  return train_line("train", bt, a, t_end - t_start, c_end - c_start, peak, baseline_mib, parameters);
}

json measure_infer(const BenchTask& bt, const Args& a, double baseline_mib) {
  at::set_num_threads(static_cast<int>(a.threads));
  torch::manual_seed(0);
  std::shared_ptr<train::Task> task = train::create_task(bt.spec(a.size), "task '" + bt.name + "'");
  const int64_t parameters = total_parameters(*task);
  for (auto& [name, net] : task->networks()) net->eval();
  const torch::Tensor x = torch::rand({1, 3, a.size, a.size}) * 2 - 1;
  const torch::Tensor x2 = torch::rand({1, 3, a.size, a.size}) * 2 - 1;
  const std::function<torch::Tensor()> call = bt.infer(*task, x, x2);
  std::vector<double> ms, cpu_ms;
  namespace prof = torch::autograd::profiler;
  const torch::profiler::impl::ProfilerConfig profile_config(torch::profiler::impl::ProfilerState::KINETO,
                                                             /*report_input_shapes=*/true);
  const std::set<torch::profiler::impl::ActivityType> cpu_only{torch::profiler::impl::ActivityType::CPU};
  {
    c10::InferenceMode guard;
    for (int64_t i = 0; i < std::max<int64_t>(a.warmup, 1); ++i) call();
    if (!a.profile.empty()) {  // --profile FILE: the timed calls' trace, as in the train measurement
      prof::prepareProfiler(profile_config, cpu_only);
      prof::enableProfiler(profile_config, cpu_only);
    }
    for (int64_t i = 0; i < a.runs; ++i) {
      const double t0 = now_s(), c0 = cpu_s();
      const torch::Tensor y = call();
      ms.push_back((now_s() - t0) * 1e3);
      cpu_ms.push_back((cpu_s() - c0) * 1e3);
      TORCH_CHECK(y.defined() && y.size(0) == 1, "inference returned ", y.sizes());
    }
    if (!a.profile.empty()) prof::disableProfiler()->save(a.profile);
  }
  const double peak = peak_rss_mib();
  return json{{"language", "cpp"},
              {"mode", "infer"},
              {"task", bt.name},
              {"size", a.size},
              {"runs", a.runs},
              {"threads", at::get_num_threads()},
              {"latency_ms", median_of(ms)},
              {"latency_ms_min", *std::min_element(ms.begin(), ms.end())},
              {"cpu_latency_ms", median_of(cpu_ms)},
              {"peak_rss_mib", peak},
              {"baseline_rss_mib", baseline_mib},
              {"peak_rss_delta_mib", peak - baseline_mib},
              {"parameters", parameters}};
}

json measure_optimizer(const BenchTask& bt, const Args& a) {
  at::set_num_threads(static_cast<int>(a.threads));
  torch::manual_seed(0);
  std::shared_ptr<train::Task> task = train::create_task(bt.spec(a.size), "task '" + bt.name + "'");
  std::vector<train::OptimizerGroup> groups = task->optimizer_groups();
  int64_t parameters = 0;
  for (auto& g : groups) {
    for (auto& p : g.parameters) {
      p.mutable_grad() = torch::randn_like(p) * 1e-3;
      parameters += p.numel();
    }
  }
  // As the trainer builds them (train::make_adam): one optimizer per group, each kind with its own
  // state on the same parameters and gradients; the first step of each allocates the state.
  auto time_steps = [&](bool fused) {
    std::vector<std::unique_ptr<torch::optim::Adam>> optimizers;
    for (auto& g : groups) optimizers.push_back(train::make_adam(g.parameters, g.adam, fused));
    std::vector<double> ms;
    for (int64_t i = 0; i < a.runs + 1; ++i) {
      const double c0 = cpu_s();
      for (auto& optimizer : optimizers) optimizer->step();
      if (i > 0) ms.push_back((cpu_s() - c0) * 1e3);
    }
    return median_of(ms);
  };
  torch::NoGradGuard no_grad;
  const double adam_ms = time_steps(false);
  const double fused_ms = time_steps(true);
  return json{{"language", "cpp"},     {"mode", "optimizer"},        {"task", bt.name},
              {"size", a.size},         {"runs", a.runs},             {"threads", at::get_num_threads()},
              {"parameters", parameters}, {"adam_ms", adam_ms}, {"fused_adam_ms", fused_ms}};
}

/// --check FILE: the task (seed 0) with every network in eval(), one batch of the data set and the
/// task's check outputs, written as a torch archive (networks/<name>/..., batch/<key>, outputs/<key>)
/// that Python reads with torch.jit.load: the Python mirror loads the same weights, recomputes the
/// outputs on the same batch and compares (bench_steps.py --check FILE).
json measure_check(const BenchTask& bt, const Args& a) {
  if (!bt.check) throw ConfigError("--check: task '" + bt.name + "' has no check outputs");
  torch::manual_seed(0);
  std::shared_ptr<train::Task> task = train::create_task(bt.spec(a.size), "task '" + bt.name + "'");
  auto dataset = data::create_dataset(bt.data(a.size, a.batch), "bench data");
  std::vector<data::Sample> samples;
  for (size_t i = 0; i < dataset->size(); ++i) samples.push_back(dataset->get(i));
  const data::Batch batch = data::collate(samples);
  // Weights away from the initialisation (makeup's zero_init makes G and F return their input, which
  // would check nothing): N(0, 1/fan_in) matrices, 1 + U(-0.2, 0.2) norm scales, U(-0.2, 0.2) other
  // vectors, and batch-norm statistics away from (0, 1), so that every layer and buffer counts.
  torch::manual_seed(1);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, net] : task->networks()) {
      for (auto& p : net->named_parameters()) {
        torch::Tensor& t = p.value();
        if (t.dim() > 1) {
          t.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(t[0].numel())));
        } else {
          t.uniform_(-0.2, 0.2);
          if (p.key().find("norm.weight") != std::string::npos) t.add_(1.0);
        }
      }
      for (auto& b : net->named_buffers()) {
        if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
        if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
      }
    }
  }
  torch::serialize::OutputArchive archive, networks, batch_archive, outputs;
  for (auto& [name, net] : task->networks()) {
    net->eval();
    // A copy: an archive holds the tensors themselves until it is saved, and the train step below
    // changes the networks' tensors in place.
    torch::serialize::OutputArchive sub;
    net->clone()->save(sub);
    networks.write(name, sub);
  }
  for (const auto& [key, value] : batch.tensors) batch_archive.write(key, value);
  {
    torch::NoGradGuard no_grad;
    for (const auto& [key, value] : bt.check(*task, batch)) outputs.write(key, value.detach());
  }
  // Then one train step on the same batch (train mode, torch seeded with 2, every group stepped by
  // train::FusedAdam, as the trainer with fused_adam): the weights and buffers after it check the step
  // order, the losses' gradients and the optimizer groups, which the eval outputs above do not.
  torch::serialize::OutputArchive after, step_losses;
  for (auto& [name, net] : task->networks()) net->train();
  torch::manual_seed(2);
  CheckContext ctx(task->optimizer_groups());
  const train::StepOutput step = task->train_step(batch, ctx);
  for (const auto& [key, value] : step.losses) step_losses.write(key, value.detach());
  for (auto& [name, net] : task->networks()) {
    torch::serialize::OutputArchive sub;
    net->save(sub);
    after.write(name, sub);
  }
  archive.write("networks", networks);
  archive.write("batch", batch_archive);
  archive.write("outputs", outputs);
  archive.write("after", after);
  archive.write("step_losses", step_losses);
  archive.save_to(a.check);
  return json{{"language", "cpp"}, {"mode", "check"}, {"task", bt.name}, {"size", a.size}, {"batch", a.batch},
              {"file", a.check}, {"parameters", total_parameters(*task)}};
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything is built: the process with torch loaded, the counterpart of Python after
  // `import torch`.
  const double baseline_mib = peak_rss_mib();
  try {
    const Args a = parse(argc, argv);
    const std::vector<BenchTask> tasks = bench_tasks();
    if (a.list) {
      for (const auto& t : tasks) std::cout << t.name << "\n";
      return 0;
    }
    const std::string heap = a.default_heap ? "glibc default" : tune_cpu_heap().summary;
    const BenchTask& bt = find_task(tasks, a.task);
    json result = !a.check.empty() ? measure_check(bt, a)
                        : a.optimizer        ? measure_optimizer(bt, a)
                        : a.infer            ? measure_infer(bt, a, baseline_mib)
                                             : measure_train(bt, a, baseline_mib);
    result["heap"] = heap;
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_steps: " << e.what() << "\n";
    return 1;
  }
}
