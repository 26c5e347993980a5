#pragma once
// One render in progress: the Painter holds a face's layout (canonical units, see head_surface.hpp)
// and its buffers, and its stages, one file each, fill them in the order of Painter::run.
#include <facegan/data/synthetic_faces.hpp>

#include "expression.hpp"
#include "geometry.hpp"
#include "head_surface.hpp"
#include "raster.hpp"

#include <opencv2/imgproc.hpp>

#include <array>
#include <initializer_list>
#include <vector>

namespace facegan::data::synthetic {

// Values of data::Region (dataset.hpp, which pulls in torch; this file stays torch-free).
// synthetic_faces_dataset.cpp static_asserts that they agree.
enum RegionValue : uint8_t { kBackground = 0, kSkin = 1, kBrows = 2, kEyes = 3, kLips = 4, kHair = 5, kNeck = 6, kEars = 7, kNose = 8, kMouth = 9 };

// A compact bump of the relief: height amp * (1 - r^2)^2 inside the ellipse (cx, cy, rx, ry).
// `expressive` bumps move with the expression; they are left out near the outline and under the
// hair (see protected_).
struct Bump {
  double cx, cy, rx, ry, amp;
  bool expressive = true;
};

class Painter {
 public:
  Painter(const IdentityTraits& traits, const FaceFactors& f, int size, int ss)
      : traits_(traits), factors_(f), expression_(expression_controls(f.expression, f.intensity)), head_(traits, f.attributes.yaw),
        size_(size), supersample_(ss), internal_size_(size * ss) {
    const Attributes& a = f.attributes;
    cos_roll_ = std::cos(a.roll);
    sin_roll_ = std::sin(a.roll);
    scale_ = a.scale;
    light_x_ = a.light_x, light_y_ = a.light_y, light_z_ = 1.0;
    const double ln = std::sqrt(light_x_ * light_x_ + light_y_ * light_y_ + light_z_ * light_z_);
    light_x_ /= ln, light_y_ /= ln, light_z_ /= ln;
    const double s = clampd(a.light_strength, 0.0, 1.0);
    ambient_ = 1.0 - 0.62 * s;
    diffuse_ = 0.78 * s;
    specular_ = 0.16 * s;
    skin_ = bgr(traits_.skin);
  }

  RenderedFace run();

 private:
  // Canonical (already projected x) -> output pixel coordinates.
  P2 px(double xp, double y) const {
    const double X = scale_ * xp, Y = scale_ * y;
    const double u = cos_roll_ * X - sin_roll_ * Y + factors_.attributes.shift_x, v = sin_roll_ * X + cos_roll_ * Y + factors_.attributes.shift_y;
    return {size_ * (u + 0.5) - 0.5, size_ * (v + 0.5) - 0.5};
  }
  P2 surf(double x, double y, double h = 0.0) const { return px(head_.project_x(x, y, h), y); }
  P2 surf(P2 p, double h = 0.0) const { return surf(p.x, p.y, h); }
  P2 hair(double x, double y) const { return px(head_.hair_x(x), y); }
  Poly surf_poly(const Poly& canon, double h = 0.0) const {
    Poly out;
    out.reserve(canon.size());
    for (const P2& p : canon) out.push_back(surf(p, h));
    return out;
  }
  // Canonical lengths -> output pixels.
  double len(double l) const { return l * scale_ * size_; }
  // Whether the lips part by enough (a third of a pixel) to draw the inside of the mouth.
  bool mouth_is_open() const { return len(upper_opening_ + lower_opening_) > 0.35; }

  // Drawing at the internal resolution, with anti-aliasing; `off` is the origin of a sub-image.
  void to_fixed(const Poly& p, std::vector<cv::Point>& out, cv::Point off = {0, 0}) const {
    out.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      out[i].x = static_cast<int>(std::lround(((p[i].x + 0.5) * supersample_ - 0.5 - off.x) * 16.0));
      out[i].y = static_cast<int>(std::lround(((p[i].y + 0.5) * supersample_ - 0.5 - off.y) * 16.0));
    }
  }
  void fill(cv::Mat& m, const Poly& p, const cv::Scalar& colour, cv::Point off = {0, 0}) {
    if (p.size() < 3) return;
    to_fixed(p, fixed_points_, off);
    const cv::Point* pp = fixed_points_.data();
    const int n = static_cast<int>(fixed_points_.size());
    cv::fillPoly(m, &pp, &n, 1, colour, cv::LINE_AA, 4);
  }
  // Region labels at the output resolution, no anti-aliasing.
  void label(const Poly& p, RegionValue r) {
    if (p.size() < 3) return;
    fixed_points_.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      fixed_points_[i].x = static_cast<int>(std::lround(p[i].x * 16.0));
      fixed_points_[i].y = static_cast<int>(std::lround(p[i].y * 16.0));
    }
    const cv::Point* pp = fixed_points_.data();
    const int n = static_cast<int>(fixed_points_.size());
    cv::fillPoly(regions_, &pp, &n, 1, cv::Scalar(static_cast<int>(r)), cv::LINE_8, 4);
  }
  // Bounding box of a polygon at the internal resolution, padded, clipped to the image.
  cv::Rect bounds(const Poly& p, double pad) const {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (const P2& q : p) {
      x0 = std::min(x0, q.x), x1 = std::max(x1, q.x), y0 = std::min(y0, q.y), y1 = std::max(y1, q.y);
    }
    const int ix0 = static_cast<int>(std::floor((x0 + 0.5) * supersample_ - 0.5 - pad));
    const int iy0 = static_cast<int>(std::floor((y0 + 0.5) * supersample_ - 0.5 - pad));
    const int ix1 = static_cast<int>(std::ceil((x1 + 0.5) * supersample_ - 0.5 + pad));
    const int iy1 = static_cast<int>(std::ceil((y1 + 0.5) * supersample_ - 0.5 + pad));
    return cv::Rect(cv::Point(ix0, iy0), cv::Point(ix1 + 1, iy1 + 1)) & cv::Rect(0, 0, internal_size_, internal_size_);
  }
  // Draws a polygon into the scratch alpha map and tints `dst` through it (semi-transparent paint).
  void paint(cv::Mat& dst, const Poly& p, const cv::Scalar& colour, double k, double blur_px = 0.0) {
    cv::Rect roi = bounds(p, 2 + 3 * blur_px * supersample_);
    if (roi.empty()) return;
    cv::Mat a = scratch_alpha_(roi);
    a.setTo(0);
    fill(a, p, cv::Scalar(255), roi.tl());
    if (blur_px > 0) soften(a, blur_px * supersample_);
    tint(dst, scratch_alpha_, colour, k, roi);
  }
  double lambert(double nx, double ny, double nz) const {
    // Rotate a canonical normal by yaw then roll, then light it.
    const double ct = head_.cos_yaw(), st = head_.sin_yaw();
    const double x1 = nx * ct + nz * st, z1 = -nx * st + nz * ct;
    const double x2 = cos_roll_ * x1 - sin_roll_ * ny, y2 = sin_roll_ * x1 + cos_roll_ * ny;
    return std::max(0.0, x2 * light_x_ + y2 * light_y_ + z1 * light_z_);
  }

  // face_layout.cpp: where every feature, landmark and relief bump goes (no pixels).
  void layout();
  // background_and_body.cpp: what lies behind and below the face.
  void paint_background();
  void paint_neck_and_clothes();
  void paint_ears();
  // hair.cpp: hair polygons, then their shaded, textured colour.
  void layout_hair();
  void paint_hair_colour();
  // face_features.cpp: the face layer's albedo, from identity flush to the mouth.
  void paint_flush();
  void paint_face_features();
  void paint_eyes();
  void paint_brows();
  void paint_nose();
  void paint_mouth();
  // makeup.cpp: the products' alpha maps (drawn for every face: their union is the makeup mask).
  void build_makeup_maps();
  // shading.cpp: lights the face layer and composites it through the outline.
  void shade_face();
  // painter.cpp: the renderer's order, and the outputs at the output size.
  RenderedFace finish();
  // The outer lips' outline and the mouth opening, in output pixels, from the mouth landmarks.
  Poly lips_outline() const;
  Poly mouth_opening() const;
  Poly landmark_curve(std::initializer_list<int> ids) const;

  const IdentityTraits& traits_;
  const FaceFactors& factors_;
  ExpressionControls expression_;
  HeadSurface head_;
  int size_, supersample_, internal_size_;
  double cos_roll_ = 1, sin_roll_ = 0, scale_ = 1;
  double light_x_ = 0, light_y_ = 0, light_z_ = 1, ambient_ = 1, diffuse_ = 0, specular_ = 0;
  cv::Scalar skin_;

  // Layout (canonical).
  double eye_x_ = 0, eye_half_width_ = 0, nose_tip_y_ = 0, nose_half_width_ = 0, mouth_y_ = 0, mouth_half_width_ = 0;
  double upper_opening_ = 0, lower_opening_ = 0, upper_lip_thickness_ = 0, lower_lip_thickness_ = 0;
  std::array<Poly, 2> eye_opening_, eye_upper_, eye_lower_;  // canonical lid curves, outer -> inner
  std::array<P2, 2> iris_centre_;
  double iris_radius_ = 0;
  std::array<Poly, 2> brow_line_;  // canonical, inner -> outer
  Poly hairline_;                  // canonical, left -> right
  std::vector<Poly> hair_back_;    // pixel polygons
  Poly hair_front_, hair_lock_;    // pixel polygons
  double hair_centre_y_ = 0, hair_radius_x_ = 0, hair_radius_y_ = 0;
  bool curly_hair_ = false, ears_visible_ = true;
  std::vector<Bump> relief_bumps_, occlusion_blobs_;
  std::array<P2, kNumLandmarks> landmarks_{};  // output pixels

  // Buffers at the internal resolution (internal_size_ square) except regions_ (output size).
  cv::Mat image_, face_layer_, hair_layer_, face_alpha_, back_hair_alpha_, front_hair_alpha_, scratch_alpha_;
  // Non-zero near the face outline and under the front hair, where background- and hair-labelled
  // pixels can see the face layer: there it keeps its identity-only content (no expression, no
  // makeup), which makes both disentanglement properties exact.
  cv::Mat protected_;
  cv::Mat lipstick_alpha_, eyeshadow_alpha_, blush_alpha_, eyeliner_alpha_;
  cv::Mat regions_;
  cv::Rect face_roi_, hair_roi_;
  Poly face_outline_;
  std::vector<cv::Point> fixed_points_;
};

}  // namespace facegan::data::synthetic
