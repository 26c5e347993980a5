#include <facegan/core/error.hpp>
#include <facegan/train/ema.hpp>

namespace facegan::train {

Ema::Ema(std::shared_ptr<torch::nn::Module> network, double decay) : live_(std::move(network)), decay_(decay) {
  if (!(decay_ >= 0.0 && decay_ <= 1.0)) throw ConfigError("ema.decay: must be in [0, 1], got " + std::to_string(decay_));
  try {
    average_ = live_->clone();
  } catch (const c10::Error&) {
    throw ConfigError("ema: network '" + live_->name() + "' cannot be cloned (derive it from torch::nn::Cloneable)");
  }
  average_->eval();
  for (auto& p : average_->parameters()) p.set_requires_grad(false);
}

void Ema::update() {
  torch::NoGradGuard no_grad;
  const auto live = live_->parameters();
  const auto avg = average_->parameters();
  TORCH_CHECK(live.size() == avg.size(), "Ema: the network's parameters changed");
  for (size_t i = 0; i < live.size(); ++i) avg[i].mul_(decay_).add_(live[i].detach(), 1.0 - decay_);
  const auto live_b = live_->buffers();
  const auto avg_b = average_->buffers();
  for (size_t i = 0; i < live_b.size() && i < avg_b.size(); ++i) avg_b[i].copy_(live_b[i]);
}

void Ema::reset_to_live() {
  torch::NoGradGuard no_grad;
  const auto live = live_->parameters();
  const auto avg = average_->parameters();
  for (size_t i = 0; i < live.size(); ++i) avg[i].copy_(live[i]);
  const auto live_b = live_->buffers();
  const auto avg_b = average_->buffers();
  for (size_t i = 0; i < live_b.size() && i < avg_b.size(); ++i) avg_b[i].copy_(live_b[i]);
}

Ema::Swap::Swap(Ema& ema) : ema_(ema) {
  torch::NoGradGuard no_grad;
  const auto live = ema_.live_->parameters();
  const auto avg = ema_.average_->parameters();
  saved_.reserve(live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    saved_.push_back(live[i].detach().clone());
    live[i].copy_(avg[i]);
  }
}

Ema::Swap::~Swap() {
  torch::NoGradGuard no_grad;
  const auto live = ema_.live_->parameters();
  for (size_t i = 0; i < live.size() && i < saved_.size(); ++i) live[i].copy_(saved_[i]);
}

}  // namespace facegan::train
