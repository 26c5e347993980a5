#include <facegan/losses/reconstruction.hpp>

#include <torch/torch.h>

namespace facegan::losses {

torch::Tensor ReconstructionLoss::operator()(const torch::Tensor& pred, const torch::Tensor& target,
                                             const torch::Tensor& sample_weights) const {
  TORCH_CHECK(pred.sizes() == target.sizes(), type(), " loss: pred ", pred.sizes(), " and target ", target.sizes(),
              " differ in shape");
  TORCH_CHECK(pred.dim() >= 1 && pred.size(0) >= 1, type(), " loss: expected [N, ...] with N >= 1, got ",
              pred.sizes());
  TORCH_CHECK(sample_weights.defined() || !requires_sample_weights(), type(),
              " loss: needs sample_weights of shape [N] (use l1 or l2 for an unweighted reconstruction)");
  const int64_t n = pred.size(0);
  const torch::Tensor per_sample = elementwise(pred, target).reshape({n, -1}).mean(1);
  if (!sample_weights.defined()) return weight() * per_sample.mean();
  TORCH_CHECK(sample_weights.dim() == 1 && sample_weights.size(0) == n, type(),
              " loss: sample_weights must be [N] = [", n, "], got ", sample_weights.sizes());
  return weight() * (sample_weights * per_sample).mean();
}

L1Loss::L1Loss(Options options) : LossImpl(std::move(options)) {}
torch::Tensor L1Loss::elementwise(const torch::Tensor& pred, const torch::Tensor& target) const {
  return elementwise_distance(Distance::kL1, pred, target);
}

L2Loss::L2Loss(Options options) : LossImpl(std::move(options)) {}
torch::Tensor L2Loss::elementwise(const torch::Tensor& pred, const torch::Tensor& target) const {
  return elementwise_distance(Distance::kL2, pred, target);
}

WeightedReconstructionLoss::WeightedReconstructionLoss(Options options) : LossImpl(std::move(options)) {}
torch::Tensor WeightedReconstructionLoss::elementwise(const torch::Tensor& pred, const torch::Tensor& target) const {
  return elementwise_distance(options.distance, pred, target);
}

void register_reconstruction_losses(Registry<Loss>& registry) {
  add_loss<L1Loss>(registry, "mean absolute error per sample, optionally sample-weighted");
  add_loss<L2Loss>(registry, "mean squared error per sample, optionally sample-weighted");
  add_loss<WeightedReconstructionLoss>(registry, "l1 or l2 reconstruction that requires per-sample weights");
}

}  // namespace facegan::losses
