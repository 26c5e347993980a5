// Hair: the style's polygons (back hair behind the head, fringe and lock in front of the face),
// then one colour pass over both, shaded as a rounded surface around the skull with strand or curl
// texture. Hair reads neither expression nor makeup.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::layout_hair() {
  const HairStyle style = traits_.hair_style;
  double vx = 0.025, vt = 0.035, cut = kEyeY + 0.02;
  double centre = -0.29;  // hairline height at the midline
  switch (style) {
    case HairStyle::kShort: break;
    case HairStyle::kSidePart: vx = 0.035, vt = 0.05, cut = kEyeY + 0.05, centre = -0.27; break;
    case HairStyle::kLong: vx = 0.05, vt = 0.045, centre = -0.30; break;
    case HairStyle::kBob: vx = 0.055, vt = 0.05, centre = -0.255; break;
    case HairStyle::kCurly: vx = 0.085, vt = 0.075, cut = kEyeY + 0.12, centre = -0.28; curly_hair_ = true; break;
    case HairStyle::kBun: vx = 0.015, vt = 0.025, cut = kEyeY, centre = -0.30; break;
  }
  ears_visible_ = style != HairStyle::kLong && style != HairStyle::kBob;
  const double cy = -0.12, rx = head_.width() + vx, ry = cy - (kFaceTop - vt);
  hair_centre_y_ = cy, hair_radius_x_ = rx, hair_radius_y_ = ry;
  auto radius = [&](double ang) { return curly_hair_ ? 1.0 + 0.05 * std::sin(13 * ang) : 1.0; };
  auto arc_point = [&](double ang) {  // ang 0 = top, positive towards image right
    const double r = radius(ang);
    return P2(rx * r * std::sin(ang), cy - ry * r * std::cos(ang));
  };
  auto angle_at = [&](double y) {  // angle of the ellipse point at height y (y >= top)
    return std::acos(clampd((cy - y) / ry, -1.0, 1.0));
  };
  auto add_arc = [&](Poly& out, double a0, double a1, int n) {
    for (int i = 0; i <= n; ++i) {
      const P2 p = arc_point(lerp(a0, a1, static_cast<double>(i) / n));
      out.push_back(hair(p.x, p.y));
    }
  };

  // Back hair (behind the head).
  hair_back_.clear();
  hair_lock_.clear();
  Poly back;
  const int arc_n = curly_hair_ ? 72 : 40;
  if (style == HairStyle::kLong || style == HairStyle::kBob) {
    const double bottom = style == HairStyle::kLong ? 0.75 : head_.bottom() - 0.03;
    const double flare = style == HairStyle::kLong ? 0.035 : 0.0;
    const double aside = angle_at(cy);  // pi/2
    add_arc(back, -aside, aside, arc_n);
    back.push_back(hair(rx + flare, bottom));
    if (style == HairStyle::kBob) {
      const double inner = head_.half_width(bottom - 0.05) + 0.01;
      back.push_back(hair(rx - 0.02, bottom + 0.03));
      back.push_back(hair(inner, bottom + 0.035));
      back.push_back(hair(-inner, bottom + 0.035));
      back.push_back(hair(-(rx - 0.02), bottom + 0.03));
    } else {
      back.push_back(hair(0.0, bottom + 0.05));
    }
    back.push_back(hair(-(rx + flare), bottom));
  } else {
    const double a_cut = angle_at(cut);
    add_arc(back, -a_cut, a_cut, arc_n);
  }
  hair_back_.push_back(back);
  if (style == HairStyle::kBun) {
    Poly bun = ellipse_points(P2(0.0, kFaceTop - vt - 0.025), 0.07, 0.055, 0.0, 28);
    for (P2& p : bun) p = hair(p.x, p.y);
    hair_back_.push_back(bun);
  }

  // Front hair: from the hairline on the forehead up to the hair silhouette. The hairline stays
  // at or above y = -0.25 across the brows (expressions raise the brows at most to about -0.19),
  // and comes down to the temples only above the brows' outer ends.
  const double yt = kEyeY - 0.1;  // temple, above the brows' outer ends
  const double xt = head_.half_width(yt);
  hairline_.clear();
  const int hn = 28;
  for (int i = 0; i <= hn; ++i) {
    const double s = -1.0 + 2.0 * i / hn, x = s * xt;
    double base = centre;
    switch (style) {
      case HairStyle::kSidePart: base = centre + 0.0125 * (s + 1); break;
      case HairStyle::kLong: base = centre + 0.045 * std::min(1.0, std::abs(s) * 2.2); break;
      case HairStyle::kBob: base = centre - 0.01 * s * s; break;
      case HairStyle::kCurly: base = centre + 0.008 * std::sin(9 * kPi * s); break;
      default: base = centre + 0.01 * s * s; break;
    }
    const double y = base + (yt - base) * std::pow(std::abs(s), 6.0);
    hairline_.emplace_back(x, y);
  }
  Poly front;
  for (const P2& p : hairline_) front.push_back(surf(p, 0.004));
  const double at = angle_at(yt);
  add_arc(front, at, -at, arc_n);
  hair_front_ = front;
  if (style == HairStyle::kSidePart) {
    // A swept lock over the image-left forehead.
    Poly lock;
    for (int i = 0; i <= 10; ++i) {
      const double s = i / 10.0;
      lock.push_back(surf(lerp(0.09, -xt, s), lerp(-0.30, -0.262, std::sin(kPi * s * 0.8)) + 0.01 * s, 0.004));
    }
    for (int i = 10; i >= 0; --i) {
      const double s = i / 10.0;
      lock.push_back(surf(lerp(0.06, -xt, s), -0.33 + 0.02 * s, 0.004));
    }
    hair_lock_ = lock;
  }

  hair_roi_ = bounds(hair_front_, 2);
  for (const Poly& p : hair_back_) hair_roi_ |= bounds(p, 2);
  if (!hair_lock_.empty()) hair_roi_ |= bounds(hair_lock_, 2);
}

void Painter::paint_hair_colour() {
  // Hair colour wherever some hair polygon covers a pixel.
  const cv::Rect roi = hair_roi_;
  const cv::Scalar base = bgr(traits_.hair);
  const double sx = factors_.attributes.shift_x, sy = factors_.attributes.shift_y;
  const double cy = hair_centre_y_, rx = hair_radius_x_, ry = hair_radius_y_;
  const double freq = std::min(70.0, 0.5 * internal_size_);
  const double curl = 2 * kPi / std::max(0.028, 3.0 / internal_size_);
  const double phase = static_cast<double>(factors_.identity % 97) * 0.37;
  const double sheen = 0.3 + specular_ * 3;
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    uint8_t* row = hair_layer_.ptr<uint8_t>(y);
    const uint8_t* ab = back_hair_alpha_.ptr<uint8_t>(y);
    const uint8_t* af = front_hair_alpha_.ptr<uint8_t>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      if ((ab[x] | af[x]) == 0) continue;
      const double ux = (x + 0.5) / internal_size_ - 0.5 - sx, uy = (y + 0.5) / internal_size_ - 0.5 - sy;
      const double cx = (cos_roll_ * ux + sin_roll_ * uy) / scale_ - kHairDepth * head_.sin_yaw();
      const double cyy = (-sin_roll_ * ux + cos_roll_ * uy) / scale_;
      double nx = cx / rx, ny = (cyy - cy) / ry;
      if (cyy > cy) ny = 0.0;  // hanging hair: a vertical surface
      double r2 = nx * nx + ny * ny;
      if (r2 > 0.96) {
        const double k = std::sqrt(0.96 / r2);
        nx *= k, ny *= k, r2 = 0.96;
      }
      const double nz = std::sqrt(1.0 - r2);
      // Lit with the roll (the yaw only shifts the hair).
      const double x2 = cos_roll_ * nx - sin_roll_ * ny, y2 = sin_roll_ * nx + cos_roll_ * ny;
      const double ndl = x2 * light_x_ + y2 * light_y_ + nz * light_z_;
      const double lam = std::max(0.0, ndl);
      double tex;
      if (curly_hair_) {
        tex = 0.6 * fast_sin(cx * curl + phase) * fast_sin(cyy * curl * 1.1 + 0.5 * fast_sin(cx * curl * 0.5));
      } else {
        // Strands follow the direction of growth: around the crown on the head, down when hanging.
        const double rad = cyy > cy ? cyy : std::sqrt(cx * cx + sq(cy - cyy));
        const double ang = (cyy > cy ? cx * 6.0 : fast_atan2(cx, cy - cyy)) + 0.04 * fast_sin(rad * 40.0 + phase);
        tex = 0.45 * fast_sin(ang * 0.35 * freq + phase + 1.5 * fast_sin(ang * 5.0)) +
              0.35 * fast_sin(ang * freq + 2 * phase) + 0.2 * fast_sin(ang * freq * 2.1 + 3 * phase);
      }
      const double band = std::max(0.0, 1.0 - std::abs(ndl - 0.93) * 6.0);
      const double hl = band * band * (0.75 + 0.25 * tex);
      const double shade = (ambient_ + diffuse_ * lam) * (0.92 + 0.1 * tex) * 0.95;
      for (int c = 0; c < 3; ++c) row[3 * x + c] = u8(base[c] * shade + (40 + base[c] * 0.5) * hl * sheen);
    }
  }
}

}  // namespace facegan::data::synthetic
