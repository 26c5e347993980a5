#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/loss.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/losses/regularizers.hpp>

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

namespace {

/// The builtin list: the one place that names every family, so nothing depends on static
/// initialisation order or on the linker keeping self-registering objects.
void register_builtin_losses(Registry<Loss>& registry) {
  register_adversarial_losses(registry);
  register_reconstruction_losses(registry);
  register_regularizer_losses(registry);
}

}  // namespace

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
