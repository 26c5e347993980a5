#include <facegan/core/error.hpp>
#include <facegan/train/amp.hpp>

#include <ATen/autocast_mode.h>

#include <map>
#include <tuple>

namespace facegan::train {

torch::Dtype amp_dtype(AmpMode mode) {
  switch (mode) {
    case AmpMode::kBf16:
      return torch::kBFloat16;
    case AmpMode::kFp16:
      return torch::kHalf;
    case AmpMode::kNone:
      break;
  }
  return torch::kFloat;
}

AutocastGuard::AutocastGuard(AmpMode mode, const torch::Device& device)
    : device_type_(device.type()),
      previous_enabled_(at::autocast::is_autocast_enabled(device_type_)),
      previous_dtype_(at::autocast::get_autocast_dtype(device_type_)) {
  if (mode == AmpMode::kNone) {
    at::autocast::set_autocast_enabled(device_type_, false);
  } else {
    at::autocast::set_autocast_dtype(device_type_, amp_dtype(mode));
    at::autocast::set_autocast_enabled(device_type_, true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  // The cache of cast weights is only valid inside the outermost scope (as torch.autocast).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

LossScaler::LossScaler(LossScalerOptions options, torch::Device device) : options_(std::move(options)) {
  if (!(options_.init_scale() > 0)) throw ConfigError("loss_scaler.init_scale: must be > 0");
  if (!(options_.growth_factor() > 1)) throw ConfigError("loss_scaler.growth_factor: must be > 1");
  if (!(options_.backoff_factor() > 0 && options_.backoff_factor() < 1)) {
    throw ConfigError("loss_scaler.backoff_factor: must be in (0, 1)");
  }
  if (options_.growth_interval() < 1) throw ConfigError("loss_scaler.growth_interval: must be >= 1");
  const auto f = torch::TensorOptions().dtype(torch::kFloat).device(device);
  scale_ = torch::full({1}, options_.init_scale(), f);
  growth_tracker_ = torch::zeros({1}, f.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, f);
}

// scale_ is a 1-element float32 tensor (not 0-dim), so the product is float32 even for an fp16 loss,
// which keeps loss * 65536 from overflowing half precision (as GradScaler.scale).
torch::Tensor LossScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

torch::Tensor LossScaler::unscale_(const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  // The op wants tensors of one device and dtype per call.
  std::map<std::tuple<int, int, int>, std::vector<torch::Tensor>> groups;
  for (const auto& g : grads) {
    if (g.defined()) {
      groups[{static_cast<int>(g.device().type()), g.device().index(), static_cast<int>(g.scalar_type())}].push_back(g);
    }
  }
  const torch::Tensor inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
  torch::Tensor found_here = torch::zeros_like(found_inf_);
  for (auto& [key, list] : groups) {
    const torch::Device device = list.front().device();
    torch::Tensor found = torch::zeros({1}, found_inf_.options().device(device));
    at::_amp_foreach_non_finite_check_and_unscale_(list, found, inv_scale.to(device));
    found_here.add_(found.to(found_inf_.device()));
  }
  found_inf_.add_(found_here);
  return found_here;
}

bool LossScaler::step_allowed() const { return found_inf_.item<float>() == 0.0f; }

void LossScaler::update() {
  torch::NoGradGuard no_grad;
  const torch::Tensor found = (found_inf_ > 0).to(torch::kFloat);
  at::_amp_update_scale_(scale_, growth_tracker_, found, options_.growth_factor(), options_.backoff_factor(),
                         options_.growth_interval());
  found_inf_.zero_();
}

double LossScaler::current_scale() const { return scale_.item<double>(); }

int64_t LossScaler::growth_tracker() const { return growth_tracker_.item<int64_t>(); }

json LossScaler::state() const { return json{{"scale", current_scale()}, {"growth_tracker", growth_tracker()}}; }

void LossScaler::load_state(const json& state) {
  try {
    scale_.fill_(state.at("scale").get<double>());
    growth_tracker_.fill_(state.at("growth_tracker").get<int64_t>());
  } catch (const json::exception& e) {
    throw CheckpointError(std::string("loss scaler state: ") + e.what());
  }
  found_inf_.zero_();
}

}  // namespace facegan::train
