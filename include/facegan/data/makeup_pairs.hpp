#pragma once
// Makeup-transfer pairs (PairedCycleGAN, Chang et al. 2018): a bare source face x and a made-up
// reference face y of another identity, with y warped onto x's geometry (W(x, y), by their
// landmarks), both faces' landmarks, Region maps and makeup-area masks, and the grids that warp
// between the two geometries inside a network (grid_sample, differentiable).
//
//   synthetic_makeup   rendered pairs with exact ground truth: "target" (x wearing y's makeup) and
//                      "reference_bare" (y without makeup)
//   mt_makeup_pairs    BeautyGAN's MT layout: non-makeup sources x makeup references, landmarks
//                      from a landmarks/ folder beside images/ (no ground truth)
//
// Keys of every sample:
//   "source", "reference", "warped"      float32 [3, H, W] in [-1, 1] (warped = W(x, y))
//   "source_landmarks", "reference_landmarks"   float32 [68, 2] pixels
//   "source_mask", "reference_mask"       uint8 [H, W] of Region values
//   "source_areas", "reference_areas"     float32 [3, H, W] 0/1: eyes, lips, skin (data/face_areas.hpp)
//   "warp_grid"                           float32 [H, W, 2]: grid_sample(reference, warp_grid) ~ warped
//   "inverse_warp_grid"                   float32 [H, W, 2]: takes an image in x's geometry to y's
// synthetic_makeup adds "target", "reference_bare" [3, H, W], "source_makeup_mask" uint8 [H, W]
// (1 where makeup can change a pixel of x), "source_identity", "reference_identity" int64.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <memory>
#include <string>

namespace facegan::data {

/// Options of "synthetic_makeup": the renderer's options (flattened into the same JSON object),
/// the number of pairs and the identity split (source and reference both come from it).
struct SyntheticMakeupOptions {
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

/// The "synthetic_makeup" data set. Pair i: the source is sample_factors(2 i) without makeup, the
/// reference sample_factors(2 i + 1) with makeup forced on (renderer makeup_probability 1: only
/// the makeup stream changes) and, if it drew the source's identity, the next identity of the split.
/// Deterministic and thread-safe. ConfigError naming the option on bad options.
std::shared_ptr<Dataset> make_synthetic_makeup_dataset(const SyntheticMakeupOptions& options);

/// Options of "mt_makeup_pairs".
struct MtMakeupPairsOptions {
  /// The MT folder: images/{makeup,non-makeup}/, segs/ and landmarks/{makeup,non-makeup}/.
  TORCH_ARG(std::string, root);
  /// > 0: resize images, masks and landmarks to image_size x image_size.
  TORCH_ARG(int64_t, image_size) = 0;
  /// Number of pairs (0: one per non-makeup image).
  TORCH_ARG(int64_t, num_samples) = 0;
  /// Pair i takes non-makeup image i mod N and makeup image (i * stride + offset) mod M.
  TORCH_ARG(int64_t, stride) = 7;
  TORCH_ARG(int64_t, offset) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("root", root_);
    v("image_size", image_size_);
    v("num_samples", num_samples_);
    v("stride", stride_);
    v("offset", offset_);
  }
};

/// The "mt_makeup_pairs" data set: MT images and parsing maps (through mt_makeup) with 68-point
/// landmarks read from root/landmarks/<makeup|non-makeup>/<image stem>.pts (the ibug .pts format
/// dlib and face-alignment write) or .txt (68 lines "x y"), in pixels of the original image.
/// A missing or malformed landmark file is a DataError naming it (the constructor checks that every
/// image has one).
std::shared_ptr<Dataset> make_mt_makeup_pairs_dataset(const MtMakeupPairsOptions& options);

/// Reads a 68-point landmark file (.pts with "n_points: 68" and braces, or plain "x y" lines);
/// DataError naming the file and the line at fault.
std::vector<cv::Point2f> read_landmarks_file(const std::string& path);

/// Registers "synthetic_makeup" and "mt_makeup_pairs" (call from the builtin data set list).
void register_makeup_datasets(Registry<Dataset>& registry);

}  // namespace facegan::data
