#include <facegan/train/optim.hpp>

#include <ATen/ops/_fused_adam.h>

namespace facegan::train {

torch::Tensor FusedAdam::step(LossClosure closure) {
  // The fused kernel needs one device and dtype per call; anything else takes Adam's own path
  // before any state is touched, so the two never both count a step.
  for (const auto& group : param_groups_) {
    const torch::Tensor* first = nullptr;
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) return torch::optim::Adam::step(closure);
      if (first == nullptr) {
        first = &p;
      } else if (p.device() != first->device() || p.scalar_type() != first->scalar_type()) {
        return torch::optim::Adam::step(closure);
      }
    }
  }
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
    std::vector<float> steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state_[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        if (options.amsgrad()) fresh->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(state.exp_avg());
      exp_avg_sqs.push_back(state.exp_avg_sq());
      if (options.amsgrad()) max_exp_avg_sqs.push_back(state.max_exp_avg_sq());
      steps.push_back(static_cast<float>(state.step()));
    }
    if (params.empty()) continue;
    // The kernel reads each parameter's step count from a scalar tensor on the parameters' device
    // (bias correction); one small tensor, unbound into views, serves the whole group.
    const std::vector<torch::Tensor> step_tensors =
        torch::tensor(steps, torch::TensorOptions(torch::kFloat)).to(params.front().device()).unbind(0);
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step_tensors, options.lr(),
                     std::get<0>(options.betas()), std::get<1>(options.betas()), options.weight_decay(),
                     options.eps(), options.amsgrad(), /*maximize=*/false);
  }
  return loss;
}

std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<torch::Tensor>& parameters,
                                              const AdamSettings& settings, bool fused) {
  const auto options = torch::optim::AdamOptions(settings.lr)
                           .betas({settings.beta1, settings.beta2})
                           .eps(settings.eps)
                           .weight_decay(settings.weight_decay);
  if (fused) return std::make_unique<FusedAdam>(parameters, options);
  return std::make_unique<torch::optim::Adam>(parameters, options);
}

}  // namespace facegan::train
