// dlib is included here only: its image types, detectors and serialisation never reach a header.
#include <facegan/core/error.hpp>
#include <facegan/data/face_detector.hpp>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>

#ifndef FACEGAN_DEFAULT_LANDMARK_MODEL
#define FACEGAN_DEFAULT_LANDMARK_MODEL "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

namespace facegan::data {
namespace {

namespace fs = std::filesystem;

/// An 8-bit BGR view or copy of `photo` (grey and BGRA converted).
cv::Mat as_bgr(const cv::Mat& photo, const char* what) {
  if (photo.empty()) throw DataError(std::string(what) + ": empty image");
  if (photo.depth() != CV_8U) {
    throw DataError(std::string(what) + ": expected an 8-bit image, got OpenCV depth " + std::to_string(photo.depth()));
  }
  cv::Mat bgr;
  if (photo.channels() == 3) {
    bgr = photo.isContinuous() ? photo : photo.clone();
  } else if (photo.channels() == 1) {
    cv::cvtColor(photo, bgr, cv::COLOR_GRAY2BGR);
  } else if (photo.channels() == 4) {
    cv::cvtColor(photo, bgr, cv::COLOR_BGRA2BGR);
  } else {
    throw DataError(std::string(what) + ": expected 1, 3 or 4 channels, got " + std::to_string(photo.channels()));
  }
  return bgr;
}

}  // namespace

std::string default_landmark_model() { return FACEGAN_DEFAULT_LANDMARK_MODEL; }

std::string resolve_landmark_model(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv(kLandmarkModelEnv);
  if (env != nullptr && env[0] != '\0') return env;
  return default_landmark_model();
}

struct FaceDetector::Impl {
  std::string model_path;
  dlib::shape_predictor predictor;
  // object_detector::operator() is not const (it keeps feature scratch): one scan at a time.
  mutable std::mutex detector_mutex;
  mutable dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
};

FaceDetector::FaceDetector(FaceDetectorOptions options) : options_(std::move(options)), impl_(std::make_shared<Impl>()) {
  if (options_.detect_max_side() < 0) {
    throw ConfigError("face detector: detect_max_side must be >= 0 (0 = the full photo), got " +
                      std::to_string(options_.detect_max_side()));
  }
  if (options_.upsample() < 0 || options_.upsample() > 2) {
    throw ConfigError("face detector: upsample must be in [0, 2], got " + std::to_string(options_.upsample()));
  }
  impl_->model_path = resolve_landmark_model(options_.landmark_model());
  const std::string& path = impl_->model_path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw DataError("landmark model " + path + " not found: install Debian's libdlib-data (scripts/setup.sh does), or "
                    "name dlib's shape_predictor_68_face_landmarks.dat with --landmark-model FILE or " +
                    std::string(kLandmarkModelEnv) + "=FILE");
  }
  try {
    dlib::deserialize(path) >> impl_->predictor;
  } catch (const std::exception& e) {
    throw DataError("landmark model " + path + " is not a dlib shape predictor (" + e.what() + ")");
  }
  if (impl_->predictor.num_parts() != 68) {
    throw DataError("landmark model " + path + " predicts " + std::to_string(impl_->predictor.num_parts()) +
                    " points; facegan needs the 68-point iBUG model (shape_predictor_68_face_landmarks.dat)");
  }
}

const std::string& FaceDetector::landmark_model() const { return impl_->model_path; }

std::vector<FaceBox> FaceDetector::detect_boxes(const cv::Mat& photo) const {
  const cv::Mat bgr = as_bgr(photo, "face detector");
  // Scan a copy whose longer side is at most detect_max_side, doubled `upsample` times.
  const int longer = std::max(bgr.cols, bgr.rows);
  double scale = 1.0;
  if (options_.detect_max_side() > 0 && longer > options_.detect_max_side()) {
    scale = static_cast<double>(options_.detect_max_side()) / longer;
  }
  scale *= std::pow(2.0, static_cast<double>(options_.upsample()));
  cv::Mat scan = bgr;
  if (scale != 1.0) {
    const cv::Size size(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(bgr.rows * scale))));
    cv::resize(bgr, scan, size, 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const double sx = static_cast<double>(bgr.cols) / scan.cols, sy = static_cast<double>(bgr.rows) / scan.rows;
  std::vector<dlib::rect_detection> found;
  {
    const dlib::cv_image<dlib::bgr_pixel> view(scan);
    std::lock_guard<std::mutex> lock(impl_->detector_mutex);
    impl_->detector(view, found, options_.threshold());
  }
  std::vector<FaceBox> out;
  out.reserve(found.size());
  for (const auto& d : found) {
    // dlib rectangles are inclusive pixel ranges: the box's edges are at left - 0.5 and right + 0.5 of
    // the scan, and a scan coordinate u is the photo coordinate (u + 0.5) * s - 0.5.
    const double x0 = d.rect.left() * sx - 0.5, y0 = d.rect.top() * sy - 0.5;
    const double x1 = (d.rect.right() + 1) * sx - 0.5, y1 = (d.rect.bottom() + 1) * sy - 0.5;
    out.push_back({cv::Rect2f(static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1 - x0),
                              static_cast<float>(y1 - y0)),
                   d.detection_confidence});
  }
  std::sort(out.begin(), out.end(), [](const FaceBox& a, const FaceBox& b) {
    const float ax = a.box.x + a.box.width / 2, bx = b.box.x + b.box.width / 2;
    if (ax != bx) return ax < bx;
    return a.box.y + a.box.height / 2 < b.box.y + b.box.height / 2;
  });
  return out;
}

std::vector<cv::Point2f> FaceDetector::landmarks(const cv::Mat& photo, const cv::Rect2f& box) const {
  const cv::Mat bgr = as_bgr(photo, "landmarks");
  // Back to dlib's inclusive integer rectangle around the same pixel centres.
  const dlib::rectangle rect(std::lround(box.x + 0.5f), std::lround(box.y + 0.5f),
                             std::lround(box.x + box.width - 0.5f), std::lround(box.y + box.height - 0.5f));
  const dlib::full_object_detection shape = impl_->predictor(dlib::cv_image<dlib::bgr_pixel>(bgr), rect);
  std::vector<cv::Point2f> out;
  out.reserve(shape.num_parts());
  for (unsigned long i = 0; i < shape.num_parts(); ++i) {
    out.emplace_back(static_cast<float>(shape.part(i).x()), static_cast<float>(shape.part(i).y()));
  }
  return out;
}

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& photo) const {
  std::vector<DetectedFace> out;
  for (const FaceBox& b : detect_boxes(photo)) out.push_back({b.box, b.score, landmarks(photo, b.box)});
  return out;
}

}  // namespace facegan::data
