#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/data/image.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/distributed.hpp>
#include <facegan/train/ema.hpp>
#include <facegan/train/optim.hpp>
#include <facegan/train/run_lock.hpp>
#include <facegan/train/trainer.hpp>

#include <ATen/Context.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace facegan::train {
namespace {

std::atomic<int> g_signal{0};

extern "C" void facegan_on_signal(int signo) { g_signal.store(signo); }

/// Installs SIGINT/SIGTERM handlers that only set a flag, for the scope of fit().
class SignalScope {
 public:
  SignalScope() {
    g_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = facegan_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

/// The states of the default generators (CPU and every CUDA device), so that sampling and evaluation
/// leave the training stream untouched and checkpoints restore it.
struct RngSnapshot {
  torch::Tensor cpu;
  std::vector<torch::Tensor> cuda;

  static RngSnapshot take() {
    RngSnapshot s;
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      s.cpu = gen.get_state();
    }
    if (torch::cuda::is_available()) {
      for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
        auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(i)));
        std::lock_guard<std::mutex> lock(gen.mutex());
        s.cuda.push_back(gen.get_state());
      }
    }
    return s;
  }
  void restore() const {
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cpu);
    }
    for (size_t i = 0; i < cuda.size() && torch::cuda::is_available() &&
                       i < static_cast<size_t>(torch::cuda::device_count());
         ++i) {
      auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cuda[i]);
    }
  }
};

torch::Device resolve_device(const std::string& spec, const DistributedEnv& env) {
  if (spec == "auto") {
    if (torch::cuda::is_available()) return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
    return torch::kCPU;
  }
  if (spec == "cpu") return torch::kCPU;
  if (spec.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) throw ConfigError("trainer.device: '" + spec + "' but CUDA is not available");
    if (spec == "cuda") return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
    try {
      return torch::Device(spec);
    } catch (const c10::Error&) {
    }
  }
  throw ConfigError("trainer.device: unknown device '" + spec + "'; expected auto, cpu, cuda or cuda:N");
}

void check_option(bool ok, const std::string& key, const std::string& what) {
  if (!ok) throw ConfigError("trainer." + key + ": " + what);
}

void validate(const TrainerOptions& o) {
  check_option(o.steps() >= 0, "steps", "must be >= 0");
  check_option(o.threads() >= 0, "threads", "must be >= 0 (0 = hardware threads)");
  check_option(o.log_every() >= 1, "log_every", "must be >= 1");
  check_option(o.sample_every() >= 0, "sample_every", "must be >= 0");
  check_option(o.sample_count() >= 1, "sample_count", "must be >= 1");
  check_option(o.checkpoint_every() >= 0, "checkpoint_every", "must be >= 0");
  check_option(o.keep_checkpoints() >= 0, "keep_checkpoints", "must be >= 0 (0 = all)");
  check_option(o.eval_every() >= 0, "eval_every", "must be >= 0");
  check_option(o.eval_batch_size() >= 1, "eval_batch_size", "must be >= 1");
  check_option(o.eval_max_samples() >= 0, "eval_max_samples", "must be >= 0");
  check_option(!o.out_dir().empty(), "out_dir", "must not be empty");
  check_option(std::isfinite(o.grad_clip()) && o.grad_clip() >= 0, "grad_clip", "must be >= 0 (0 = off)");
  check_option(o.ema().decay >= 0 && o.ema().decay <= 1, "ema.decay", "must be in [0, 1]");
  check_option(o.bucket_mb() >= 1, "bucket_mb", "must be >= 1");
  check_option(o.distributed() == "auto" || o.distributed() == "off", "distributed",
               "expected 'auto' or 'off', got '" + o.distributed() + "'");
  check_option(o.distributed_timeout_s() >= 1, "distributed_timeout_s", "must be >= 1");
  validate(o.schedule(), "trainer.schedule");
}

}  // namespace

struct Trainer::Impl final : public StepContext {
  /// The config from_config() was given (null otherwise); written to out_dir/config.json.
  json run_config;
  struct Group {
    std::string name;
    std::vector<torch::Tensor> params;
    AdamSettings adam;
    std::unique_ptr<torch::optim::Adam> optimizer;
    double lr = 0.0;
  };

  TrainerOptions opt;
  std::shared_ptr<Task> task;
  std::shared_ptr<const data::Dataset> train_data, eval_data;
  data::LoaderOptions loader_options;
  std::unique_ptr<data::Loader> loader;
  bool loader_ready = false;
  DistributedEnv env;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<ProcessGroup> pg;
  NamedModules networks;
  std::vector<Group> groups;
  std::vector<std::pair<std::string, std::unique_ptr<Ema>>> emas;
  std::unique_ptr<LossScaler> scaler;
  int64_t step_ = 0;
  std::ostream* out = &std::cout;
  std::function<void(int64_t, const StepValues&)> callback;
  std::map<std::string, torch::Tensor> step_metrics;
  std::string last_checkpoint;
  int64_t last_checkpoint_step = -1;
  std::optional<data::Batch> sample_batch;

  std::string checkpoint_dir() const { return (fs::path(opt.out_dir()) / "checkpoints").string(); }
  bool is_main() const { return pg->rank() == 0; }

  Group& group(const std::string& name) {
    for (auto& g : groups) {
      if (g.name == name) return g;
    }
    std::vector<std::string> names;
    for (const auto& g : groups) names.push_back(g.name);
    throw ConfigError("unknown optimizer group '" + name + "'; the task has: " + join_names(names));
  }

  // ---- StepContext ----
  void step(const std::string& name, const torch::Tensor& loss, bool retain_graph) override {
    Group& g = group(name);
    TORCH_CHECK(loss.defined() && loss.numel() == 1, "StepContext::step('", name, "'): the loss must be a scalar");
    g.optimizer->zero_grad(/*set_to_none=*/true);
    {
      AutocastGuard no_autocast(AmpMode::kNone, device_);  // backward runs outside autocast
      const torch::Tensor l = opt.amp() == AmpMode::kFp16 ? scaler->scale(loss.reshape({})) : loss.reshape({});
      l.backward({}, retain_graph);
    }
    std::vector<torch::Tensor> grads;
    for (const auto& p : g.params) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
    pg->all_reduce_mean(grads, opt.bucket_mb() << 20);
    if (opt.amp() == AmpMode::kFp16) {
      const torch::Tensor found = scaler->unscale_(grads);
      step_metrics["skipped/" + name] = found.reshape({});
      if (found.item<float>() != 0.0f) return;  // GradScaler.step: skip this optimizer's step
    }
    if (opt.grad_clip() > 0 && !grads.empty()) {
      torch::NoGradGuard no_grad;
      // clip_grad_norm_ of the C++ API returns a double (a host sync); this keeps it on the device.
      std::vector<torch::Tensor> norms;
      for (const auto& gr : grads) norms.push_back(gr.detach().to(torch::kFloat).norm(2));
      const torch::Tensor total = torch::stack(norms).norm(2);
      const torch::Tensor coef = (opt.grad_clip() / (total + 1e-6)).clamp_max(1.0);
      for (auto& gr : grads) gr.mul_(coef.to(gr.dtype()));
      step_metrics["grad_norm/" + name] = total;
    }
    g.optimizer->step();
  }
  AutocastGuard autocast() const override { return AutocastGuard(opt.amp(), device_); }
  int64_t global_step() const override { return step_; }
  torch::Device device() const override { return device_; }
  int64_t rank() const override { return pg->rank(); }
  int64_t world_size() const override { return pg->world_size(); }

  // ---- helpers ----
  void set_learning_rates() {
    const double f = lr_factor(opt.schedule(), step_, opt.steps());
    for (auto& g : groups) {
      g.lr = g.adam.lr * f;
      for (auto& pgroup : g.optimizer->param_groups()) {
        static_cast<torch::optim::AdamOptions&>(pgroup.options()).lr(g.lr);
      }
    }
  }

  /// Networks to eval() (EMA weights swapped in) for a scope; RNG untouched afterwards.
  template <class F>
  auto with_inference_networks(F&& fn) {
    const RngSnapshot rng = RngSnapshot::take();
    std::vector<bool> was_training;
    for (auto& [name, net] : networks) {
      was_training.push_back(net->is_training());
      net->eval();
    }
    struct Restore {
      Impl& self;
      const RngSnapshot& rng;
      std::vector<bool>& was_training;
      ~Restore() {
        for (size_t i = 0; i < self.networks.size(); ++i) self.networks[i].second->train(was_training[i]);
        rng.restore();
      }
    } restore{*this, rng, was_training};
    std::vector<std::unique_ptr<Ema::Swap>> swaps;
    for (auto& [name, ema] : emas) swaps.push_back(std::make_unique<Ema::Swap>(*ema));
    torch::NoGradGuard no_grad;
    return fn();
  }

  const data::Batch& samples_batch() {
    if (!sample_batch) {
      const data::Dataset& ds = eval_data ? *eval_data : *train_data;
      const size_t n = std::min(ds.size(), static_cast<size_t>(opt.sample_count()));
      std::vector<data::Sample> samples;
      for (size_t i = 0; i < n; ++i) samples.push_back(ds.get(i));
      sample_batch = data::collate(samples).to(device_);
    }
    return *sample_batch;
  }

  std::string write_samples() {
    if (!is_main()) return "";
    const data::Batch& batch = samples_batch();
    const NamedImages images = with_inference_networks([&] { return task->samples(batch); });
    if (images.empty()) return "";
    std::vector<torch::Tensor> cells;
    const int64_t rows = images.front().second.size(0);
    for (int64_t i = 0; i < rows; ++i) {
      for (const auto& [name, img] : images) {
        TORCH_CHECK(img.dim() == 4 && img.size(0) == rows && img.size(1) == 3, "Task::samples: '", name,
                    "' must be [N, 3, H, W] with the same N as the others, got ", img.sizes());
        cells.push_back(img[i].detach().to(torch::kCPU, torch::kFloat).clamp(-1, 1));
      }
    }
    char name[48];
    std::snprintf(name, sizeof name, "step_%09lld.png", static_cast<long long>(step_));
    const std::string path = (fs::path(opt.out_dir()) / "samples" / name).string();
    data::write_image(path, data::make_grid(torch::stack(cells), static_cast<int64_t>(images.size())));
    // The grid's column names, for reports (the PNG cannot carry them).
    json columns = json::array();
    for (const auto& entry : images) columns.push_back(entry.first);
    write_file_atomic((fs::path(opt.out_dir()) / "samples" / "columns.json").string(), columns.dump() + "\n");
    return path;
  }

  json evaluate() {
    if (!eval_data || !is_main()) return json::object();
    EvalContext ctx;
    ctx.device = device_;
    ctx.batch_size = opt.eval_batch_size();
    ctx.max_samples = opt.eval_max_samples();
    ctx.amp = opt.amp();
    return with_inference_networks([&] { return task->evaluate(*eval_data, ctx); });
  }

  SampleScores score(const data::Dataset& dataset, const std::vector<ExtraScorer>& extra) {
    EvalContext ctx;
    ctx.device = device_;
    ctx.batch_size = opt.eval_batch_size();
    ctx.amp = opt.amp();
    return with_inference_networks([&] { return score_dataset(*task, dataset, ctx, extra); });
  }

  json meta_json() const {
    json ema_names = json::array();
    for (const auto& [name, e] : emas) ema_names.push_back(name);
    json group_names = json::array();
    for (const auto& g : groups) group_names.push_back(g.name);
    json net_names = json::array();
    for (const auto& [name, n] : networks) net_names.push_back(name);
    return json{{"format", kCheckpointFormat},
                {"step", step_},
                {"task", task->to_json()},
                {"networks", net_names},
                {"optimizers", group_names},
                {"ema", ema_names},
                {"loader", loader->state()},
                {"loader_ready", loader_ready},
                {"schedule", options_to_json(opt.schedule())},
                {"loss_scaler", scaler->state()},
                {"world_size", pg->world_size()},
                {"seed", opt.seed()}};
  }

  /// This rank's generator states (CPU, then this rank's CUDA device when it trains on one) as one
  /// uint8 vector [cpu_len (8 bytes), cpu, cuda]; gathered from all ranks in rank order.
  std::vector<torch::Tensor> gather_rng_states() {
    torch::Tensor cpu, cuda;
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      cpu = gen.get_state();
    }
    if (device_.is_cuda()) {
      auto gen = at::globalContext().defaultGenerator(device_);
      std::lock_guard<std::mutex> lock(gen.mutex());
      cuda = gen.get_state();
    } else {
      cuda = torch::empty({0}, torch::kUInt8);
    }
    const int64_t len = cpu.numel();
    torch::Tensor header = torch::from_blob(const_cast<int64_t*>(&len), {8}, torch::kUInt8).clone();
    torch::Tensor mine = torch::cat({header, cpu, cuda});
    if (pg->world_size() == 1) return {mine};
    // Gloo and NCCL sum floats exactly here (one non-zero row per element); states have equal sizes.
    std::vector<torch::Tensor> all = pg->all_gather(mine.to(device_, torch::kFloat));
    for (auto& t : all) t = t.to(torch::kCPU, torch::kUInt8);
    return all;
  }

  void restore_rng_state(const torch::Tensor& packed) {
    const torch::Tensor t = packed.to(torch::kCPU).contiguous();
    int64_t len = 0;
    std::memcpy(&len, t.data_ptr<uint8_t>(), 8);
    TORCH_CHECK(len > 0 && 8 + len <= t.numel(), "corrupt RNG state");
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(t.narrow(0, 8, len).clone());
    }
    if (device_.is_cuda() && t.numel() > 8 + len) {
      auto gen = at::globalContext().defaultGenerator(device_);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(t.narrow(0, 8 + len, t.numel() - 8 - len).clone());
    }
  }

  std::string save_checkpoint() {
    const std::string path = (fs::path(checkpoint_dir()) / checkpoint_name(step_)).string();
    last_checkpoint = path;
    last_checkpoint_step = step_;
    // Collective: every rank's generator states go into rank 0's file.
    const std::vector<torch::Tensor> rng_states = gather_rng_states();
    if (!is_main()) return "";
    torch::serialize::OutputArchive root;
    for (size_t r = 0; r < rng_states.size(); ++r) root.write("rng_" + std::to_string(r), rng_states[r]);
    torch::serialize::OutputArchive nets, optims, emas_archive;
    for (const auto& [name, net] : networks) {
      torch::serialize::OutputArchive a;
      net->save(a);
      nets.write(name, a);
    }
    root.write("networks", nets);
    for (const auto& g : groups) {
      torch::serialize::OutputArchive a;
      g.optimizer->save(a);
      optims.write(g.name, a);
    }
    root.write("optimizers", optims);
    for (const auto& [name, ema] : emas) {
      torch::serialize::OutputArchive a;
      ema->average()->save(a);
      emas_archive.write(name, a);
    }
    root.write("ema", emas_archive);
    root.write("meta", c10::IValue(meta_json().dump()));
    std::ostringstream bytes;
    root.save_to(bytes);
    write_file_atomic(path, bytes.str());
    prune_checkpoints(checkpoint_dir(), opt.keep_checkpoints());
    return path;
  }

  void load_checkpoint(const std::string& path) {
    OpenedCheckpoint checkpoint = open_checkpoint(path, device_);
    torch::serialize::InputArchive& root = checkpoint.archive;
    json& meta = checkpoint.meta;
    auto fail = [&](const std::string& what) { throw CheckpointError("checkpoint " + path + ": " + what); };
    if (meta.value("format", 0) != kCheckpointFormat) fail("unknown format " + meta.value("format", json()).dump());
    const std::string saved_type = meta["task"].value("type", "");
    if (saved_type != task->type()) fail("written by task '" + saved_type + "', this trainer runs '" + task->type() + "'");
    try {
      torch::serialize::InputArchive nets, optims, emas_archive;
      root.read("networks", nets);
      for (auto& [name, net] : networks) {
        torch::serialize::InputArchive a;
        if (!nets.try_read(name, a)) fail("has no network '" + name + "'");
        net->load(a);
      }
      root.read("optimizers", optims);
      for (auto& g : groups) {
        torch::serialize::InputArchive a;
        if (!optims.try_read(g.name, a)) fail("has no optimizer '" + g.name + "'");
        g.optimizer->load(a);
      }
      root.read("ema", emas_archive);
      for (auto& [name, ema] : emas) {
        torch::serialize::InputArchive a;
        if (emas_archive.try_read(name, a)) {
          ema->average()->load(a);
        } else {
          ema->reset_to_live();  // EMA newly enabled on resume: start from the live weights
        }
      }
      torch::Tensor rng;
      if (!root.try_read("rng_" + std::to_string(pg->rank()), rng)) {
        fail("has no RNG state of rank " + std::to_string(pg->rank()) + " (written with world size " +
             meta.value("world_size", json()).dump() + ")");
      }
      restore_rng_state(rng);
    } catch (const CheckpointError&) {
      throw;
    } catch (const std::exception& e) {
      throw CheckpointError("checkpoint " + path + ": " + error_message(e));
    }
    scaler->load_state(meta["loss_scaler"]);
    json loader_state = meta["loader"];
    loader_state["rank"] = pg->rank();  // all ranks stand at the same position; rank 0 wrote it
    loader->restore(loader_state);
    loader_ready = meta.value("loader_ready", true);
    step_ = meta["step"].get<int64_t>();
    last_checkpoint = path;
    last_checkpoint_step = step_;
  }

  std::optional<data::Batch> next_batch() {
    if (!loader_ready) {
      loader->start_epoch(0);
      loader_ready = true;
    }
    auto batch = loader->next();
    if (!batch) {
      loader->start_epoch(loader->epoch() + 1);
      batch = loader->next();
      if (!batch) {
        throw DataError("the loader yields no batch: " + std::to_string(loader->samples_per_epoch()) +
                        " samples per rank and batch_size " + std::to_string(loader_options.batch_size()));
      }
    }
    return batch;
  }

  TrainResult fit();
};

TrainResult Trainer::Impl::fit() {
  SignalScope signals;
  // Taken before anything is read or written: a second process on this folder stops at once.
  std::unique_ptr<RunLock> lock;
  if (is_main()) lock = std::make_unique<RunLock>(opt.out_dir());
  if (opt.resume() == "auto") {
    if (auto latest = latest_checkpoint(checkpoint_dir())) load_checkpoint(latest->path);
  } else if (opt.resume() != "none") {
    load_checkpoint(opt.resume());
  }
  const bool resumed = last_checkpoint_step >= 0;
  const std::string metrics_path = (fs::path(opt.out_dir()) / "metrics.jsonl").string();
  std::unique_ptr<JsonLinesWriter> metrics;
  if (is_main()) {
    fs::create_directories(opt.out_dir());
    if (resumed) truncate_json_lines(metrics_path, step_);
    metrics = std::make_unique<JsonLinesWriter>(metrics_path);
    // The whole config when the run was built by from_config (then `facegan resume/eval --run`
    // need nothing else); the trainer's and the task's options otherwise.
    const json written = run_config.is_null() ? json{{"trainer", options_to_json(opt)}, {"task", task->to_json()}}
                                               : run_config;
    write_file_atomic((fs::path(opt.out_dir()) / "config.json").string(), written.dump(2) + "\n");
  }
  Progress progress(*out, is_main() ? opt.progress() : ProgressMode::kNone, step_, opt.steps(), opt.log_every());
  {
    std::ostringstream head;
    head << "facegan train: task " << task->type() << ", device " << device_.str() << ", " << at::get_num_threads()
         << " threads, world size " << pg->world_size() << " (" << pg->backend() << "), amp "
         << enum_to_string(opt.amp()) << ", steps " << step_ << " -> " << opt.steps() << ", out " << opt.out_dir();
    if (resumed) head << ", resumed from " << last_checkpoint;
    progress.message(head.str());
  }
  const auto t0 = std::chrono::steady_clock::now();
  TrainResult result;
  while (step_ < opt.steps()) {
    std::optional<data::Batch> host_batch = next_batch();
    const data::Batch batch = host_batch->to(device_, device_.is_cuda());
    host_batch.reset();
    set_learning_rates();
    step_metrics.clear();
    StepOutput output = task->train_step(batch, *this);
    if (opt.amp() == AmpMode::kFp16) scaler->update();
    ++step_;
    for (auto& [name, ema] : emas) {
      if (step_ > opt.ema().start_step) {
        ema->update();
      } else {
        ema->reset_to_live();
      }
    }

    // One device->host transfer per step for every scalar (losses, metrics, grad norms) plus, with
    // several ranks, one small all-reduce that averages them and ORs the stop flag.
    std::vector<std::string> names;
    std::vector<torch::Tensor> values;
    for (const auto& [k, v] : output.losses) names.push_back(k), values.push_back(v.detach().to(torch::kFloat).reshape({}));
    const size_t num_losses = names.size();
    for (const auto& [k, v] : output.metrics) names.push_back(k), values.push_back(v.detach().to(torch::kFloat).reshape({}));
    for (const auto& [k, v] : step_metrics) names.push_back(k), values.push_back(v.detach().to(torch::kFloat).reshape({}));
    values.push_back(torch::full({}, g_signal.load() != 0 ? 1.0f : 0.0f, torch::TensorOptions().device(device_)));
    torch::Tensor packed = torch::stack(values);
    if (pg->world_size() > 1) {
      pg->all_reduce_mean({packed});
    }
    packed = packed.to(torch::kCPU);
    const float* host = packed.data_ptr<float>();
    StepValues losses, step_values;
    for (size_t i = 0; i < names.size(); ++i) (i < num_losses ? losses : step_values)[names[i]] = host[i];
    const bool stop = host[names.size()] > 0;
    for (size_t i = 0; i < num_losses; ++i) {
      if (!std::isfinite(host[i])) {
        progress.finish();
        throw NonFiniteLossError("training stopped: loss '" + names[i] + "' is " + (std::isnan(host[i]) ? "NaN" : "Inf") +
                                 " at step " + std::to_string(step_) + (pg->world_size() > 1 ? " (mean over ranks)" : "") +
                                 "; no checkpoint was written after it; the last good checkpoint is " +
                                 (last_checkpoint.empty() ? std::string("none (no checkpoint was written yet)") : last_checkpoint));
      }
    }
    if (callback) callback(step_, losses);
    // One process needs no agreement: a signal that came during the step (or the callback) counts now.
    const bool stop_now = stop || (pg->world_size() == 1 && g_signal.load() != 0);

    if (step_ % opt.log_every() == 0 || step_ == opt.steps()) {
      if (metrics) {
        json lr = json::object();
        for (const auto& g : groups) lr[g.name] = g.lr;
        json record{{"step", step_},
                    {"epoch", loader->epoch()},
                    {"time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
                    {"steps_per_s", progress.rate(step_)},
                    {"lr", lr},
                    {"losses", losses},
                    {"metrics", step_values}};
        if (opt.amp() == AmpMode::kFp16) record["loss_scale"] = scaler->current_scale();
        metrics->write(record);
      }
    }
    progress.update(step_, losses);
    if (opt.sample_every() > 0 && step_ % opt.sample_every() == 0) write_samples();
    if (opt.eval_every() > 0 && step_ % opt.eval_every() == 0 && eval_data) {
      const json ev = evaluate();
      if (metrics) metrics->write(json{{"step", step_}, {"eval", ev}});
      progress.message("eval at step " + std::to_string(step_) + ": " + ev.dump());
    }
    if (stop_now) {
      save_checkpoint();
      progress.message("interrupted at step " + std::to_string(step_) + "; checkpoint " + last_checkpoint);
      progress.finish();
      result.status = RunStatus::kInterrupted;
      result.step = step_;
      result.checkpoint = last_checkpoint;
      return result;
    }
    if (opt.checkpoint_every() > 0 && step_ % opt.checkpoint_every() == 0) save_checkpoint();
  }
  if (last_checkpoint_step != step_) save_checkpoint();
  progress.finish();
  result.status = RunStatus::kCompleted;
  result.step = step_;
  result.checkpoint = last_checkpoint;
  return result;
}

Trainer::Trainer(TrainerOptions options, std::shared_ptr<Task> task, std::shared_ptr<const data::Dataset> train_data,
                 data::LoaderOptions loader_options, data::Transform transform,
                 std::shared_ptr<const data::Dataset> eval_data)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  validate(options);
  if (!task) throw ConfigError("trainer: no task");
  if (!train_data) throw ConfigError("trainer: no training data set");
  d.opt = std::move(options);
  d.task = std::move(task);
  d.train_data = std::move(train_data);
  d.eval_data = std::move(eval_data);

  const int threads = d.opt.threads() > 0 ? static_cast<int>(d.opt.threads())
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  d.env = d.opt.distributed() == "auto" ? DistributedEnv::from_environment() : DistributedEnv{};
  d.device_ = resolve_device(d.opt.device(), d.env);
  if (d.device_.is_cuda() && d.opt.cudnn_benchmark()) at::globalContext().setBenchmarkCuDNN(true);
  d.pg = std::make_unique<ProcessGroup>(d.env, d.device_, std::chrono::seconds(d.opt.distributed_timeout_s()));

  d.networks = d.task->networks();
  std::set<std::string> seen;
  for (auto& [name, net] : d.networks) {
    if (!net) throw ConfigError("task '" + d.task->type() + "': network '" + name + "' is null");
    if (!seen.insert(name).second) throw ConfigError("task '" + d.task->type() + "': network '" + name + "' twice");
    net->to(d.device_);
    net->train();
  }
  if (d.pg->world_size() > 1) {
    std::vector<torch::Tensor> state;
    for (auto& [name, net] : d.networks) {
      for (auto& p : net->parameters()) state.push_back(p);
      for (auto& b : net->buffers()) state.push_back(b);
    }
    d.pg->broadcast(state, 0);
  }
  for (auto& g : d.task->optimizer_groups()) {
    if (g.parameters.empty()) throw ConfigError("task '" + d.task->type() + "': optimizer group '" + g.name + "' has no parameters");
    for (const auto& existing : d.groups) {
      if (existing.name == g.name) throw ConfigError("task '" + d.task->type() + "': optimizer group '" + g.name + "' twice");
    }
    Impl::Group group;
    group.name = g.name;
    group.params = g.parameters;
    group.adam = g.adam;
    group.optimizer = make_adam(g.parameters, g.adam, d.opt.fused_adam());
    group.lr = g.adam.lr;
    d.groups.push_back(std::move(group));
  }
  for (const auto& name : d.opt.ema().networks) {
    std::shared_ptr<torch::nn::Module> net;
    std::vector<std::string> names;
    for (auto& [n, m] : d.networks) {
      names.push_back(n);
      if (n == name) net = m;
    }
    if (!net) throw ConfigError("trainer.ema.networks: unknown network '" + name + "'; the task has: " + join_names(names));
    d.emas.emplace_back(name, std::make_unique<Ema>(net, d.opt.ema().decay));
  }
  d.scaler = std::make_unique<LossScaler>(d.opt.loss_scaler(), d.device_);

  d.loader_options = loader_options;
  d.loader_options.rank(d.pg->rank()).world_size(d.pg->world_size());
  if (d.device_.is_cuda()) d.loader_options.pin_memory(true);
  d.loader = std::make_unique<data::Loader>(d.train_data, d.loader_options, std::move(transform));
  torch::manual_seed(static_cast<uint64_t>(d.opt.seed() + d.pg->rank()));
}

Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::from_config(const json& config, const DatasetResolver& resolve) {
  if (!config.is_object()) throw ConfigError("config: expected an object, got " + config.dump());
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (it.key() != "trainer" && it.key() != "task" && it.key() != "data") {
      throw ConfigError("config: unknown key '" + it.key() + "'; known: data, task, trainer");
    }
  }
  const TrainerOptions options = apply_json(TrainerOptions(), config.value("trainer", json::object()), "trainer");
  if (!config.contains("task")) throw ConfigError("config: missing 'task'");
  if (!config.contains("data")) throw ConfigError("config: missing 'data'");
  const json& data_cfg = config.at("data");
  if (!data_cfg.is_object()) throw ConfigError("data: expected an object");
  for (auto it = data_cfg.begin(); it != data_cfg.end(); ++it) {
    if (it.key() != "train" && it.key() != "eval" && it.key() != "loader" && it.key() != "transforms") {
      throw ConfigError("data: unknown key '" + it.key() + "'; known: eval, loader, train, transforms");
    }
  }
  if (!data_cfg.contains("train")) throw ConfigError("data: missing 'train'");
  torch::manual_seed(static_cast<uint64_t>(options.seed()));
  auto task = create_task(config.at("task"), "task");
  const DatasetResolver make = resolve ? resolve : [](const json& spec, const std::string& where) {
    return std::shared_ptr<const data::Dataset>(data::create_dataset(spec, where));
  };
  auto train_data = make(data_cfg.at("train"), "data.train");
  std::shared_ptr<const data::Dataset> eval_data;
  if (data_cfg.contains("eval")) eval_data = make(data_cfg.at("eval"), "data.eval");
  data::LoaderOptions loader = apply_json(data::LoaderOptions(), data_cfg.value("loader", json::object()), "data.loader");
  if (!data_cfg.contains("loader") || !data_cfg.at("loader").contains("seed")) loader.seed(options.seed());
  data::Transform transform;
  if (data_cfg.contains("transforms")) transform = data::transform_from_json(data_cfg.at("transforms"), "data.transforms");
  auto trainer = std::make_unique<Trainer>(options, std::move(task), std::move(train_data), loader,
                                           std::move(transform), std::move(eval_data));
  trainer->impl_->run_config = config;
  return trainer;
}

TrainResult Trainer::fit() { return impl_->fit(); }
void Trainer::load_checkpoint(const std::string& path) { impl_->load_checkpoint(path); }
std::string Trainer::save_checkpoint() { return impl_->save_checkpoint(); }
void Trainer::on_step(std::function<void(int64_t, const StepValues&)> callback) { impl_->callback = std::move(callback); }
void Trainer::set_progress_stream(std::ostream& out) { impl_->out = &out; }
std::string Trainer::write_samples() { return impl_->write_samples(); }
json Trainer::evaluate() { return impl_->evaluate(); }
SampleScores Trainer::score(const data::Dataset& dataset, const std::vector<ExtraScorer>& extra) {
  return impl_->score(dataset, extra);
}
int64_t Trainer::step() const { return impl_->step_; }
torch::Device Trainer::device() const { return impl_->device_; }
int64_t Trainer::rank() const { return impl_->pg->rank(); }
int64_t Trainer::world_size() const { return impl_->pg->world_size(); }
const TrainerOptions& Trainer::options() const { return impl_->opt; }
Task& Trainer::task() { return *impl_->task; }
torch::optim::Adam& Trainer::optimizer(const std::string& group) { return *impl_->group(group).optimizer; }
double Trainer::learning_rate(const std::string& group) const {
  for (const auto& g : impl_->groups) {
    if (g.name == group) return g.lr;
  }
  throw ConfigError("unknown optimizer group '" + group + "'");
}
std::shared_ptr<torch::nn::Module> Trainer::ema_network(const std::string& name) const {
  for (const auto& [n, e] : impl_->emas) {
    if (n == name) return e->average();
  }
  return nullptr;
}
const LossScaler& Trainer::loss_scaler() const { return *impl_->scaler; }

TrainResult require_completed(TrainResult result) {
  if (result.status == RunStatus::kInterrupted) {
    throw Interrupted("training interrupted by a signal at step " + std::to_string(result.step) +
                      (result.checkpoint.empty() ? std::string(" (no checkpoint written)")
                                                 : "; resume from " + result.checkpoint));
  }
  return result;
}

}  // namespace facegan::train
