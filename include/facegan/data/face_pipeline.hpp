#pragma once
// The photo pipeline every inference command shares: find the faces of an ordinary photograph
// (data/face_detector.hpp), align each to the template of the model's training crops with the
// five-point similarity of data/align.hpp, let the model edit the aligned crop, and blend the edit
// back into the full-resolution photo through the inverse transform and a feathered mask. Pixels
// outside the mask keep their bytes.
//
// Models never see photos and the pipeline never sees networks: an edit is a function object
// (aligned face -> edited crop), so the three papers' inference APIs plug in unchanged and the
// paste-back is one piece of code.

#include <facegan/core/config.hpp>
#include <facegan/data/face_detector.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <opencv2/core.hpp>
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

/// Where a model expects a face: the side of its square crop and the five alignment points in it,
/// in five_point_template's order (the image-left eye, the other eye, nose tip, left and right
/// mouth corner).
struct FaceTemplate {
  int64_t size = 0;
  std::vector<cv::Point2f> points;
  /// Where the template came from, for messages ("arcface ...", "renderer ...").
  std::string source;

  /// InsightFace's ArcFace template, five_point_template(size, padding).
  static FaceTemplate arcface(int64_t size, double padding = 0.0);
  /// Where the synthetic renderer puts the five points at its mean training pose (no roll, yaw or
  /// shift; scale midway between min_scale and max_scale), averaged over the neutral faces of the
  /// first `identities` identities, at options.size().
  static FaceTemplate renderer(const SyntheticFacesOptions& options, int64_t identities = 16);
  /// The same template for a crop of side `size` (points scaled about pixel edges).
  FaceTemplate resized(int64_t size) const;
};

/// The template of the faces a model was trained on, from its run's config (the config.json that
/// `facegan train` writes: {"trainer", "task", "data"}), read from data.train:
/// - synthetic_faces, synthetic_pairs, synthetic_makeup, synthetic_identity_pairs:
///   FaceTemplate::renderer with the spec's renderer options;
/// - celeba or ck_plus with "align": true: FaceTemplate::arcface(image_size, align_padding);
/// - identity_pairs: the template of its "base";
/// - any other data set (faces aligned by an outside tool, e.g. MT's): arcface(size, 0.25), the
///   whole head, with a source that says it is a guess.
/// `size` > 0 resizes the result to that side (the model's input when it differs from the
/// training size). ConfigError naming `where` and the key when the config has no data.train or its
/// image size cannot be told.
FaceTemplate face_template_from_config(const json& run_config, const std::string& where, int64_t size = 0);

/// Reads a photo as 8-bit BGR with its EXIF orientation applied (cv::imread with IMREAD_COLOR
/// rotates JPEGs as their orientation tag says). DataError naming the file when it is missing, not
/// a regular file, or not an image OpenCV can decode (truncated and corrupt files included).
cv::Mat read_photo(const std::string& path);

/// Which faces of a photo: every one, the largest (box area), or one by its number (faces are
/// numbered from 0 left to right, as `facegan detect` lists them).
struct FaceChoice {
  enum class Kind { kAll, kLargest, kIndex };
  Kind kind = Kind::kAll;
  int64_t index = 0;
  /// "all", "largest" or a number >= 0; ConfigError naming `where` otherwise.
  static FaceChoice parse(const std::string& text, const std::string& where = "--face");
  /// The spelling parse() reads.
  std::string to_string() const;
};

/// Options of FacePipeline.
struct FacePipelineOptions {
  /// A face whose box (the detector's, or the bounding box of given landmarks) has a side below
  /// this many photo pixels is too small: the model would mostly see upsampling blur.
  TORCH_ARG(int64_t, min_face_size) = 40;
  /// The blend mask is the convex hull of the 68 landmarks, grown by this fraction about its centre...
  TORCH_ARG(double, mask_grow) = 0.05;
  /// ... with the brows (17-26) moved up by this fraction of the eyes-to-chin distance, for the
  /// forehead above them (raised brows and frowns move it).
  TORCH_ARG(double, forehead) = 0.2;
  /// Width of the mask's soft edge as a fraction of the face size (the square root of the hull's
  /// area): alpha rises from exactly 0 on the hull's edge to 1 this far inside.
  TORCH_ARG(double, feather) = 0.15;
  /// true: the photo receives the edit's change (edited crop - aligned crop) warped back, so detail
  /// finer than the crop stays (editing models: neutralize, makeup); false: the warped-back edited
  /// crop replaces the photo inside the mask (models that draw a new face: open-set mixing).
  TORCH_ARG(bool, keep_detail) = true;

 public:
  template <class V>
  void visit(V& v) {
    v("min_face_size", min_face_size_);
    v("mask_grow", mask_grow_);
    v("forehead", forehead_);
    v("feather", feather_);
    v("keep_detail", keep_detail_);
  }
};

/// One face ready for a model: where it is in the photo and its aligned crop.
struct AlignedPhotoFace {
  /// The face's number among all faces of the photo (left to right).
  int64_t index = 0;
  DetectedFace face;
  /// 2x3 CV_64F similarity taking photo pixels to crop pixels.
  cv::Mat transform;
  /// The aligned crop: 8-bit BGR, template size x size.
  cv::Mat crop;
  /// The 68 landmarks in crop pixels.
  std::vector<cv::Point2f> crop_landmarks;
};

/// Where an edit went in the photo.
struct PastedFace {
  /// The photo rectangle that may have changed.
  cv::Rect roi;
  /// CV_32F alpha of roi's size, in [0, 1]: where it is 0 the photo's bytes are unchanged.
  cv::Mat alpha;
};

/// Aligns `face` of `photo` (8-bit BGR) to `tmpl`: the similarity from the five points of its 68
/// landmarks to the template's, bilinear, border replicated.
AlignedPhotoFace align_photo_face(const cv::Mat& photo, const DetectedFace& face, const FaceTemplate& tmpl,
                                  int64_t index = 0);

/// The blend mask of a face in crop pixels: CV_32F `size` x `size`, in [0, 1], 0 on and outside the
/// grown hull (FacePipelineOptions) and within one feather of the crop's border.
cv::Mat face_blend_mask(const std::vector<cv::Point2f>& crop_landmarks, int64_t size,
                        const FacePipelineOptions& options);

/// Blends `edited` (the model's output for face.crop: 8-bit BGR of the crop's size) into `photo`
/// (8-bit BGR) in place, through the inverse of face.transform and the face's blend mask. Only
/// pixels with alpha > 0 are written. DataError when `edited` does not match the crop.
PastedFace paste_face(cv::Mat& photo, const AlignedPhotoFace& face, const cv::Mat& edited,
                      const FacePipelineOptions& options);

/// A face as JSON: {"index", "box": [x, y, width, height], "score" (null for faces given by hand),
/// "landmarks": [[x, y] x 68]}, photo pixels rounded to 0.01.
json face_to_json(const DetectedFace& face, int64_t index);

/// A copy of `photo` with each face's box, 68 landmarks and "number label" drawn; labels[i] (when
/// given) goes with faces[i], indices[i] is its number.
cv::Mat draw_faces(const cv::Mat& photo, const std::vector<DetectedFace>& faces, const std::vector<int64_t>& indices,
                   const std::vector<std::string>& labels = {});

/// Detection, selection, alignment and paste-back on photos. Copies share the detector.
class FacePipeline {
 public:
  /// An aligned face -> its edited crop (8-bit BGR of face.crop's size).
  using Edit = std::function<cv::Mat(const AlignedPhotoFace&)>;

  /// `detector` may be null when every face will be given by its landmarks.
  explicit FacePipeline(FacePipelineOptions options = FacePipelineOptions(),
                        std::shared_ptr<const FaceDetector> detector = nullptr);

  /// Every face of `photo`, numbered left to right: the detector's, or the one face whose 68
  /// landmarks are `landmarks` when they are given (no detector needed). `name` (the photo's file)
  /// is named in errors: DataError "no face found in NAME ...", or when `landmarks` are not 68.
  std::vector<DetectedFace> find_faces(const cv::Mat& photo, const std::string& name,
                                       const std::vector<cv::Point2f>& landmarks = {}) const;

  /// The faces `choice` picks, aligned to `tmpl`. A face smaller than min_face_size is an error
  /// naming `name` when chosen by number or as the largest; with kAll such faces are left out
  /// (their numbers appended to `skipped`) unless all are, which is an error. DataError also for a
  /// number out of range.
  std::vector<AlignedPhotoFace> select(const cv::Mat& photo, const std::vector<DetectedFace>& faces,
                                       const FaceChoice& choice, const FaceTemplate& tmpl, const std::string& name,
                                       std::vector<int64_t>* skipped = nullptr) const;

  /// A copy of `photo` with `edit` applied to each face and pasted back (in order); `photo` itself
  /// is not changed. `pasted` (optional) receives where each face went.
  cv::Mat apply(const cv::Mat& photo, const std::vector<AlignedPhotoFace>& faces, const Edit& edit,
                std::vector<PastedFace>* pasted = nullptr) const;

  const FacePipelineOptions& options() const { return options_; }
  /// The detector; Error when the pipeline has none.
  const FaceDetector& detector() const;
  bool has_detector() const { return detector_ != nullptr; }

 private:
  FacePipelineOptions options_;
  std::shared_ptr<const FaceDetector> detector_;
};

}  // namespace facegan::data
