#pragma once
// How each expression moves the face, as a few muscle-like controls; layout and painting read only
// these, never the Expression itself.
#include <facegan/data/synthetic_faces.hpp>

namespace facegan::data::synthetic {

struct ExpressionControls {
  double mouth_open = 0, corner_lift = 0, mouth_width = 0, upper_lip_raise = 0, lip_press = 0, teeth = 0;
  double brow_inner = 0, brow_outer = 0, brow_knit = 0, eye_open = 0, lower_lid = 0, cheek_raise = 0;
  double nose_wrinkle = 0;
};

/// The controls of `expression` at `intensity` (full-intensity offsets scaled linearly).
ExpressionControls expression_controls(Expression expression, double intensity);

}  // namespace facegan::data::synthetic
