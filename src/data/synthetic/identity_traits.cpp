// Who the identities are: face shape, skin, eyes, nose, mouth, brows and hair drawn from the
// identity stream, so an identity looks the same in every sample and under every sample seed.
#include "sampling.hpp"

namespace facegan::data::synthetic {

IdentityTraits derive_traits(uint64_t seed, int64_t identity) {
  Rng rng(seed, kIdentityStream, static_cast<uint64_t>(identity));
  IdentityTraits t;
  t.face_width = rng.uniform(0.23, 0.262);
  t.face_length = rng.uniform(0.33, 0.37);
  t.jaw_squareness = rng.uniform(1.9, 2.6);
  t.chin_taper = rng.uniform(0.1, 0.35);
  // Skin: a ramp from fair to deep tones, then a little warmth/redness variation.
  static const std::array<Rgb, 6> ramp{{{0.98, 0.85, 0.75},
                                        {0.93, 0.76, 0.63},
                                        {0.83, 0.63, 0.48},
                                        {0.67, 0.46, 0.32},
                                        {0.48, 0.32, 0.22},
                                        {0.34, 0.22, 0.15}}};
  const double pos = rng.uniform() * 5.0;
  const size_t k = std::min<size_t>(4, static_cast<size_t>(pos));
  const double f = pos - static_cast<double>(k);
  t.skin = {lerp(ramp[k].r, ramp[k + 1].r, f), lerp(ramp[k].g, ramp[k + 1].g, f), lerp(ramp[k].b, ramp[k + 1].b, f)};
  const double warm = rng.uniform(-0.03, 0.03);
  t.skin = jitter(rng, {t.skin.r + warm, t.skin.g, t.skin.b - warm}, 0.015);
  // Eyes scale with the face, so that even narrow faces keep them well inside the outline.
  t.eye_size = t.face_width * rng.uniform(0.2, 0.235);
  t.eye_spacing = t.face_width * rng.uniform(0.47, 0.52);
  t.eye_tilt = rng.uniform(-0.006, 0.01);
  static const std::array<Rgb, 6> irises{{{0.22, 0.13, 0.07},
                                          {0.40, 0.24, 0.11},
                                          {0.50, 0.40, 0.18},
                                          {0.30, 0.45, 0.26},
                                          {0.32, 0.50, 0.72},
                                          {0.46, 0.54, 0.62}}};
  t.iris = pick(rng, irises, 0.04);
  t.nose_length = rng.uniform(0.135, 0.175);
  t.nose_width = rng.uniform(0.034, 0.048);
  t.mouth_width = rng.uniform(0.085, 0.105);
  t.lip_fullness = rng.uniform(0.7, 1.3);
  t.lips = jitter(rng, {clampd(t.skin.r * 0.82 + 0.1, 0, 1), t.skin.g * 0.52, t.skin.b * 0.56}, 0.03);
  t.brow_thickness = rng.uniform(0.012, 0.022);
  t.brow_arch = rng.uniform(0.005, 0.02);
  static const std::array<Rgb, 8> hairs{{{0.08, 0.065, 0.055},
                                         {0.10, 0.08, 0.07},
                                         {0.22, 0.14, 0.09},
                                         {0.36, 0.23, 0.14},
                                         {0.50, 0.24, 0.12},
                                         {0.64, 0.50, 0.32},
                                         {0.86, 0.74, 0.50},
                                         {0.64, 0.63, 0.62}}};
  t.hair = pick(rng, hairs, 0.035);
  t.brows = {t.hair.r * 0.72 + 0.02, t.hair.g * 0.68 + 0.015, t.hair.b * 0.66 + 0.01};
  t.hair_style = static_cast<HairStyle>(rng.below(kNumHairStyles));
  t.ear_size = rng.uniform(0.85, 1.15);
  return t;
}

}  // namespace facegan::data::synthetic
