#include <facegan/core/error.hpp>
#include <facegan/data/warp.hpp>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

namespace facegan::data {
namespace {

void check_landmarks(const std::vector<cv::Point2f>& pts, const char* what) {
  if (pts.empty()) throw DataError(std::string("piecewise-affine warp: ") + what + " is empty");
  for (size_t i = 0; i < pts.size(); ++i) {
    if (!std::isfinite(pts[i].x) || !std::isfinite(pts[i].y)) {
      throw DataError(std::string("piecewise-affine warp: ") + what + "[" + std::to_string(i) + "] is not finite");
    }
  }
}

/// Corners and edge midpoints on the pixel-centre extent [0, W-1] x [0, H-1], so that every pixel
/// centre lies inside the triangulation.
std::vector<cv::Point2f> border_anchors(cv::Size size) {
  const float w = static_cast<float>(size.width - 1), h = static_cast<float>(size.height - 1);
  return {{0, 0}, {w / 2, 0}, {w, 0}, {w, h / 2}, {w, h}, {w / 2, h}, {0, h}, {0, h / 2}};
}

}  // namespace

std::vector<std::array<int, 3>> delaunay_triangles(const std::vector<cv::Point2f>& points) {
  if (points.size() < 3) throw DataError("delaunay_triangles: need at least 3 points, got " + std::to_string(points.size()));
  float x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  // Subdiv2D needs every point strictly inside its rectangle.
  const float margin = 2.0f + std::max(x1 - x0, y1 - y0);
  cv::Subdiv2D subdiv(cv::Rect(static_cast<int>(std::floor(x0 - margin)), static_cast<int>(std::floor(y0 - margin)),
                               static_cast<int>(std::ceil(x1 - x0 + 2 * margin)), static_cast<int>(std::ceil(y1 - y0 + 2 * margin))));
  std::map<std::pair<float, float>, int> index;
  for (size_t i = 0; i < points.size(); ++i) {
    if (index.emplace(std::make_pair(points[i].x, points[i].y), static_cast<int>(i)).second) subdiv.insert(points[i]);
  }
  std::vector<cv::Vec6f> list;
  subdiv.getTriangleList(list);
  std::vector<std::array<int, 3>> out;
  out.reserve(list.size());
  for (const cv::Vec6f& t : list) {
    std::array<int, 3> tri{};
    bool ok = true;
    for (int k = 0; k < 3 && ok; ++k) {
      auto it = index.find({t[2 * k], t[2 * k + 1]});
      if (it == index.end()) ok = false;  // a vertex of Subdiv2D's outer bounding triangle
      else tri[static_cast<size_t>(k)] = it->second;
    }
    if (!ok) continue;
    const cv::Point2f a = points[static_cast<size_t>(tri[0])], b = points[static_cast<size_t>(tri[1])],
                      c = points[static_cast<size_t>(tri[2])];
    if (std::abs((b - a).cross(c - a)) < 1e-6f) continue;
    out.push_back(tri);
  }
  return out;
}

WarpMap piecewise_affine_map(const std::vector<cv::Point2f>& src_landmarks, const std::vector<cv::Point2f>& dst_landmarks,
                             cv::Size size) {
  check_landmarks(src_landmarks, "src_landmarks");
  check_landmarks(dst_landmarks, "dst_landmarks");
  if (src_landmarks.size() != dst_landmarks.size()) {
    throw DataError("piecewise-affine warp: src_landmarks has " + std::to_string(src_landmarks.size()) +
                    " points but dst_landmarks has " + std::to_string(dst_landmarks.size()));
  }
  if (size.width < 2 || size.height < 2) {
    throw DataError("piecewise-affine warp: image size must be at least 2x2, got " + std::to_string(size.width) + "x" +
                    std::to_string(size.height));
  }
  std::vector<cv::Point2f> src = src_landmarks, dst = dst_landmarks;
  for (const cv::Point2f& a : border_anchors(size)) src.push_back(a), dst.push_back(a);

  WarpMap m;
  m.map_x.create(size, CV_32F);
  m.map_y.create(size, CV_32F);
  cv::Mat done(size, CV_8U, cv::Scalar(0));
  for (const auto& tri : delaunay_triangles(dst)) {
    const cv::Point2f d[3] = {dst[static_cast<size_t>(tri[0])], dst[static_cast<size_t>(tri[1])], dst[static_cast<size_t>(tri[2])]};
    const cv::Point2f s[3] = {src[static_cast<size_t>(tri[0])], src[static_cast<size_t>(tri[1])], src[static_cast<size_t>(tri[2])]};
    // Barycentric coordinates in double: l1, l2 from the 2x2 inverse, l0 = 1 - l1 - l2.
    const double e1x = d[1].x - d[0].x, e1y = d[1].y - d[0].y, e2x = d[2].x - d[0].x, e2y = d[2].y - d[0].y;
    const double det = e1x * e2y - e2x * e1y;
    if (std::abs(det) < 1e-12) continue;
    const double eps = 1e-6;
    const int bx0 = std::max(0, static_cast<int>(std::floor(std::min({d[0].x, d[1].x, d[2].x}))));
    const int bx1 = std::min(size.width - 1, static_cast<int>(std::ceil(std::max({d[0].x, d[1].x, d[2].x}))));
    const int by0 = std::max(0, static_cast<int>(std::floor(std::min({d[0].y, d[1].y, d[2].y}))));
    const int by1 = std::min(size.height - 1, static_cast<int>(std::ceil(std::max({d[0].y, d[1].y, d[2].y}))));
    for (int y = by0; y <= by1; ++y) {
      float* mx = m.map_x.ptr<float>(y);
      float* my = m.map_y.ptr<float>(y);
      uint8_t* dn = done.ptr<uint8_t>(y);
      for (int x = bx0; x <= bx1; ++x) {
        if (dn[x]) continue;
        const double px = x - d[0].x, py = y - d[0].y;
        const double l1 = (px * e2y - e2x * py) / det, l2 = (e1x * py - px * e1y) / det, l0 = 1.0 - l1 - l2;
        if (l0 < -eps || l1 < -eps || l2 < -eps) continue;
        mx[x] = static_cast<float>(l0 * s[0].x + l1 * s[1].x + l2 * s[2].x);
        my[x] = static_cast<float>(l0 * s[0].y + l1 * s[1].y + l2 * s[2].y);
        dn[x] = 1;
      }
    }
  }
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      if (!done.at<uint8_t>(y, x)) m.map_x.at<float>(y, x) = static_cast<float>(x), m.map_y.at<float>(y, x) = static_cast<float>(y);
    }
  }
  return m;
}

cv::Mat warp_piecewise_affine(const cv::Mat& image, const std::vector<cv::Point2f>& src_landmarks,
                              const std::vector<cv::Point2f>& dst_landmarks, int interpolation) {
  if (image.empty()) throw DataError("piecewise-affine warp: image is empty");
  const WarpMap m = piecewise_affine_map(src_landmarks, dst_landmarks, image.size());
  cv::Mat out;
  cv::remap(image, out, m.map_x, m.map_y, interpolation, cv::BORDER_REPLICATE);
  return out;
}

torch::Tensor warp_map_to_grid(const WarpMap& map) {
  TORCH_CHECK(!map.map_x.empty() && map.map_x.type() == CV_32F && map.map_y.type() == CV_32F &&
                  map.map_x.size() == map.map_y.size(),
              "warp_map_to_grid: map_x and map_y must be non-empty CV_32F maps of equal size");
  const int h = map.map_x.rows, w = map.map_x.cols;
  cv::Mat mx = map.map_x.isContinuous() ? map.map_x : map.map_x.clone();
  cv::Mat my = map.map_y.isContinuous() ? map.map_y : map.map_y.clone();
  torch::Tensor gx = torch::from_blob(mx.data, {h, w}, torch::kFloat32).clone();
  torch::Tensor gy = torch::from_blob(my.data, {h, w}, torch::kFloat32).clone();
  // align_corners = false: pixel centre i sits at (2 i + 1) / n - 1.
  gx = (2 * gx + 1) / static_cast<double>(w) - 1;
  gy = (2 * gy + 1) / static_cast<double>(h) - 1;
  return torch::stack({gx, gy}, -1);
}

std::vector<cv::Point2f> landmarks_from_tensor(const torch::Tensor& landmarks, const char* what) {
  if (!landmarks.defined() || landmarks.dim() != 2 || landmarks.size(1) != 2) {
    throw DataError(std::string(what) + ": expected a [K, 2] tensor of (x, y) points, got " +
                    (landmarks.defined() ? std::string(landmarks.sizes().vec().size() ? c10::str(landmarks.sizes()) : "[]") : "undefined"));
  }
  torch::Tensor l = landmarks.to(torch::kCPU, torch::kFloat32).contiguous();
  std::vector<cv::Point2f> out(static_cast<size_t>(l.size(0)));
  const float* p = l.data_ptr<float>();
  for (size_t i = 0; i < out.size(); ++i) out[i] = {p[2 * i], p[2 * i + 1]};
  return out;
}

}  // namespace facegan::data
