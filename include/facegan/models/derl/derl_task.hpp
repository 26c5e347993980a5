#pragma once
// DeRL (Yang et al., CVPR 2018: "Facial Expression Recognition by De-expression Residue Learning")
// as a train::Task with a `stage` option:
//   "deexpression": stage 1, the pix2pix cGAN that turns an expressive face into the same person's
//                   neutral face (adversarial + theta * L1; it runs models::Pix2PixTask);
//   "classify":     stage 2, the generator frozen (no gradient, eval mode, not optimised); the
//                   ResidueClassifier learns from its activations with
//                   sum_i lambda_i CE(local_i) + lambda_final CE(final);
//   "baseline_cnn": the comparison of the DeRL table, a plain CNN trained on the images directly.

#include <facegan/core/config.hpp>
#include <facegan/losses/regularizers.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/derl/residue_classifier.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/task.hpp>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace facegan::models {

/// What a DeRLTask trains.
enum class DeRLStage { kDeexpression, kClassify, kBaselineCnn };

/// What the plain CNN of stage "baseline_cnn" reads.
enum class BaselineInput {
  /// The expressive face (the comparison the paper makes).
  kImage,
  /// The true residue, expressive face minus its ground-truth neutral face (target_key): not a
  /// method (it reads the answer of stage 1) but the ceiling of what a residue can carry on the
  /// data, the diagnostic that tells the residue idea from its generator.
  kTrueResidue,
};

/// Options of DeRLTask (JSON keys as the fields). Defaults follow the paper: the pix2pix U-Net and
/// 70x70 PatchGAN, theta = 100, Adam 2e-4 / beta1 0.5, six expression classes.
struct DeRLTaskOptions {
  DeRLStage stage = DeRLStage::kDeexpression;
  /// The de-expression generator (pix2pix's unet_256 by default).
  UNetGeneratorOptions generator = UNetGeneratorOptions(3, 3).dropout(0.5);
  /// Stage 1's conditional PatchGAN; in_channels 0 = generator in + out channels.
  PatchDiscriminatorOptions discriminator = PatchDiscriminatorOptions(0);
  /// Stage 1's adversarial loss spec (loss registry).
  json adversarial = json{{"type", "vanilla"}};
  /// Stage 1's weight of the reconstruction term to the ground-truth neutral face (theta; pix2pix's lambda).
  double theta = 100.0;
  /// Stage 1's reconstruction distance: "l1" (the paper) or "l2". A residual generator starts at the
  /// no-op, where L1's subgradient pins its zero output layer: most pixels of an expressive face equal
  /// the neutral one, so any change there costs |change| and outvotes the few pixels that should move.
  /// L2's gradient vanishes at zero change, which lets the output layer grow where the expression is.
  std::string reconstruction = "l1";
  double d_loss_factor = 0.5;
  train::AdamSettings optimizer_g;
  train::AdamSettings optimizer_d;
  /// Stages 2 and baseline: the classifier's optimizer.
  train::AdamSettings optimizer_c = train::AdamSettings{1e-3, 0.9, 0.999, 1e-8, 0.0};
  Init init = Init::kNormal;
  double init_gain = 0.02;
  /// Batch keys: the expressive face, its neutral face (stage 1 only) and the expression label.
  /// synthetic_pairs: "input" / "target"; ck_plus and oulu_casia: "image" / "neutral_image".
  std::string input_key = "input";
  std::string target_key = "target";
  std::string label_key = "expression";
  /// The expression ids (data::kExpressionClassNames indices) that are the classes, in class
  /// order; samples with another label are ignored by the loss and by evaluation.
  std::vector<int64_t> classes = {1, 2, 3, 4, 5, 6};
  /// Stage 2's classifier (num_classes is set from `classes`).
  ResidueClassifierOptions classifier;
  /// lambda_i of the local heads (one per level; empty = all 1) and of the final head.
  std::vector<double> local_weights;
  double final_weight = 1.0;
  /// Classification loss spec (a "cross_entropy" loss; its ignore_index marks unused labels).
  json classification = json{{"type", "cross_entropy"}};
  /// Stage 2: the stage-1 checkpoint (trainer format) whose generator is loaded and frozen; empty =
  /// none (call DeRLTask::load_generator or set the weights before training).
  std::string generator_checkpoint;
  /// Load the EMA copy of the generator from generator_checkpoint when it has one.
  bool use_ema = true;
  /// The plain CNN of stage "baseline_cnn" (out_dim is set to the class count).
  ConvEncoderOptions baseline = ConvEncoderOptions(3).base_channels(32).num_layers(4).max_channels(256);
  /// What that CNN reads: the face, or the true residue (a diagnostic ceiling, not a method).
  BaselineInput baseline_input = BaselineInput::kImage;

  template <class V>
  void visit(V& v) {
    v("stage", stage);
    v("generator", generator);
    v("discriminator", discriminator);
    v("adversarial", adversarial);
    v("theta", theta);
    v("reconstruction", reconstruction);
    v("d_loss_factor", d_loss_factor);
    v("optimizer_g", optimizer_g);
    v("optimizer_d", optimizer_d);
    v("optimizer_c", optimizer_c);
    v("init", init);
    v("init_gain", init_gain);
    v("input_key", input_key);
    v("target_key", target_key);
    v("label_key", label_key);
    v("classes", classes);
    v("classifier", classifier);
    v("local_weights", local_weights);
    v("final_weight", final_weight);
    v("classification", classification);
    v("generator_checkpoint", generator_checkpoint);
    v("use_ema", use_ema);
    v("baseline", baseline);
    v("baseline_input", baseline_input);
  }
};

/// The DeRL task. Networks and optimizer groups per stage:
///   deexpression: networks "g", "d"; groups "g", "d"; losses "d", "g_adv", "g_rec".
///   classify:     networks "g" (frozen), "classifier"; group "c"; losses "local_<level>", "final"
///                 (weighted), metric "accuracy" (final head, on the batch).
///   baseline_cnn: network "classifier" (a ConvEncoder); group "c"; loss "final", metric "accuracy".
class DeRLTask : public train::Task {
 public:
  /// Registry name.
  static constexpr const char* kType = "derl";
  /// Builds and initialises the stage's networks (seed torch first) and its losses; in stage
  /// "classify" loads the generator from generator_checkpoint when set, and freezes it.
  /// ConfigError naming the option when a value is inconsistent.
  explicit DeRLTask(DeRLTaskOptions options = {});

  std::string type() const override { return kType; }
  json to_json() const override;
  train::NamedModules networks() override;
  std::vector<train::OptimizerGroup> optimizer_groups() override;
  train::StepOutput train_step(const data::Batch& batch, train::StepContext& ctx) override;
  /// deexpression: {"input", "output", "target"}; classify: {"input", "neutralized"}; baseline: {"input"}.
  train::NamedImages samples(const data::Batch& batch) override;
  /// deexpression: {"l1", "psnr", "ssim" (neutralized vs ground-truth neutral), "samples"};
  /// classify / baseline: {"accuracy", "confusion" (rows truth, columns prediction, class order),
  /// "samples" (labelled samples counted)} and, in classify, "local_accuracy" per level.
  json evaluate(const data::Dataset& dataset, const train::EvalContext& ctx) override;
  /// deexpression: pix2pix's {"output"}; classify: {"logits": final head [N, K],
  /// "local_logits_<level>": each local head}; baseline_cnn: {"logits"}.
  train::Outputs predict(const data::Batch& batch) override;
  /// deexpression: pix2pix's l1 / psnr / ssim. Otherwise "accuracy" (1 when the argmax of
  /// outputs["logits"] is the label, NaN for a sample outside `classes`), "label" and "prediction"
  /// (class indices, for confusion matrices) and "local_accuracy_<level>" for each local head.
  train::SampleScores score_batch(const data::Batch& batch, const train::Outputs& outputs) override;

  /// Loads the generator (EMA copy when use_ema and present) from a trainer checkpoint of any
  /// stage; in stage "classify" it stays frozen. CheckpointError naming the file on failure.
  void load_generator(const std::string& checkpoint_path);
  /// Labels of the batch's label_key mapped to class indices (-1 / ignore_index for other ids).
  torch::Tensor class_labels(const torch::Tensor& expression) const;
  /// The plain CNN's input on a batch: the face, or face - neutral face (baseline_input).
  torch::Tensor baseline_input(const data::Batch& batch) const;
  /// [N, K] logits of the final head for images [N, 3, H, W] (classify and baseline stages).
  torch::Tensor classify_logits(const torch::Tensor& images);

  UNetGenerator& generator() { return generator_; }
  ResidueClassifier& classifier() { return classifier_; }
  ConvEncoder& baseline() { return baseline_; }
  const DeRLTaskOptions& options() const { return options_; }
  DeRLStage stage() const { return options_.stage; }

 private:
  void freeze_generator();

  DeRLTaskOptions options_;
  std::shared_ptr<Pix2PixTask> pix2pix_;  // stage 1 runs pix2pix's recipe as is
  UNetGenerator generator_{nullptr};
  ResidueClassifier classifier_{nullptr};
  ConvEncoder baseline_{nullptr};
  std::shared_ptr<losses::ClassificationLoss> classification_;
  torch::Tensor class_map_;  // expression id + 1 -> class index (ignore_index elsewhere)
};

/// Registers "derl" in the task registry (add to the builtin task list).
void register_derl_task(Registry<train::Task>& registry);
/// Registers "derl_chance" (a uniform random guess per sample) in the baseline registry; stage 1's
/// "return the expressive input" is pix2pix's "return_input".
void register_derl_baselines(Registry<train::Baseline>& registry);

}  // namespace facegan::models

namespace facegan {
template <>
struct EnumNames<models::DeRLStage> {
  static constexpr std::array<std::pair<models::DeRLStage, const char*>, 3> values{
      {{models::DeRLStage::kDeexpression, "deexpression"},
       {models::DeRLStage::kClassify, "classify"},
       {models::DeRLStage::kBaselineCnn, "baseline_cnn"}}};
};
template <>
struct EnumNames<models::BaselineInput> {
  static constexpr std::array<std::pair<models::BaselineInput, const char*>, 2> values{
      {{models::BaselineInput::kImage, "image"}, {models::BaselineInput::kTrueResidue, "true_residue"}}};
};
}  // namespace facegan
