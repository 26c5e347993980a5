#include <facegan/core/error.hpp>
#include <facegan/data/align.hpp>

#include <opencv2/imgproc.hpp>

#include <array>

namespace facegan::data {
namespace {

// InsightFace's ArcFace 112 x 112 template (insightface/utils/face_align.py, `arcface_dst`).
constexpr double kTemplateSize = 112.0;
constexpr std::array<std::array<double, 2>, 5> kArcFaceTemplate{
    {{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}};

cv::Mat as_double(const cv::Mat& transform) {
  TORCH_CHECK(transform.rows == 2 && transform.cols == 3 && transform.channels() == 1,
              "expected a 2x3 affine transform, got ", transform.rows, "x", transform.cols);
  cv::Mat m;
  transform.convertTo(m, CV_64F);
  return m;
}

}  // namespace

cv::Mat similarity_transform(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to) {
  TORCH_CHECK(from.size() == to.size(), "similarity_transform: ", from.size(), " source points but ", to.size(),
              " target points");
  TORCH_CHECK(from.size() >= 2, "similarity_transform: needs at least 2 point pairs, got ", from.size());
  const double n = static_cast<double>(from.size());
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    fx += from[i].x, fy += from[i].y, tx += to[i].x, ty += to[i].y;
  }
  fx /= n, fy /= n, tx /= n, ty /= n;
  // Centred points as complex numbers p, q: the best q ~ c p has c = sum conj(p) q / sum |p|^2,
  // c = scale * (cos a + i sin a). This is Umeyama's solution with the reflection excluded.
  double var = 0, a = 0, b = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const double px = from[i].x - fx, py = from[i].y - fy;
    const double qx = to[i].x - tx, qy = to[i].y - ty;
    var += px * px + py * py;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
  }
  TORCH_CHECK(var > 1e-12, "similarity_transform: the source points all coincide");
  const double c = a / var, s = b / var;
  cv::Mat m(2, 3, CV_64F);
  m.at<double>(0, 0) = c, m.at<double>(0, 1) = -s, m.at<double>(0, 2) = tx - (c * fx - s * fy);
  m.at<double>(1, 0) = s, m.at<double>(1, 1) = c, m.at<double>(1, 2) = ty - (s * fx + c * fy);
  return m;
}

std::vector<cv::Point2f> transform_points(const cv::Mat& transform, const std::vector<cv::Point2f>& points) {
  const cv::Mat m = as_double(transform);
  const double* r0 = m.ptr<double>(0);
  const double* r1 = m.ptr<double>(1);
  std::vector<cv::Point2f> out;
  out.reserve(points.size());
  for (const auto& p : points) {
    out.emplace_back(static_cast<float>(r0[0] * p.x + r0[1] * p.y + r0[2]),
                     static_cast<float>(r1[0] * p.x + r1[1] * p.y + r1[2]));
  }
  return out;
}

torch::Tensor transform_points(const cv::Mat& transform, const torch::Tensor& points) {
  return points_to_tensor(transform_points(transform, points_from_tensor(points)));
}

std::vector<cv::Point2f> five_point_template(int size, double padding) {
  TORCH_CHECK(size > 0, "five_point_template: size must be positive, got ", size);
  TORCH_CHECK(padding > -0.5, "five_point_template: padding must be > -0.5, got ", padding);
  std::vector<cv::Point2f> out;
  out.reserve(kArcFaceTemplate.size());
  for (const auto& p : kArcFaceTemplate) {
    const double u = (p[0] + 0.5) / kTemplateSize, v = (p[1] + 0.5) / kTemplateSize;
    const double up = (u + padding) / (1.0 + 2.0 * padding), vp = (v + padding) / (1.0 + 2.0 * padding);
    out.emplace_back(static_cast<float>(up * size - 0.5), static_cast<float>(vp * size - 0.5));
  }
  return out;
}

std::vector<cv::Point2f> five_points_from_68(const std::vector<cv::Point2f>& landmarks) {
  if (landmarks.size() != 68) {
    throw DataError("five_points_from_68: expected 68 iBUG landmarks, got " + std::to_string(landmarks.size()));
  }
  auto mean = [&](size_t first, size_t last) {
    cv::Point2f sum(0.f, 0.f);
    for (size_t i = first; i <= last; ++i) sum += landmarks[i];
    return sum * (1.0f / static_cast<float>(last - first + 1));
  };
  return {mean(36, 41), mean(42, 47), landmarks[30], landmarks[48], landmarks[54]};
}

torch::Tensor five_points_from_68(const torch::Tensor& landmarks) {
  return points_to_tensor(five_points_from_68(points_from_tensor(landmarks)));
}

std::vector<cv::Point2f> points_from_tensor(const torch::Tensor& points) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 2, "expected points [K, 2], got ", points.sizes());
  const torch::Tensor p = points.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* data = p.data_ptr<float>();
  std::vector<cv::Point2f> out;
  out.reserve(static_cast<size_t>(p.size(0)));
  for (int64_t i = 0; i < p.size(0); ++i) out.emplace_back(data[2 * i], data[2 * i + 1]);
  return out;
}

torch::Tensor points_to_tensor(const std::vector<cv::Point2f>& points) {
  torch::Tensor out = torch::empty({static_cast<int64_t>(points.size()), 2}, torch::kFloat32);
  float* data = out.data_ptr<float>();
  for (size_t i = 0; i < points.size(); ++i) data[2 * i] = points[i].x, data[2 * i + 1] = points[i].y;
  return out;
}

AlignedFace align_face(const cv::Mat& image, const std::vector<cv::Point2f>& five_points, int size, double padding) {
  TORCH_CHECK(!image.empty(), "align_face: empty image");
  TORCH_CHECK(five_points.size() == 5, "align_face: expected 5 points, got ", five_points.size());
  AlignedFace out;
  out.transform = similarity_transform(five_points, five_point_template(size, padding));
  cv::warpAffine(image, out.image, out.transform, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

torch::Tensor warp_image(const torch::Tensor& image, const cv::Mat& transform, int64_t size) {
  TORCH_CHECK(image.dim() == 3 && image.is_floating_point(), "warp_image: expected a float image [C, H, W], got ",
              image.sizes(), " of ", image.dtype());
  TORCH_CHECK(size > 0, "warp_image: size must be positive, got ", size);
  const int channels = static_cast<int>(image.size(0));
  TORCH_CHECK(channels >= 1 && channels <= 4, "warp_image: expected 1 to 4 channels, got ", channels);
  torch::Tensor hwc = image.detach().to(torch::kCPU, torch::kFloat32).permute({1, 2, 0}).contiguous();
  cv::Mat src(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_32FC(channels), hwc.data_ptr<float>());
  const int s = static_cast<int>(size);
  torch::Tensor out = torch::empty({size, size, channels}, torch::kFloat32);
  cv::Mat dst(s, s, CV_32FC(channels), out.data_ptr<float>());
  cv::warpAffine(src, dst, as_double(transform), cv::Size(s, s), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  TORCH_CHECK(dst.data == out.data_ptr(), "warp_image: OpenCV reallocated the output");
  return out.permute({2, 0, 1}).contiguous().to(image.dtype());
}

torch::Tensor warp_mask(const torch::Tensor& mask, const cv::Mat& transform, int64_t size) {
  TORCH_CHECK(mask.dim() == 2 && mask.scalar_type() == torch::kUInt8, "warp_mask: expected uint8 [H, W], got ",
              mask.sizes(), " of ", mask.dtype());
  TORCH_CHECK(size > 0, "warp_mask: size must be positive, got ", size);
  torch::Tensor m = mask.detach().to(torch::kCPU).contiguous();
  cv::Mat src(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8UC1, m.data_ptr<uint8_t>());
  const int s = static_cast<int>(size);
  torch::Tensor out = torch::empty({size, size}, torch::kUInt8);
  cv::Mat dst(s, s, CV_8UC1, out.data_ptr<uint8_t>());
  cv::warpAffine(src, dst, as_double(transform), cv::Size(s, s), cv::INTER_NEAREST, cv::BORDER_CONSTANT,
                 cv::Scalar(static_cast<double>(Region::kBackground)));
  TORCH_CHECK(dst.data == out.data_ptr(), "warp_mask: OpenCV reallocated the output");
  return out;
}

cv::Mat align_sample(Sample& sample, const torch::Tensor& five_points, int64_t size, double padding,
                     const AlignKeys& keys) {
  TORCH_CHECK(five_points.dim() == 2 && five_points.size(0) == 5 && five_points.size(1) == 2,
              "align_sample: expected five points [5, 2], got ", five_points.sizes());
  TORCH_CHECK(size > 0, "align_sample: size must be positive, got ", size);
  const cv::Mat transform =
      similarity_transform(points_from_tensor(five_points), five_point_template(static_cast<int>(size), padding));
  const torch::Tensor image = sample.at(keys.image);  // DataError naming the key when missing
  sample.tensors[keys.image] = warp_image(image, transform, size);
  auto lm = sample.tensors.find(keys.landmarks);
  if (lm != sample.tensors.end()) lm->second = transform_points(transform, lm->second);
  auto mask = sample.tensors.find(keys.mask);
  if (mask != sample.tensors.end()) mask->second = warp_mask(mask->second, transform, size);
  return transform;
}

}  // namespace facegan::data
