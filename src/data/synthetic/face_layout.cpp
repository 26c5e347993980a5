// Where everything on the face goes, in canonical units, before a pixel is drawn: eye, brow and
// mouth curves, the 68 landmarks (points of the same curves that get drawn, so they are exact)
// and the relief bumps and occlusion blobs that shading reads.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::layout() {
  const ExpressionControls& expression = expression_;
  eye_x_ = traits_.eye_spacing;
  eye_half_width_ = traits_.eye_size;
  nose_tip_y_ = kEyeY + traits_.nose_length;
  nose_half_width_ = traits_.nose_width * (1 + 0.12 * expression.nose_wrinkle);
  const double subnasal_y = nose_tip_y_ + 0.022;
  mouth_y_ = subnasal_y + 0.3 * (head_.bottom() - subnasal_y);
  mouth_half_width_ = traits_.mouth_width * (1 + expression.mouth_width);
  upper_opening_ = 0.3 * expression.mouth_open;
  lower_opening_ = 0.7 * expression.mouth_open;
  upper_lip_thickness_ = 0.022 * traits_.lip_fullness * (1 - 0.5 * expression.lip_press);
  lower_lip_thickness_ = 0.03 * traits_.lip_fullness * (1 - 0.45 * expression.lip_press);

  // Eyes: side 0 is image-left (subject's right), 1 image-right. Curves run outer -> inner.
  const double open = clampd(1 + expression.eye_open, 0.35, 1.6);
  const double upper_lid_height = eye_half_width_ * 0.45 * open, lower_lid_height = eye_half_width_ * 0.28 * (1 - 0.55 * expression.lower_lid);
  iris_radius_ = 0.47 * eye_half_width_;
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const P2 outer(sgn * (eye_x_ + eye_half_width_), kEyeY - traits_.eye_tilt), inner(sgn * (eye_x_ - eye_half_width_), kEyeY + 0.3 * traits_.eye_tilt);
    Poly upper_lid, lower_lid;
    const int n = 12;
    for (int i = 0; i <= n; ++i) {
      const double u = static_cast<double>(i) / n;
      const P2 base = outer + (inner - outer) * u;
      upper_lid.emplace_back(base.x, base.y - upper_lid_height * std::sin(kPi * std::pow(u, 1.15)));
      lower_lid.emplace_back(base.x, base.y + lower_lid_height * std::sin(kPi * std::pow(u, 0.85)));
    }
    eye_upper_[side] = upper_lid;
    eye_lower_[side] = lower_lid;
    Poly opening = upper_lid;
    opening.insert(opening.end(), lower_lid.rbegin() + 1, lower_lid.rend() - 1);
    eye_opening_[side] = opening;
    iris_centre_[side] = P2(sgn * eye_x_, kEyeY + 0.06 * eye_half_width_);

    // Brows: centre line from the inner end to the outer end.
    const double brow_y = kEyeY - 0.068;
    const P2 brow_inner_end(sgn * (eye_x_ - 0.95 * eye_half_width_ - 0.008 * expression.brow_knit), brow_y + 0.004 - expression.brow_inner + 0.016 * expression.brow_knit);
    const P2 brow_outer_end(sgn * std::min(eye_x_ + 1.25 * eye_half_width_, 0.8 * head_.half_width(brow_y)), brow_y + 0.012 - expression.brow_outer);
    Poly line;
    for (int i = 0; i <= 4; ++i) {
      const double u = i / 4.0;
      P2 p = brow_inner_end + (brow_outer_end - brow_inner_end) * u;
      p.y -= (traits_.brow_arch + 0.004) * std::sin(kPi * std::pow(u, 0.75)) + 0.004 * expression.brow_outer * u;
      line.push_back(p);
    }
    brow_line_[side] = line;
  }

  // Landmarks. Jaw: 9 points per side equally spaced along the outline from eye level to the chin.
  {
    const double y_start = kEyeY + 0.005, y_end = head_.bottom();
    std::array<double, 65> ys{}, acc{};
    for (int i = 0; i <= 64; ++i) {
      ys[i] = y_start + (y_end - y_start) * std::sin(0.5 * kPi * i / 64.0);
      if (i > 0) acc[i] = acc[i - 1] + std::hypot(head_.half_width(ys[i]) - head_.half_width(ys[i - 1]), ys[i] - ys[i - 1]);
    }
    for (int k = 0; k <= 8; ++k) {
      const double target = acc[64] * k / 8.0;
      int i = 1;
      while (i < 64 && acc[i] < target) ++i;
      const double w = (target - acc[i - 1]) / std::max(1e-12, acc[i] - acc[i - 1]);
      const double y = lerp(ys[i - 1], ys[i], clampd(w, 0, 1));
      landmarks_[k] = px(head_.silhouette_x(y, -1), y);
      landmarks_[16 - k] = px(head_.silhouette_x(y, +1), y);
    }
  }
  // Brows 17-21 (image-left, outer -> inner), 22-26 (image-right, inner -> outer).
  for (int i = 0; i < 5; ++i) {
    landmarks_[17 + i] = surf(brow_line_[0][4 - i]);
    landmarks_[22 + i] = surf(brow_line_[1][i]);
  }
  // Nose: bridge 27-30 (down to the tip), base 31-35 (image-left to right). Heights above the
  // surface make the nose swing further than the face when the head turns.
  const double bridge_top_y = kEyeY + 0.005;
  for (int i = 0; i < 4; ++i) {
    const double u = i / 3.0;
    landmarks_[27 + i] = surf(0.0, lerp(bridge_top_y, nose_tip_y_, u), lerp(0.008, 0.055, u * u));
  }
  const double base_lift = 0.006 * expression.nose_wrinkle;
  landmarks_[31] = surf(-nose_half_width_, nose_tip_y_ + 0.006 - base_lift, 0.014);
  landmarks_[32] = surf(-0.5 * nose_half_width_, nose_tip_y_ + 0.016 - base_lift, 0.024);
  landmarks_[33] = surf(0.0, subnasal_y - base_lift, 0.03);
  landmarks_[34] = surf(0.5 * nose_half_width_, nose_tip_y_ + 0.016 - base_lift, 0.024);
  landmarks_[35] = surf(nose_half_width_, nose_tip_y_ + 0.006 - base_lift, 0.014);
  // Eyes: 36-41 image-left (outer corner, upper, inner corner, lower), 42-47 image-right (inner
  // corner, upper, outer corner, lower).
  {
    const Poly& left_upper_lid = eye_upper_[0];
    const Poly& left_lower_lid = eye_lower_[0];
    landmarks_[36] = surf(left_upper_lid[0]);
    landmarks_[37] = surf(left_upper_lid[4]);
    landmarks_[38] = surf(left_upper_lid[8]);
    landmarks_[39] = surf(left_upper_lid[12]);
    landmarks_[40] = surf(left_lower_lid[8]);
    landmarks_[41] = surf(left_lower_lid[4]);
    const Poly& right_upper_lid = eye_upper_[1];
    const Poly& right_lower_lid = eye_lower_[1];
    landmarks_[42] = surf(right_upper_lid[12]);
    landmarks_[43] = surf(right_upper_lid[8]);
    landmarks_[44] = surf(right_upper_lid[4]);
    landmarks_[45] = surf(right_upper_lid[0]);
    landmarks_[46] = surf(right_lower_lid[4]);
    landmarks_[47] = surf(right_lower_lid[8]);
  }
  // Mouth: the centre line bends up at the corners when smiling.
  auto line_y = [&](double x) { return mouth_y_ - expression.corner_lift * sq(x / mouth_half_width_); };
  const double raise = expression.upper_lip_raise;
  auto upper_outer = [&](double s) {  // s = x / mw in [-1, 1]
    const double a = std::abs(s);
    const double prof = a < 0.3 ? lerp(0.82, 1.0, a / 0.3) : (1.0 - std::pow((a - 0.3) / 0.7, 1.6));
    return line_y(s * mouth_half_width_) - upper_opening_ - raise * (1 - a * a) - upper_lip_thickness_ * prof;
  };
  auto lower_outer = [&](double s) {
    const double a = std::abs(s);
    return line_y(s * mouth_half_width_) + lower_opening_ * (1 - a * a) + lower_lip_thickness_ * std::sqrt(std::max(0.0, 1 - std::pow(a, 2.2)));
  };
  auto upper_inner = [&](double s) { return line_y(s * mouth_half_width_) - (upper_opening_ + raise) * (1 - s * s); };
  auto lower_inner = [&](double s) { return line_y(s * mouth_half_width_) + lower_opening_ * (1 - s * s); };
  const std::array<double, 7> outer_s{-1.0, -0.62, -0.3, 0.0, 0.3, 0.62, 1.0};
  for (int i = 0; i < 7; ++i) landmarks_[48 + i] = surf(outer_s[i] * mouth_half_width_, i == 0 || i == 6 ? line_y(mouth_half_width_) : upper_outer(outer_s[i]), 0.01);
  const std::array<double, 5> lower_s{0.62, 0.3, 0.0, -0.3, -0.62};
  for (int i = 0; i < 5; ++i) landmarks_[55 + i] = surf(lower_s[i] * mouth_half_width_, lower_outer(lower_s[i]), 0.01);
  const double inner_corner = 0.9;
  landmarks_[60] = surf(-inner_corner * mouth_half_width_, line_y(inner_corner * mouth_half_width_), 0.01);
  landmarks_[64] = surf(inner_corner * mouth_half_width_, line_y(inner_corner * mouth_half_width_), 0.01);
  const std::array<double, 3> inner_s{-0.4, 0.0, 0.4};
  for (int i = 0; i < 3; ++i) {
    landmarks_[61 + i] = surf(inner_s[i] * mouth_half_width_, upper_inner(inner_s[i] / inner_corner), 0.01);
    landmarks_[65 + i] = surf(-inner_s[i] * mouth_half_width_, lower_inner(inner_s[i] / inner_corner), 0.01);
  }

  // Relief bumps (canonical) and ambient occlusion blobs.
  const double cheek_raise = expression.cheek_raise;
  relief_bumps_.clear();
  occlusion_blobs_.clear();
  const double st_over_ct = head_.sin_yaw() / head_.cos_yaw();
  auto nose_bump = [&](double x, double y, double rx, double ry, double amp, double h, bool expressive) {
    relief_bumps_.push_back({x + h * st_over_ct, y, rx, ry, amp, expressive});
  };
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    relief_bumps_.push_back({sgn * (eye_x_ + 0.006), kEyeY - 0.006, 1.4 * eye_half_width_, 0.048, -0.013, false});  // eye socket
    relief_bumps_.push_back({sgn * (eye_x_ - 0.01), kEyeY - 0.066, 0.075, 0.028, 0.01, false});      // brow ridge
    relief_bumps_.push_back({sgn * 0.115, 0.035 - 0.01 * cheek_raise, 0.07, 0.055, 0.006 + 0.006 * cheek_raise});    // cheek
    relief_bumps_.push_back({sgn * 0.2, kEyeY - 0.07, 0.04, 0.055, -0.008, false});              // temple
    nose_bump(sgn * 0.8 * nose_half_width_, nose_tip_y_ + 0.002 - base_lift, 0.018, 0.018, 0.014, 0.02, true);  // nose wing
    occlusion_blobs_.push_back({sgn * (eye_x_ - 1.05 * eye_half_width_), kEyeY, 0.016, 0.02, 0.16, false});      // inner eye corner
    occlusion_blobs_.push_back({sgn * mouth_half_width_, line_y(mouth_half_width_), 0.014, 0.012, 0.28});                     // mouth corner
    occlusion_blobs_.push_back({sgn * 0.55 * nose_half_width_, nose_tip_y_ + 0.014 - base_lift, 0.012, 0.008, 0.35});  // nostril
  }
  relief_bumps_.push_back({0, kEyeY - 0.04, 0.035, 0.035, 0.005, false});  // glabella
  // Nose: a ridge rising towards the tip, the tip, the wings (above, per side).
  nose_bump(0, lerp(bridge_top_y, nose_tip_y_, 0.45), 0.03, 0.5 * (nose_tip_y_ - bridge_top_y), 0.008, 0.02, false);
  nose_bump(0, lerp(bridge_top_y, nose_tip_y_, 0.8), 0.03, 0.035, 0.008, 0.04, false);
  nose_bump(0, nose_tip_y_ - 0.004, 0.028, 0.026, 0.018, 0.055, false);
  relief_bumps_.push_back({0, mouth_y_ - upper_opening_ - 0.5 * upper_lip_thickness_, 1.05 * mouth_half_width_, 0.032, 0.006});                // upper lip
  relief_bumps_.push_back({0, mouth_y_ + lower_opening_ + 0.5 * lower_lip_thickness_, 0.8 * mouth_half_width_, 1.3 * lower_lip_thickness_, 0.008});            // lower lip
  relief_bumps_.push_back({0, mouth_y_ + lower_opening_ + lower_lip_thickness_ + 0.02, 0.7 * mouth_half_width_, 0.014, -0.006});              // under the lip
  relief_bumps_.push_back({0, head_.bottom() - 0.045, 0.055, 0.04, 0.012, false});                 // chin
  occlusion_blobs_.push_back({0, subnasal_y + 0.008 - base_lift, 1.1 * nose_half_width_, 0.012, 0.22});              // under the nose
  occlusion_blobs_.push_back({0, mouth_y_ + lower_opening_ + lower_lip_thickness_ + 0.006, 0.55 * mouth_half_width_, 0.01, 0.16});            // under the lip
}

}  // namespace facegan::data::synthetic
