#pragma once
// Open-set identity-preserving face synthesis (Bao et al., "Towards Open-Set Identity Preserving
// Face Synthesis", CVPR 2018) as a train::Task. An identity encoder I (whose softmax head is the
// classifier C: they share architecture and weights, as the paper allows) gives f_I(x_s); a
// variational attribute encoder A gives z_a from x_a; the generator G decodes [f_I(x_s), z_a] into
// x'; a discriminator D exposes its activations. Losses (Sec. 3): L_I (softmax identity loss on
// labelled images), L_KL (z_a), L_GR (reconstruction of x_a: weight 1 for same-person pairs, 0.1
// otherwise), L_GD (D's activations of x' vs x_a), L_GC (C's activations of x' vs x_s), and the
// adversarial losses.

#include <facegan/core/config.hpp>
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/losses/regularizers.hpp>
#include <facegan/models/blocks/decoder.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/train/task.hpp>

#include <array>
#include <memory>
#include <string>

namespace facegan::models {

/// Which activations of C the L_GC feature matching compares.
enum class ClassifierFeatures {
  /// The embedding f_C (the paper: "features of the last fully connected layer").
  kEmbedding,
  /// The embedding and every residual stage's output.
  kAll,
};

/// Options of OpenSetTask (JSON keys as the fields). Loss weights are the `weight` of each spec.
/// Defaults: 64-pixel faces; I = IdentityNet (32 base channels, 4 stages, 128-d embedding); A = a
/// 6-layer stride-2 encoder (1x1 map at 64 px, so pooling keeps the pose) with a 64-d latent; G =
/// ConvDecoder from the 192-d [f_I, z_a]; D = a 3-layer PatchGAN with 32 base channels.
struct OpenSetTaskOptions {
  /// Side of the square images (x_s, x_a and x').
  int64_t image_size = 64;
  /// Training identities (C's classes; labels must lie in [0, num_identities)).
  int64_t num_identities = 160;
  /// I and C (num_classes is set from num_identities).
  IdentityNetOptions identity = IdentityNetOptions(0).base_channels(32).num_stages(4).embedding_dim(128);
  /// A. trunk.num_layers 0 = log2(image_size) (the last map is 1x1).
  VariationalEncoderOptions attribute = VariationalEncoderOptions(3).trunk(
      ConvEncoderOptions(3).base_channels(32).num_layers(0).max_channels(256).out_dim(0)).latent_dim(64);
  /// G. in_dim 0 = embedding_dim + latent_dim; image_size is set from image_size.
  ConvDecoderOptions generator = ConvDecoderOptions(0).base_channels(32).max_channels(256);
  /// D on x_a (real) and x' (fake).
  PatchDiscriminatorOptions discriminator = PatchDiscriminatorOptions(3).base_channels(32);
  /// DEVIATION from the paper (0 = the paper's pure vector bottleneck): when > 0, A's trunk
  /// activation of this side is also passed to G (ConvDecoder's skip, projected to
  /// attribute_skip_channels by a 1x1 convolution), so pose and background need not squeeze through
  /// z_a. sample() is unavailable then (random attributes have no map). See docs/open_set.md.
  int64_t attribute_skip_size = 0;
  int64_t attribute_skip_channels = 16;
  /// L_I: softmax cross entropy on the labelled images (ignore_index -1 skips unlabeled ones).
  json identity_loss = json{{"type", "cross_entropy"}, {"weight", 1.0}};
  /// L_KL on z_a. Its sum over latent dimensions meets a per-pixel mean L_GR, hence the small weight
  /// (see docs/open_set.md for the conversion from the paper's summed losses).
  json kl = json{{"type", "kl_normal"}, {"weight", 0.001}};
  /// L_GR: per-pixel mean squared error (the paper's L2), weighted per pair (below).
  json reconstruction = json{{"type", "weighted_reconstruction"}, {"distance", "l2"}, {"weight", 1.0}};
  /// Weight of L_GR for pairs of different (or unknown) people; 1 for same-person pairs (paper: 0.1).
  double different_weight = 0.1;
  /// L_GD: feature matching of D's activations of x' and x_a.
  json discriminator_matching = json{{"type", "feature_matching"}, {"distance", "l2"}, {"weight", 1.0}};
  /// L_GC: feature matching of C's activations of x' and x_s.
  json classifier_matching = json{{"type", "feature_matching"}, {"distance", "l2"}, {"weight", 1.0}};
  ClassifierFeatures classifier_features = ClassifierFeatures::kEmbedding;
  /// D's objective (and G's adversarial term, with `generator_adversarial_weight`).
  json adversarial = json{{"type", "vanilla"}};
  /// Bao et al. train G through L_GD instead of the usual adversarial term: 0 by default.
  double generator_adversarial_weight = 0.0;
  /// Warm start: a trainer checkpoint (e.g. of the "identity_classifier" task) whose network
  /// `identity_checkpoint_network` is loaded into I/C; "" = train I from scratch.
  std::string identity_checkpoint;
  std::string identity_checkpoint_network = "identity";
  /// Keep updating I/C with L_I (true, the paper) or freeze them (a fixed pretrained recogniser).
  bool train_identity = true;
  train::AdamSettings optimizer_identity;
  /// A and G share one optimizer (see docs/open_set.md: A also receives L_GD/L_GC gradients).
  train::AdamSettings optimizer_generator;
  train::AdamSettings optimizer_discriminator;
  Init init = Init::kNormal;
  double init_gain = 0.02;

  template <class V>
  void visit(V& v) {
    v("image_size", image_size);
    v("num_identities", num_identities);
    v("identity", identity);
    v("attribute", attribute);
    v("generator", generator);
    v("discriminator", discriminator);
    v("attribute_skip_size", attribute_skip_size);
    v("attribute_skip_channels", attribute_skip_channels);
    v("identity_loss", identity_loss);
    v("kl", kl);
    v("reconstruction", reconstruction);
    v("different_weight", different_weight);
    v("discriminator_matching", discriminator_matching);
    v("classifier_matching", classifier_matching);
    v("classifier_features", classifier_features);
    v("adversarial", adversarial);
    v("generator_adversarial_weight", generator_adversarial_weight);
    v("identity_checkpoint", identity_checkpoint);
    v("identity_checkpoint_network", identity_checkpoint_network);
    v("train_identity", train_identity);
    v("optimizer_identity", optimizer_identity);
    v("optimizer_generator", optimizer_generator);
    v("optimizer_discriminator", optimizer_discriminator);
    v("init", init);
    v("init_gain", init_gain);
  }
};

/// G's spatial input from A's output: the trunk activation of side generator.skip_size(), or an
/// undefined tensor when G has no skip (the paper's model).
torch::Tensor attribute_skip(const ConvDecoderOptions& generator, const VariationalOutput& a);

/// The loss terms of one generator step, each already weighted (a zero weight gives exactly 0).
struct OpenSetLosses {
  torch::Tensor kl, reconstruction, discriminator_matching, classifier_matching, adversarial;
  /// Their sum: what the "generator" optimizer minimises.
  torch::Tensor total() const { return kl + reconstruction + discriminator_matching + classifier_matching + adversarial; }
};

/// The open-set synthesis task. Networks "identity" (I = C), "attribute" (A), "generator" (G),
/// "discriminator" (D); optimizer groups "identity" (I/C: L_I; absent when train_identity is
/// false), "generator" (A and G: L_KL + L_GR + L_GD + L_GC [+ adversarial]), "discriminator".
/// Batch keys: "source", "attribute" [N, 3, S, S] in [-1, 1]; "source_identity",
/// "attribute_identity" int64 [N] (-1 = unlabeled); "same" float [N]; "target" (optional, the
/// ground truth) for evaluation and samples. Step order (Bao et al. Alg. 1): I/C on L_I, D on x_a
/// vs the detached x' (one forward of A and G per step, pix2pix's order), then A and G with I, C and D
/// frozen. Losses logged: "identity", "d", "kl",
/// "gr", "gd", "gc", "g_adv".
class OpenSetTask : public train::Task {
 public:
  /// Registry name.
  static constexpr const char* kType = "open_set";
  /// Builds, initialises (seed torch first) and warm-starts the networks, builds the losses.
  /// ConfigError naming the option when a value is inconsistent.
  explicit OpenSetTask(OpenSetTaskOptions options = {});

  std::string type() const override { return kType; }
  json to_json() const override;
  train::NamedModules networks() override;
  std::vector<train::OptimizerGroup> optimizer_groups() override;
  train::StepOutput train_step(const data::Batch& batch, train::StepContext& ctx) override;
  /// {"source", "attribute", "mix" (x'), and "target" when the batch has it}.
  train::NamedImages samples(const data::Batch& batch) override;
  /// {"output": mix(x_s, x_a)}.
  train::Outputs predict(const data::Batch& batch) override;
  /// With "target" (synthetic pairs): "psnr" (capped), "ssim", "l1" of outputs["output"] against
  /// it; on any pairs "reconstruction_l1": |x' - x_a| on same-person pairs (NaN on the others).
  /// evaluate() reports their means and "samples".
  train::SampleScores score_batch(const data::Batch& batch, const train::Outputs& outputs) override;

  /// x' = G([f_I(x_s), z_a]) with z_a = A(x_a)'s sample (train mode) or mean (eval mode).
  /// Returns x' [N, 3, S, S]; `kl_out`, when given, receives A's output.
  torch::Tensor mix(const torch::Tensor& source, const torch::Tensor& attribute, VariationalOutput* kl_out = nullptr);
  /// The weighted generator-step terms for a batch (no optimizer step; gradients flow into A and
  /// G only when the caller backpropagates): what train_step minimises, exposed for tests.
  OpenSetLosses generator_losses(const data::Batch& batch);
  /// L_I on the batch's labelled images (0 when none is labelled).
  torch::Tensor identity_loss(const data::Batch& batch);

  IdentityNet& identity() { return identity_; }
  VariationalEncoder& attribute() { return attribute_; }
  ConvDecoder& generator() { return generator_; }
  PatchDiscriminator& discriminator() { return discriminator_; }
  const OpenSetTaskOptions& options() const { return options_; }

  /// Loads I/C from network `network` of a trainer checkpoint (CheckpointError naming the file).
  void load_identity(const std::string& checkpoint, const std::string& network = "identity");

 private:
  /// I's forward pass with batch norm in eval mode (restoring the mode after).
  IdentityOutput identity_fixed(const torch::Tensor& x);
  /// The per-pair L_GR weights: 1 for same-person pairs, different_weight otherwise.
  torch::Tensor pair_weights(const data::Batch& batch) const;
  std::vector<torch::Tensor> classifier_features(const IdentityOutput& out) const;
  /// The weighted terms for x' made from A's output `a`; `source_features`: C's activations of x_s.
  OpenSetLosses losses_for(const data::Batch& batch, const torch::Tensor& fake, const VariationalOutput& a,
                           const std::vector<torch::Tensor>& source_features);

  OpenSetTaskOptions options_;
  IdentityNet identity_{nullptr};
  VariationalEncoder attribute_{nullptr};
  ConvDecoder generator_{nullptr};
  PatchDiscriminator discriminator_{nullptr};
  std::shared_ptr<losses::ClassificationLoss> identity_loss_;
  std::shared_ptr<losses::KLDivergenceLoss> kl_;
  std::shared_ptr<losses::ReconstructionLoss> reconstruction_;
  std::shared_ptr<losses::FeatureMatchingLoss> gd_, gc_;
  std::shared_ptr<losses::AdversarialLoss> adversarial_;
};

/// Options of IdentityClassifierTask.
struct IdentityClassifierTaskOptions {
  /// Classes = training identities.
  int64_t num_identities = 160;
  IdentityNetOptions identity = IdentityNetOptions(0).base_channels(32).num_stages(4).embedding_dim(128);
  json loss = json{{"type", "cross_entropy"}};
  train::AdamSettings optimizer = train::AdamSettings{1e-3, 0.9, 0.999, 1e-8, 0.0};
  std::string image_key = "image";
  std::string label_key = "identity";

  template <class V>
  void visit(V& v) {
    v("num_identities", num_identities);
    v("identity", identity);
    v("loss", loss);
    v("optimizer", optimizer);
    v("image_key", image_key);
    v("label_key", label_key);
  }
};

/// "identity_classifier": an IdentityNet trained with the softmax loss on labelled faces, the
/// separately trained recogniser whose checkpoint warm-starts OpenSetTask's I/C
/// (`identity_checkpoint`). Network and optimizer group "identity"; loss "ce"; metric "accuracy"
/// (batch top-1). evaluate: {"accuracy", "samples"} (the mean of score_batch).
class IdentityClassifierTask : public train::Task {
 public:
  static constexpr const char* kType = "identity_classifier";
  explicit IdentityClassifierTask(IdentityClassifierTaskOptions options = {});
  std::string type() const override { return kType; }
  json to_json() const override;
  train::NamedModules networks() override { return {{"identity", identity_.ptr()}}; }
  std::vector<train::OptimizerGroup> optimizer_groups() override;
  train::StepOutput train_step(const data::Batch& batch, train::StepContext& ctx) override;
  train::NamedImages samples(const data::Batch& batch) override;
  /// {"logits": [N, num_identities]}.
  train::Outputs predict(const data::Batch& batch) override;
  /// "accuracy": 1 where the top-1 identity is the label.
  train::SampleScores score_batch(const data::Batch& batch, const train::Outputs& outputs) override;
  IdentityNet& identity() { return identity_; }

 private:
  IdentityClassifierTaskOptions options_;
  IdentityNet identity_{nullptr};
  std::shared_ptr<losses::ClassificationLoss> loss_;
};

/// Registers "open_set" and "identity_classifier" in the task registry.
void register_open_set_tasks(Registry<train::Task>& registry);
/// Registers the open-set baselines "return_x_a" (output = the attribute face: right pose, wrong
/// identity) and "return_x_s" (output = the identity face) in the baseline registry.
void register_open_set_baselines(Registry<train::Baseline>& registry);

}  // namespace facegan::models

namespace facegan {
template <>
struct EnumNames<models::ClassifierFeatures> {
  static constexpr std::array<std::pair<models::ClassifierFeatures, const char*>, 2> values{
      {{models::ClassifierFeatures::kEmbedding, "embedding"}, {models::ClassifierFeatures::kAll, "all"}}};
};
}  // namespace facegan
