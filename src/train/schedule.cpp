#include <facegan/core/error.hpp>
#include <facegan/train/schedule.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace facegan::train {

void validate(const ScheduleOptions& o, const char* where) {
  const std::string w = where;
  auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(w + "." + key + ": " + what);
  };
  if (o.warmup_steps() < 0) fail("warmup_steps", "must be >= 0");
  if (o.constant_steps() < 0) fail("constant_steps", "must be >= 0");
  if (o.decay_steps() < 0) fail("decay_steps", "must be >= 0");
  if (o.step_size() < 1) fail("step_size", "must be >= 1");
  if (!(o.gamma() > 0)) fail("gamma", "must be > 0");
  if (o.total_steps() < 0) fail("total_steps", "must be >= 0");
  if (!(o.min_factor() >= 0 && o.min_factor() <= 1)) fail("min_factor", "must be in [0, 1]");
}

double lr_factor(const ScheduleOptions& o, int64_t step, int64_t total_steps) {
  const double s = static_cast<double>(std::max<int64_t>(step, 0));
  double f = 1.0;
  switch (o.type()) {
    case ScheduleType::kConstant:
      break;
    case ScheduleType::kLinearDecay: {
      // pix2pix (networks.py, lr_policy 'linear'): 1 - max(0, e - n_epochs) / (n_epochs_decay + 1).
      const int64_t decay = o.decay_steps() > 0 ? o.decay_steps() : std::max<int64_t>(total_steps - o.constant_steps(), 0);
      f = 1.0 - std::max(0.0, s - static_cast<double>(o.constant_steps())) / static_cast<double>(decay + 1);
      f = std::max(f, 0.0);
      break;
    }
    case ScheduleType::kStep:
      f = std::pow(o.gamma(), std::floor(s / static_cast<double>(o.step_size())));
      break;
    case ScheduleType::kCosine: {
      const int64_t t = o.total_steps() > 0 ? o.total_steps() : total_steps;
      const double progress = t > 0 ? std::min(s, static_cast<double>(t)) / static_cast<double>(t) : 1.0;
      f = o.min_factor() + (1.0 - o.min_factor()) * 0.5 * (1.0 + std::cos(M_PI * progress));
      break;
    }
  }
  if (o.warmup_steps() > 0 && step < o.warmup_steps()) f *= (s + 1.0) / static_cast<double>(o.warmup_steps());
  return f;
}

}  // namespace facegan::train
