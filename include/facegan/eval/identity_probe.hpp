#pragma once
// Independent evaluation networks for synthesis on the synthetic renderer: an identity probe (an
// IdentityNet trained for evaluation only, never the model's own recogniser) that retrieves the
// identity of a generated face from a gallery of canonical renders, and an attribute probe that
// regresses a face's non-identity factors (pose, light, background, clothes, expression strength).
// Both train on TRAINING identities only, so scores on held-out identities measure open-set
// behaviour. Used by Bao et al.'s open-set table and the makeup issue.

#include <facegan/data/synthetic_faces.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/resnet.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace facegan::eval {

/// Faces rendered for probe training or evaluation.
struct ProbeSet {
  /// [M, 3, S, S] in [-1, 1].
  torch::Tensor images;
  /// int64 [M].
  torch::Tensor identities;
  /// float32 [M, kNumAttributeTargets] (attribute_targets of each face).
  torch::Tensor attributes;
};

/// Number of entries of attribute_targets().
constexpr int64_t kNumAttributeTargets = 18;
/// The non-identity factors of a face as numbers: roll, yaw, scale, shift_x, shift_y, light_x,
/// light_y, light_strength, background_top rgb, background_bottom rgb, clothes rgb, expression
/// intensity (0 when neutral) -> float32 [18].
torch::Tensor attribute_targets(const data::FaceFactors& factors);
/// The gallery face of an identity: neutral, frontal, no makeup, default Attributes.
data::FaceFactors canonical_factors(int64_t identity);
/// Renders faces sample_factors(first + k, split) for k < count (makeup removed when
/// `no_makeup`) into a ProbeSet. Deterministic.
ProbeSet render_probe_set(const data::SyntheticFaces& renderer, int64_t count, data::Split split = data::Split::kTrain,
                          uint64_t first = 0, bool no_makeup = true);

/// Options of probe training (a plain Adam loop on a fixed ProbeSet).
struct ProbeTrainingOptions {
  int64_t steps = 600;
  int64_t batch_size = 32;
  double lr = 1e-3;
  /// Seeds initialisation and batch order (distinct from any model's seed).
  uint64_t seed = 7919;
};

/// Identity retrieval by an independent IdentityNet: embeddings are L2-normalised, a query's
/// prediction is the gallery identity of highest cosine similarity.
class IdentityProbe {
 public:
  /// Default network: IdentityNet with 24 base channels, 3 stages, 96-d embedding (a different
  /// width and depth from open_set's I).
  static models::IdentityNetOptions default_network(int64_t num_classes);
  /// Trains `network` (num_classes = the training identities) with softmax on `data`.
  static IdentityProbe train(const ProbeSet& data, models::IdentityNetOptions network,
                             const ProbeTrainingOptions& options = {});
  explicit IdentityProbe(models::IdentityNet network);

  /// faces [N, 3, S, S] -> unit-norm embeddings [N, D] (eval mode, no gradients).
  torch::Tensor embed(const torch::Tensor& faces) const;
  /// Sets the gallery: one canonical render per identity of `identities`.
  void set_gallery(const data::SyntheticFaces& renderer, const std::vector<int64_t>& identities);
  /// Gallery identity of highest cosine similarity per query: faces [N, 3, S, S] -> int64 [N].
  torch::Tensor retrieve(const torch::Tensor& faces) const;
  /// Fraction of queries whose retrieved identity equals `identities` (int64 [N]).
  double top1(const torch::Tensor& faces, const torch::Tensor& identities) const;

  void save(const std::string& path) const;
  /// Loads weights saved by save() into a network built with `network` (CheckpointError naming
  /// the file).
  static IdentityProbe load(const std::string& path, models::IdentityNetOptions network);
  models::IdentityNet& network() { return network_; }

 private:
  mutable models::IdentityNet network_{nullptr};
  torch::Tensor gallery_;      // [G, D]
  torch::Tensor gallery_ids_;  // [G]
};

/// Attribute regression by an independent ConvEncoder trained on standardised attribute_targets.
class AttributeProbe {
 public:
  /// Default network: ConvEncoder with 32 base channels, log2(size) layers (to a 1x1 map).
  static models::ConvEncoderOptions default_network(int64_t image_size);
  /// Trains `network` (out_dim set to kNumAttributeTargets) with L2 on the standardised targets.
  static AttributeProbe train(const ProbeSet& data, models::ConvEncoderOptions network,
                              const ProbeTrainingOptions& options = {});
  AttributeProbe(models::ConvEncoder network, torch::Tensor mean, torch::Tensor stdev);

  /// faces [N, 3, S, S] -> predicted attribute_targets [N, 18] (original units).
  torch::Tensor predict(const torch::Tensor& faces) const;
  /// Mean over faces and attributes of |predict - targets| / stdev (in training standard
  /// deviations, so every attribute counts equally): faces [N, 3, S, S], targets [N, 18].
  double error(const torch::Tensor& faces, const torch::Tensor& targets) const;
  /// error() of each face: float64 [N].
  torch::Tensor error_per_image(const torch::Tensor& faces, const torch::Tensor& targets) const;

  void save(const std::string& path) const;
  static AttributeProbe load(const std::string& path, models::ConvEncoderOptions network);
  models::ConvEncoder& network() { return network_; }

 private:
  mutable models::ConvEncoder network_{nullptr};
  torch::Tensor mean_, stdev_;  // [18]
};

}  // namespace facegan::eval
