#pragma once
// The head surface. Canonical coordinates: x right, y down, z towards the viewer; lengths are
// fractions of the image side at pose scale 1, origin at the face centre. Each row y is a
// horizontal ellipse section of half-width half_width(y) (the face outline) and depth
// kDepthRatio times that; the yaw turns the sections about a vertical axis behind the face.
#include <facegan/data/synthetic_faces.hpp>

#include "geometry.hpp"

#include <array>

namespace facegan::data::synthetic {

constexpr double kEyeY = -0.07;        // eye line
constexpr double kFaceTop = -0.40;     // top of the face outline (under the hair)
constexpr double kCheekY = -0.03;      // widest row of the face
constexpr double kDepthRatio = 0.7;    // depth / width of the head's horizontal sections (flat front)
constexpr double kFrontDepth = 0.25;   // depth of the face front in front of the turning axis
constexpr double kHairDepth = 0.05;    // depth of the skull centre (hair silhouette) in front of it
constexpr int kTableRows = 192;

class HeadSurface {
 public:
  HeadSurface(const IdentityTraits& traits, double yaw)
      : bottom_(traits.face_length), max_half_width_(traits.face_width), jaw_exponent_(traits.jaw_squareness),
        chin_taper_(traits.chin_taper) {
    cos_yaw_ = std::cos(yaw);
    sin_yaw_ = std::sin(yaw);
    section_width_ = std::sqrt(cos_yaw_ * cos_yaw_ + sq(kDepthRatio * sin_yaw_));
    section_phase_ = std::atan2(kDepthRatio * sin_yaw_, cos_yaw_);
    cos_phase_ = std::cos(section_phase_);
    sin_phase_ = std::sin(section_phase_);
    table_top_ = kFaceTop;
    table_step_ = (bottom_ - kFaceTop) / (kTableRows - 1);
    for (int i = 0; i < kTableRows; ++i) {
      const double y = table_top_ + table_step_ * i;
      const double e = 1e-4;
      half_width_table_[i] = static_cast<float>(std::max(half_width(y), 1e-3));
      half_width_slope_table_[i] = static_cast<float>(clampd((half_width(y + e) - half_width(y - e)) / (2 * e), -6.0, 6.0));
      centre_depth_table_[i] = static_cast<float>(front(y) - kDepthRatio * half_width_table_[i]);
      front_slope_table_[i] = static_cast<float>((front(y + e) - front(y - e)) / (2 * e));
    }
  }

  double cos_yaw() const { return cos_yaw_; }
  double sin_yaw() const { return sin_yaw_; }
  double bottom() const { return bottom_; }
  double width() const { return max_half_width_; }

  /// Half-width of the face outline at row y (0 outside [kFaceTop, bottom]).
  double half_width(double y) const {
    if (y <= kFaceTop || y >= bottom_) return 0.0;
    if (y < kCheekY) {
      const double s = (kCheekY - y) / (kCheekY - kFaceTop);
      return lerp(max_half_width_, 0.93 * max_half_width_, s) * std::sqrt(std::max(0.0, 1 - s * s));
    }
    const double t = (y - kCheekY) / (bottom_ - kCheekY);
    return max_half_width_ * std::pow(std::max(0.0, 1 - std::pow(t, jaw_exponent_)), 1.0 / jaw_exponent_) * (1 - chin_taper_ * t * t);
  }

  /// Depth of the face front (x = 0) at row y: flat, sloping back on the upper forehead and under
  /// the chin.
  double front(double y) const {
    double z = kFrontDepth;
    if (y < -0.17) z -= 1.2 * sq(y + 0.17);
    const double yc = bottom_ - 0.07;
    if (y > yc) z -= 2.5 * sq(y - yc);
    return z;
  }

  /// Projected x of the surface point above canonical (x, y), raised by h along z.
  double project_x(double x, double y, double h = 0.0) const {
    const double a = std::max(half_width(y), 1e-3);
    const double s = clampd(x / a, -1.0, 1.0);
    const double z = front(y) - kDepthRatio * a * (1 - std::sqrt(1 - s * s)) + h;
    return x * cos_yaw_ + z * sin_yaw_;
  }

  /// Projected x of the outline at row y; side -1 is the image-left edge, +1 the right one.
  double silhouette_x(double y, double side) const {
    const double a = half_width(y);
    return (front(y) - kDepthRatio * a) * sin_yaw_ + side * a * section_width_;
  }

  /// Projected x of a point that does not lie on the face (hair, ears): turns with the skull.
  double hair_x(double x) const { return x + kHairDepth * sin_yaw_; }

  /// Per-pixel inverse: projected (xp, y) -> canonical x on the surface and its unit normal
  /// (before the yaw turn). Reads the row tables, so that no pixel pays for trigonometry.
  void inverse(double xp, double y, double& x_canonical, double& nx, double& ny, double& nz) const {
    double row = (y - table_top_) / table_step_;
    row = clampd(row, 0.0, kTableRows - 1.001);
    const int i = static_cast<int>(row);
    const double w = row - i;
    const double a = half_width_table_[i] + (half_width_table_[i + 1] - half_width_table_[i]) * w;
    const double da = half_width_slope_table_[i] + (half_width_slope_table_[i + 1] - half_width_slope_table_[i]) * w;
    const double centre_z = centre_depth_table_[i] + (centre_depth_table_[i + 1] - centre_depth_table_[i]) * w;
    const double front_slope = front_slope_table_[i] + (front_slope_table_[i + 1] - front_slope_table_[i]) * w;
    const double t = clampd((xp - centre_z * sin_yaw_) / (a * section_width_), -1.0, 1.0);
    // The angle around the section is phi = asin(t) - section_phase_; its sine and cosine come
    // from the angle-difference identities.
    const double cos_asin = std::sqrt(1.0 - t * t);
    const double sin_phi = t * cos_phase_ - cos_asin * sin_phase_, cos_phi = cos_asin * cos_phase_ + t * sin_phase_;
    x_canonical = a * sin_phi;
    nx = sin_phi;
    ny = -da * (1 - cos_phi) - cos_phi * front_slope / kDepthRatio;
    nz = cos_phi / kDepthRatio;
    const double inv = 1.0 / std::sqrt(nx * nx + ny * ny + nz * nz);
    nx *= inv, ny *= inv, nz *= inv;
  }

 private:
  double bottom_, max_half_width_, jaw_exponent_, chin_taper_;
  // A turned section projects to half-width a * section_width_; section_phase_ is the angle by
  // which its visible extreme moves round the ellipse.
  double cos_yaw_ = 1, sin_yaw_ = 0, section_width_ = 1, section_phase_ = 0, cos_phase_ = 1, sin_phase_ = 0;
  // Per-row tables over [kFaceTop, bottom]: half-width, its slope, the section centre's depth and
  // the slope of the front's depth, as inverse() interpolates them.
  double table_top_ = 0, table_step_ = 0;
  std::array<float, kTableRows> half_width_table_{}, half_width_slope_table_{}, centre_depth_table_{}, front_slope_table_{};
};

}  // namespace facegan::data::synthetic
