#pragma once

#include <facegan/losses/loss.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace facegan::losses {

/// KL divergence of a diagonal Gaussian posterior N(mu, exp(logvar)) to the prior N(0, I)
/// (Kingma & Welling 2014, App. B; Bao et al. 2018, L_KL):
///   loss = weight * mean_i 0.5 * sum_d (mu_id^2 + exp(logvar_id) - 1 - logvar_id).
/// Summing over latent dimensions (not averaging) keeps the ELBO's balance with reconstruction.
class KLDivergenceLoss final : public LossImpl<KLDivergenceLoss, Loss, WeightOptions> {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "a KL divergence loss";
  /// Registry name.
  static constexpr const char* kType = "kl_normal";
  /// Throws ConfigError on a negative weight.
  explicit KLDivergenceLoss(Options options = {});

  /// mu, logvar: [N, D] (or [N, ...], summed over all non-batch dims), equal shapes -> scalar.
  torch::Tensor operator()(const torch::Tensor& mu, const torch::Tensor& logvar) const;
};

/// Options of feature_matching.
struct FeatureMatchingOptions {
  double weight = 1.0;
  Distance distance = Distance::kL1;
  std::vector<double> layer_weights;  ///< One per layer; empty means all 1.
  bool detach_target = true;          ///< Stop gradients into the real branch.
  template <class V>
  void visit(V& v) {
    v("weight", weight);
    v("distance", distance);
    v("layer_weights", layer_weights);
    v("detach_target", detach_target);
  }
};

/// Feature matching between intermediate activations of generated and real images (Salimans et
/// al. 2016; Bao et al. 2018, L_GD and L_GC on the features of D and C):
///   loss = weight * sum_k layer_weight_k * mean |a_k - b_k|   (or mean (a_k - b_k)^2 for l2).
/// A per-layer mean makes deep, small layers count as much as wide, shallow ones.
class FeatureMatchingLoss final : public LossImpl<FeatureMatchingLoss, Loss, FeatureMatchingOptions> {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "a feature matching loss";
  /// Registry name.
  static constexpr const char* kType = "feature_matching";
  /// Throws ConfigError on a negative weight or layer weight.
  explicit FeatureMatchingLoss(Options options = {});

  /// fake_feats, real_feats: K >= 1 tensors each, pairwise equal shapes; layer_weights, when set,
  /// has K entries -> scalar.
  torch::Tensor operator()(const std::vector<torch::Tensor>& fake_feats,
                           const std::vector<torch::Tensor>& real_feats) const;
};

/// Options of cross_entropy.
struct ClassificationOptions {
  double weight = 1.0;
  double label_smoothing = 0.0;  ///< epsilon in [0, 1] (Szegedy et al. 2016).
  int64_t ignore_index = -1;     ///< Label of samples that do not count (unlabeled images).
  template <class V>
  void visit(V& v) {
    v("weight", weight);
    v("label_smoothing", label_smoothing);
    v("ignore_index", ignore_index);
  }
};

/// Softmax cross entropy with optional label smoothing, averaged over the labelled samples only:
///   l_i = (1 - eps) * (-log p_i[y_i]) + eps * mean_k (-log p_i[k]),
///   loss = weight * sum_{i: y_i != ignore_index} l_i / max(#labelled, 1).
/// Semi-supervised batches mix unlabeled images in; a batch without any labels gives exactly 0
/// (not NaN), and the count stays on the device, so no host sync is needed.
class ClassificationLoss final : public LossImpl<ClassificationLoss, Loss, ClassificationOptions> {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "a classification loss";
  /// Registry name.
  static constexpr const char* kType = "cross_entropy";
  /// Throws ConfigError on a negative weight or label_smoothing outside [0, 1].
  explicit ClassificationLoss(Options options = {});

  /// logits: [N, K] float; labels: [N] int64 in [0, K) or ignore_index -> scalar. Labels out of
  /// range are caught by torch's gather (an error on CPU, a device assert on CUDA): an explicit
  /// check here would cost a host sync every step.
  torch::Tensor operator()(const torch::Tensor& logits, const torch::Tensor& labels) const;
};

/// Anisotropic total variation, a smoothness prior on images or masks:
///   loss = weight * (mean |x[:, :, 1:, :] - x[:, :, :-1, :]| + mean |x[:, :, :, 1:] - x[:, :, :, :-1]|).
class TotalVariationLoss final : public LossImpl<TotalVariationLoss, Loss, WeightOptions> {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "a total variation loss";
  /// Registry name.
  static constexpr const char* kType = "total_variation";
  /// Throws ConfigError on a negative weight.
  explicit TotalVariationLoss(Options options = {});

  /// x: [N, C, H, W] with H, W >= 2 -> scalar.
  torch::Tensor operator()(const torch::Tensor& x) const;
};

/// Registers kl_normal, feature_matching, cross_entropy and total_variation.
void register_regularizer_losses(Registry<Loss>& registry);

}  // namespace facegan::losses
