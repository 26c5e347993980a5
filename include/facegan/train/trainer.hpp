#pragma once
// The Trainer: device, seeding, threads, the step loop, LR schedules, gradient clipping, AMP, EMA,
// periodic samples and evaluation, checkpoints and resume, data parallelism (c10d). It never knows
// which paper it trains: everything paper-specific is behind train::Task.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/loader.hpp>
#include <facegan/data/transforms.hpp>
#include <facegan/train/amp.hpp>
#include <facegan/train/progress.hpp>
#include <facegan/train/schedule.hpp>
#include <facegan/train/task.hpp>

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace facegan::train {

/// A loss became NaN or Inf: the run stops; the message names the loss, the step and the last good
/// checkpoint (none is written after the bad step).
class NonFiniteLossError : public Error {
 public:
  using Error::Error;
};

/// Options of the EMA copies.
struct EmaOptions {
  /// Networks (names from Task::networks()) to average; empty = no EMA.
  std::vector<std::string> networks;
  double decay = 0.999;
  /// Before this step the average just follows the live weights.
  int64_t start_step = 0;

  template <class V>
  void visit(V& v) {
    v("networks", networks);
    v("decay", decay);
    v("start_step", start_step);
  }
};

/// Options of the Trainer (JSON object "trainer" of a config; unknown keys are errors).
struct TrainerOptions {
  /// Optimizer steps of the whole run (a resumed run continues up to this count).
  TORCH_ARG(int64_t, steps) = 1000;
  TORCH_ARG(int64_t, seed) = 0;
  /// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
  TORCH_ARG(std::string, device) = "auto";
  /// Intra-op threads; 0 = the machine's hardware threads. Set once at construction, printed.
  /// LibTorch's thread pool is process-wide, so this is one of the Trainer's two documented
  /// changes to process state (with seeding the global generator): a run's speed and its
  /// reproducibility are part of its config, and a run that left them to the caller would differ
  /// between `facegan train` and an application. Code that must keep its own count runs the
  /// Trainer with the count it wants, or sets it again after the run.
  TORCH_ARG(int64_t, threads) = 0;
  /// Every this many steps: a metrics line (and a progress line when not on a terminal).
  TORCH_ARG(int64_t, log_every) = 50;
  /// Every this many steps a sample grid PNG (0 = never).
  TORCH_ARG(int64_t, sample_every) = 500;
  /// Rows of the sample grid: the first sample_count samples of the eval (else train) data set.
  TORCH_ARG(int64_t, sample_count) = 4;
  /// Every this many steps a checkpoint (0 = only at the end and on SIGINT/SIGTERM).
  TORCH_ARG(int64_t, checkpoint_every) = 1000;
  /// Checkpoints kept (the newest); 0 = all.
  TORCH_ARG(int64_t, keep_checkpoints) = 3;
  /// Every this many steps Task::evaluate on the eval data set (0 = never).
  TORCH_ARG(int64_t, eval_every) = 0;
  TORCH_ARG(int64_t, eval_batch_size) = 8;
  /// Eval samples at most (0 = all).
  TORCH_ARG(int64_t, eval_max_samples) = 0;
  /// Run folder: metrics.jsonl, samples/, checkpoints/, config.json.
  TORCH_ARG(std::string, out_dir) = "runs/default";
  /// "auto": continue from the newest checkpoint of out_dir/checkpoints when there is one;
  /// "none": start afresh; anything else: the path of a checkpoint file to continue from.
  TORCH_ARG(std::string, resume) = "auto";
  TORCH_ARG(AmpMode, amp) = AmpMode::kNone;
  TORCH_ARG(LossScalerOptions, loss_scaler);
  /// Adam steps through one fused kernel per group (train::FusedAdam; same update and
  /// checkpoint format as torch::optim::Adam, several times faster); false: torch::optim::Adam.
  TORCH_ARG(bool, fused_adam) = true;
  /// Maximum global gradient norm per optimizer group; 0 = no clipping.
  TORCH_ARG(double, grad_clip) = 0.0;
  TORCH_ARG(EmaOptions, ema);
  TORCH_ARG(ScheduleOptions, schedule);
  TORCH_ARG(ProgressMode, progress) = ProgressMode::kAuto;
  /// Gradient all-reduce bucket size in MiB.
  TORCH_ARG(int64_t, bucket_mb) = 25;
  /// CUDA only: cuDNN benchmark mode (autotuned convolutions; fixed input sizes profit).
  TORCH_ARG(bool, cudnn_benchmark) = true;
  /// "auto": join a process group when WORLD_SIZE > 1 is set (torchrun's variables); "off": never.
  TORCH_ARG(std::string, distributed) = "auto";
  /// Seconds to wait for all ranks at the rendezvous and in each collective.
  TORCH_ARG(int64_t, distributed_timeout_s) = 300;

 public:
  template <class V>
  void visit(V& v) {
    v("steps", steps_);
    v("seed", seed_);
    v("device", device_);
    v("threads", threads_);
    v("log_every", log_every_);
    v("sample_every", sample_every_);
    v("sample_count", sample_count_);
    v("checkpoint_every", checkpoint_every_);
    v("keep_checkpoints", keep_checkpoints_);
    v("eval_every", eval_every_);
    v("eval_batch_size", eval_batch_size_);
    v("eval_max_samples", eval_max_samples_);
    v("out_dir", out_dir_);
    v("resume", resume_);
    v("amp", amp_);
    v("loss_scaler", loss_scaler_);
    v("fused_adam", fused_adam_);
    v("grad_clip", grad_clip_);
    v("ema", ema_);
    v("schedule", schedule_);
    v("progress", progress_);
    v("bucket_mb", bucket_mb_);
    v("cudnn_benchmark", cudnn_benchmark_);
    v("distributed", distributed_);
    v("distributed_timeout_s", distributed_timeout_s_);
  }
};

/// How fit() ended.
enum class RunStatus { kCompleted, kInterrupted };

/// Result of Trainer::fit().
struct TrainResult {
  RunStatus status = RunStatus::kCompleted;
  /// Steps done in total (including those before a resume).
  int64_t step = 0;
  /// The last checkpoint written ("" if none).
  std::string checkpoint;
};

/// `result` when fit() completed; facegan::Interrupted (naming the step and the checkpoint
/// to resume from) when a signal stopped it. For programs that train several models in a row
/// (experiments, benchmarks): Ctrl-C must end the program, not only the current fit().
TrainResult require_completed(TrainResult result);

/// Turns a data set spec of a config into a data set; `where` names the config key ("data.train").
/// The default is data::create_dataset; the pipeline and the experiment runner pass their own
/// (data sets shared between stages, the folds of an experiment).
using DatasetResolver =
    std::function<std::shared_ptr<const data::Dataset>(const json& spec, const std::string& where)>;

/// Host copies of one step's losses (name -> value), for callbacks.
using StepValues = std::map<std::string, double>;

/// Runs a Task. Usage:
/// ```
/// torch::manual_seed(seed);                       // before the task builds its networks
/// auto task = train::create_task(config["task"]);
/// train::Trainer trainer(options, task, dataset, data::LoaderOptions(16));
/// train::TrainResult r = trainer.fit();
/// ```
/// Or all from one config with Trainer::from_config.
class Trainer {
 public:
  /// Sets the thread count, picks the device, joins the process group (distributed "auto" with
  /// WORLD_SIZE > 1), moves the task's networks, broadcasts rank 0's weights, builds the
  /// optimizers, EMA copies and the loader (whose rank and world_size are set here), and seeds
  /// torch with seed + rank. ConfigError naming the option when one is invalid.
  Trainer(TrainerOptions options, std::shared_ptr<Task> task, std::shared_ptr<const data::Dataset> train_data,
          data::LoaderOptions loader_options, data::Transform transform = nullptr,
          std::shared_ptr<const data::Dataset> eval_data = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Builds everything from one config object:
  /// {"trainer": TrainerOptions, "task": {"type", ...}, "data": {"train": dataset spec,
  ///  "eval": dataset spec (optional), "loader": LoaderOptions, "transforms": transform spec}}.
  /// Seeds torch with trainer.seed before the task is created. Unknown keys are ConfigErrors.
  /// fit() writes this config to out_dir/config.json, from which a run can be resumed. Data set
  /// specs go through `resolve` (default data::create_dataset).
  static std::unique_ptr<Trainer> from_config(const json& config, const DatasetResolver& resolve = nullptr);

  /// Trains up to options().steps() (resuming first as options().resume() says), holding the run
  /// folder's RunLock throughout (RunLockedError when another process trains into it). Returns
  /// kInterrupted after writing a checkpoint when SIGINT or SIGTERM arrived (handlers are installed
  /// only during fit()). Throws NonFiniteLossError on a NaN/Inf loss.
  TrainResult fit();

  /// Loads a checkpoint file (networks, optimizers, EMA, scaler, RNG, loader position, step).
  void load_checkpoint(const std::string& path);
  /// Writes the checkpoint of the current step (rank 0 only; other ranks return "") and prunes old
  /// ones; returns its path.
  std::string save_checkpoint();

  /// Called on every rank after each step with the step count (1 for the first step) and the
  /// step's losses (host values; already needed for the NaN check, so free).
  void on_step(std::function<void(int64_t step, const StepValues& losses)> callback);
  /// Where progress lines go (default std::cout).
  void set_progress_stream(std::ostream& out);

  /// Writes the sample grid of the current step to out_dir/samples/step_XXXXXXXXX.png; returns the
  /// path ("" on ranks other than 0).
  std::string write_samples();
  /// Task::evaluate on the eval data set (EMA weights, eval mode); empty object without one.
  json evaluate();
  /// Per-sample scores of the task's predictions on `dataset` (train::score_dataset with EMA
  /// weights and eval mode, as evaluate(); the trainer's eval batch size, no sample limit), the
  /// extra scorers' beside them.
  SampleScores score(const data::Dataset& dataset, const std::vector<ExtraScorer>& extra = {});

  int64_t step() const;
  torch::Device device() const;
  int64_t rank() const;
  int64_t world_size() const;
  const TrainerOptions& options() const;
  Task& task();
  /// The optimizer of a group (ConfigError listing the groups for an unknown name).
  torch::optim::Adam& optimizer(const std::string& group);
  /// The current learning rate of a group.
  double learning_rate(const std::string& group) const;
  /// The EMA copy of a network, or nullptr when it has none.
  std::shared_ptr<torch::nn::Module> ema_network(const std::string& name) const;
  /// The loss scaler (active under amp fp16).
  const LossScaler& loss_scaler() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace facegan::train

namespace facegan {
template <>
struct EnumNames<train::RunStatus> {
  static constexpr std::array<std::pair<train::RunStatus, const char*>, 2> values{
      {{train::RunStatus::kCompleted, "completed"}, {train::RunStatus::kInterrupted, "interrupted"}}};
};
}  // namespace facegan
