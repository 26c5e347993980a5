#pragma once

#include <facegan/losses/loss.hpp>

#include <torch/torch.h>

namespace facegan::losses {

/// A per-sample reconstruction distance between a prediction and its target.
///
/// For pred and target of shape [N, ...] (equal shapes, N >= 1):
///   d_i = mean over the non-batch elements of dist(pred_i, target_i),
///   loss = weight * mean_i (w_i * d_i) with sample weights w ([N]), else weight * mean_i d_i.
/// Per-sample weights let a recipe down-weight pairs (e.g. unreliable or unlabeled ones) without
/// changing the loss's scale; the weighting lives here once, subclasses only give `dist`.
class ReconstructionLoss : public Loss {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "a reconstruction loss";

  /// pred, target: [N, ...]; sample_weights: [N] or undefined -> scalar.
  torch::Tensor operator()(const torch::Tensor& pred, const torch::Tensor& target,
                           const torch::Tensor& sample_weights = {}) const;

 protected:
  /// The unreduced elementwise distance, shape of pred.
  virtual torch::Tensor elementwise(const torch::Tensor& pred, const torch::Tensor& target) const = 0;
  /// True for losses that are meaningless without sample weights.
  virtual bool requires_sample_weights() const { return false; }
};

/// Mean absolute error: dist = |pred - target|.
class L1Loss final : public LossImpl<L1Loss, ReconstructionLoss, WeightOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "l1";
  /// Throws ConfigError on a negative weight.
  explicit L1Loss(Options options = {});

 protected:
  torch::Tensor elementwise(const torch::Tensor& pred, const torch::Tensor& target) const override;
};

/// Mean squared error: dist = (pred - target)^2.
class L2Loss final : public LossImpl<L2Loss, ReconstructionLoss, WeightOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "l2";
  /// Throws ConfigError on a negative weight.
  explicit L2Loss(Options options = {});

 protected:
  torch::Tensor elementwise(const torch::Tensor& pred, const torch::Tensor& target) const override;
};

/// Options of weighted_reconstruction.
struct WeightedReconstructionOptions {
  double weight = 1.0;
  Distance distance = Distance::kL1;
  template <class V>
  void visit(V& v) {
    v("weight", weight);
    v("distance", distance);
  }
};

/// An l1 or l2 reconstruction that must be given per-sample weights: a recipe that configures it
/// and forgets the weights fails loudly instead of silently averaging uniformly.
class WeightedReconstructionLoss final
    : public LossImpl<WeightedReconstructionLoss, ReconstructionLoss, WeightedReconstructionOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "weighted_reconstruction";
  /// Throws ConfigError on a negative weight.
  explicit WeightedReconstructionLoss(Options options = {});

 protected:
  torch::Tensor elementwise(const torch::Tensor& pred, const torch::Tensor& target) const override;
  bool requires_sample_weights() const override { return true; }
};

/// Registers l1, l2 and weighted_reconstruction.
void register_reconstruction_losses(Registry<Loss>& registry);

}  // namespace facegan::losses
