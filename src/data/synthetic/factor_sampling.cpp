// What sample i of a data set shows. Identity, pose and light, expression and makeup each come
// from their own stream keyed by the index, so changing how one is drawn leaves the others as
// they were, and each factor is independent of the rest.
#include <facegan/core/error.hpp>

#include "sampling.hpp"

#include <cmath>

namespace facegan::data {

FaceFactors SyntheticFaces::sample_factors(uint64_t index, Split split) const {
  using namespace synthetic;
  const auto& o = options_;
  const uint64_t seed = static_cast<uint64_t>(o.sample_seed() >= 0 ? o.sample_seed() : o.seed());
  FaceFactors f;
  {
    Rng rng(seed, kSampleIdentity, index);
    int64_t lo = 0, hi = o.num_identities();
    if (split == Split::kTrain) hi = num_train_identities();
    if (split == Split::kHeldOut) lo = num_train_identities();
    if (hi <= lo) throw ConfigError("synthetic_faces: split " + enum_to_string(split) + " has no identities");
    f.identity = lo + rng.below(hi - lo);
  }
  {
    Rng rng(seed, kSampleAttributes, index);
    Attributes& a = f.attributes;
    a.roll = rng.uniform(-o.max_roll(), o.max_roll());
    a.scale = rng.uniform(o.min_scale(), o.max_scale());
    a.shift_x = rng.uniform(-o.max_shift(), o.max_shift());
    a.shift_y = rng.uniform(-o.max_shift(), o.max_shift());
    a.yaw = rng.uniform(-o.max_yaw(), o.max_yaw());
    a.light_x = rng.uniform(-0.9, 0.9);
    a.light_y = rng.uniform(-0.9, 0.3);
    a.light_strength = rng.uniform(0.25, 0.85);
    const double hue = rng.uniform(), sat = rng.uniform(0.0, 0.45), val = rng.uniform(0.35, 0.95);
    a.background_top = hsv(hue, sat, val);
    a.background_bottom = hsv(std::fmod(hue + rng.uniform(-0.08, 0.08) + 1.0, 1.0), clampd(sat + rng.uniform(-0.1, 0.15), 0, 1),
                              val * rng.uniform(0.55, 0.95));
    a.clothes = hsv(rng.uniform(), rng.uniform(0.0, 0.8), rng.uniform(0.12, 0.85));
  }
  {
    Rng rng(seed, kSampleExpression, index);
    if (rng.chance(o.expression_probability())) {
      f.expression = static_cast<Expression>(1 + rng.below(kNumExpressions - 1));
      f.intensity = rng.uniform(std::min(o.min_intensity(), 1.0), 1.0);
      if (f.intensity <= 0.0) f.intensity = 1.0;
    }
  }
  {
    Rng rng(seed, kSampleMakeup, index);
    if (rng.chance(o.makeup_probability())) {
      static const std::array<Rgb, 7> lipsticks{{{0.75, 0.08, 0.12}, {0.55, 0.05, 0.12}, {0.9, 0.4, 0.55}, {0.95, 0.45, 0.35},
                                                 {0.45, 0.12, 0.28}, {0.78, 0.52, 0.45}, {0.6, 0.1, 0.35}}};
      static const std::array<Rgb, 8> shadows{{{0.45, 0.3, 0.22}, {0.65, 0.45, 0.25}, {0.45, 0.25, 0.55}, {0.25, 0.4, 0.7},
                                               {0.3, 0.5, 0.35}, {0.22, 0.22, 0.25}, {0.8, 0.65, 0.35}, {0.85, 0.5, 0.6}}};
      static const std::array<Rgb, 4> blushes{{{0.95, 0.5, 0.55}, {0.98, 0.6, 0.45}, {0.85, 0.4, 0.45}, {0.75, 0.3, 0.4}}};
      static const std::array<Rgb, 4> liners{{{0.05, 0.05, 0.06}, {0.25, 0.15, 0.1}, {0.1, 0.12, 0.35}, {0.3, 0.1, 0.25}}};
      Makeup& m = f.makeup;
      auto item = [&](MakeupItem& it, auto& palette) {
        it.enabled = rng.chance(0.6);
        it.intensity = rng.uniform(0.45, 1.0);
        it.color = pick(rng, palette, 0.04);
      };
      item(m.lipstick, lipsticks);
      item(m.eyeshadow, shadows);
      item(m.blush, blushes);
      item(m.eyeliner, liners);
      const int64_t forced = rng.below(4);
      if (!m.lipstick.enabled && !m.eyeshadow.enabled && !m.blush.enabled && !m.eyeliner.enabled) {
        MakeupItem* items[] = {&m.lipstick, &m.eyeshadow, &m.blush, &m.eyeliner};
        items[forced]->enabled = true;
      }
      // Products not worn carry no colour or intensity, so that equal looks have equal factors.
      for (MakeupItem* it : {&m.lipstick, &m.eyeshadow, &m.blush, &m.eyeliner}) {
        if (!it->enabled) *it = MakeupItem();
      }
    }
  }
  return f;
}

}  // namespace facegan::data
