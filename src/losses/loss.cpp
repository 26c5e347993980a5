#include "builtin_losses.hpp"

#include <facegan/losses/loss.hpp>

#include <cmath>
#include <string>

namespace facegan::losses {

torch::Tensor elementwise_distance(Distance distance, const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor diff = a - b;
  switch (distance) {
    case Distance::kL1:
      return diff.abs();
    case Distance::kL2:
      return diff.square();
  }
  TORCH_CHECK(false, "elementwise_distance: unknown Distance value ", static_cast<int>(distance));
}

void check_non_negative(double value, const char* key) {
  if (!std::isfinite(value) || value < 0.0) {
    throw ConfigError(std::string(key) + ": expected a finite value >= 0, got " + json(value).dump());
  }
}

Registry<Loss>& loss_registry() {
  static Registry<Loss> registry = [] {
    Registry<Loss> r("loss");
    register_builtin_losses(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<Loss> create_loss(const json& spec, const std::string& where) {
  return loss_registry().create_from_spec(spec, where);
}

}  // namespace facegan::losses
