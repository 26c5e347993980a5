// What lies behind and below the face: the background gradient, neck, clothes and ears. None of it
// reads the expression or the makeup, so those factors never change these pixels.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::paint_background() {
  const cv::Scalar top = bgr(factors_.attributes.background_top), bottom = bgr(factors_.attributes.background_bottom);
  for (int y = 0; y < internal_size_; ++y) {
    const double v = (y + 0.5) / internal_size_;
    uint8_t* row = image_.ptr<uint8_t>(y);
    for (int x = 0; x < internal_size_; ++x) {
      const double u = (x + 0.5) / internal_size_ - 0.5;
      const double glow = 1.0 + 0.1 * std::max(0.0, 1.0 - 3.0 * (u * u + sq(v - 0.4)));  // light behind the head
      for (int c = 0; c < 3; ++c) row[3 * x + c] = u8(lerp(top[c], bottom[c], v) * glow);
    }
  }
}

void Painter::paint_neck_and_clothes() {
  const double a = head_.width(), neck_half_width = 0.58 * a, bot = head_.bottom();
  Poly neck{hair(-neck_half_width, 0.05), hair(-neck_half_width * 0.97, bot + 0.05), hair(-neck_half_width - 0.03, bot + 0.16), hair(-neck_half_width - 0.2, 1.1),
            hair(neck_half_width + 0.2, 1.1), hair(neck_half_width + 0.03, bot + 0.16), hair(neck_half_width * 0.97, bot + 0.05), hair(neck_half_width, 0.05)};
  const double lam = lambert(0.0, 0.2, 0.98);
  const cv::Scalar neck_col = mulc(skin_, (ambient_ + diffuse_ * lam) * 0.84);
  fill(image_, neck, neck_col);
  label(neck, RegionValue::kNeck);
  // Shadow under the jaw.
  Poly shadow;
  for (int i = 0; i <= 16; ++i) {
    const double y = lerp(mouth_y_, bot - 0.002, std::sin(0.5 * kPi * i / 16.0));
    shadow.push_back(px(head_.silhouette_x(y, -1), y + 0.045));
  }
  for (int i = 16; i >= 0; --i) {
    const double y = lerp(mouth_y_, bot - 0.002, std::sin(0.5 * kPi * i / 16.0));
    shadow.push_back(px(head_.silhouette_x(y, +1), y + 0.045));
  }
  shadow.push_back(px(head_.silhouette_x(mouth_y_, +1), mouth_y_ - 0.05));
  shadow.push_back(px(head_.silhouette_x(mouth_y_, -1), mouth_y_ - 0.05));
  paint(image_, shadow, mulc(skin_, 0.35), 0.45, len(0.012));

  // Clothes: shoulders with a round neckline.
  const cv::Scalar cloth = bgr(factors_.attributes.clothes, 0.55 + 0.45 * (ambient_ + diffuse_ * lambert(0, -0.3, 0.95)));
  const double shoulder_y = bot + 0.13;
  Poly ctrl{{-1.2, 1.3}, {-0.75, shoulder_y + 0.2}, {-0.45, shoulder_y + 0.04}, {-neck_half_width - 0.02, shoulder_y}, {-neck_half_width * 0.55, shoulder_y + 0.07},
            {0.0, shoulder_y + 0.1}, {neck_half_width * 0.55, shoulder_y + 0.07}, {neck_half_width + 0.02, shoulder_y}, {0.45, shoulder_y + 0.04}, {0.75, shoulder_y + 0.2}, {1.2, 1.3}};
  Poly cloth_poly;
  for (const P2& p : spline(ctrl, 5)) cloth_poly.push_back(px(p.x, p.y));
  fill(image_, cloth_poly, cloth);
  label(cloth_poly, RegionValue::kBackground);
  // A darker seam along the neckline.
  const Poly seam(ctrl.begin() + 3, ctrl.begin() + 8);
  Poly seam_px;
  for (const P2& p : spline(seam, 5)) seam_px.push_back(px(p.x, p.y));
  fill(image_, stroke(seam_px, [&](double) { return std::max(0.7, len(0.012)); }), mulc(cloth, 0.7));
}

void Painter::paint_ears() {
  if (!ears_visible_) return;
  const double y_top = kEyeY - 0.018, y_bot = nose_tip_y_ + 0.01;
  const double lam_l = lambert(-0.75, 0.0, 0.66), lam_r = lambert(0.75, 0.0, 0.66);
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const double wscale = clampd(1.0 - sgn * 1.4 * head_.sin_yaw(), 0.08, 1.7);
    const double ear_width = 0.042 * traits_.ear_size * wscale;
    Poly ear, inner;
    const int n = 14;
    for (int i = 0; i <= n; ++i) {  // inner edge, tucked under the face
      const double y = lerp(y_top, y_bot, static_cast<double>(i) / n);
      ear.push_back(px(head_.silhouette_x(y, sgn) - sgn * 0.015, y));
    }
    for (int i = n; i >= 0; --i) {  // outer rim: wider at the top, lobe at the bottom
      const double v = static_cast<double>(i) / n;
      const double y = lerp(y_top - 0.01, y_bot + 0.004, v);
      const double bulge = ear_width * std::pow(std::sin(kPi * std::pow(v, 0.75)), 0.7) * (1.0 - 0.25 * v);
      ear.push_back(px(head_.silhouette_x(y, sgn) + sgn * bulge, y));
      if (v > 0.12 && v < 0.78) inner.push_back(px(head_.silhouette_x(y, sgn) + sgn * bulge * 0.55, y));
    }
    const cv::Scalar col = mulc(skin_, (ambient_ + diffuse_ * (side == 0 ? lam_l : lam_r)) * 0.93);
    fill(image_, ear, col);
    label(ear, RegionValue::kEars);
    if (inner.size() > 2 && wscale > 0.3) {
      std::reverse(inner.begin(), inner.end());
      fill(image_, stroke(inner, [&](double u) { return len(0.008) * std::sin(kPi * u) * wscale; }), mulc(col, 0.72));
    }
  }
}

}  // namespace facegan::data::synthetic
