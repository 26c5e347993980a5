#include "expression.hpp"

namespace facegan::data::synthetic {

ExpressionControls expression_controls(Expression expression, double intensity) {
  ExpressionControls c;
  switch (expression) {
    case Expression::kNeutral:
      return c;
    case Expression::kHappy:
      c.corner_lift = 0.03, c.mouth_width = 0.14, c.mouth_open = 0.022, c.teeth = 1.0, c.eye_open = -0.25;
      c.lower_lid = 0.45, c.cheek_raise = 1.0, c.brow_outer = 0.003;
      break;
    case Expression::kSad:
      c.corner_lift = -0.022, c.mouth_width = -0.05, c.brow_inner = 0.022, c.brow_outer = -0.008;
      c.eye_open = -0.25, c.lip_press = 0.2, c.brow_knit = 0.25;
      break;
    case Expression::kAngry:
      c.brow_knit = 1.0, c.brow_outer = 0.004, c.eye_open = 0.1, c.lower_lid = 0.3, c.lip_press = 0.5;
      c.mouth_width = -0.08, c.corner_lift = -0.008;
      break;
    case Expression::kSurprised:
      c.brow_inner = 0.028, c.brow_outer = 0.026, c.eye_open = 0.45, c.mouth_open = 0.075, c.mouth_width = -0.24;
      c.teeth = 0.3;
      break;
    case Expression::kDisgusted:
      c.nose_wrinkle = 1.0, c.upper_lip_raise = 0.016, c.mouth_open = 0.012, c.brow_knit = 0.6, c.eye_open = -0.3;
      c.lower_lid = 0.45, c.corner_lift = -0.012, c.teeth = 0.7;
      break;
    case Expression::kFearful:
      c.brow_inner = 0.026, c.brow_outer = 0.006, c.brow_knit = 0.35, c.eye_open = 0.38, c.mouth_open = 0.03;
      c.mouth_width = 0.12, c.corner_lift = -0.012, c.teeth = 0.6;
      break;
  }
  c.mouth_open *= intensity, c.corner_lift *= intensity, c.mouth_width *= intensity, c.upper_lip_raise *= intensity, c.lip_press *= intensity;
  c.teeth *= intensity, c.brow_inner *= intensity, c.brow_outer *= intensity, c.brow_knit *= intensity, c.eye_open *= intensity, c.lower_lid *= intensity;
  c.cheek_raise *= intensity, c.nose_wrinkle *= intensity;
  return c;
}

}  // namespace facegan::data::synthetic
