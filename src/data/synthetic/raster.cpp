#include "raster.hpp"

#include <opencv2/imgproc.hpp>

namespace facegan::data::synthetic {

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

}  // namespace facegan::data::synthetic
