// The face layer's albedo after the bare skin: the identity's flush and fringe shadow, creases,
// the eyes, lashes, brows, nose and mouth, with the makeup tints in the order a face wears them
// (blush and eyeshadow under the lashes, eyeliner over them, lipstick on the lips).
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::paint_eyes() {
  const cv::Scalar sclera(212, 218, 224), iris = bgr(traits_.iris);
  for (int side = 0; side < 2; ++side) {
    Poly opening = surf_poly(eye_opening_[side]);
    Poly upper = surf_poly(eye_upper_[side]);
    cv::Rect roi = bounds(opening, 3);
    if (roi.empty()) continue;
    cv::Mat e(roi.size(), CV_8UC3, sclera);
    const cv::Point off = roi.tl();
    // Iris: dark limbal ring, the iris, a lighter lower half, the pupil, a catchlight.
    const P2 iris_centre = iris_centre_[side];
    auto disc = [&](P2 c, double r, double dy = 0.0) {
      Poly d;
      for (int i = 0; i < 24; ++i) {
        const double a = 2 * kPi * i / 24;
        d.push_back(surf(c.x + r * std::cos(a), c.y + dy + r * std::sin(a), 0.006));
      }
      return d;
    };
    fill(e, disc(iris_centre, iris_radius_), mulc(iris, 0.55), off);
    fill(e, disc(iris_centre, iris_radius_ * 0.8), iris, off);
    fill(e, disc(iris_centre, iris_radius_ * 0.45, 0.35 * iris_radius_), mixc(iris, cv::Scalar(200, 200, 200), 0.25), off);
    fill(e, disc(iris_centre, iris_radius_ * 0.4), cv::Scalar(18, 16, 16), off);
    const P2 glint(iris_centre.x - 0.35 * iris_radius_ * light_x_ / std::hypot(light_x_, light_y_ + 1e-9) * 0.9, iris_centre.y - 0.3 * iris_radius_);
    fill(e, disc(glint, iris_radius_ * 0.2), cv::Scalar(250, 250, 250), off);
    // Shadow of the upper lid on the eyeball.
    const double h = len(0.45 * eye_half_width_);
    fill(e, stroke(upper, [&](double u) { return std::max(0.5, 0.6 * h * std::sin(kPi * (0.1 + 0.8 * u))); }), mulc(sclera, 0.68), off);
    cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
    fill(a, opening, cv::Scalar(255), off);
    blend(face_layer_, e, a, roi, true);
    label(opening, RegionValue::kEyes);
  }
}

void Painter::paint_flush() {
  // Soft shadow of the fringe on the forehead.
  {
    Poly band;
    for (const P2& p : hairline_) band.push_back(surf(p.x, p.y + 0.004));
    for (auto it = hairline_.rbegin(); it != hairline_.rend(); ++it) band.push_back(surf(it->x, it->y - 0.03));
    paint(face_layer_, band, mulc(skin_, 0.55), 0.45, len(0.008));
  }
  // Natural flush of cheeks and nose (identity only), under any makeup.
  const cv::Scalar flush = bgr({std::min(1.0, traits_.skin.r * 1.02 + 0.05), traits_.skin.g * 0.7, traits_.skin.b * 0.72});
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly cheek = ellipse_points(P2(sgn * (eye_x_ + 0.005), nose_tip_y_ - 0.005), 0.055, 0.04, 0.0, 16);
    for (P2& p : cheek) p = surf(p);
    paint(face_layer_, cheek, flush, 0.28, len(0.02));
  }
  {
    Poly nose_tip = ellipse_points(P2(0.0, nose_tip_y_ - 0.004), 0.024, 0.022, 0.0, 12);
    for (P2& p : nose_tip) p = surf(p, 0.05);
    paint(face_layer_, nose_tip, flush, 0.22, len(0.008));
  }
}

void Painter::paint_face_features() {
  // Creases first (identity and expression), then makeup on the skin, then the features.
  const cv::Scalar crease = mulc(skin_, 0.68);
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    // Lid crease above the upper lid.
    Poly c;
    const Poly& up = eye_upper_[side];
    for (size_t i = 1; i + 1 < up.size(); ++i) {
      const double u = static_cast<double>(i) / (up.size() - 1);
      c.push_back(surf(up[i].x, up[i].y - 0.011 - 0.004 * std::sin(kPi * u)));
    }
    paint(face_layer_, stroke(c, [&](double u) { return len(0.006) * std::sin(kPi * u); }), crease, 0.55);
    // Nasolabial fold, deeper when smiling or sneering.
    const double fold = 0.22 + 0.5 * expression_.cheek_raise + 0.35 * expression_.nose_wrinkle;
    const double corner_y = mouth_y_ - expression_.corner_lift;
    Poly nasolabial{surf(sgn * (nose_half_width_ + 0.012), nose_tip_y_ - 0.008), surf(sgn * (nose_half_width_ + 0.03), nose_tip_y_ + 0.035),
            surf(sgn * (mouth_half_width_ + 0.02), corner_y + 0.012)};
    nasolabial = spline(nasolabial, 6);
    paint(face_layer_, stroke(nasolabial, [&](double u) { return len(0.007) * std::sin(kPi * (0.1 + 0.8 * u)); }), crease, fold, len(0.002));
    // Glabella lines when frowning.
    if (expression_.brow_knit > 0.05) {
      Poly g{surf(sgn * 0.012, kEyeY - 0.075), surf(sgn * 0.009, kEyeY - 0.045)};
      paint(face_layer_, stroke(g, [&](double) { return len(0.005); }), crease, 0.6 * expression_.brow_knit);
    }
    // Under-eye line when the lower lid is pushed up.
    if (expression_.lower_lid > 0.05) {
      Poly under_eye;
      const Poly& lo = eye_lower_[side];
      for (size_t i = 2; i + 2 < lo.size(); ++i) under_eye.push_back(surf(lo[i].x, lo[i].y + 0.014));
      paint(face_layer_, stroke(under_eye, [&](double u) { return len(0.005) * std::sin(kPi * u); }), crease, 0.5 * expression_.lower_lid);
    }
  }
  if (expression_.nose_wrinkle > 0.05) {
    for (int i = 0; i < 3; ++i) {
      const double y = kEyeY + 0.012 + 0.012 * i;
      Poly w{surf(-0.02, y, 0.012), surf(0.0, y - 0.003, 0.014), surf(0.02, y, 0.012)};
      paint(face_layer_, stroke(spline(w, 4), [&](double u) { return len(0.004) * std::sin(kPi * u); }), crease, 0.6 * expression_.nose_wrinkle);
    }
  }

  // Makeup on the skin: blush and eyeshadow.
  const Makeup& m = factors_.makeup;
  if (m.blush.enabled) tint(face_layer_, blush_alpha_, bgr(m.blush.color), 0.55 * m.blush.intensity, face_roi_);
  if (m.eyeshadow.enabled) tint(face_layer_, eyeshadow_alpha_, bgr(m.eyeshadow.color), 0.8 * m.eyeshadow.intensity, face_roi_);

  paint_eyes();
  // Lash line and lower lid.
  const cv::Scalar lash = mulc(bgr(traits_.brows), 0.45);
  for (int side = 0; side < 2; ++side) {
    Poly up;
    for (auto it = eye_upper_[side].rbegin(); it != eye_upper_[side].rend(); ++it) up.push_back(surf(*it));  // inner -> outer
    fill(face_layer_, stroke(up, [&](double u) { return std::max(0.45, len(0.003 + 0.0055 * u)); }), lash);
    Poly lo;
    for (size_t i = 0; i + 3 < eye_lower_[side].size(); ++i) lo.push_back(surf(eye_lower_[side][i]));  // outer -> inner
    paint(face_layer_, stroke(lo, [&](double u) { return std::max(0.5, len(0.004) * (1 - u)); }), mulc(skin_, 0.55), 0.7);
  }
  if (m.eyeliner.enabled) tint(face_layer_, eyeliner_alpha_, bgr(m.eyeliner.color), 0.95 * m.eyeliner.intensity, face_roi_);

  paint_brows();
  paint_nose();
  paint_mouth();
}

void Painter::paint_brows() {
  const cv::Scalar col = mixc(skin_, bgr(traits_.brows), 0.88), dark = mixc(skin_, bgr(traits_.brows), 1.0);
  for (int side = 0; side < 2; ++side) {
    Poly line = spline(surf_poly(brow_line_[side]), 4);
    const double w = len(traits_.brow_thickness);
    Poly shape = stroke(line, [&](double u) { return std::max(0.6, w * (1.0 - 0.6 * u) * (0.75 + 0.25 * std::sin(kPi * std::min(1.0, u * 3 + 0.5)))); });
    fill(face_layer_, shape, col);
    label(shape, RegionValue::kBrows);
    fill(face_layer_, stroke(line, [&](double u) { return std::max(0.4, 0.45 * w * (1.0 - 0.7 * u)); }), dark);
  }
}

void Painter::paint_nose() {
  const double lift = 0.006 * expression_.nose_wrinkle;
  const double y27 = kEyeY + 0.005;
  // Label: the bridge down to the wings.
  Poly lab;
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly s{surf(sgn * 0.017, y27, 0.008), surf(sgn * 0.02, lerp(y27, nose_tip_y_, 0.55), 0.03),
           surf(sgn * 0.85 * nose_half_width_, nose_tip_y_ - 0.014 - lift, 0.016), surf(sgn * 1.05 * nose_half_width_, nose_tip_y_ + 0.006 - lift, 0.012),
           surf(sgn * 0.5 * nose_half_width_, nose_tip_y_ + 0.021 - lift, 0.02)};
    if (side == 1) std::reverse(s.begin(), s.end());
    lab.insert(lab.end(), s.begin(), s.end());
    if (side == 0) lab.push_back(surf(0.0, nose_tip_y_ + 0.024 - lift, 0.03));
  }
  label(lab, RegionValue::kNose);
  const cv::Scalar nostril = mulc(skin_, 0.32), crease = mulc(skin_, 0.62);
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly n = ellipse_points(P2(sgn * 0.52 * nose_half_width_, nose_tip_y_ + 0.014 - lift), 0.4 * nose_half_width_, 0.2 * nose_half_width_, sgn * 0.35, 16);
    for (P2& p : n) p = surf(p, 0.024);
    fill(face_layer_, n, nostril);
    // Crease around the wing.
    Poly w{surf(sgn * 0.72 * nose_half_width_, nose_tip_y_ - 0.018 - lift, 0.018), surf(sgn * 1.02 * nose_half_width_, nose_tip_y_ - 0.006 - lift, 0.014),
           surf(sgn * 1.0 * nose_half_width_, nose_tip_y_ + 0.01 - lift, 0.012), surf(sgn * 0.8 * nose_half_width_, nose_tip_y_ + 0.016 - lift, 0.016)};
    paint(face_layer_, stroke(spline(w, 4), [&](double u) { return std::max(0.5, len(0.006) * std::sin(kPi * (0.15 + 0.85 * u))); }), crease, 0.75);
  }
}

void Painter::paint_mouth() {
  const Poly upper_outer = spline(landmark_curve({48, 49, 50, 51, 52, 53, 54}), 5);
  const Poly upper_inner = spline(landmark_curve({48, 60, 61, 62, 63, 64, 54}), 5);
  const Poly outer = lips_outline();
  Poly upper_lip = upper_outer;
  upper_lip.insert(upper_lip.end(), upper_inner.rbegin() + 1, upper_inner.rend() - 1);
  const Poly inner = mouth_opening();
  const cv::Scalar lip = bgr(traits_.lips);
  fill(face_layer_, outer, lip);
  fill(face_layer_, upper_lip, mulc(lip, 0.86));
  // Highlight on the lower lip.
  const P2 highlight_centre(0.0, mouth_y_ + lower_opening_ + 0.45 * lower_lip_thickness_);
  Poly highlight = ellipse_points(highlight_centre, 0.35 * mouth_half_width_, 0.22 * lower_lip_thickness_, 0.0, 16);
  for (P2& p : highlight) p = surf(p, 0.012);
  paint(face_layer_, highlight, mulc(lip, 1.22), 0.6, len(0.004));
  label(outer, RegionValue::kLips);
  if (factors_.makeup.lipstick.enabled) tint(face_layer_, lipstick_alpha_, bgr(factors_.makeup.lipstick.color), 0.88 * factors_.makeup.lipstick.intensity, face_roi_);

  if (mouth_is_open()) {
    cv::Rect roi = bounds(inner, 3);
    if (!roi.empty()) {
      cv::Mat mouth(roi.size(), CV_8UC3, cv::Scalar(38, 30, 72));
      const cv::Point off = roi.tl();
      // Tongue low in the mouth, upper teeth under the upper lip.
      Poly tongue = ellipse_points(P2(0.0, mouth_y_ + lower_opening_ * 0.9), 0.6 * mouth_half_width_, 0.45 * (upper_opening_ + lower_opening_), 0.0, 20);
      for (P2& p : tongue) p = surf(p, 0.005);
      fill(mouth, tongue, cv::Scalar(80, 75, 150), off);
      if (expression_.teeth > 0.02) {
        const double teeth_height = std::min(0.016, 0.6 * (upper_opening_ + lower_opening_)) * std::min(1.0, expression_.teeth * 1.5);
        Poly teeth;
        for (int i = 0; i <= 12; ++i) {
          const double s = -0.85 + 1.7 * i / 12.0;
          teeth.push_back(surf(s * mouth_half_width_, mouth_y_ - expression_.corner_lift * s * s - (upper_opening_ + expression_.upper_lip_raise) * (1 - s * s) - 0.004, 0.01));
        }
        for (int i = 12; i >= 0; --i) {
          const double s = -0.85 + 1.7 * i / 12.0;
          teeth.push_back(surf(s * mouth_half_width_, mouth_y_ - expression_.corner_lift * s * s - (upper_opening_ + expression_.upper_lip_raise) * (1 - s * s) + teeth_height * (1 - 0.5 * s * s), 0.01));
        }
        fill(mouth, teeth, cv::Scalar(222, 232, 238), off);
      }
      cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
      fill(a, inner, cv::Scalar(255), off);
      blend(face_layer_, mouth, a, roi, true);
    }
    label(inner, RegionValue::kMouth);
  }
  // The line where the lips meet (or the shadowed inner edge of the upper lip).
  paint(face_layer_, stroke(spline(landmark_curve({48, 60, 61, 62, 63, 64, 54}), 4), [&](double u) { return std::max(0.5, len(0.006) * std::sin(kPi * (0.05 + 0.9 * u))); }),
        mulc(lip, 0.4), 0.8);
}

}  // namespace facegan::data::synthetic
