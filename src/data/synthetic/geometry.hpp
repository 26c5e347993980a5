#pragma once
// Plane geometry of the renderer: points, polygons and the curves features are drawn from.
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace facegan::data::synthetic {

constexpr double kPi = 3.14159265358979323846;

using P2 = cv::Point2d;
using Poly = std::vector<P2>;

inline double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }
inline double lerp(double a, double b, double t) { return a + (b - a) * t; }
inline double sq(double v) { return v * v; }


/// Catmull-Rom spline through `pts`, `per` samples per segment, both ends included.
inline Poly spline(const Poly& pts, int per) {
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

inline Poly ellipse_points(P2 c, double rx, double ry, double angle, int n) {
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

}  // namespace facegan::data::synthetic
