#pragma once
// Readers of the real face data sets, each a Dataset registered by name:
//   image_folder  root/<identity>/<image>  (CASIA-WebFace, VGGFace2 layout)     identity
//   celeba        CelebA's aligned images and its label files                  identity, 5 landmarks, 40 attributes
//   mt_makeup     BeautyGAN's MT set: images/ and segs/ (parsing maps)          makeup flag, region mask
//   ck_plus       CK+ sequences with Emotion/ (and optional Landmarks/) files  expression, identity, neutral frame
//   oulu_casia    Oulu-CASIA NIR&VIS OriginalImg sequences                     expression, identity, neutral frame
//
// Every reader indexes its files in the constructor (sorted, deterministic; label files parsed and
// checked there) and reads images in get(), which is const and thread-safe. Optional geometry:
// `image_size` > 0 resizes to image_size x image_size (bilinear, antialiased; landmarks scaled, masks
// nearest); `align` (readers with landmarks) warps the face onto the five-point template of
// data/align.hpp instead, into an image_size crop (or min(H, W) when image_size is 0).

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

/// The "expression" classes of ck_plus and oulu_casia, by index: 0 neutral, 1 happy, 2 sad,
/// 3 angry, 4 surprised, 5 disgusted, 6 fearful, and 7 contempt (only with ck_plus's keep_contempt).
inline constexpr std::array<const char*, 8> kExpressionClassNames{"neutral",   "happy",     "sad",     "angry",
                                                                  "surprised", "disgusted", "fearful", "contempt"};

// ---------------------------------------------------------------------------------------------
/// Options of image_folder.
struct ImageFolderOptions {
  ImageFolderOptions() = default;
  explicit ImageFolderOptions(std::string root) : root_(std::move(root)) {}
  /// The folder holding one sub-folder per identity.
  TORCH_ARG(std::string, root);
  /// Accepted image file endings, compared case-insensitively.
  TORCH_ARG(std::vector<std::string>, extensions) = {".jpg", ".jpeg", ".png"};
  /// Identities with fewer images are left out (before identities are numbered).
  TORCH_ARG(int64_t, min_images_per_identity) = 0;
  /// > 0: resize every image to image_size x image_size; 0 keeps the file's size.
  TORCH_ARG(int64_t, image_size) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("extensions", extensions_);
    v("min_images_per_identity", min_images_per_identity_);
    v("image_size", image_size_);
  }
};

/// root/<identity>/<image>: "image", "identity" (index of the identity folder among the kept
/// folders in sorted order). meta: file, index, identity, identity_name (the folder name).
class ImageFolderDataset : public Dataset {
 public:
  /// Registry name.
  static constexpr const char* kType = "image_folder";
  /// Lists the folders; DataError when root is missing or holds no images.
  explicit ImageFolderDataset(ImageFolderOptions options);
  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return kType; }
  /// Folder names; identity i is identity_names()[i].
  const std::vector<std::string>& identity_names() const;
  const ImageFolderOptions& options() const { return options_; }

 private:
  struct Index;
  ImageFolderOptions options_;
  std::shared_ptr<const Index> index_;
};

// ---------------------------------------------------------------------------------------------
/// CelebA's official partition (list_eval_partition.txt: 0 train, 1 val, 2 test).
enum class CelebASplit { kTrain, kVal, kTest, kAll };

/// Options of celeba.
struct CelebAOptions {
  CelebAOptions() = default;
  explicit CelebAOptions(std::string root) : root_(std::move(root)) {}
  /// The folder holding img_align_celeba/ and the list_*.txt / identity_CelebA.txt files.
  TORCH_ARG(std::string, root);
  /// Which part of the official partition; "all" needs no partition file.
  TORCH_ARG(CelebASplit, split) = CelebASplit::kAll;
  /// true: identity_CelebA.txt must exist and name every loaded image; false: identity -1 where
  /// it has no entry (or when the file is absent).
  TORCH_ARG(bool, require_identity) = true;
  /// > 0: output size (resize, or the aligned crop's size); 0 keeps the file's size.
  TORCH_ARG(int64_t, image_size) = 0;
  /// Align the face on the five-point template (needs list_landmarks_align_celeba.txt).
  TORCH_ARG(bool, align) = false;
  /// Margin of the aligned crop as a fraction of its size (see five_point_template).
  TORCH_ARG(double, align_padding) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("split", split_);
    v("require_identity", require_identity_);
    v("image_size", image_size_);
    v("align", align_);
    v("align_padding", align_padding_);
  }
};

/// CelebA (Liu et al. 2015), aligned-and-cropped images. Samples: "image"; "identity" (the
/// identities present in the loaded split renumbered 0..K-1 in increasing CelebA id; -1 = none);
/// "landmarks" [5, 2] (left eye, right eye, nose, left and right mouth corner, pixels) when
/// list_landmarks_align_celeba.txt exists; "attributes" float [40] of 0/1 in attribute_names()
/// order when list_attr_celeba.txt exists. meta: file, index, split, identity, celeba_identity.
class CelebADataset : public Dataset {
 public:
  /// Registry name.
  static constexpr const char* kType = "celeba";
  /// Parses the label files; DataError naming the file (and line) at fault.
  explicit CelebADataset(CelebAOptions options);
  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return kType; }
  /// The 40 attribute names of list_attr_celeba.txt, in its column order (the file's header must
  /// match them).
  static const std::vector<std::string>& attribute_names();
  /// Number of distinct identities in the loaded split (the "identity" labels are 0..K-1).
  int64_t num_identities() const;
  const CelebAOptions& options() const { return options_; }

 private:
  struct Index;
  CelebAOptions options_;
  std::shared_ptr<const Index> index_;
};

// ---------------------------------------------------------------------------------------------
/// Which half of the MT data set.
enum class MakeupSubset { kMakeup, kNonMakeup, kAll };

/// Options of mt_makeup.
struct MtMakeupOptions {
  MtMakeupOptions() = default;
  explicit MtMakeupOptions(std::string root) : root_(std::move(root)) {}
  /// The folder holding images/{makeup,non-makeup}/ and segs/{makeup,non-makeup}/.
  TORCH_ARG(std::string, root);
  TORCH_ARG(MakeupSubset, subset) = MakeupSubset::kAll;
  /// Read the parsing maps of segs/ into "mask".
  TORCH_ARG(bool, with_masks) = true;
  /// > 0: resize every image (and mask) to image_size x image_size.
  TORCH_ARG(int64_t, image_size) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("subset", subset_);
    v("with_masks", with_masks_);
    v("image_size", image_size_);
  }
};

/// The MT (Makeup Transfer) data set of BeautyGAN (Li et al. 2018). Samples: "image", "makeup"
/// (int64 1 for images/makeup, 0 for images/non-makeup), "mask" [H, W] of Region values mapped from
/// the segs/ labels. meta: file, index, makeup, mask_file. Makeup images come first, each half in
/// sorted file order.
class MtMakeupDataset : public Dataset {
 public:
  /// Registry name.
  static constexpr const char* kType = "mt_makeup";
  /// Lists the images and checks every one has its parsing map; DataError otherwise.
  explicit MtMakeupDataset(MtMakeupOptions options);
  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return kType; }
  /// BeautyGAN's parsing label (0..13) -> Region; DataError for other values.
  static Region region_of_label(int label);
  const MtMakeupOptions& options() const { return options_; }

 private:
  struct Index;
  MtMakeupOptions options_;
  std::shared_ptr<const Index> index_;
};

// ---------------------------------------------------------------------------------------------
/// Options of ck_plus.
struct CkPlusOptions {
  CkPlusOptions() = default;
  explicit CkPlusOptions(std::string root) : root_(std::move(root)) {}
  /// The folder holding cohn-kanade-images/, Emotion/ and optionally Landmarks/.
  TORCH_ARG(std::string, root);
  /// How many of a sequence's last frames are samples labelled with its emotion (>= 1).
  TORCH_ARG(int64_t, peak_frames) = 3;
  /// Also a sample of each sequence's first frame, labelled neutral.
  TORCH_ARG(bool, include_neutral) = true;
  /// Keep contempt sequences as class 7; by default they are left out (facegan's 7 classes).
  TORCH_ARG(bool, keep_contempt) = false;
  /// Keep sequences without an emotion file (peak samples get expression -1); default left out.
  TORCH_ARG(bool, keep_unlabeled) = false;
  /// > 0: output size (resize, or the aligned crop's size); 0 keeps the file's size.
  TORCH_ARG(int64_t, image_size) = 0;
  /// Align on the five points of the 68 landmarks (needs Landmarks/).
  TORCH_ARG(bool, align) = false;
  /// Margin of the aligned crop as a fraction of its size (see five_point_template).
  TORCH_ARG(double, align_padding) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("peak_frames", peak_frames_);
    v("include_neutral", include_neutral_);
    v("keep_contempt", keep_contempt_);
    v("keep_unlabeled", keep_unlabeled_);
    v("image_size", image_size_);
    v("align", align_);
    v("align_padding", align_padding_);
  }
};

/// Extended Cohn-Kanade (Lucey et al. 2010). Per kept sequence: the first frame (expression 0,
/// when include_neutral) then its last peak_frames frames (the sequence's emotion mapped to
/// kExpressionClassNames). Samples: "image", "neutral_image" (the sequence's first frame; the frame
/// itself for neutral samples), "expression", "identity" (subject index among the kept subjects,
/// sorted), and "landmarks" / "neutral_landmarks" [68, 2] when Landmarks/ exists. meta: file,
/// index, neutral_file, subject, sequence, frame, num_frames, peak, emotion_code (CK+'s code or
/// null), expression_name.
class CkPlusDataset : public Dataset {
 public:
  /// Registry name.
  static constexpr const char* kType = "ck_plus";
  /// Walks the sequences and parses every emotion (and landmark) file; DataError naming the file.
  explicit CkPlusDataset(CkPlusOptions options);
  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return kType; }
  /// CK+ emotion code (0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness,
  /// 7 surprise) -> facegan expression class (contempt -> 7).
  static int64_t expression_of_code(int code);
  /// Subject folder names (S005, ...); identity i is subjects()[i].
  const std::vector<std::string>& subjects() const;
  const CkPlusOptions& options() const { return options_; }

 private:
  struct Index;
  CkPlusOptions options_;
  std::shared_ptr<const Index> index_;
};

// ---------------------------------------------------------------------------------------------
/// Oulu-CASIA lighting conditions (folder names).
enum class OuluIllumination { kStrong, kWeak, kDark };
/// Oulu-CASIA imaging systems: visible light ("VL") and near infrared ("NI").
enum class OuluSpectrum { kVisible, kNearInfrared };

/// Options of oulu_casia.
struct OuluCasiaOptions {
  OuluCasiaOptions() = default;
  explicit OuluCasiaOptions(std::string root) : root_(std::move(root)) {}
  /// The folder holding OriginalImg/.
  TORCH_ARG(std::string, root);
  TORCH_ARG(OuluIllumination, illumination) = OuluIllumination::kStrong;
  TORCH_ARG(OuluSpectrum, spectrum) = OuluSpectrum::kVisible;
  /// How many of a sequence's last frames are samples labelled with its emotion (>= 1).
  TORCH_ARG(int64_t, peak_frames) = 3;
  /// Also a sample of each sequence's first frame, labelled neutral.
  TORCH_ARG(bool, include_neutral) = true;
  /// > 0: resize every image to image_size x image_size.
  TORCH_ARG(int64_t, image_size) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("illumination", illumination_);
    v("spectrum", spectrum_);
    v("peak_frames", peak_frames_);
    v("include_neutral", include_neutral_);
    v("image_size", image_size_);
  }
};

/// Oulu-CASIA NIR&VIS (Zhao et al. 2011): OriginalImg/<spectrum>/<illumination>/<subject>/<emotion>/
/// frames, emotion from the folder (Anger, Disgust, Fear, Happiness, Sadness, Surprise). Same
/// samples and meta as ck_plus (without landmarks; emotion_code is the folder name).
class OuluCasiaDataset : public Dataset {
 public:
  /// Registry name.
  static constexpr const char* kType = "oulu_casia";
  /// Walks the sequences; DataError for a missing folder or an unknown emotion folder.
  explicit OuluCasiaDataset(OuluCasiaOptions options);
  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return kType; }
  /// Subject folder names (P001, ...); identity i is subjects()[i].
  const std::vector<std::string>& subjects() const;
  const OuluCasiaOptions& options() const { return options_; }

 private:
  struct Index;
  OuluCasiaOptions options_;
  std::shared_ptr<const Index> index_;
};

}  // namespace facegan::data

namespace facegan {
template <>
struct EnumNames<data::CelebASplit> {
  static constexpr std::array<std::pair<data::CelebASplit, const char*>, 4> values{
      {{data::CelebASplit::kTrain, "train"},
       {data::CelebASplit::kVal, "val"},
       {data::CelebASplit::kTest, "test"},
       {data::CelebASplit::kAll, "all"}}};
};
template <>
struct EnumNames<data::MakeupSubset> {
  static constexpr std::array<std::pair<data::MakeupSubset, const char*>, 3> values{
      {{data::MakeupSubset::kMakeup, "makeup"},
       {data::MakeupSubset::kNonMakeup, "non_makeup"},
       {data::MakeupSubset::kAll, "all"}}};
};
template <>
struct EnumNames<data::OuluIllumination> {
  static constexpr std::array<std::pair<data::OuluIllumination, const char*>, 3> values{
      {{data::OuluIllumination::kStrong, "Strong"},
       {data::OuluIllumination::kWeak, "Weak"},
       {data::OuluIllumination::kDark, "Dark"}}};
};
template <>
struct EnumNames<data::OuluSpectrum> {
  static constexpr std::array<std::pair<data::OuluSpectrum, const char*>, 2> values{
      {{data::OuluSpectrum::kVisible, "VL"}, {data::OuluSpectrum::kNearInfrared, "NI"}}};
};
}  // namespace facegan
