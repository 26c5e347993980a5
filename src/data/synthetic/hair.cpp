// Hair: the style's polygons (back hair behind the head, fringe and lock in front of the face),
// then one colour pass over both, shaded as a rounded surface around the skull with strand or curl
// texture. Hair reads neither expression nor makeup.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::layout_hair() {
  const HairStyle style = traits_.hair_style;
  double volume_side = 0.025, volume_top = 0.035, cut = kEyeY + 0.02;
  double hairline_mid_y = -0.29;  // hairline height at the midline
  switch (style) {
    case HairStyle::kShort: break;
    case HairStyle::kSidePart: volume_side = 0.035, volume_top = 0.05, cut = kEyeY + 0.05, hairline_mid_y = -0.27; break;
    case HairStyle::kLong: volume_side = 0.05, volume_top = 0.045, hairline_mid_y = -0.30; break;
    case HairStyle::kBob: volume_side = 0.055, volume_top = 0.05, hairline_mid_y = -0.255; break;
    case HairStyle::kCurly: volume_side = 0.085, volume_top = 0.075, cut = kEyeY + 0.12, hairline_mid_y = -0.28; curly_hair_ = true; break;
    case HairStyle::kBun: volume_side = 0.015, volume_top = 0.025, cut = kEyeY, hairline_mid_y = -0.30; break;
  }
  ears_visible_ = style != HairStyle::kLong && style != HairStyle::kBob;
  const double centre_y = -0.12, radius_x = head_.width() + volume_side, radius_y = centre_y - (kFaceTop - volume_top);
  hair_centre_y_ = centre_y, hair_radius_x_ = radius_x, hair_radius_y_ = radius_y;
  auto radius = [&](double ang) { return curly_hair_ ? 1.0 + 0.05 * std::sin(13 * ang) : 1.0; };
  auto arc_point = [&](double ang) {  // ang 0 = top, positive towards image right
    const double r = radius(ang);
    return P2(radius_x * r * std::sin(ang), centre_y - radius_y * r * std::cos(ang));
  };
  auto angle_at = [&](double y) {  // angle of the ellipse point at height y (y >= top)
    return std::acos(clampd((centre_y - y) / radius_y, -1.0, 1.0));
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
    const double aside = angle_at(centre_y);  // pi/2
    add_arc(back, -aside, aside, arc_n);
    back.push_back(hair(radius_x + flare, bottom));
    if (style == HairStyle::kBob) {
      const double inner = head_.half_width(bottom - 0.05) + 0.01;
      back.push_back(hair(radius_x - 0.02, bottom + 0.03));
      back.push_back(hair(inner, bottom + 0.035));
      back.push_back(hair(-inner, bottom + 0.035));
      back.push_back(hair(-(radius_x - 0.02), bottom + 0.03));
    } else {
      back.push_back(hair(0.0, bottom + 0.05));
    }
    back.push_back(hair(-(radius_x + flare), bottom));
  } else {
    const double a_cut = angle_at(cut);
    add_arc(back, -a_cut, a_cut, arc_n);
  }
  hair_back_.push_back(back);
  if (style == HairStyle::kBun) {
    Poly bun = ellipse_points(P2(0.0, kFaceTop - volume_top - 0.025), 0.07, 0.055, 0.0, 28);
    for (P2& p : bun) p = hair(p.x, p.y);
    hair_back_.push_back(bun);
  }

  // Front hair: from the hairline on the forehead up to the hair silhouette. The hairline stays
  // at or above y = -0.25 across the brows (expressions raise the brows at most to about -0.19),
  // and comes down to the temples only above the brows' outer ends.
  const double temple_y = kEyeY - 0.1;  // temple, above the brows' outer ends
  const double temple_x = head_.half_width(temple_y);
  hairline_.clear();
  const int hairline_steps = 28;
  for (int i = 0; i <= hairline_steps; ++i) {
    const double s = -1.0 + 2.0 * i / hairline_steps, x = s * temple_x;
    double base = hairline_mid_y;
    switch (style) {
      case HairStyle::kSidePart: base = hairline_mid_y + 0.0125 * (s + 1); break;
      case HairStyle::kLong: base = hairline_mid_y + 0.045 * std::min(1.0, std::abs(s) * 2.2); break;
      case HairStyle::kBob: base = hairline_mid_y - 0.01 * s * s; break;
      case HairStyle::kCurly: base = hairline_mid_y + 0.008 * std::sin(9 * kPi * s); break;
      default: base = hairline_mid_y + 0.01 * s * s; break;
    }
    const double y = base + (temple_y - base) * std::pow(std::abs(s), 6.0);
    hairline_.emplace_back(x, y);
  }
  Poly front;
  for (const P2& p : hairline_) front.push_back(surf(p, 0.004));
  const double temple_angle = angle_at(temple_y);
  add_arc(front, temple_angle, -temple_angle, arc_n);
  hair_front_ = front;
  if (style == HairStyle::kSidePart) {
    // A swept lock over the image-left forehead.
    Poly lock;
    for (int i = 0; i <= 10; ++i) {
      const double s = i / 10.0;
      lock.push_back(surf(lerp(0.09, -temple_x, s), lerp(-0.30, -0.262, std::sin(kPi * s * 0.8)) + 0.01 * s, 0.004));
    }
    for (int i = 10; i >= 0; --i) {
      const double s = i / 10.0;
      lock.push_back(surf(lerp(0.06, -temple_x, s), -0.33 + 0.02 * s, 0.004));
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
  const double shift_x = factors_.attributes.shift_x, shift_y = factors_.attributes.shift_y;
  const double centre_y = hair_centre_y_, radius_x = hair_radius_x_, radius_y = hair_radius_y_;
  const double freq = std::min(70.0, 0.5 * internal_size_);
  const double curl = 2 * kPi / std::max(0.028, 3.0 / internal_size_);
  const double phase = static_cast<double>(factors_.identity % 97) * 0.37;
  const double sheen = 0.3 + specular_ * 3;
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    uint8_t* row = hair_layer_.ptr<uint8_t>(y);
    const uint8_t* back_row = back_hair_alpha_.ptr<uint8_t>(y);
    const uint8_t* front_row = front_hair_alpha_.ptr<uint8_t>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      if ((back_row[x] | front_row[x]) == 0) continue;
      const double centred_x = (x + 0.5) / internal_size_ - 0.5 - shift_x, centred_y = (y + 0.5) / internal_size_ - 0.5 - shift_y;
      const double canon_x = (cos_roll_ * centred_x + sin_roll_ * centred_y) / scale_ - kHairDepth * head_.sin_yaw();
      const double canon_y = (-sin_roll_ * centred_x + cos_roll_ * centred_y) / scale_;
      double normal_x = canon_x / radius_x, normal_y = (canon_y - centre_y) / radius_y;
      if (canon_y > centre_y) normal_y = 0.0;  // hanging hair: a vertical surface
      double radius2 = normal_x * normal_x + normal_y * normal_y;
      if (radius2 > 0.96) {
        const double k = std::sqrt(0.96 / radius2);
        normal_x *= k, normal_y *= k, radius2 = 0.96;
      }
      const double normal_z = std::sqrt(1.0 - radius2);
      // Lit with the roll (the yaw only shifts the hair).
      const double rolled_x = cos_roll_ * normal_x - sin_roll_ * normal_y, rolled_y = sin_roll_ * normal_x + cos_roll_ * normal_y;
      const double ndl = rolled_x * light_x_ + rolled_y * light_y_ + normal_z * light_z_;
      const double lam = std::max(0.0, ndl);
      double tex;
      if (curly_hair_) {
        tex = 0.6 * fast_sin(canon_x * curl + phase) * fast_sin(canon_y * curl * 1.1 + 0.5 * fast_sin(canon_x * curl * 0.5));
      } else {
        // Strands follow the direction of growth: around the crown on the head, down when hanging.
        const double rad = canon_y > centre_y ? canon_y : std::sqrt(canon_x * canon_x + sq(centre_y - canon_y));
        const double ang = (canon_y > centre_y ? canon_x * 6.0 : fast_atan2(canon_x, centre_y - canon_y)) + 0.04 * fast_sin(rad * 40.0 + phase);
        tex = 0.45 * fast_sin(ang * 0.35 * freq + phase + 1.5 * fast_sin(ang * 5.0)) +
              0.35 * fast_sin(ang * freq + 2 * phase) + 0.2 * fast_sin(ang * freq * 2.1 + 3 * phase);
      }
      const double band = std::max(0.0, 1.0 - std::abs(ndl - 0.93) * 6.0);
      const double sheen_amount = band * band * (0.75 + 0.25 * tex);
      const double shade = (ambient_ + diffuse_ * lam) * (0.92 + 0.1 * tex) * 0.95;
      for (int c = 0; c < 3; ++c) row[3 * x + c] = u8(base[c] * shade + (40 + base[c] * 0.5) * sheen_amount * sheen);
    }
  }
}

}  // namespace facegan::data::synthetic
