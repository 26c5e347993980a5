#pragma once
// Faces and their 68 landmarks in ordinary photographs, by dlib (Debian's libdlib-dev and
// libdlib-data): the HOG frontal face detector (dlib's get_frontal_face_detector: HOG features and a
// linear SVM trained with max-margin object detection, King 2015) and the ensemble-of-regression-
// trees shape predictor (Kazemi & Sullivan 2014) with dlib's iBUG 300-W model,
// shape_predictor_68_face_landmarks.dat. dlib stays private to src/: nothing here names its types.
//
// Coordinates are photo pixels with OpenCV's pixel-centre convention (data/align.hpp): dlib's part
// coordinates follow the same convention, so no half-pixel shift is applied.

#include <opencv2/core.hpp>
#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

/// Environment variable naming the landmark model file when FaceDetectorOptions::landmark_model is
/// empty.
inline constexpr const char* kLandmarkModelEnv = "FACEGAN_LANDMARK_MODEL";

/// The landmark model used when neither the option nor FACEGAN_LANDMARK_MODEL names one: the path
/// CMake found at configure time (Debian 12: /usr/share/dlib/shape_predictor_68_face_landmarks.dat,
/// from libdlib-data).
std::string default_landmark_model();

/// The landmark model a FaceDetector with this option loads: `option` when not empty, else
/// $FACEGAN_LANDMARK_MODEL when set and not empty, else default_landmark_model().
std::string resolve_landmark_model(const std::string& option = "");

/// Options of FaceDetector.
struct FaceDetectorOptions {
  /// The 68-point shape predictor file (dlib's format); empty = resolve_landmark_model("").
  TORCH_ARG(std::string, landmark_model) = "";
  /// Detection runs on a copy of the photo scaled down so that its longer side is at most this many
  /// pixels (0: the photo itself); boxes are scaled back, and landmarks are always found on the full
  /// photo. HOG finds faces of about 80 px in that copy, so in a photo whose longer side is L the
  /// smallest face found is about 80 * L / detect_max_side pixels (at upsample 0).
  TORCH_ARG(int64_t, detect_max_side) = 1600;
  /// Times the detection copy is doubled in size before the HOG scan ([0, 2]): each halves the
  /// smallest face found and costs about 4x the detection time.
  TORCH_ARG(int64_t, upsample) = 0;
  /// Added to the detector's SVM threshold (dlib's adjust_threshold): > 0 fewer and surer faces,
  /// < 0 more faces and more false ones. dlib's own default is 0; at 0 the round mission patch on
  /// the astronaut portrait's suit is a "face" with score 0.04-0.05 (the faces score 1.0-1.6), so
  /// facegan asks for 0.25.
  TORCH_ARG(double, threshold) = 0.25;

 public:
  template <class V>
  void visit(V& v) {
    v("landmark_model", landmark_model_);
    v("detect_max_side", detect_max_side_);
    v("upsample", upsample_);
    v("threshold", threshold_);
  }
};

/// A face box found by the detector.
struct FaceBox {
  /// Photo pixels: x, y of the top-left corner, width, height.
  cv::Rect2f box;
  /// The detector's SVM score (> threshold); NaN for faces given by hand.
  double score = 0.0;
};

/// One face of a photo: its box and its 68 landmarks.
struct DetectedFace {
  /// Photo pixels (for a face given by landmarks alone: their bounding box).
  cv::Rect2f box;
  /// The detector's SVM score; NaN for faces given by hand.
  double score = 0.0;
  /// 68 points in iBUG order (0-16 jaw from the image's left, 17-26 brows, 27-35 nose, 36-41 the
  /// eye on the image's left, 42-47 the other, 48-67 mouth), photo pixels.
  std::vector<cv::Point2f> landmarks;
};

/// dlib's HOG face detector and 68-point shape predictor. Copies share the loaded models; every
/// method is const and thread-safe (HOG scans are serialised: dlib's scanner keeps scratch state).
class FaceDetector {
 public:
  /// Loads the landmark model (about 1 s for dlib's 100 MB file). DataError naming the path when
  /// it is missing or is not a dlib shape predictor; ConfigError for options out of range.
  explicit FaceDetector(FaceDetectorOptions options = FaceDetectorOptions());

  /// Face boxes of an 8-bit photo (BGR, BGRA or grey), ordered left to right by box centre (ties:
  /// top to bottom); empty when there is none.
  std::vector<FaceBox> detect_boxes(const cv::Mat& photo) const;
  /// The 68 landmarks of the face in `box` (photo pixels), found on the full-resolution photo.
  std::vector<cv::Point2f> landmarks(const cv::Mat& photo, const cv::Rect2f& box) const;
  /// detect_boxes() then landmarks() for each box.
  std::vector<DetectedFace> detect(const cv::Mat& photo) const;

  const FaceDetectorOptions& options() const { return options_; }
  /// The landmark model file that was loaded.
  const std::string& landmark_model() const;

 private:
  struct Impl;
  FaceDetectorOptions options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace facegan::data
