#pragma once
// Learning-rate schedules: a multiplier of each optimizer group's base rate, a pure function of the
// step, so a schedule's state is the step alone and a resumed run sees the same rates.

#include <facegan/core/config.hpp>

#include <torch/arg.h>

#include <array>
#include <cstdint>
#include <utility>

namespace facegan::train {

/// Shape of the schedule.
enum class ScheduleType { kConstant, kLinearDecay, kStep, kCosine };

/// Options of lr_factor(). `s` below is the index of the step about to be taken (0 for the first).
///
/// - constant: 1.
/// - linear_decay (pix2pix's `linear` policy, counted in steps instead of epochs):
///   1 - max(0, s - constant_steps) / (decay_steps + 1); decay_steps 0 means steps - constant_steps.
/// - step: gamma ^ floor(s / step_size).
/// - cosine: min_factor + (1 - min_factor) * (1 + cos(pi * min(s, T) / T)) / 2 with
///   T = total_steps (0 means the trainer's steps).
///
/// With warmup_steps > 0, the first warmup_steps steps are multiplied by (s + 1) / warmup_steps.
struct ScheduleOptions {
  TORCH_ARG(ScheduleType, type) = ScheduleType::kConstant;
  TORCH_ARG(int64_t, warmup_steps) = 0;
  TORCH_ARG(int64_t, constant_steps) = 0;
  TORCH_ARG(int64_t, decay_steps) = 0;
  TORCH_ARG(int64_t, step_size) = 1000;
  TORCH_ARG(double, gamma) = 0.1;
  TORCH_ARG(int64_t, total_steps) = 0;
  TORCH_ARG(double, min_factor) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("type", type_);
    v("warmup_steps", warmup_steps_);
    v("constant_steps", constant_steps_);
    v("decay_steps", decay_steps_);
    v("step_size", step_size_);
    v("gamma", gamma_);
    v("total_steps", total_steps_);
    v("min_factor", min_factor_);
  }
};

/// Throws ConfigError naming the option ("schedule.step_size", ...) when a value is out of range.
void validate(const ScheduleOptions& options, const char* where = "schedule");

/// The learning-rate multiplier at step `step` (>= 0) of a run of `total_steps` steps.
double lr_factor(const ScheduleOptions& options, int64_t step, int64_t total_steps);

}  // namespace facegan::train

namespace facegan {
template <>
struct EnumNames<train::ScheduleType> {
  static constexpr std::array<std::pair<train::ScheduleType, const char*>, 4> values{
      {{train::ScheduleType::kConstant, "constant"},
       {train::ScheduleType::kLinearDecay, "linear_decay"},
       {train::ScheduleType::kStep, "step"},
       {train::ScheduleType::kCosine, "cosine"}}};
};
}  // namespace facegan
