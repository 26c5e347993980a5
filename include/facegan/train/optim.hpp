#pragma once
// Adam whose update runs as one fused kernel over all of a group's parameters.

#include <facegan/train/task.hpp>

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace facegan::train {

/// torch::optim::Adam with step() done by at::_fused_adam_ (the kernel behind Python's
/// `Adam(fused=True)`), one call per parameter group instead of about ten tensor operations per
/// parameter. The update is Adam's (Kingma & Ba, Alg. 1, with L2 weight decay added to the
/// gradient, as torch::optim::Adam); state, options, save() and load() are Adam's own, so
/// checkpoints are interchangeable with torch::optim::Adam. Why: on a CPU the per-parameter loop of
/// torch::optim::Adam took about 45 % of a 64-pixel pix2pix step (docs/benchmarks.md, "History").
/// Groups whose parameters differ in device or dtype fall back to Adam::step().
class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// The optimizer of one parameter group as train::Trainer builds it: Adam with the group's
/// settings (lr, betas, eps, L2 weight decay), FusedAdam when `fused`. Benchmarks and tools that
/// step a task's groups themselves build them here, so that they time and check the same update.
std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<torch::Tensor>& parameters,
                                              const AdamSettings& settings, bool fused);

}  // namespace facegan::train
