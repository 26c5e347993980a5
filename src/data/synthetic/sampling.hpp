#pragma once
// Randomness of the renderer: splitmix64 streams, portable where std:: distributions are not (they
// differ between standard libraries), so a seed names the same faces everywhere. Identity traits
// (identity_traits.cpp) and per-sample factors (factor_sampling.cpp) each draw from their own
// stream, which keeps them independent.
#include <facegan/data/synthetic_faces.hpp>

#include "geometry.hpp"

#include <array>
#include <cstdint>

namespace facegan::data::synthetic {

inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t index) : state_(mix64(mix64(seed ^ mix64(stream)) ^ index)) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t below(int64_t n) { return std::min<int64_t>(n - 1, static_cast<int64_t>(uniform() * static_cast<double>(n))); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

enum Stream : uint64_t { kIdentityStream = 1, kSampleIdentity, kSampleAttributes, kSampleExpression, kSampleMakeup };

inline Rgb jitter(Rng& rng, Rgb c, double amount) {
  c.r = clampd(c.r + rng.uniform(-amount, amount), 0.0, 1.0);
  c.g = clampd(c.g + rng.uniform(-amount, amount), 0.0, 1.0);
  c.b = clampd(c.b + rng.uniform(-amount, amount), 0.0, 1.0);
  return c;
}


template <size_t N>

Rgb pick(Rng& rng, const std::array<Rgb, N>& palette, double amount) {
  return jitter(rng, palette[static_cast<size_t>(rng.below(static_cast<int64_t>(N)))], amount);
}

inline Rgb hsv(double h, double s, double v) {
  h = std::fmod(h, 1.0) * 6.0;
  const int i = static_cast<int>(h);
  const double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (i) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

/// The traits of `identity` under the renderer seed `seed` (the identity stream alone).
IdentityTraits derive_traits(uint64_t seed, int64_t identity);

}  // namespace facegan::data::synthetic
