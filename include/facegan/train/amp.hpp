#pragma once
// Mixed precision: autocast scopes per device type, and the loss scaler fp16 needs (LibTorch has no
// C++ GradScaler; this one is built from the same ATen ops as torch.amp.GradScaler).

#include <facegan/core/config.hpp>

#include <torch/torch.h>

#include <array>
#include <utility>
#include <vector>

namespace facegan::train {

/// Mixed-precision mode of the forward passes. kBf16 needs no loss scaling; kFp16 does.
enum class AmpMode { kNone, kBf16, kFp16 };

/// The autocast dtype of `mode` (kFloat for kNone).
torch::Dtype amp_dtype(AmpMode mode);

/// RAII scope that enables autocast for `device`'s type with `mode`'s dtype (kNone disables it),
/// and on exit restores the previous enabled flag and dtype and clears the autocast cache (cast
/// weights are cached only inside the outermost scope). Scopes nest. Backward passes belong outside.
class AutocastGuard {
 public:
  AutocastGuard(AmpMode mode, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_type_;
  bool previous_enabled_;
  at::ScalarType previous_dtype_;
};

/// Options of LossScaler; the defaults are torch.amp.GradScaler's.
struct LossScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;
  TORCH_ARG(double, growth_factor) = 2.0;
  TORCH_ARG(double, backoff_factor) = 0.5;
  /// Consecutive steps without inf/NaN gradients after which the scale grows.
  TORCH_ARG(int64_t, growth_interval) = 2000;

 public:
  template <class V>
  void visit(V& v) {
    v("init_scale", init_scale_);
    v("growth_factor", growth_factor_);
    v("backoff_factor", backoff_factor_);
    v("growth_interval", growth_interval_);
  }
};

/// Dynamic loss scaling for fp16 (Micikevicius et al. 2018), GradScaler's algorithm:
/// backward on scale() * loss; unscale_() divides the gradients by the scale and records whether any
/// is inf/NaN; a step whose gradients were not finite is skipped (step_allowed() false); update()
/// multiplies the scale by backoff_factor after such a step, and by growth_factor after
/// growth_interval finite steps in a row. All state lives in tensors on `device`
/// (at::_amp_foreach_non_finite_check_and_unscale_ and at::_amp_update_scale_, which have CPU and
/// CUDA kernels), so the only host sync is step_allowed().
class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {}, torch::Device device = torch::kCPU);

  /// loss * scale (in loss's dtype promotion: float32 scale).
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides `grads` in place by the scale and accumulates the inf/NaN flag of this step. Returns
  /// the flag of these gradients alone (float [1], > 0 when one was inf/NaN): an optimizer whose own
  /// gradients were finite may still step, as with GradScaler.step. Undefined tensors are skipped.
  torch::Tensor unscale_(const std::vector<torch::Tensor>& grads);
  /// False when an unscale_() since the last update() met an inf or NaN (one host sync).
  bool step_allowed() const;
  /// Adjusts the scale from this step's flag and clears it; call once per training step, after
  /// every optimizer of the step.
  void update();

  /// Current scale (host sync).
  double current_scale() const;
  /// Finite steps counted towards the next growth (host sync).
  int64_t growth_tracker() const;
  /// {"scale", "growth_tracker"}.
  json state() const;
  void load_state(const json& state);
  const LossScalerOptions& options() const { return options_; }

 private:
  LossScalerOptions options_;
  torch::Tensor scale_;           // float32 [1]
  torch::Tensor growth_tracker_;  // int32 [1]
  torch::Tensor found_inf_;       // float32 [1], this step's flag
};

}  // namespace facegan::train

namespace facegan {
template <>
struct EnumNames<train::AmpMode> {
  static constexpr std::array<std::pair<train::AmpMode, const char*>, 3> values{
      {{train::AmpMode::kNone, "none"}, {train::AmpMode::kBf16, "bf16"}, {train::AmpMode::kFp16, "fp16"}}};
};
}  // namespace facegan
