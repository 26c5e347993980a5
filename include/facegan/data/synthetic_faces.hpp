#pragma once
// The synthetic face renderer: facegan's ground-truth data. Every factor of a face (identity,
// pose, light, background, expression, makeup) is known and can be changed alone, so each task can
// be scored against an exact counterfactual render. The renderer core needs OpenCV only; the
// conversion to a Sample (render_sample) and the "synthetic_faces" data set need
// <facegan/data/dataset.hpp> (torch), included by the code that uses them.

#include <facegan/core/config.hpp>

#include <opencv2/core.hpp>
#include <torch/arg.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

struct Sample;
class Dataset;

/// The seven basic expressions (class indices in this order; DeRL's label set).
enum class Expression { kNeutral, kHappy, kSad, kAngry, kSurprised, kDisgusted, kFearful };
/// Number of Expression classes.
constexpr int64_t kNumExpressions = 7;

/// Hair styles of the identities.
enum class HairStyle { kShort, kSidePart, kLong, kBob, kCurly, kBun };
constexpr int64_t kNumHairStyles = 6;

/// Which identities a data set draws from: training ids [0, N - held_out), held-out ids
/// [N - held_out, N) (unseen identities for open-set evaluation), or all.
enum class Split { kTrain, kHeldOut, kAll };

/// Landmarks per face, in iBUG 68-point order.
constexpr int64_t kNumLandmarks = 68;

/// A colour, RGB components in [0, 1].
struct Rgb {
  double r = 0.0;
  double g = 0.0;
  double b = 0.0;

  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Rgb& o) const { return !(*this == o); }
  template <class V>
  void visit(V& v) {
    v("r", r);
    v("g", g);
    v("b", b);
  }
};

/// The shape and colour traits of one identity, derived from (renderer seed, identity id). Lengths
/// are fractions of the image side at pose scale 1, measured from the face centre.
struct IdentityTraits {
  /// Half-width of the face at the cheekbones, [0.23, 0.262].
  double face_width = 0.265;
  /// Distance from the face centre down to the chin, [0.33, 0.37].
  double face_length = 0.355;
  /// Super-ellipse exponent of the lower face: 1.9 is oval, 2.6 a square jaw.
  double jaw_squareness = 2.5;
  /// How much the lower face narrows towards the chin (V shape), [0.1, 0.35].
  double chin_taper = 0.15;
  Rgb skin{0.9, 0.72, 0.6};
  /// Half-width of an eye, [0.2, 0.235] x face_width.
  double eye_size = 0.055;
  /// Horizontal distance of each eye centre from the midline, [0.47, 0.52] x face_width.
  double eye_spacing = 0.125;
  /// Rise of the outer eye corners, [-0.006, 0.01].
  double eye_tilt = 0.002;
  Rgb iris{0.42, 0.26, 0.12};
  /// Nose tip below the eye line, [0.135, 0.175].
  double nose_length = 0.155;
  /// Half-width of the nose wings, [0.034, 0.048].
  double nose_width = 0.04;
  /// Half-width of the mouth, [0.085, 0.105].
  double mouth_width = 0.082;
  /// Lip thickness multiplier, [0.7, 1.3].
  double lip_fullness = 1.0;
  Rgb lips{0.75, 0.42, 0.4};
  /// Brow thickness at its inner end, [0.012, 0.022].
  double brow_thickness = 0.017;
  /// Height of the brow arch, [0.005, 0.02].
  double brow_arch = 0.012;
  Rgb brows{0.2, 0.13, 0.08};
  Rgb hair{0.25, 0.16, 0.1};
  HairStyle hair_style = HairStyle::kShort;
  /// Ear size multiplier, [0.85, 1.15].
  double ear_size = 1.0;

  template <class V>
  void visit(V& v) {
    v("face_width", face_width);
    v("face_length", face_length);
    v("jaw_squareness", jaw_squareness);
    v("chin_taper", chin_taper);
    v("skin", skin);
    v("eye_size", eye_size);
    v("eye_spacing", eye_spacing);
    v("eye_tilt", eye_tilt);
    v("iris", iris);
    v("nose_length", nose_length);
    v("nose_width", nose_width);
    v("mouth_width", mouth_width);
    v("lip_fullness", lip_fullness);
    v("lips", lips);
    v("brow_thickness", brow_thickness);
    v("brow_arch", brow_arch);
    v("brows", brows);
    v("hair", hair);
    v("hair_style", hair_style);
    v("ear_size", ear_size);
  }
};

/// Everything about a render that is neither identity, expression nor makeup: head pose, light,
/// background and clothes.
struct Attributes {
  /// In-plane rotation about the image centre, radians; positive turns the face clockwise on screen.
  double roll = 0.0;
  /// Head size multiplier about the image centre.
  double scale = 1.0;
  /// Translation as a fraction of the image side (a landmark moves by shift_x * size pixels).
  double shift_x = 0.0;
  double shift_y = 0.0;
  /// Horizontal head turn, radians in [-0.6, 0.6]; positive turns the face towards the image's right: the
  /// features move right and the right half of the face is foreshortened.
  double yaw = 0.0;
  /// Direction towards the light in the image plane (x right, y down; the light also comes from
  /// the front, z = 1) and its strength in [0, 1] (0: flat ambient light).
  double light_x = -0.3;
  double light_y = -0.5;
  double light_strength = 0.6;
  /// Background: a vertical gradient from top to bottom colour.
  Rgb background_top{0.55, 0.6, 0.68};
  Rgb background_bottom{0.35, 0.38, 0.45};
  Rgb clothes{0.2, 0.25, 0.35};

  template <class V>
  void visit(V& v) {
    v("roll", roll);
    v("scale", scale);
    v("shift_x", shift_x);
    v("shift_y", shift_y);
    v("yaw", yaw);
    v("light_x", light_x);
    v("light_y", light_y);
    v("light_strength", light_strength);
    v("background_top", background_top);
    v("background_bottom", background_bottom);
    v("clothes", clothes);
  }
};

/// One makeup product: worn or not, its colour and its strength in [0, 1].
struct MakeupItem {
  bool enabled = false;
  double intensity = 0.0;
  Rgb color;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled);
    v("intensity", intensity);
    v("color", color);
  }
};

/// Makeup: any combination of four products (all disabled = a bare face).
struct Makeup {
  MakeupItem lipstick;
  MakeupItem eyeshadow;
  MakeupItem blush;
  MakeupItem eyeliner;

  /// True when at least one product is worn with a non-zero intensity.
  bool any() const;
  template <class V>
  void visit(V& v) {
    v("lipstick", lipstick);
    v("eyeshadow", eyeshadow);
    v("blush", blush);
    v("eyeliner", eyeliner);
  }
};

/// The complete description of one render. Any combination renders, so counterfactuals are field
/// assignments: identity of A with attributes of B, B's makeup on A (or none), A made neutral.
struct FaceFactors {
  int64_t identity = 0;
  Attributes attributes;
  Expression expression = Expression::kNeutral;
  /// Strength of the expression in [0, 1]; kNeutral ignores it (sampled neutral faces carry 0).
  double intensity = 0.0;
  Makeup makeup;

  template <class V>
  void visit(V& v) {
    v("identity", identity);
    v("attributes", attributes);
    v("expression", expression);
    v("intensity", intensity);
    v("makeup", makeup);
  }
};

/// Factors as JSON: {"identity", "attributes": {...}, "expression": "happy", "intensity",
/// "makeup": {...}}. Doubles are written exactly, so factors_from_json gives back equal factors.
json factors_to_json(const FaceFactors& factors);

/// Inverse of factors_to_json. Missing keys keep their defaults; an unknown key or a wrong type
/// throws ConfigError naming it (prefixed by `where`).
FaceFactors factors_from_json(const json& j, const std::string& where = "factors");

/// One render. All images are size x size.
struct RenderedFace {
  /// CV_8UC3, BGR.
  cv::Mat image;
  /// 68 points in iBUG order ((x, y) pixels; pixel centres at integers): 0-16 jaw (image left to
  /// right), 17-21 and 22-26 brows, 27-35 nose, 36-41 and 42-47 eyes, 48-67 mouth.
  std::vector<cv::Point2f> landmarks;
  /// CV_8U of Region values (background, skin, brows, eyes, lips, hair, neck, ears, nose, mouth).
  cv::Mat regions;
  /// CV_8U, 1 where some makeup product may change the pixel, 0 where none can. Depends on identity,
  /// pose and expression only, never on the makeup itself.
  cv::Mat makeup_mask;
};

/// Options of SyntheticFaces.
struct SyntheticFacesOptions {
  /// Side of the square images in pixels, [32, 256].
  TORCH_ARG(int64_t, size) = 64;
  /// Number of distinct identities (ids 0 .. num_identities - 1).
  TORCH_ARG(int64_t, num_identities) = 200;
  /// The last held_out_identities ids are never drawn by the training split.
  TORCH_ARG(int64_t, held_out_identities) = 40;
  /// Seeds identity traits (who the identities are) and, unless sample_seed is set, factor sampling.
  TORCH_ARG(int64_t, seed) = 0;
  /// Seeds factor sampling alone (which identity, pose, light, expression and makeup sample i
  /// has), so that an experiment's seed draws new training samples of the same identities;
  /// -1 = `seed`.
  TORCH_ARG(int64_t, sample_seed) = -1;
  /// Probability that a sampled face has a non-neutral expression (6/7: the 7 classes balanced).
  TORCH_ARG(double, expression_probability) = 6.0 / 7.0;
  /// Sampled intensities of non-neutral expressions are uniform in [min_intensity, 1].
  TORCH_ARG(double, min_intensity) = 0.5;
  /// Probability that a sampled face wears makeup (then each product with probability 0.6, at
  /// least one).
  TORCH_ARG(double, makeup_probability) = 0.5;
  /// Pose ranges of sampling: roll and yaw uniform in [-max, max] radians, shift in [-max, max]
  /// of the image side, scale uniform in [min_scale, max_scale].
  TORCH_ARG(double, max_roll) = 0.15;
  TORCH_ARG(double, max_yaw) = 0.3;
  TORCH_ARG(double, max_shift) = 0.04;
  TORCH_ARG(double, min_scale) = 0.88;
  TORCH_ARG(double, max_scale) = 1.0;
  /// Internal supersampling factor (1 or 2; 0 = automatic: 2 below 64 pixels, else 1).
  TORCH_ARG(int64_t, supersample) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("size", size_);
    v("num_identities", num_identities_);
    v("held_out_identities", held_out_identities_);
    v("seed", seed_);
    v("sample_seed", sample_seed_);
    v("expression_probability", expression_probability_);
    v("min_intensity", min_intensity_);
    v("makeup_probability", makeup_probability_);
    v("max_roll", max_roll_);
    v("max_yaw", max_yaw_);
    v("max_shift", max_shift_);
    v("min_scale", min_scale_);
    v("max_scale", max_scale_);
    v("supersample", supersample_);
  }
};

/// The renderer: draws a face from its factors with OpenCV (no image assets), anti-aliased and
/// shaded, and returns the exact landmarks, region labels and makeup mask of the same geometry.
/// Deterministic (bit-identical for equal factors and options) and thread-safe (all methods const).
class SyntheticFaces {
 public:
  /// Validates the options (ConfigError naming the option) and derives every identity's traits.
  explicit SyntheticFaces(SyntheticFacesOptions options = SyntheticFacesOptions());

  const SyntheticFacesOptions& options() const { return options_; }
  /// Ids below this are training identities; the rest are held out.
  int64_t num_train_identities() const { return options_.num_identities() - options_.held_out_identities(); }
  bool is_held_out(int64_t identity) const { return identity >= num_train_identities(); }

  /// Traits of `identity` (< num_identities, else ConfigError).
  const IdentityTraits& traits(int64_t identity) const;

  /// Factors of sample `index`: deterministic in (sample_seed or seed, index, split). Identity, pose/light/
  /// background, expression and makeup come from separate random streams, so they are independent.
  FaceFactors sample_factors(uint64_t index, Split split = Split::kTrain) const;

  /// Renders `factors` at options().size(), or at `size` pixels ([32, 256]).
  RenderedFace render(const FaceFactors& factors) const;
  RenderedFace render(const FaceFactors& factors, int64_t size) const;

  /// render() as a Sample (include <facegan/data/dataset.hpp> to use it): "image" float32 [3, H, W]
  /// RGB in [-1, 1], "landmarks" float32 [68, 2], "mask" uint8 [H, W] (Region), "makeup_mask" uint8
  /// [H, W] (0/1), "identity" and "expression" int64 scalars, "makeup" int64 scalar (1 when any
  /// product is worn), "intensity" float32 scalar; meta = factors_to_json(factors).
  Sample render_sample(const FaceFactors& factors) const;

 private:
  SyntheticFacesOptions options_;
  std::vector<IdentityTraits> traits_;
};

/// Options of the "synthetic_faces" data set: the renderer's options (flattened into the same JSON
/// object), the number of samples and the identity split.
struct SyntheticFacesDatasetOptions {
  TORCH_ARG(SyntheticFacesOptions, renderer);
  TORCH_ARG(int64_t, num_samples) = 10000;
  TORCH_ARG(Split, split) = Split::kTrain;

 public:
  template <class V>
  void visit(V& v) {
    renderer_.visit(v);
    v("num_samples", num_samples_);
    v("split", split_);
  }
};

/// The "synthetic_faces" data set: get(i) renders sample_factors(i, split) (render_sample's keys).
std::shared_ptr<Dataset> make_synthetic_faces_dataset(const SyntheticFacesDatasetOptions& options);

}  // namespace facegan::data

namespace facegan {
template <>
struct EnumNames<data::Expression> {
  static constexpr std::array<std::pair<data::Expression, const char*>, 7> values{
      {{data::Expression::kNeutral, "neutral"},
       {data::Expression::kHappy, "happy"},
       {data::Expression::kSad, "sad"},
       {data::Expression::kAngry, "angry"},
       {data::Expression::kSurprised, "surprised"},
       {data::Expression::kDisgusted, "disgusted"},
       {data::Expression::kFearful, "fearful"}}};
};
template <>
struct EnumNames<data::HairStyle> {
  static constexpr std::array<std::pair<data::HairStyle, const char*>, 6> values{
      {{data::HairStyle::kShort, "short"},
       {data::HairStyle::kSidePart, "side_part"},
       {data::HairStyle::kLong, "long"},
       {data::HairStyle::kBob, "bob"},
       {data::HairStyle::kCurly, "curly"},
       {data::HairStyle::kBun, "bun"}}};
};
template <>
struct EnumNames<data::Split> {
  static constexpr std::array<std::pair<data::Split, const char*>, 3> values{
      {{data::Split::kTrain, "train"}, {data::Split::kHeldOut, "held_out"}, {data::Split::kAll, "all"}}};
};
}  // namespace facegan
