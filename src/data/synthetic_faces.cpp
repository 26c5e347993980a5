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
#include <facegan/core/error.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace facegan::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Values of data::Region (dataset.hpp, which pulls in torch; this file stays torch-free).
// synthetic_faces_dataset.cpp static_asserts that they agree.
enum RegionValue : uint8_t { kBackground = 0, kSkin = 1, kBrows = 2, kEyes = 3, kLips = 4, kHair = 5, kNeck = 6, kEars = 7, kNose = 8, kMouth = 9 };

using P2 = cv::Point2d;
using Poly = std::vector<P2>;

double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }
double lerp(double a, double b, double t) { return a + (b - a) * t; }
double sq(double v) { return v * v; }

// ---------------------------------------------------------------------------------------------
// Random numbers: splitmix64, portable (std:: distributions differ between standard libraries).

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t index) : state_(mix64(mix64(seed ^ mix64(stream)) ^ index)) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t below(int64_t n) { return std::min<int64_t>(n - 1, static_cast<int64_t>(uniform() * static_cast<double>(n))); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

enum Stream : uint64_t { kIdentityStream = 1, kSampleIdentity, kSampleAttributes, kSampleExpression, kSampleMakeup };

Rgb jitter(Rng& rng, Rgb c, double amount) {
  c.r = clampd(c.r + rng.uniform(-amount, amount), 0.0, 1.0);
  c.g = clampd(c.g + rng.uniform(-amount, amount), 0.0, 1.0);
  c.b = clampd(c.b + rng.uniform(-amount, amount), 0.0, 1.0);
  return c;
}

template <size_t N>
Rgb pick(Rng& rng, const std::array<Rgb, N>& palette, double amount) {
  return jitter(rng, palette[static_cast<size_t>(rng.below(static_cast<int64_t>(N)))], amount);
}

Rgb hsv(double h, double s, double v) {
  h = std::fmod(h, 1.0) * 6.0;
  const int i = static_cast<int>(h);
  const double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (i) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

IdentityTraits derive_traits(uint64_t seed, int64_t identity) {
  Rng rng(seed, kIdentityStream, static_cast<uint64_t>(identity));
  IdentityTraits t;
  t.face_width = rng.uniform(0.23, 0.262);
  t.face_length = rng.uniform(0.33, 0.37);
  t.jaw_squareness = rng.uniform(1.9, 2.6);
  t.chin_taper = rng.uniform(0.1, 0.35);
  // Skin: a ramp from fair to deep tones, then a little warmth/redness variation.
  static const std::array<Rgb, 6> ramp{{{0.98, 0.85, 0.75},
                                        {0.93, 0.76, 0.63},
                                        {0.83, 0.63, 0.48},
                                        {0.67, 0.46, 0.32},
                                        {0.48, 0.32, 0.22},
                                        {0.34, 0.22, 0.15}}};
  const double pos = rng.uniform() * 5.0;
  const size_t k = std::min<size_t>(4, static_cast<size_t>(pos));
  const double f = pos - static_cast<double>(k);
  t.skin = {lerp(ramp[k].r, ramp[k + 1].r, f), lerp(ramp[k].g, ramp[k + 1].g, f), lerp(ramp[k].b, ramp[k + 1].b, f)};
  const double warm = rng.uniform(-0.03, 0.03);
  t.skin = jitter(rng, {t.skin.r + warm, t.skin.g, t.skin.b - warm}, 0.015);
  // Eyes scale with the face, so that even narrow faces keep them well inside the outline.
  t.eye_size = t.face_width * rng.uniform(0.2, 0.235);
  t.eye_spacing = t.face_width * rng.uniform(0.47, 0.52);
  t.eye_tilt = rng.uniform(-0.006, 0.01);
  static const std::array<Rgb, 6> irises{{{0.22, 0.13, 0.07},
                                          {0.40, 0.24, 0.11},
                                          {0.50, 0.40, 0.18},
                                          {0.30, 0.45, 0.26},
                                          {0.32, 0.50, 0.72},
                                          {0.46, 0.54, 0.62}}};
  t.iris = pick(rng, irises, 0.04);
  t.nose_length = rng.uniform(0.135, 0.175);
  t.nose_width = rng.uniform(0.034, 0.048);
  t.mouth_width = rng.uniform(0.085, 0.105);
  t.lip_fullness = rng.uniform(0.7, 1.3);
  t.lips = jitter(rng, {clampd(t.skin.r * 0.82 + 0.1, 0, 1), t.skin.g * 0.52, t.skin.b * 0.56}, 0.03);
  t.brow_thickness = rng.uniform(0.012, 0.022);
  t.brow_arch = rng.uniform(0.005, 0.02);
  static const std::array<Rgb, 8> hairs{{{0.08, 0.065, 0.055},
                                         {0.10, 0.08, 0.07},
                                         {0.22, 0.14, 0.09},
                                         {0.36, 0.23, 0.14},
                                         {0.50, 0.24, 0.12},
                                         {0.64, 0.50, 0.32},
                                         {0.86, 0.74, 0.50},
                                         {0.64, 0.63, 0.62}}};
  t.hair = pick(rng, hairs, 0.035);
  t.brows = {t.hair.r * 0.72 + 0.02, t.hair.g * 0.68 + 0.015, t.hair.b * 0.66 + 0.01};
  t.hair_style = static_cast<HairStyle>(rng.below(kNumHairStyles));
  t.ear_size = rng.uniform(0.85, 1.15);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Expression: how each expression moves mouth, brows, lids, cheeks (full intensity; scaled by it).

struct Controls {
  double mouth_open = 0, corner_lift = 0, mouth_width = 0, upper_lip_raise = 0, lip_press = 0, teeth = 0;
  double brow_inner = 0, brow_outer = 0, brow_knit = 0, eye_open = 0, lower_lid = 0, cheek_raise = 0;
  double nose_wrinkle = 0;
};

Controls expression_controls(Expression e, double k) {
  Controls c;
  switch (e) {
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
  c.mouth_open *= k, c.corner_lift *= k, c.mouth_width *= k, c.upper_lip_raise *= k, c.lip_press *= k;
  c.teeth *= k, c.brow_inner *= k, c.brow_outer *= k, c.brow_knit *= k, c.eye_open *= k, c.lower_lid *= k;
  c.cheek_raise *= k, c.nose_wrinkle *= k;
  return c;
}

// ---------------------------------------------------------------------------------------------
// The head surface. Canonical coordinates: x right, y down, z towards the viewer.

constexpr double kEyeY = -0.07;        // eye line
constexpr double kFaceTop = -0.40;     // top of the face outline (under the hair)
constexpr double kCheekY = -0.03;      // widest row of the face
constexpr double kDepthRatio = 0.7;    // depth / width of the head's horizontal sections (flat front)
constexpr double kFrontDepth = 0.25;   // depth of the face front in front of the turning axis
constexpr double kHairDepth = 0.05;    // depth of the skull centre (hair silhouette) in front of it
constexpr int kTable = 192;

class Head {
 public:
  Head(const IdentityTraits& t, double yaw)
      : y_bot_(t.face_length), a_max_(t.face_width), p_(t.jaw_squareness), taper_(t.chin_taper) {
    ct_ = std::cos(yaw);
    st_ = std::sin(yaw);
    k_ = std::sqrt(ct_ * ct_ + sq(kDepthRatio * st_));
    delta_ = std::atan2(kDepthRatio * st_, ct_);
    cd_ = std::cos(delta_);
    sd_ = std::sin(delta_);
    y0_ = kFaceTop;
    dy_ = (y_bot_ - kFaceTop) / (kTable - 1);
    for (int i = 0; i < kTable; ++i) {
      const double y = y0_ + dy_ * i;
      const double e = 1e-4;
      a_[i] = static_cast<float>(std::max(half_width(y), 1e-3));
      da_[i] = static_cast<float>(clampd((half_width(y + e) - half_width(y - e)) / (2 * e), -6.0, 6.0));
      z0_[i] = static_cast<float>(front(y) - kDepthRatio * a_[i]);
      dfront_[i] = static_cast<float>((front(y + e) - front(y - e)) / (2 * e));
    }
  }

  double cos_yaw() const { return ct_; }
  double sin_yaw() const { return st_; }
  double bottom() const { return y_bot_; }
  double width() const { return a_max_; }

  /// Half-width of the face outline at row y (0 outside [kFaceTop, bottom]).
  double half_width(double y) const {
    if (y <= kFaceTop || y >= y_bot_) return 0.0;
    if (y < kCheekY) {
      const double s = (kCheekY - y) / (kCheekY - kFaceTop);
      return lerp(a_max_, 0.93 * a_max_, s) * std::sqrt(std::max(0.0, 1 - s * s));
    }
    const double t = (y - kCheekY) / (y_bot_ - kCheekY);
    return a_max_ * std::pow(std::max(0.0, 1 - std::pow(t, p_)), 1.0 / p_) * (1 - taper_ * t * t);
  }

  /// Depth of the face front (x = 0) at row y: flat, sloping back on the upper forehead and under
  /// the chin.
  double front(double y) const {
    double z = kFrontDepth;
    if (y < -0.17) z -= 1.2 * sq(y + 0.17);
    const double yc = y_bot_ - 0.07;
    if (y > yc) z -= 2.5 * sq(y - yc);
    return z;
  }

  /// Projected x of the surface point above canonical (x, y), raised by h along z.
  double project_x(double x, double y, double h = 0.0) const {
    const double a = std::max(half_width(y), 1e-3);
    const double s = clampd(x / a, -1.0, 1.0);
    const double z = front(y) - kDepthRatio * a * (1 - std::sqrt(1 - s * s)) + h;
    return x * ct_ + z * st_;
  }

  /// Projected x of the outline at row y; side -1 is the image-left edge, +1 the right one.
  double silhouette_x(double y, double side) const {
    const double a = half_width(y);
    return (front(y) - kDepthRatio * a) * st_ + side * a * k_;
  }

  /// Projected x of a point that does not lie on the face (hair, ears): turns with the skull.
  double hair_x(double x) const { return x + kHairDepth * st_; }

  /// Per-pixel inverse: projected (xp, y) -> canonical x on the surface and its unit normal
  /// (before the yaw turn).
  void inverse(double xp, double y, double& xc, double& nx, double& ny, double& nz) const {
    double fi = (y - y0_) / dy_;
    fi = clampd(fi, 0.0, kTable - 1.001);
    const int i = static_cast<int>(fi);
    const double w = fi - i;
    const double a = a_[i] + (a_[i + 1] - a_[i]) * w;
    const double da = da_[i] + (da_[i + 1] - da_[i]) * w;
    const double z0 = z0_[i] + (z0_[i + 1] - z0_[i]) * w;
    const double dfr = dfront_[i] + (dfront_[i + 1] - dfront_[i]) * w;
    const double t = clampd((xp - z0 * st_) / (a * k_), -1.0, 1.0);
    // phi = asin(t) - delta, without trigonometry.
    const double ct = std::sqrt(1.0 - t * t);
    const double sp = t * cd_ - ct * sd_, cp = ct * cd_ + t * sd_;
    xc = a * sp;
    nx = sp;
    ny = -da * (1 - cp) - cp * dfr / kDepthRatio;
    nz = cp / kDepthRatio;
    const double inv = 1.0 / std::sqrt(nx * nx + ny * ny + nz * nz);
    nx *= inv, ny *= inv, nz *= inv;
  }

 private:
  double y_bot_, a_max_, p_, taper_;
  double ct_ = 1, st_ = 0, k_ = 1, delta_ = 0, cd_ = 1, sd_ = 0;
  double y0_ = 0, dy_ = 0;
  std::array<float, kTable> a_{}, da_{}, z0_{}, dfront_{};
};

// ---------------------------------------------------------------------------------------------
// Curves.

/// Catmull-Rom spline through `pts`, `per` samples per segment, both ends included.
Poly spline(const Poly& pts, int per) {
  const size_t n = pts.size();
  if (n < 3) return pts;
  Poly out;
  out.reserve((n - 1) * per + 1);
  for (size_t i = 0; i + 1 < n; ++i) {
    const P2 p0 = pts[i == 0 ? 0 : i - 1], p1 = pts[i], p2 = pts[i + 1], p3 = pts[std::min(i + 2, n - 1)];
    for (int k = 0; k < per; ++k) {
      const double t = static_cast<double>(k) / per, t2 = t * t, t3 = t2 * t;
      out.push_back(0.5 * ((2 * p1) + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3));
    }
  }
  out.push_back(pts.back());
  return out;
}

/// A band around the polyline `c` whose full width at arc fraction t is width(t) (same units).
template <class W>
Poly stroke(const Poly& c, W width) {
  const size_t n = c.size();
  Poly left, right;
  left.reserve(n);
  right.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    P2 d = c[std::min(i + 1, n - 1)] - c[i == 0 ? 0 : i - 1];
    const double len = std::max(1e-9, std::hypot(d.x, d.y));
    const P2 nrm(-d.y / len, d.x / len);
    const double w = 0.5 * width(n > 1 ? static_cast<double>(i) / (n - 1) : 0.0);
    left.push_back(c[i] + nrm * w);
    right.push_back(c[i] - nrm * w);
  }
  left.insert(left.end(), right.rbegin(), right.rend());
  return left;
}

Poly ellipse_points(P2 c, double rx, double ry, double angle, int n) {
  Poly out;
  out.reserve(n);
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int i = 0; i < n; ++i) {
    const double t = 2 * kPi * i / n;
    const double x = rx * std::cos(t), y = ry * std::sin(t);
    out.emplace_back(c.x + ca * x - sa * y, c.y + sa * x + ca * y);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Colours (cv::Scalar BGR, 0..255).

cv::Scalar bgr(const Rgb& c, double k = 1.0) {
  return {clampd(c.b * k, 0, 1) * 255.0, clampd(c.g * k, 0, 1) * 255.0, clampd(c.r * k, 0, 1) * 255.0};
}
cv::Scalar mixc(const cv::Scalar& a, const cv::Scalar& b, double t) {
  return {lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)};
}
cv::Scalar mulc(const cv::Scalar& a, double k) {
  return {std::min(255.0, a[0] * k), std::min(255.0, a[1] * k), std::min(255.0, a[2] * k)};
}

// Texture helpers: a sine table and a polynomial atan2 (hair strands need no more precision).
struct SinTable {
  static constexpr int kSize = 4096;
  std::array<float, kSize> v{};
  SinTable() {
    for (int i = 0; i < kSize; ++i) v[i] = static_cast<float>(std::sin(2 * kPi * i / kSize));
  }
};
double fast_sin(double x) {
  static const SinTable table;
  const double f = x * (SinTable::kSize / (2 * kPi));
  const long i = static_cast<long>(f >= 0 ? f + 0.5 : f - 0.5);
  return table.v[static_cast<size_t>(i & (SinTable::kSize - 1))];
}
double fast_atan2(double y, double x) {
  const double ax = std::abs(x), ay = std::abs(y);
  const double a = std::min(ax, ay) / std::max(1e-12, std::max(ax, ay));
  const double s = a * a;
  double r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a;
  if (ay > ax) r = 0.5 * kPi - r;
  if (x < 0) r = kPi - r;
  return y < 0 ? -r : r;
}

uint8_t u8(double v) { return static_cast<uint8_t>(clampd(v + 0.5, 0.0, 255.0)); }

/// Gaussian blur of a sub-image that never reads the pixels around it (zeros outside), so what
/// was drawn elsewhere in the buffer cannot leak in.
void soften(cv::Mat roi_view, double sigma) {
  cv::GaussianBlur(roi_view, roi_view, cv::Size(0, 0), sigma, sigma, cv::BORDER_CONSTANT | cv::BORDER_ISOLATED);
}

/// Dilates a 0/255 mask by a (2r+1)^2 square, in place (small images: plain loops, no threads).
void grow(cv::Mat& m, int r) {
  cv::Mat tmp(m.size(), CV_8U);
  for (int y = 0; y < m.rows; ++y) {
    const uint8_t* s = m.ptr<uint8_t>(y);
    uint8_t* d = tmp.ptr<uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      uint8_t v = 0;
      for (int k = std::max(0, x - r); k <= std::min(m.cols - 1, x + r); ++k) v |= s[k];
      d[x] = v;
    }
  }
  for (int y = 0; y < m.rows; ++y) {
    uint8_t* d = m.ptr<uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) d[x] = 0;
    for (int k = std::max(0, y - r); k <= std::min(m.rows - 1, y + r); ++k) {
      const uint8_t* s = tmp.ptr<uint8_t>(k);
      for (int x = 0; x < m.cols; ++x) d[x] |= s[x];
    }
  }
}

/// dst(roi) += (colour - dst) * alpha * k / 255.
void tint(cv::Mat& dst, const cv::Mat& alpha, const cv::Scalar& colour, double k, cv::Rect roi) {
  if (k <= 0 || roi.empty()) return;
  const int kq = static_cast<int>(std::lround(clampd(k, 0, 1) * 256));
  const int c0 = static_cast<int>(colour[0]), c1 = static_cast<int>(colour[1]), c2 = static_cast<int>(colour[2]);
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    uint8_t* d = dst.ptr<uint8_t>(y);
    const uint8_t* a = alpha.ptr<uint8_t>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      const int w = (a[x] * kq) >> 8;
      if (w == 0) continue;
      uint8_t* p = d + 3 * x;
      p[0] = static_cast<uint8_t>((p[0] * (255 - w) + c0 * w + 127) / 255);
      p[1] = static_cast<uint8_t>((p[1] * (255 - w) + c1 * w + 127) / 255);
      p[2] = static_cast<uint8_t>((p[2] * (255 - w) + c2 * w + 127) / 255);
    }
  }
}

/// dst(roi) = lerp(dst, src, alpha / 255), src and alpha indexed from roi's origin when `local`.
void blend(cv::Mat& dst, const cv::Mat& src, const cv::Mat& alpha, cv::Rect roi, bool local) {
  for (int y = 0; y < roi.height; ++y) {
    uint8_t* d = dst.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* s = src.ptr<uint8_t>(local ? y : roi.y + y) + (local ? 0 : 3 * roi.x);
    const uint8_t* a = alpha.ptr<uint8_t>(local ? y : roi.y + y) + (local ? 0 : roi.x);
    for (int x = 0; x < roi.width; ++x) {
      const int w = a[x];
      if (w == 0) continue;
      for (int c = 0; c < 3; ++c) d[3 * x + c] = static_cast<uint8_t>((d[3 * x + c] * (255 - w) + s[3 * x + c] * w + 127) / 255);
    }
  }
}

// A compact bump of the relief: height amp * (1 - r^2)^2 inside the ellipse (cx, cy, rx, ry).
// `expressive` bumps move with the expression; they are left out near the outline and under the
// hair (see protect_).
struct Bump {
  double cx, cy, rx, ry, amp;
  bool expressive = true;
};

// ---------------------------------------------------------------------------------------------
// The painter: one render.

class Painter {
 public:
  Painter(const IdentityTraits& traits, const FaceFactors& f, int size, int ss)
      : t_(traits), f_(f), c_(expression_controls(f.expression, f.intensity)), head_(traits, f.attributes.yaw),
        S_(size), ss_(ss), hs_(size * ss) {
    const Attributes& a = f.attributes;
    cr_ = std::cos(a.roll);
    sr_ = std::sin(a.roll);
    scale_ = a.scale;
    lx_ = a.light_x, ly_ = a.light_y, lz_ = 1.0;
    const double ln = std::sqrt(lx_ * lx_ + ly_ * ly_ + lz_ * lz_);
    lx_ /= ln, ly_ /= ln, lz_ /= ln;
    const double s = clampd(a.light_strength, 0.0, 1.0);
    ambient_ = 1.0 - 0.62 * s;
    diffuse_ = 0.78 * s;
    specular_ = 0.16 * s;
    skin_ = bgr(t_.skin);
  }

  RenderedFace run();

 private:
  // Canonical (already projected x) -> output pixel coordinates.
  P2 px(double xp, double y) const {
    const double X = scale_ * xp, Y = scale_ * y;
    const double u = cr_ * X - sr_ * Y + f_.attributes.shift_x, v = sr_ * X + cr_ * Y + f_.attributes.shift_y;
    return {S_ * (u + 0.5) - 0.5, S_ * (v + 0.5) - 0.5};
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
  double len(double l) const { return l * scale_ * S_; }

  // Drawing at the internal resolution, with anti-aliasing; `off` is the origin of a sub-image.
  void to_fixed(const Poly& p, std::vector<cv::Point>& out, cv::Point off = {0, 0}) const {
    out.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      out[i].x = static_cast<int>(std::lround(((p[i].x + 0.5) * ss_ - 0.5 - off.x) * 16.0));
      out[i].y = static_cast<int>(std::lround(((p[i].y + 0.5) * ss_ - 0.5 - off.y) * 16.0));
    }
  }
  void fill(cv::Mat& m, const Poly& p, const cv::Scalar& colour, cv::Point off = {0, 0}) {
    if (p.size() < 3) return;
    to_fixed(p, pts_, off);
    const cv::Point* pp = pts_.data();
    const int n = static_cast<int>(pts_.size());
    cv::fillPoly(m, &pp, &n, 1, colour, cv::LINE_AA, 4);
  }
  // Region labels at the output resolution, no anti-aliasing.
  void label(const Poly& p, RegionValue r) {
    if (p.size() < 3) return;
    pts_.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      pts_[i].x = static_cast<int>(std::lround(p[i].x * 16.0));
      pts_[i].y = static_cast<int>(std::lround(p[i].y * 16.0));
    }
    const cv::Point* pp = pts_.data();
    const int n = static_cast<int>(pts_.size());
    cv::fillPoly(regions_, &pp, &n, 1, cv::Scalar(static_cast<int>(r)), cv::LINE_8, 4);
  }
  // Bounding box of a polygon at the internal resolution, padded, clipped to the image.
  cv::Rect bounds(const Poly& p, double pad) const {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (const P2& q : p) {
      x0 = std::min(x0, q.x), x1 = std::max(x1, q.x), y0 = std::min(y0, q.y), y1 = std::max(y1, q.y);
    }
    const int ix0 = static_cast<int>(std::floor((x0 + 0.5) * ss_ - 0.5 - pad));
    const int iy0 = static_cast<int>(std::floor((y0 + 0.5) * ss_ - 0.5 - pad));
    const int ix1 = static_cast<int>(std::ceil((x1 + 0.5) * ss_ - 0.5 + pad));
    const int iy1 = static_cast<int>(std::ceil((y1 + 0.5) * ss_ - 0.5 + pad));
    return cv::Rect(cv::Point(ix0, iy0), cv::Point(ix1 + 1, iy1 + 1)) & cv::Rect(0, 0, hs_, hs_);
  }
  // Draws a polygon into the scratch alpha map and tints `dst` through it (semi-transparent paint).
  void paint(cv::Mat& dst, const Poly& p, const cv::Scalar& colour, double k, double blur_px = 0.0) {
    cv::Rect roi = bounds(p, 2 + 3 * blur_px * ss_);
    if (roi.empty()) return;
    cv::Mat a = scratch_(roi);
    a.setTo(0);
    fill(a, p, cv::Scalar(255), roi.tl());
    if (blur_px > 0) soften(a, blur_px * ss_);
    tint(dst, scratch_, colour, k, roi);
  }
  double lambert(double nx, double ny, double nz) const {
    // Rotate a canonical normal by yaw then roll, then light it.
    const double ct = head_.cos_yaw(), st = head_.sin_yaw();
    const double x1 = nx * ct + nz * st, z1 = -nx * st + nz * ct;
    const double x2 = cr_ * x1 - sr_ * ny, y2 = sr_ * x1 + cr_ * ny;
    return std::max(0.0, x2 * lx_ + y2 * ly_ + z1 * lz_);
  }

  void layout();
  void paint_background();
  void layout_hair();
  void paint_hair_colour();
  void paint_neck_and_clothes();
  void paint_ears();
  void paint_flush();
  void paint_face_features();
  void paint_eyes();
  void paint_brows();
  void paint_nose();
  void paint_mouth();
  void shade_face();
  void build_makeup_maps();
  RenderedFace finish();

  const IdentityTraits& t_;
  const FaceFactors& f_;
  Controls c_;
  Head head_;
  int S_, ss_, hs_;
  double cr_ = 1, sr_ = 0, scale_ = 1;
  double lx_ = 0, ly_ = 0, lz_ = 1, ambient_ = 1, diffuse_ = 0, specular_ = 0;
  cv::Scalar skin_;

  // Layout (canonical).
  double ex_ = 0, ew_ = 0, tip_y_ = 0, nw_ = 0, ym_ = 0, mw_ = 0;
  double open_u_ = 0, open_l_ = 0, ut_ = 0, lt_ = 0;
  std::array<Poly, 2> eye_open_, eye_upper_, eye_lower_;  // canonical lid curves, outer -> inner
  std::array<P2, 2> iris_c_;
  double iris_r_ = 0;
  std::array<Poly, 2> brow_line_;  // canonical, inner -> outer
  Poly hairline_;                  // canonical, left -> right
  std::vector<Poly> hair_back_;    // pixel polygons
  Poly hair_front_, hair_lock_;    // pixel polygons
  double hair_cy_ = 0, hair_rx_ = 0, hair_ry_ = 0;
  bool curly_ = false, ears_visible_ = true;
  std::vector<Bump> relief_, occlusion_;
  std::array<P2, kNumLandmarks> lm_{};  // output pixels

  // Buffers at the internal resolution (hs x hs) except regions_ (output size).
  cv::Mat img_, face_, hair_layer_, alpha_face_, alpha_back_, alpha_front_, scratch_;
  // Non-zero near the face outline and under the front hair, where background- and hair-labelled
  // pixels can see the face layer: there it keeps its identity-only content (no expression, no
  // makeup), which makes both disentanglement properties exact.
  cv::Mat protect_;
  cv::Mat a_lip_, a_shadow_, a_blush_, a_liner_;
  cv::Mat regions_;
  cv::Rect face_roi_, hair_roi_;
  Poly outline_;
  std::vector<cv::Point> pts_;
};

void Painter::layout() {
  const Controls& c = c_;
  ex_ = t_.eye_spacing;
  ew_ = t_.eye_size;
  tip_y_ = kEyeY + t_.nose_length;
  nw_ = t_.nose_width * (1 + 0.12 * c.nose_wrinkle);
  const double sub_y = tip_y_ + 0.022;
  ym_ = sub_y + 0.3 * (head_.bottom() - sub_y);
  mw_ = t_.mouth_width * (1 + c.mouth_width);
  open_u_ = 0.3 * c.mouth_open;
  open_l_ = 0.7 * c.mouth_open;
  ut_ = 0.022 * t_.lip_fullness * (1 - 0.5 * c.lip_press);
  lt_ = 0.03 * t_.lip_fullness * (1 - 0.45 * c.lip_press);

  // Eyes: side 0 is image-left (subject's right), 1 image-right. Curves run outer -> inner.
  const double open = clampd(1 + c.eye_open, 0.35, 1.6);
  const double h_up = ew_ * 0.45 * open, h_lo = ew_ * 0.28 * (1 - 0.55 * c.lower_lid);
  iris_r_ = 0.47 * ew_;
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const P2 outer(sgn * (ex_ + ew_), kEyeY - t_.eye_tilt), inner(sgn * (ex_ - ew_), kEyeY + 0.3 * t_.eye_tilt);
    Poly up, lo;
    const int n = 12;
    for (int i = 0; i <= n; ++i) {
      const double u = static_cast<double>(i) / n;
      const P2 base = outer + (inner - outer) * u;
      up.emplace_back(base.x, base.y - h_up * std::sin(kPi * std::pow(u, 1.15)));
      lo.emplace_back(base.x, base.y + h_lo * std::sin(kPi * std::pow(u, 0.85)));
    }
    eye_upper_[side] = up;
    eye_lower_[side] = lo;
    Poly opening = up;
    opening.insert(opening.end(), lo.rbegin() + 1, lo.rend() - 1);
    eye_open_[side] = opening;
    iris_c_[side] = P2(sgn * ex_, kEyeY + 0.06 * ew_);

    // Brows: centre line from the inner end to the outer end.
    const double yb = kEyeY - 0.068;
    const P2 bi(sgn * (ex_ - 0.95 * ew_ - 0.008 * c.brow_knit), yb + 0.004 - c.brow_inner + 0.016 * c.brow_knit);
    const P2 bo(sgn * std::min(ex_ + 1.25 * ew_, 0.8 * head_.half_width(yb)), yb + 0.012 - c.brow_outer);
    Poly line;
    for (int i = 0; i <= 4; ++i) {
      const double u = i / 4.0;
      P2 p = bi + (bo - bi) * u;
      p.y -= (t_.brow_arch + 0.004) * std::sin(kPi * std::pow(u, 0.75)) + 0.004 * c.brow_outer * u;
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
      lm_[k] = px(head_.silhouette_x(y, -1), y);
      lm_[16 - k] = px(head_.silhouette_x(y, +1), y);
    }
  }
  // Brows 17-21 (image-left, outer -> inner), 22-26 (image-right, inner -> outer).
  for (int i = 0; i < 5; ++i) {
    lm_[17 + i] = surf(brow_line_[0][4 - i]);
    lm_[22 + i] = surf(brow_line_[1][i]);
  }
  // Nose: bridge 27-30 (down to the tip), base 31-35 (image-left to right). Heights above the
  // surface make the nose swing further than the face when the head turns.
  const double y27 = kEyeY + 0.005;
  for (int i = 0; i < 4; ++i) {
    const double u = i / 3.0;
    lm_[27 + i] = surf(0.0, lerp(y27, tip_y_, u), lerp(0.008, 0.055, u * u));
  }
  const double base_lift = 0.006 * c.nose_wrinkle;
  lm_[31] = surf(-nw_, tip_y_ + 0.006 - base_lift, 0.014);
  lm_[32] = surf(-0.5 * nw_, tip_y_ + 0.016 - base_lift, 0.024);
  lm_[33] = surf(0.0, sub_y - base_lift, 0.03);
  lm_[34] = surf(0.5 * nw_, tip_y_ + 0.016 - base_lift, 0.024);
  lm_[35] = surf(nw_, tip_y_ + 0.006 - base_lift, 0.014);
  // Eyes: 36-41 image-left (outer corner, upper, inner corner, lower), 42-47 image-right (inner
  // corner, upper, outer corner, lower).
  {
    const Poly& u0 = eye_upper_[0];
    const Poly& l0 = eye_lower_[0];
    lm_[36] = surf(u0[0]);
    lm_[37] = surf(u0[4]);
    lm_[38] = surf(u0[8]);
    lm_[39] = surf(u0[12]);
    lm_[40] = surf(l0[8]);
    lm_[41] = surf(l0[4]);
    const Poly& u1 = eye_upper_[1];
    const Poly& l1 = eye_lower_[1];
    lm_[42] = surf(u1[12]);
    lm_[43] = surf(u1[8]);
    lm_[44] = surf(u1[4]);
    lm_[45] = surf(u1[0]);
    lm_[46] = surf(l1[4]);
    lm_[47] = surf(l1[8]);
  }
  // Mouth: the centre line bends up at the corners when smiling.
  auto line_y = [&](double x) { return ym_ - c.corner_lift * sq(x / mw_); };
  const double raise = c.upper_lip_raise;
  auto upper_outer = [&](double s) {  // s = x / mw in [-1, 1]
    const double a = std::abs(s);
    const double prof = a < 0.3 ? lerp(0.82, 1.0, a / 0.3) : (1.0 - std::pow((a - 0.3) / 0.7, 1.6));
    return line_y(s * mw_) - open_u_ - raise * (1 - a * a) - ut_ * prof;
  };
  auto lower_outer = [&](double s) {
    const double a = std::abs(s);
    return line_y(s * mw_) + open_l_ * (1 - a * a) + lt_ * std::sqrt(std::max(0.0, 1 - std::pow(a, 2.2)));
  };
  auto upper_inner = [&](double s) { return line_y(s * mw_) - (open_u_ + raise) * (1 - s * s); };
  auto lower_inner = [&](double s) { return line_y(s * mw_) + open_l_ * (1 - s * s); };
  const std::array<double, 7> outer_s{-1.0, -0.62, -0.3, 0.0, 0.3, 0.62, 1.0};
  for (int i = 0; i < 7; ++i) lm_[48 + i] = surf(outer_s[i] * mw_, i == 0 || i == 6 ? line_y(mw_) : upper_outer(outer_s[i]), 0.01);
  const std::array<double, 5> lower_s{0.62, 0.3, 0.0, -0.3, -0.62};
  for (int i = 0; i < 5; ++i) lm_[55 + i] = surf(lower_s[i] * mw_, lower_outer(lower_s[i]), 0.01);
  const double ic = 0.9;
  lm_[60] = surf(-ic * mw_, line_y(ic * mw_), 0.01);
  lm_[64] = surf(ic * mw_, line_y(ic * mw_), 0.01);
  const std::array<double, 3> inner_s{-0.4, 0.0, 0.4};
  for (int i = 0; i < 3; ++i) {
    lm_[61 + i] = surf(inner_s[i] * mw_, upper_inner(inner_s[i] / ic), 0.01);
    lm_[65 + i] = surf(-inner_s[i] * mw_, lower_inner(inner_s[i] / ic), 0.01);
  }

  // Relief bumps (canonical) and ambient occlusion blobs.
  const double cr = c.cheek_raise;
  relief_.clear();
  occlusion_.clear();
  const double st_over_ct = head_.sin_yaw() / head_.cos_yaw();
  auto nose_bump = [&](double x, double y, double rx, double ry, double amp, double h, bool expressive) {
    relief_.push_back({x + h * st_over_ct, y, rx, ry, amp, expressive});
  };
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    relief_.push_back({sgn * (ex_ + 0.006), kEyeY - 0.006, 1.4 * ew_, 0.048, -0.013, false});  // eye socket
    relief_.push_back({sgn * (ex_ - 0.01), kEyeY - 0.066, 0.075, 0.028, 0.01, false});      // brow ridge
    relief_.push_back({sgn * 0.115, 0.035 - 0.01 * cr, 0.07, 0.055, 0.006 + 0.006 * cr});    // cheek
    relief_.push_back({sgn * 0.2, kEyeY - 0.07, 0.04, 0.055, -0.008, false});              // temple
    nose_bump(sgn * 0.8 * nw_, tip_y_ + 0.002 - base_lift, 0.018, 0.018, 0.014, 0.02, true);  // nose wing
    occlusion_.push_back({sgn * (ex_ - 1.05 * ew_), kEyeY, 0.016, 0.02, 0.16, false});      // inner eye corner
    occlusion_.push_back({sgn * mw_, line_y(mw_), 0.014, 0.012, 0.28});                     // mouth corner
    occlusion_.push_back({sgn * 0.55 * nw_, tip_y_ + 0.014 - base_lift, 0.012, 0.008, 0.35});  // nostril
  }
  relief_.push_back({0, kEyeY - 0.04, 0.035, 0.035, 0.005, false});  // glabella
  // Nose: a ridge rising towards the tip, the tip, the wings (above, per side).
  nose_bump(0, lerp(y27, tip_y_, 0.45), 0.03, 0.5 * (tip_y_ - y27), 0.008, 0.02, false);
  nose_bump(0, lerp(y27, tip_y_, 0.8), 0.03, 0.035, 0.008, 0.04, false);
  nose_bump(0, tip_y_ - 0.004, 0.028, 0.026, 0.018, 0.055, false);
  relief_.push_back({0, ym_ - open_u_ - 0.5 * ut_, 1.05 * mw_, 0.032, 0.006});                // upper lip
  relief_.push_back({0, ym_ + open_l_ + 0.5 * lt_, 0.8 * mw_, 1.3 * lt_, 0.008});            // lower lip
  relief_.push_back({0, ym_ + open_l_ + lt_ + 0.02, 0.7 * mw_, 0.014, -0.006});              // under the lip
  relief_.push_back({0, head_.bottom() - 0.045, 0.055, 0.04, 0.012, false});                 // chin
  occlusion_.push_back({0, sub_y + 0.008 - base_lift, 1.1 * nw_, 0.012, 0.22});              // under the nose
  occlusion_.push_back({0, ym_ + open_l_ + lt_ + 0.006, 0.55 * mw_, 0.01, 0.16});            // under the lip
}

void Painter::paint_background() {
  const cv::Scalar top = bgr(f_.attributes.background_top), bottom = bgr(f_.attributes.background_bottom);
  for (int y = 0; y < hs_; ++y) {
    const double v = (y + 0.5) / hs_;
    uint8_t* row = img_.ptr<uint8_t>(y);
    for (int x = 0; x < hs_; ++x) {
      const double u = (x + 0.5) / hs_ - 0.5;
      const double glow = 1.0 + 0.1 * std::max(0.0, 1.0 - 3.0 * (u * u + sq(v - 0.4)));  // light behind the head
      for (int c = 0; c < 3; ++c) row[3 * x + c] = u8(lerp(top[c], bottom[c], v) * glow);
    }
  }
}

void Painter::layout_hair() {
  const HairStyle style = t_.hair_style;
  double vx = 0.025, vt = 0.035, cut = kEyeY + 0.02;
  double centre = -0.29;  // hairline height at the midline
  switch (style) {
    case HairStyle::kShort: break;
    case HairStyle::kSidePart: vx = 0.035, vt = 0.05, cut = kEyeY + 0.05, centre = -0.27; break;
    case HairStyle::kLong: vx = 0.05, vt = 0.045, centre = -0.30; break;
    case HairStyle::kBob: vx = 0.055, vt = 0.05, centre = -0.255; break;
    case HairStyle::kCurly: vx = 0.085, vt = 0.075, cut = kEyeY + 0.12, centre = -0.28; curly_ = true; break;
    case HairStyle::kBun: vx = 0.015, vt = 0.025, cut = kEyeY, centre = -0.30; break;
  }
  ears_visible_ = style != HairStyle::kLong && style != HairStyle::kBob;
  const double cy = -0.12, rx = head_.width() + vx, ry = cy - (kFaceTop - vt);
  hair_cy_ = cy, hair_rx_ = rx, hair_ry_ = ry;
  auto radius = [&](double ang) { return curly_ ? 1.0 + 0.05 * std::sin(13 * ang) : 1.0; };
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
  const int arc_n = curly_ ? 72 : 40;
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
  const cv::Scalar base = bgr(t_.hair);
  const double sx = f_.attributes.shift_x, sy = f_.attributes.shift_y;
  const double cy = hair_cy_, rx = hair_rx_, ry = hair_ry_;
  const double freq = std::min(70.0, 0.5 * hs_);
  const double curl = 2 * kPi / std::max(0.028, 3.0 / hs_);
  const double phase = static_cast<double>(f_.identity % 97) * 0.37;
  const double sheen = 0.3 + specular_ * 3;
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    uint8_t* row = hair_layer_.ptr<uint8_t>(y);
    const uint8_t* ab = alpha_back_.ptr<uint8_t>(y);
    const uint8_t* af = alpha_front_.ptr<uint8_t>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      if ((ab[x] | af[x]) == 0) continue;
      const double ux = (x + 0.5) / hs_ - 0.5 - sx, uy = (y + 0.5) / hs_ - 0.5 - sy;
      const double cx = (cr_ * ux + sr_ * uy) / scale_ - kHairDepth * head_.sin_yaw();
      const double cyy = (-sr_ * ux + cr_ * uy) / scale_;
      double nx = cx / rx, ny = (cyy - cy) / ry;
      if (cyy > cy) ny = 0.0;  // hanging hair: a vertical surface
      double r2 = nx * nx + ny * ny;
      if (r2 > 0.96) {
        const double k = std::sqrt(0.96 / r2);
        nx *= k, ny *= k, r2 = 0.96;
      }
      const double nz = std::sqrt(1.0 - r2);
      // Lit with the roll (the yaw only shifts the hair).
      const double x2 = cr_ * nx - sr_ * ny, y2 = sr_ * nx + cr_ * ny;
      const double ndl = x2 * lx_ + y2 * ly_ + nz * lz_;
      const double lam = std::max(0.0, ndl);
      double tex;
      if (curly_) {
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

void Painter::paint_neck_and_clothes() {
  const double a = head_.width(), nw = 0.58 * a, bot = head_.bottom();
  Poly neck{hair(-nw, 0.05), hair(-nw * 0.97, bot + 0.05), hair(-nw - 0.03, bot + 0.16), hair(-nw - 0.2, 1.1),
            hair(nw + 0.2, 1.1), hair(nw + 0.03, bot + 0.16), hair(nw * 0.97, bot + 0.05), hair(nw, 0.05)};
  const double lam = lambert(0.0, 0.2, 0.98);
  const cv::Scalar neck_col = mulc(skin_, (ambient_ + diffuse_ * lam) * 0.84);
  fill(img_, neck, neck_col);
  label(neck, RegionValue::kNeck);
  // Shadow under the jaw.
  Poly shadow;
  for (int i = 0; i <= 16; ++i) {
    const double y = lerp(ym_, bot - 0.002, std::sin(0.5 * kPi * i / 16.0));
    shadow.push_back(px(head_.silhouette_x(y, -1), y + 0.045));
  }
  for (int i = 16; i >= 0; --i) {
    const double y = lerp(ym_, bot - 0.002, std::sin(0.5 * kPi * i / 16.0));
    shadow.push_back(px(head_.silhouette_x(y, +1), y + 0.045));
  }
  shadow.push_back(px(head_.silhouette_x(ym_, +1), ym_ - 0.05));
  shadow.push_back(px(head_.silhouette_x(ym_, -1), ym_ - 0.05));
  paint(img_, shadow, mulc(skin_, 0.35), 0.45, len(0.012));

  // Clothes: shoulders with a round neckline.
  const cv::Scalar cloth = bgr(f_.attributes.clothes, 0.55 + 0.45 * (ambient_ + diffuse_ * lambert(0, -0.3, 0.95)));
  const double ys = bot + 0.13;
  Poly ctrl{{-1.2, 1.3}, {-0.75, ys + 0.2}, {-0.45, ys + 0.04}, {-nw - 0.02, ys}, {-nw * 0.55, ys + 0.07},
            {0.0, ys + 0.1}, {nw * 0.55, ys + 0.07}, {nw + 0.02, ys}, {0.45, ys + 0.04}, {0.75, ys + 0.2}, {1.2, 1.3}};
  Poly cloth_poly;
  for (const P2& p : spline(ctrl, 5)) cloth_poly.push_back(px(p.x, p.y));
  fill(img_, cloth_poly, cloth);
  label(cloth_poly, RegionValue::kBackground);
  // A darker seam along the neckline.
  const Poly seam(ctrl.begin() + 3, ctrl.begin() + 8);
  Poly seam_px;
  for (const P2& p : spline(seam, 5)) seam_px.push_back(px(p.x, p.y));
  fill(img_, stroke(seam_px, [&](double) { return std::max(0.7, len(0.012)); }), mulc(cloth, 0.7));
}

void Painter::paint_ears() {
  if (!ears_visible_) return;
  const double y_top = kEyeY - 0.018, y_bot = tip_y_ + 0.01;
  const double lam_l = lambert(-0.75, 0.0, 0.66), lam_r = lambert(0.75, 0.0, 0.66);
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const double wscale = clampd(1.0 - sgn * 1.4 * head_.sin_yaw(), 0.08, 1.7);
    const double ew = 0.042 * t_.ear_size * wscale;
    Poly ear, inner;
    const int n = 14;
    for (int i = 0; i <= n; ++i) {  // inner edge, tucked under the face
      const double y = lerp(y_top, y_bot, static_cast<double>(i) / n);
      ear.push_back(px(head_.silhouette_x(y, sgn) - sgn * 0.015, y));
    }
    for (int i = n; i >= 0; --i) {  // outer rim: wider at the top, lobe at the bottom
      const double v = static_cast<double>(i) / n;
      const double y = lerp(y_top - 0.01, y_bot + 0.004, v);
      const double bulge = ew * std::pow(std::sin(kPi * std::pow(v, 0.75)), 0.7) * (1.0 - 0.25 * v);
      ear.push_back(px(head_.silhouette_x(y, sgn) + sgn * bulge, y));
      if (v > 0.12 && v < 0.78) inner.push_back(px(head_.silhouette_x(y, sgn) + sgn * bulge * 0.55, y));
    }
    const cv::Scalar col = mulc(skin_, (ambient_ + diffuse_ * (side == 0 ? lam_l : lam_r)) * 0.93);
    fill(img_, ear, col);
    label(ear, RegionValue::kEars);
    if (inner.size() > 2 && wscale > 0.3) {
      std::reverse(inner.begin(), inner.end());
      fill(img_, stroke(inner, [&](double u) { return len(0.008) * std::sin(kPi * u) * wscale; }), mulc(col, 0.72));
    }
  }
}

void Painter::build_makeup_maps() {
  // Lipstick: the lips. Eyeshadow: lid to brow. Blush: cheeks. Eyeliner: upper lid line with a wing.
  // Built whether or not makeup is worn: their union is the makeup mask.
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const Poly& up = eye_upper_[side];
    Poly shadow;
    for (const P2& p : up) shadow.push_back(surf(p.x, p.y + 0.004));
    for (int i = static_cast<int>(up.size()) - 1; i >= 0; --i) {
      const double u = static_cast<double>(i) / (up.size() - 1);  // 0 outer, 1 inner
      const P2& p = up[i];
      shadow.push_back(surf(p.x + sgn * 0.012 * (1 - u), p.y - 0.018 - 0.014 * std::sin(kPi * u) - 0.006 * (1 - u)));
    }
    cv::Rect roi = bounds(shadow, 3 + 3 * len(0.007) * ss_);
    fill(a_shadow_, shadow, cv::Scalar(255));
    if (!roi.empty()) soften(a_shadow_(roi), len(0.006) * ss_);

    Poly cheek = ellipse_points(P2(sgn * (ex_ + 0.012), tip_y_ - 0.012 - 0.01 * c_.cheek_raise), 0.05, 0.032, -sgn * 0.25, 20);
    for (P2& p : cheek) p = surf(p);
    roi = bounds(cheek, 3 + 3 * len(0.02) * ss_);
    fill(a_blush_, cheek, cv::Scalar(255));
    if (!roi.empty()) soften(a_blush_(roi), len(0.018) * ss_);

    Poly liner_c;
    for (size_t i = 0; i + 2 < up.size(); ++i) liner_c.push_back(surf(up[up.size() - 1 - i]));  // inner -> outer
    const P2 corner = up.front();
    liner_c.push_back(surf(corner.x + sgn * 0.012, corner.y - 0.006));
    liner_c.push_back(surf(corner.x + sgn * 0.022, corner.y - 0.013));
    fill(a_liner_, stroke(liner_c, [&](double u) { return std::max(0.6, len(0.004 + 0.009 * std::sin(kPi * std::min(0.92, u) * 0.6 + 0.2))); }),
         cv::Scalar(255));
  }
}

void Painter::paint_eyes() {
  const cv::Scalar sclera(212, 218, 224), iris = bgr(t_.iris);
  for (int side = 0; side < 2; ++side) {
    Poly opening = surf_poly(eye_open_[side]);
    Poly upper = surf_poly(eye_upper_[side]);
    cv::Rect roi = bounds(opening, 3);
    if (roi.empty()) continue;
    cv::Mat e(roi.size(), CV_8UC3, sclera);
    const cv::Point off = roi.tl();
    // Iris: dark limbal ring, the iris, a lighter lower half, the pupil, a catchlight.
    const P2 ic = iris_c_[side];
    auto disc = [&](P2 c, double r, double dy = 0.0) {
      Poly d;
      for (int i = 0; i < 24; ++i) {
        const double a = 2 * kPi * i / 24;
        d.push_back(surf(c.x + r * std::cos(a), c.y + dy + r * std::sin(a), 0.006));
      }
      return d;
    };
    fill(e, disc(ic, iris_r_), mulc(iris, 0.55), off);
    fill(e, disc(ic, iris_r_ * 0.8), iris, off);
    fill(e, disc(ic, iris_r_ * 0.45, 0.35 * iris_r_), mixc(iris, cv::Scalar(200, 200, 200), 0.25), off);
    fill(e, disc(ic, iris_r_ * 0.4), cv::Scalar(18, 16, 16), off);
    const P2 glint(ic.x - 0.35 * iris_r_ * lx_ / std::hypot(lx_, ly_ + 1e-9) * 0.9, ic.y - 0.3 * iris_r_);
    fill(e, disc(glint, iris_r_ * 0.2), cv::Scalar(250, 250, 250), off);
    // Shadow of the upper lid on the eyeball.
    const double h = len(0.45 * ew_);
    fill(e, stroke(upper, [&](double u) { return std::max(0.5, 0.6 * h * std::sin(kPi * (0.1 + 0.8 * u))); }), mulc(sclera, 0.68), off);
    cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
    fill(a, opening, cv::Scalar(255), off);
    blend(face_, e, a, roi, true);
    label(opening, RegionValue::kEyes);
  }
}

void Painter::paint_flush() {
  // Soft shadow of the fringe on the forehead.
  {
    Poly band;
    for (const P2& p : hairline_) band.push_back(surf(p.x, p.y + 0.004));
    for (auto it = hairline_.rbegin(); it != hairline_.rend(); ++it) band.push_back(surf(it->x, it->y - 0.03));
    paint(face_, band, mulc(skin_, 0.55), 0.45, len(0.008));
  }
  // Natural flush of cheeks and nose (identity only), under any makeup.
  const cv::Scalar flush = bgr({std::min(1.0, t_.skin.r * 1.02 + 0.05), t_.skin.g * 0.7, t_.skin.b * 0.72});
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly ch = ellipse_points(P2(sgn * (ex_ + 0.005), tip_y_ - 0.005), 0.055, 0.04, 0.0, 16);
    for (P2& p : ch) p = surf(p);
    paint(face_, ch, flush, 0.28, len(0.02));
  }
  {
    Poly nt = ellipse_points(P2(0.0, tip_y_ - 0.004), 0.024, 0.022, 0.0, 12);
    for (P2& p : nt) p = surf(p, 0.05);
    paint(face_, nt, flush, 0.22, len(0.008));
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
    paint(face_, stroke(c, [&](double u) { return len(0.006) * std::sin(kPi * u); }), crease, 0.55);
    // Nasolabial fold, deeper when smiling or sneering.
    const double fold = 0.22 + 0.5 * c_.cheek_raise + 0.35 * c_.nose_wrinkle;
    const double corner_y = ym_ - c_.corner_lift;
    Poly nl{surf(sgn * (nw_ + 0.012), tip_y_ - 0.008), surf(sgn * (nw_ + 0.03), tip_y_ + 0.035),
            surf(sgn * (mw_ + 0.02), corner_y + 0.012)};
    nl = spline(nl, 6);
    paint(face_, stroke(nl, [&](double u) { return len(0.007) * std::sin(kPi * (0.1 + 0.8 * u)); }), crease, fold, len(0.002));
    // Glabella lines when frowning.
    if (c_.brow_knit > 0.05) {
      Poly g{surf(sgn * 0.012, kEyeY - 0.075), surf(sgn * 0.009, kEyeY - 0.045)};
      paint(face_, stroke(g, [&](double) { return len(0.005); }), crease, 0.6 * c_.brow_knit);
    }
    // Under-eye line when the lower lid is pushed up.
    if (c_.lower_lid > 0.05) {
      Poly ue;
      const Poly& lo = eye_lower_[side];
      for (size_t i = 2; i + 2 < lo.size(); ++i) ue.push_back(surf(lo[i].x, lo[i].y + 0.014));
      paint(face_, stroke(ue, [&](double u) { return len(0.005) * std::sin(kPi * u); }), crease, 0.5 * c_.lower_lid);
    }
  }
  if (c_.nose_wrinkle > 0.05) {
    for (int i = 0; i < 3; ++i) {
      const double y = kEyeY + 0.012 + 0.012 * i;
      Poly w{surf(-0.02, y, 0.012), surf(0.0, y - 0.003, 0.014), surf(0.02, y, 0.012)};
      paint(face_, stroke(spline(w, 4), [&](double u) { return len(0.004) * std::sin(kPi * u); }), crease, 0.6 * c_.nose_wrinkle);
    }
  }

  // Makeup on the skin: blush and eyeshadow.
  const Makeup& m = f_.makeup;
  if (m.blush.enabled) tint(face_, a_blush_, bgr(m.blush.color), 0.55 * m.blush.intensity, face_roi_);
  if (m.eyeshadow.enabled) tint(face_, a_shadow_, bgr(m.eyeshadow.color), 0.8 * m.eyeshadow.intensity, face_roi_);

  paint_eyes();
  // Lash line and lower lid.
  const cv::Scalar lash = mulc(bgr(t_.brows), 0.45);
  for (int side = 0; side < 2; ++side) {
    Poly up;
    for (auto it = eye_upper_[side].rbegin(); it != eye_upper_[side].rend(); ++it) up.push_back(surf(*it));  // inner -> outer
    fill(face_, stroke(up, [&](double u) { return std::max(0.45, len(0.003 + 0.0055 * u)); }), lash);
    Poly lo;
    for (size_t i = 0; i + 3 < eye_lower_[side].size(); ++i) lo.push_back(surf(eye_lower_[side][i]));  // outer -> inner
    paint(face_, stroke(lo, [&](double u) { return std::max(0.5, len(0.004) * (1 - u)); }), mulc(skin_, 0.55), 0.7);
  }
  if (m.eyeliner.enabled) tint(face_, a_liner_, bgr(m.eyeliner.color), 0.95 * m.eyeliner.intensity, face_roi_);

  paint_brows();
  paint_nose();
  paint_mouth();
}

void Painter::paint_brows() {
  const cv::Scalar col = mixc(skin_, bgr(t_.brows), 0.88), dark = mixc(skin_, bgr(t_.brows), 1.0);
  for (int side = 0; side < 2; ++side) {
    Poly line = spline(surf_poly(brow_line_[side]), 4);
    const double w = len(t_.brow_thickness);
    Poly shape = stroke(line, [&](double u) { return std::max(0.6, w * (1.0 - 0.6 * u) * (0.75 + 0.25 * std::sin(kPi * std::min(1.0, u * 3 + 0.5)))); });
    fill(face_, shape, col);
    label(shape, RegionValue::kBrows);
    fill(face_, stroke(line, [&](double u) { return std::max(0.4, 0.45 * w * (1.0 - 0.7 * u)); }), dark);
  }
}

void Painter::paint_nose() {
  const double lift = 0.006 * c_.nose_wrinkle;
  const double y27 = kEyeY + 0.005;
  // Label: the bridge down to the wings.
  Poly lab;
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly s{surf(sgn * 0.017, y27, 0.008), surf(sgn * 0.02, lerp(y27, tip_y_, 0.55), 0.03),
           surf(sgn * 0.85 * nw_, tip_y_ - 0.014 - lift, 0.016), surf(sgn * 1.05 * nw_, tip_y_ + 0.006 - lift, 0.012),
           surf(sgn * 0.5 * nw_, tip_y_ + 0.021 - lift, 0.02)};
    if (side == 1) std::reverse(s.begin(), s.end());
    lab.insert(lab.end(), s.begin(), s.end());
    if (side == 0) lab.push_back(surf(0.0, tip_y_ + 0.024 - lift, 0.03));
  }
  label(lab, RegionValue::kNose);
  const cv::Scalar nostril = mulc(skin_, 0.32), crease = mulc(skin_, 0.62);
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    Poly n = ellipse_points(P2(sgn * 0.52 * nw_, tip_y_ + 0.014 - lift), 0.4 * nw_, 0.2 * nw_, sgn * 0.35, 16);
    for (P2& p : n) p = surf(p, 0.024);
    fill(face_, n, nostril);
    // Crease around the wing.
    Poly w{surf(sgn * 0.72 * nw_, tip_y_ - 0.018 - lift, 0.018), surf(sgn * 1.02 * nw_, tip_y_ - 0.006 - lift, 0.014),
           surf(sgn * 1.0 * nw_, tip_y_ + 0.01 - lift, 0.012), surf(sgn * 0.8 * nw_, tip_y_ + 0.016 - lift, 0.016)};
    paint(face_, stroke(spline(w, 4), [&](double u) { return std::max(0.5, len(0.006) * std::sin(kPi * (0.15 + 0.85 * u))); }), crease, 0.75);
  }
}

void Painter::paint_mouth() {
  // Outer lips from the landmarks' curves, densely sampled.
  auto pick = [&](std::initializer_list<int> ids) {
    Poly p;
    for (int i : ids) p.push_back(lm_[i]);
    return p;
  };
  Poly upper_outer = spline(pick({48, 49, 50, 51, 52, 53, 54}), 5);
  Poly lower_outer = spline(pick({54, 55, 56, 57, 58, 59, 48}), 5);
  Poly upper_inner = spline(pick({48, 60, 61, 62, 63, 64, 54}), 5);
  Poly lower_inner = spline(pick({54, 64, 65, 66, 67, 60, 48}), 5);
  Poly outer = upper_outer;
  outer.insert(outer.end(), lower_outer.begin() + 1, lower_outer.end() - 1);
  Poly upper_lip = upper_outer;
  upper_lip.insert(upper_lip.end(), upper_inner.rbegin() + 1, upper_inner.rend() - 1);
  Poly inner = spline(pick({60, 61, 62, 63, 64}), 5);
  {
    Poly li = spline(pick({64, 65, 66, 67, 60}), 5);
    inner.insert(inner.end(), li.begin() + 1, li.end() - 1);
  }
  const cv::Scalar lip = bgr(t_.lips);
  fill(face_, outer, lip);
  fill(face_, upper_lip, mulc(lip, 0.86));
  // Highlight on the lower lip.
  const P2 hc(0.0, ym_ + open_l_ + 0.45 * lt_);
  Poly hl = ellipse_points(hc, 0.35 * mw_, 0.22 * lt_, 0.0, 16);
  for (P2& p : hl) p = surf(p, 0.012);
  paint(face_, hl, mulc(lip, 1.22), 0.6, len(0.004));
  label(outer, RegionValue::kLips);
  if (f_.makeup.lipstick.enabled) tint(face_, a_lip_, bgr(f_.makeup.lipstick.color), 0.88 * f_.makeup.lipstick.intensity, face_roi_);

  const double open_px = len(open_u_ + open_l_);
  if (open_px > 0.35) {
    cv::Rect roi = bounds(inner, 3);
    if (!roi.empty()) {
      cv::Mat mth(roi.size(), CV_8UC3, cv::Scalar(38, 30, 72));
      const cv::Point off = roi.tl();
      // Tongue low in the mouth, upper teeth under the upper lip.
      Poly tongue = ellipse_points(P2(0.0, ym_ + open_l_ * 0.9), 0.6 * mw_, 0.45 * (open_u_ + open_l_), 0.0, 20);
      for (P2& p : tongue) p = surf(p, 0.005);
      fill(mth, tongue, cv::Scalar(80, 75, 150), off);
      if (c_.teeth > 0.02) {
        const double th = std::min(0.016, 0.6 * (open_u_ + open_l_)) * std::min(1.0, c_.teeth * 1.5);
        Poly teeth;
        for (int i = 0; i <= 12; ++i) {
          const double s = -0.85 + 1.7 * i / 12.0;
          teeth.push_back(surf(s * mw_, ym_ - c_.corner_lift * s * s - (open_u_ + c_.upper_lip_raise) * (1 - s * s) - 0.004, 0.01));
        }
        for (int i = 12; i >= 0; --i) {
          const double s = -0.85 + 1.7 * i / 12.0;
          teeth.push_back(surf(s * mw_, ym_ - c_.corner_lift * s * s - (open_u_ + c_.upper_lip_raise) * (1 - s * s) + th * (1 - 0.5 * s * s), 0.01));
        }
        fill(mth, teeth, cv::Scalar(222, 232, 238), off);
      }
      cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
      fill(a, inner, cv::Scalar(255), off);
      blend(face_, mth, a, roi, true);
    }
    label(inner, RegionValue::kMouth);
  }
  // The line where the lips meet (or the shadowed inner edge of the upper lip).
  paint(face_, stroke(spline(pick({48, 60, 61, 62, 63, 64, 54}), 4), [&](double u) { return std::max(0.5, len(0.006) * std::sin(kPi * (0.05 + 0.9 * u))); }),
        mulc(lip, 0.4), 0.8);
}

void Painter::shade_face() {
  const cv::Rect roi = face_roi_;
  const int n = roi.width * roi.height;
  if (n <= 0) return;
  std::vector<float> xc(n), yc(n), nx(n), ny(n), nz(n), hx(n, 0.f), hy(n, 0.f), ao(n, 0.f);
  const double sx = f_.attributes.shift_x, sy = f_.attributes.shift_y;
  for (int y = 0; y < roi.height; ++y) {
    for (int x = 0; x < roi.width; ++x) {
      if (alpha_face_.at<uint8_t>(roi.y + y, roi.x + x) == 0) continue;
      const int i = y * roi.width + x;
      const double ux = (roi.x + x + 0.5) / hs_ - 0.5 - sx, uy = (roi.y + y + 0.5) / hs_ - 0.5 - sy;
      const double xp = (cr_ * ux + sr_ * uy) / scale_, yy = (-sr_ * ux + cr_ * uy) / scale_;
      double cx, a, b, c;
      head_.inverse(xp, yy, cx, a, b, c);
      xc[i] = static_cast<float>(cx), yc[i] = static_cast<float>(yy);
      nx[i] = static_cast<float>(a), ny[i] = static_cast<float>(b), nz[i] = static_cast<float>(c);
    }
  }
  auto splat = [&](const Bump& k, bool occl) {
    Poly box{surf(k.cx - k.rx, k.cy - k.ry), surf(k.cx + k.rx, k.cy - k.ry), surf(k.cx + k.rx, k.cy + k.ry),
             surf(k.cx - k.rx, k.cy + k.ry), surf(k.cx, k.cy - k.ry), surf(k.cx, k.cy + k.ry)};
    const cv::Rect r = bounds(box, 2 + len(0.02) * ss_) & roi;
    const float icx = static_cast<float>(k.cx), icy = static_cast<float>(k.cy);
    const float irx = static_cast<float>(1.0 / k.rx), iry = static_cast<float>(1.0 / k.ry), amp = static_cast<float>(k.amp);
    for (int y = r.y; y < r.y + r.height; ++y) {
      const uint8_t* prot = protect_.ptr<uint8_t>(y);
      for (int x = r.x; x < r.x + r.width; ++x) {
        const int i = (y - roi.y) * roi.width + (x - roi.x);
        if (k.expressive && prot[x]) continue;
        const float u = (xc[i] - icx) * irx, v = (yc[i] - icy) * iry;
        const float r2 = u * u + v * v;
        if (r2 >= 1.f) continue;
        const float w = 1.f - r2;
        if (occl) {
          ao[i] += amp * w * w;
        } else {
          hx[i] += -4.f * amp * u * w * irx;
          hy[i] += -4.f * amp * v * w * iry;
        }
      }
    }
  };
  for (const Bump& k : relief_) splat(k, false);
  for (const Bump& k : occlusion_) splat(k, true);

  const double ct = head_.cos_yaw(), st = head_.sin_yaw();
  // Blinn half vector between the light and the viewer (0, 0, 1).
  const double hn = 1.0 / std::sqrt(lx_ * lx_ + ly_ * ly_ + sq(lz_ + 1.0));
  const double Hx = lx_ * hn, Hy = ly_ * hn, Hz = (lz_ + 1.0) * hn;
  for (int y = 0; y < roi.height; ++y) {
    uint8_t* d = img_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* s = face_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* al = alpha_face_.ptr<uint8_t>(roi.y + y) + roi.x;
    for (int x = 0; x < roi.width; ++x) {
      const int w = al[x];
      if (w == 0) continue;
      const int i = y * roi.width + x;
      double mx = nx[i] - nz[i] * hx[i], my = ny[i] - nz[i] * hy[i], mz = nz[i];
      const double inv = 1.0 / std::sqrt(mx * mx + my * my + mz * mz);
      mx *= inv, my *= inv, mz *= inv;
      const double x1 = mx * ct + mz * st, z1 = -mx * st + mz * ct;
      const double x2 = cr_ * x1 - sr_ * my, y2 = sr_ * x1 + cr_ * my;
      const double ndl = std::max(0.0, x2 * lx_ + y2 * ly_ + z1 * lz_);
      double sp = std::max(0.0, x2 * Hx + y2 * Hy + z1 * Hz);
      sp *= sp, sp *= sp, sp *= sp, sp *= sp;  // ^16
      const double occ = 1.0 - std::min(0.6, static_cast<double>(ao[i]));
      const double shade = (ambient_ + diffuse_ * ndl) * occ;
      const double spec = specular_ * 255.0 * sp * occ;
      for (int c = 0; c < 3; ++c) {
        const int v = u8(s[3 * x + c] * shade + spec);
        d[3 * x + c] = static_cast<uint8_t>((d[3 * x + c] * (255 - w) + v * w + 127) / 255);
      }
    }
  }
}

RenderedFace Painter::run() {
  img_.create(hs_, hs_, CV_8UC3);
  face_.create(hs_, hs_, CV_8UC3);
  hair_layer_.create(hs_, hs_, CV_8UC3);
  for (cv::Mat* m : {&alpha_face_, &alpha_back_, &alpha_front_, &scratch_, &a_lip_, &a_shadow_, &a_blush_, &a_liner_}) {
    *m = cv::Mat::zeros(hs_, hs_, CV_8U);
  }
  regions_ = cv::Mat::zeros(S_, S_, CV_8U);

  layout();
  paint_background();

  // Hair: both coverage maps first, then the colour where either covers; back hair now, front
  // hair (fringe, the side part's swept lock) over the finished face.
  layout_hair();
  for (const Poly& p : hair_back_) {
    fill(alpha_back_, p, cv::Scalar(255));
    label(p, RegionValue::kHair);
  }
  fill(alpha_front_, hair_front_, cv::Scalar(255));
  if (!hair_lock_.empty()) fill(alpha_front_, hair_lock_, cv::Scalar(255));
  paint_hair_colour();
  blend(img_, hair_layer_, alpha_back_, hair_roi_, false);

  paint_neck_and_clothes();
  paint_ears();

  // The face layer: skin albedo, features, makeup; shaded and composited through the outline.
  outline_.clear();
  const int n = 40;
  for (int i = 0; i <= n; ++i) {
    const double y = lerp(kFaceTop, head_.bottom(), 0.5 - 0.5 * std::cos(kPi * i / n));
    outline_.push_back(px(head_.silhouette_x(y, -1), y));
  }
  for (int i = n - 1; i >= 1; --i) {
    const double y = lerp(kFaceTop, head_.bottom(), 0.5 - 0.5 * std::cos(kPi * i / n));
    outline_.push_back(px(head_.silhouette_x(y, +1), y));
  }
  fill(alpha_face_, outline_, cv::Scalar(255));
  label(outline_, RegionValue::kSkin);
  face_roi_ = bounds(outline_, 2);
  face_(face_roi_).setTo(skin_);

  // Makeup alpha maps (lipstick needs the mouth geometry: landmarks are final after layout()).
  {
    auto pick = [&](std::initializer_list<int> ids) {
      Poly p;
      for (int i : ids) p.push_back(lm_[i]);
      return p;
    };
    Poly outer = spline(pick({48, 49, 50, 51, 52, 53, 54}), 5);
    Poly lo = spline(pick({54, 55, 56, 57, 58, 59, 48}), 5);
    outer.insert(outer.end(), lo.begin() + 1, lo.end() - 1);
    fill(a_lip_, outer, cv::Scalar(255));
    if (len(open_u_ + open_l_) > 0.35) {
      Poly inner = spline(pick({60, 61, 62, 63, 64}), 5);
      Poly li = spline(pick({64, 65, 66, 67, 60}), 5);
      inner.insert(inner.end(), li.begin() + 1, li.end() - 1);
      fill(a_lip_, inner, cv::Scalar(0));
    }
  }
  paint_flush();
  // The protected band: 1 + ss pixels around the outline's anti-aliased edge, and the front hair.
  protect_ = (alpha_face_ < 255) | (alpha_front_ > 0);
  const int pr = 1 + ss_;
  grow(protect_, pr);
  const cv::Mat identity_only = face_(face_roi_).clone();
  build_makeup_maps();
  paint_face_features();
  identity_only.copyTo(face_(face_roi_), protect_(face_roi_));
  shade_face();

  label(hair_front_, RegionValue::kHair);
  if (!hair_lock_.empty()) label(hair_lock_, RegionValue::kHair);
  blend(img_, hair_layer_, alpha_front_, hair_roi_, false);
  return finish();
}

RenderedFace Painter::finish() {
  RenderedFace out;
  // Makeup may change a pixel where some product's alpha is non-zero on the visible face layer.
  cv::Mat any = (a_lip_ | a_shadow_ | a_blush_ | a_liner_);
  cv::Mat mask_hi = (any > 0) & (alpha_face_ > 0) & (protect_ == 0);
  if (ss_ == 1) {
    out.image = img_;
    out.makeup_mask = mask_hi / 255;
  } else {
    cv::resize(img_, out.image, cv::Size(S_, S_), 0, 0, cv::INTER_AREA);
    cv::Mat pooled;
    cv::resize(mask_hi, pooled, cv::Size(S_, S_), 0, 0, cv::INTER_AREA);  // any covered sample counts
    out.makeup_mask = pooled > 0;
    out.makeup_mask /= 255;
  }
  out.regions = regions_;
  out.landmarks.resize(kNumLandmarks);
  for (int i = 0; i < kNumLandmarks; ++i) out.landmarks[i] = cv::Point2f(static_cast<float>(lm_[i].x), static_cast<float>(lm_[i].y));
  return out;
}

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
  for (int64_t i = 0; i < o.num_identities(); ++i) traits_.push_back(derive_traits(static_cast<uint64_t>(o.seed()), i));
}

const IdentityTraits& SyntheticFaces::traits(int64_t identity) const {
  if (identity < 0 || identity >= options_.num_identities()) {
    throw ConfigError("identity " + std::to_string(identity) + " is out of range [0, " +
                      std::to_string(options_.num_identities()) + ")");
  }
  return traits_[static_cast<size_t>(identity)];
}

FaceFactors SyntheticFaces::sample_factors(uint64_t index, Split split) const {
  const auto& o = options_;
  const uint64_t seed = static_cast<uint64_t>(o.sample_seed() >= 0 ? o.sample_seed() : o.seed());
  FaceFactors f;
  {
    Rng rng(seed, kSampleIdentity, index);
    int64_t lo = 0, hi = o.num_identities();
    if (split == Split::kTrain) hi = num_train_identities();
    if (split == Split::kHeldOut) lo = num_train_identities();
    if (hi <= lo) throw ConfigError("synthetic_faces: split " + enum_to_string(split) + " has no identities");
    f.identity = lo + rng.below(hi - lo);
  }
  {
    Rng rng(seed, kSampleAttributes, index);
    Attributes& a = f.attributes;
    a.roll = rng.uniform(-o.max_roll(), o.max_roll());
    a.scale = rng.uniform(o.min_scale(), o.max_scale());
    a.shift_x = rng.uniform(-o.max_shift(), o.max_shift());
    a.shift_y = rng.uniform(-o.max_shift(), o.max_shift());
    a.yaw = rng.uniform(-o.max_yaw(), o.max_yaw());
    a.light_x = rng.uniform(-0.9, 0.9);
    a.light_y = rng.uniform(-0.9, 0.3);
    a.light_strength = rng.uniform(0.25, 0.85);
    const double hue = rng.uniform(), sat = rng.uniform(0.0, 0.45), val = rng.uniform(0.35, 0.95);
    a.background_top = hsv(hue, sat, val);
    a.background_bottom = hsv(std::fmod(hue + rng.uniform(-0.08, 0.08) + 1.0, 1.0), clampd(sat + rng.uniform(-0.1, 0.15), 0, 1),
                              val * rng.uniform(0.55, 0.95));
    a.clothes = hsv(rng.uniform(), rng.uniform(0.0, 0.8), rng.uniform(0.12, 0.85));
  }
  {
    Rng rng(seed, kSampleExpression, index);
    if (rng.chance(o.expression_probability())) {
      f.expression = static_cast<Expression>(1 + rng.below(kNumExpressions - 1));
      f.intensity = rng.uniform(std::min(o.min_intensity(), 1.0), 1.0);
      if (f.intensity <= 0.0) f.intensity = 1.0;
    }
  }
  {
    Rng rng(seed, kSampleMakeup, index);
    if (rng.chance(o.makeup_probability())) {
      static const std::array<Rgb, 7> lipsticks{{{0.75, 0.08, 0.12}, {0.55, 0.05, 0.12}, {0.9, 0.4, 0.55}, {0.95, 0.45, 0.35},
                                                 {0.45, 0.12, 0.28}, {0.78, 0.52, 0.45}, {0.6, 0.1, 0.35}}};
      static const std::array<Rgb, 8> shadows{{{0.45, 0.3, 0.22}, {0.65, 0.45, 0.25}, {0.45, 0.25, 0.55}, {0.25, 0.4, 0.7},
                                               {0.3, 0.5, 0.35}, {0.22, 0.22, 0.25}, {0.8, 0.65, 0.35}, {0.85, 0.5, 0.6}}};
      static const std::array<Rgb, 4> blushes{{{0.95, 0.5, 0.55}, {0.98, 0.6, 0.45}, {0.85, 0.4, 0.45}, {0.75, 0.3, 0.4}}};
      static const std::array<Rgb, 4> liners{{{0.05, 0.05, 0.06}, {0.25, 0.15, 0.1}, {0.1, 0.12, 0.35}, {0.3, 0.1, 0.25}}};
      Makeup& m = f.makeup;
      auto item = [&](MakeupItem& it, auto& palette) {
        it.enabled = rng.chance(0.6);
        it.intensity = rng.uniform(0.45, 1.0);
        it.color = pick(rng, palette, 0.04);
      };
      item(m.lipstick, lipsticks);
      item(m.eyeshadow, shadows);
      item(m.blush, blushes);
      item(m.eyeliner, liners);
      const int64_t forced = rng.below(4);
      if (!m.lipstick.enabled && !m.eyeshadow.enabled && !m.blush.enabled && !m.eyeliner.enabled) {
        MakeupItem* items[] = {&m.lipstick, &m.eyeshadow, &m.blush, &m.eyeliner};
        items[forced]->enabled = true;
      }
      // Products not worn carry no colour or intensity, so that equal looks have equal factors.
      for (MakeupItem* it : {&m.lipstick, &m.eyeshadow, &m.blush, &m.eyeliner}) {
        if (!it->enabled) *it = MakeupItem();
      }
    }
  }
  return f;
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
  Painter painter(t, f, static_cast<int>(size), ss);
  return painter.run();
}

}  // namespace facegan::data
