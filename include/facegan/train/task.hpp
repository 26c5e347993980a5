#pragma once
// The Task interface: what the Trainer knows about a paper. A task names its networks and optimizer
// groups, runs one training step (owning its G/D order and loss recipe), draws named sample images
// and evaluates itself. It never builds optimizers, moves networks between devices, enables
// autocast or all-reduces gradients: StepContext does those for it.

#include <facegan/core/config.hpp>
#include <facegan/core/registry.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/train/amp.hpp>

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace facegan::train {

/// Networks in a fixed order; the names are checkpoint keys and EMA selectors.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>;
/// Sample images in column order: each is [N, 3, H, W] in [-1, 1] (row i of the grid is sample i).
using NamedImages = std::vector<std::pair<std::string, torch::Tensor>>;

/// Adam settings of one optimizer group (pix2pix's defaults: lr 2e-4, betas (0.5, 0.999)).
struct AdamSettings {
  double lr = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;

  template <class V>
  void visit(V& v) {
    v("lr", lr);
    v("beta1", beta1);
    v("beta2", beta2);
    v("eps", eps);
    v("weight_decay", weight_decay);
  }
};

/// One optimizer: a name ("g", "d"), the parameters it updates and its settings. The group's
/// learning rate is adam.lr times the trainer's schedule factor.
struct OptimizerGroup {
  std::string name;
  std::vector<torch::Tensor> parameters;
  AdamSettings adam;
};

/// What one training step reports: scalar tensors (kept on the device; the trainer reads them all
/// in one host transfer). A non-finite entry of `losses` stops the run; `metrics` are only logged.
struct StepOutput {
  std::map<std::string, torch::Tensor> losses;
  std::map<std::string, torch::Tensor> metrics;
};

/// The trainer's services to Task::train_step.
class StepContext {
 public:
  virtual ~StepContext() = default;
  /// One optimizer step of `group` on `loss`: zero the group's gradients, backward (scaled under
  /// fp16, outside autocast), all-reduce the group's gradients across ranks (mean), unscale and
  /// check them (fp16: a non-finite step is skipped), clip their norm, step the optimizer.
  /// Gradients flowing into other groups' parameters are left for those groups to zero.
  virtual void step(const std::string& group, const torch::Tensor& loss, bool retain_graph = false) = 0;
  /// Autocast scope for forward passes (a no-op scope when AMP is off). Usage:
  /// `{ auto amp = ctx.autocast(); loss = ...; } ctx.step("g", loss);`
  virtual AutocastGuard autocast() const = 0;
  /// Index of the step being taken (0 for the first).
  virtual int64_t global_step() const = 0;
  virtual torch::Device device() const = 0;
  virtual int64_t rank() const { return 0; }
  virtual int64_t world_size() const { return 1; }
};

/// Settings of Task::evaluate.
struct EvalContext {
  torch::Device device = torch::kCPU;
  int64_t batch_size = 8;
  /// Samples evaluated at most (0 = the whole data set).
  int64_t max_samples = 0;
  AmpMode amp = AmpMode::kNone;
};

/// Calls `fn` on the data set's batches in index order (the first max_samples samples), on the
/// context's device. Evaluation code needs no loader: it is deterministic and single-threaded.
void for_each_batch(const data::Dataset& dataset, const EvalContext& ctx,
                    const std::function<void(const data::Batch&)>& fn);

/// What a method outputs on an evaluation batch, by name ({"output": [N, 3, H, W]}, {"logits":
/// [N, K]}, ...): a task's own prediction or a baseline's, scored by the same Task::score_batch.
using Outputs = std::map<std::string, torch::Tensor>;
/// Per-sample scores: metric -> float64 [N], one value per sample in data set order. NaN marks a
/// sample the metric does not apply to (an empty mask, an unlabeled sample).
using SampleScores = std::map<std::string, torch::Tensor>;
/// outputs[key]; ConfigError naming the key and those present when it is missing (a baseline whose
/// outputs do not fit the task that scores them).
const torch::Tensor& output_at(const Outputs& outputs, const std::string& key);
/// Extra per-sample scores of a method's outputs (an independent probe, ...), beside the task's.
using ExtraScorer = std::function<SampleScores(const data::Batch& batch, const Outputs& outputs)>;

/// A paper's training recipe. Created from the task registry by name and JSON options.
class Task {
 public:
  virtual ~Task() = default;
  /// Registry name ("pix2pix").
  virtual std::string type() const = 0;
  /// The task's options as JSON (written into checkpoints).
  virtual json to_json() const { return json{{"type", type()}}; }
  /// Every network, in a fixed order. The trainer moves them to its device, checkpoints them under
  /// these names, keeps EMA copies of the chosen ones and puts them in eval() for samples.
  virtual NamedModules networks() = 0;
  /// The optimizer groups, each over a disjoint set of parameters.
  virtual std::vector<OptimizerGroup> optimizer_groups() = 0;
  /// One training step on `batch` (on the trainer's device): forward passes under ctx.autocast(),
  /// ctx.step(group, loss) for each optimizer in the task's own order. No .item() inside.
  virtual StepOutput train_step(const data::Batch& batch, StepContext& ctx) = 0;
  /// Named images for a sample grid, computed without gradients on `batch`.
  virtual NamedImages samples(const data::Batch& batch) = 0;
  /// Metrics on `dataset` (e.g. {"l1": ..., "psnr": ...}); networks are in eval() mode. The default
  /// is summarize_scores(score_dataset(...)): the means of the per-sample scores.
  virtual json evaluate(const data::Dataset& dataset, const EvalContext& ctx);

  /// The task's outputs on an evaluation batch (networks in eval mode, no gradients), the input of
  /// score_batch. The default throws ConfigError: the task has no per-sample evaluation.
  virtual Outputs predict(const data::Batch& batch);
  /// Per-sample scores of `outputs` on `batch`: the task's own predict() or a baseline's outputs
  /// (one scoring code path for both). Every tensor is float64 [batch.size()]. The default throws.
  virtual SampleScores score_batch(const data::Batch& batch, const Outputs& outputs);
};

/// Scores `predict(batch)` over the data set's batches (EvalContext's order and limit) with
/// task.score_batch and the extra scorers; per-sample scores concatenated in data set order.
/// ConfigError when a scorer returns a tensor that is not one value per sample.
SampleScores score_dataset(Task& task, const data::Dataset& dataset, const EvalContext& ctx,
                           const std::function<Outputs(const data::Batch&)>& predict,
                           const std::vector<ExtraScorer>& extra = {});
/// score_dataset with the task's own predict().
SampleScores score_dataset(Task& task, const data::Dataset& dataset, const EvalContext& ctx,
                           const std::vector<ExtraScorer>& extra = {});
/// {"samples": N, metric: mean over the samples where it is not NaN, ...}; a metric that is NaN
/// everywhere is null.
json summarize_scores(const SampleScores& scores);

/// A method that needs no training (return the input, colour transfer, chance, an oracle that reads
/// the ground truth), registered by each paper beside its task and scored by that task's
/// score_batch on the same samples as the trained variants.
class Baseline {
 public:
  virtual ~Baseline() = default;
  /// The baseline's outputs on `batch`, in the Outputs form that the task's score_batch reads.
  virtual Outputs predict(const data::Batch& batch) = 0;
};

/// Options of a registered product that takes none: apply_json(NoOptions(), options) rejects any key.
struct NoOptions {
  template <class V>
  void visit(V&) {}
};

/// A Baseline from a function (what most papers register).
class FunctionBaseline : public Baseline {
 public:
  explicit FunctionBaseline(std::function<Outputs(const data::Batch&)> fn) : fn_(std::move(fn)) {}
  Outputs predict(const data::Batch& batch) override { return fn_(batch); }

 private:
  std::function<Outputs(const data::Batch&)> fn_;
};

/// The task catalogue: `{"type": name, ...options}` -> Task. Filled on first use by the builtin list.
Registry<Task>& task_registry();

/// Builds a task from its spec; `where` prefixes every ConfigError (missing "type", unknown type
/// with the known names, unknown option).
std::shared_ptr<Task> create_task(const json& spec, const std::string& where = "task");

/// The baseline catalogue: `{"type": name, ...options}` -> Baseline ("derl_chance",
/// "makeup_reinhard", ...). Filled on first use by the builtin list.
Registry<Baseline>& baseline_registry();
/// Builds a baseline from its spec (errors as create_task's).
std::shared_ptr<Baseline> create_baseline(const json& spec, const std::string& where = "baseline");

}  // namespace facegan::train
