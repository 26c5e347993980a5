#pragma once
// Pixel operations at the internal resolution: colours, fast texture functions and compositing.
#include <facegan/data/synthetic_faces.hpp>

#include "geometry.hpp"

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>

namespace facegan::data::synthetic {

// Colours are cv::Scalar BGR in 0..255, as OpenCV draws them.
inline cv::Scalar bgr(const Rgb& c, double k = 1.0) {
  return {clampd(c.b * k, 0, 1) * 255.0, clampd(c.g * k, 0, 1) * 255.0, clampd(c.r * k, 0, 1) * 255.0};
}
inline cv::Scalar mixc(const cv::Scalar& a, const cv::Scalar& b, double t) {
  return {lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)};
}
inline cv::Scalar mulc(const cv::Scalar& a, double k) {
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
inline double fast_sin(double x) {
  static const SinTable table;
  const double f = x * (SinTable::kSize / (2 * kPi));
  const long i = static_cast<long>(f >= 0 ? f + 0.5 : f - 0.5);
  return table.v[static_cast<size_t>(i & (SinTable::kSize - 1))];
}
inline double fast_atan2(double y, double x) {
  const double ax = std::abs(x), ay = std::abs(y);
  const double a = std::min(ax, ay) / std::max(1e-12, std::max(ax, ay));
  const double s = a * a;
  double r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a;
  if (ay > ax) r = 0.5 * kPi - r;
  if (x < 0) r = kPi - r;
  return y < 0 ? -r : r;
}

inline uint8_t u8(double v) { return static_cast<uint8_t>(clampd(v + 0.5, 0.0, 255.0)); }

/// Gaussian blur of a sub-image that never reads the pixels around it (zeros outside), so what
/// was drawn elsewhere in the buffer cannot leak in.
void soften(cv::Mat roi_view, double sigma);
/// Dilates a 0/255 mask by a (2r+1)^2 square, in place (small images: plain loops, no threads).
void grow(cv::Mat& mask, int radius);
/// dst(roi) += (colour - dst) * alpha * k / 255.
void tint(cv::Mat& dst, const cv::Mat& alpha, const cv::Scalar& colour, double k, cv::Rect roi);
/// dst(roi) = lerp(dst, src, alpha / 255), src and alpha indexed from roi's origin when `local`.
void blend(cv::Mat& dst, const cv::Mat& src, const cv::Mat& alpha, cv::Rect roi, bool local);

}  // namespace facegan::data::synthetic
