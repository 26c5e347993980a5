// The synthetic face renderer (no torch here: see synthetic_faces_dataset.cpp for the Sample side).
//
// Geometry first, pixels second. Every feature is placed in a canonical frame (units: the image
// side at pose scale 1, origin at the face centre, y down), lifted onto a simple head surface and
// projected with the pose, so the 68 landmarks are exact points of what is drawn. The head surface
// is a stack of horizontal ellipses whose half-width is the face outline a(y); a yaw turn rotates
// it about a vertical axis behind the face, which moves the features sideways and foreshortens the
// far side. Shading inverts that projection per pixel to get a surface normal, perturbed by a
// relief of small compact bumps (sockets, nose, cheeks, lips, chin), and lights it (Lambert plus a
// little specular).
//
// Disentanglement is structural: makeup only tints the face layer through alpha maps whose support
// is the returned makeup mask; expression only moves mouth, brows, lids and relief bumps that stay
// inside the face and below the lowest hairline; background and hair never read the expression.
//
// This file holds the public entry points and their checks; the renderer lives in synthetic/:
// sampling.hpp, identity_traits.cpp and factor_sampling.cpp draw faces; expression.cpp turns an
// expression into controls; head_surface.hpp is the head and its projection; painter.hpp is one
// render, painted in order by background_and_body.cpp, hair.cpp, face_layout.cpp (where every
// feature and landmark goes), face_features.cpp, makeup.cpp and shading.cpp, and put together
// by painter.cpp.
#include <facegan/core/error.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include "synthetic/painter.hpp"
#include "synthetic/sampling.hpp"

#include <cmath>
#include <string>

namespace facegan::data {
namespace {

void check_unit(double v, const std::string& key) {
  if (!(v >= 0.0 && v <= 1.0)) throw ConfigError(key + ": must be in [0, 1], got " + std::to_string(v));
}

void check_rgb(const Rgb& c, const std::string& key) {
  check_unit(c.r, key + ".r");
  check_unit(c.g, key + ".g");
  check_unit(c.b, key + ".b");
}

}  // namespace

bool Makeup::any() const {
  for (const MakeupItem* m : {&lipstick, &eyeshadow, &blush, &eyeliner}) {
    if (m->enabled && m->intensity > 0) return true;
  }
  return false;
}

json factors_to_json(const FaceFactors& factors) { return options_to_json(factors); }

FaceFactors factors_from_json(const json& j, const std::string& where) {
  return apply_json(FaceFactors(), j, where);
}

SyntheticFaces::SyntheticFaces(SyntheticFacesOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  const std::string w = "synthetic_faces.";
  if (o.size() < 32 || o.size() > 256) throw ConfigError(w + "size: must be in [32, 256], got " + std::to_string(o.size()));
  if (o.num_identities() < 1) throw ConfigError(w + "num_identities: must be >= 1, got " + std::to_string(o.num_identities()));
  if (o.held_out_identities() < 0 || o.held_out_identities() >= o.num_identities()) {
    throw ConfigError(w + "held_out_identities: must be in [0, num_identities - 1] = [0, " +
                      std::to_string(o.num_identities() - 1) + "], got " + std::to_string(o.held_out_identities()));
  }
  if (o.sample_seed() < -1) throw ConfigError(w + "sample_seed: must be >= 0, or -1 for `seed`, got " + std::to_string(o.sample_seed()));
  check_unit(o.expression_probability(), w + "expression_probability");
  check_unit(o.min_intensity(), w + "min_intensity");
  check_unit(o.makeup_probability(), w + "makeup_probability");
  if (!(o.max_roll() >= 0 && o.max_roll() <= 0.6)) throw ConfigError(w + "max_roll: must be in [0, 0.6] radians, got " + std::to_string(o.max_roll()));
  if (!(o.max_yaw() >= 0 && o.max_yaw() <= 0.6)) throw ConfigError(w + "max_yaw: must be in [0, 0.6] radians, got " + std::to_string(o.max_yaw()));
  if (!(o.max_shift() >= 0 && o.max_shift() <= 0.2)) throw ConfigError(w + "max_shift: must be in [0, 0.2], got " + std::to_string(o.max_shift()));
  if (!(o.min_scale() >= 0.5 && o.min_scale() <= o.max_scale() && o.max_scale() <= 1.5)) {
    throw ConfigError(w + "min_scale, max_scale: need 0.5 <= min_scale <= max_scale <= 1.5, got " +
                      std::to_string(o.min_scale()) + ", " + std::to_string(o.max_scale()));
  }
  if (o.supersample() < 0 || o.supersample() > 2) throw ConfigError(w + "supersample: must be 0 (auto), 1 or 2, got " + std::to_string(o.supersample()));
  traits_.reserve(static_cast<size_t>(o.num_identities()));
  for (int64_t i = 0; i < o.num_identities(); ++i) traits_.push_back(synthetic::derive_traits(static_cast<uint64_t>(o.seed()), i));
}

const IdentityTraits& SyntheticFaces::traits(int64_t identity) const {
  if (identity < 0 || identity >= options_.num_identities()) {
    throw ConfigError("identity " + std::to_string(identity) + " is out of range [0, " +
                      std::to_string(options_.num_identities()) + ")");
  }
  return traits_[static_cast<size_t>(identity)];
}

RenderedFace SyntheticFaces::render(const FaceFactors& factors) const { return render(factors, options_.size()); }

RenderedFace SyntheticFaces::render(const FaceFactors& f, int64_t size) const {
  if (size < 32 || size > 256) throw ConfigError("render: size must be in [32, 256], got " + std::to_string(size));
  const IdentityTraits& t = traits(f.identity);
  check_unit(f.intensity, "factors.intensity");
  const Attributes& a = f.attributes;
  if (!(a.scale >= 0.3 && a.scale <= 2.0)) throw ConfigError("factors.attributes.scale: must be in [0.3, 2], got " + std::to_string(a.scale));
  if (!(std::abs(a.yaw) <= 0.6)) throw ConfigError("factors.attributes.yaw: must be in [-0.6, 0.6] radians, got " + std::to_string(a.yaw));
  check_unit(a.light_strength, "factors.attributes.light_strength");
  check_rgb(a.background_top, "factors.attributes.background_top");
  check_rgb(a.background_bottom, "factors.attributes.background_bottom");
  check_rgb(a.clothes, "factors.attributes.clothes");
  const std::pair<const MakeupItem*, const char*> items[] = {{&f.makeup.lipstick, "lipstick"},
                                                             {&f.makeup.eyeshadow, "eyeshadow"},
                                                             {&f.makeup.blush, "blush"},
                                                             {&f.makeup.eyeliner, "eyeliner"}};
  for (const auto& [it, name] : items) {
    check_unit(it->intensity, std::string("factors.makeup.") + name + ".intensity");
    check_rgb(it->color, std::string("factors.makeup.") + name + ".color");
  }
  int ss = static_cast<int>(options_.supersample());
  if (ss == 0) ss = size < 64 ? 2 : 1;
  synthetic::Painter painter(t, f, static_cast<int>(size), ss);
  return painter.run();
}

}  // namespace facegan::data
