#pragma once
// Per-sample augmentations. Each draws its randomness only from the generator it is handed, so the
// loader (which seeds one generator per (seed, epoch, sample index)) gets the same augmentation
// for the same sample whatever the thread count, rank or resume point.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace facegan::data {

/// A per-sample augmentation: Sample -> Sample, drawing randomness only from `rng`.
using Transform = std::function<Sample(Sample, std::mt19937_64&)>;

/// Uniform integer in [lo, hi] (lo <= hi). Unlike std::uniform_int_distribution, the result is the
/// same with every standard library, so seeded augmentations are portable.
int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi);
/// Uniform real in [lo, hi), portable like uniform_int.
double uniform_real(std::mt19937_64& rng, double lo, double hi);

/// Index permutation that relabels mirrored landmarks: after a left-right flip, point i of the new
/// layout is point perm[i] of the old. 68 points: the iBUG layout (jaw 0<->16, brows, nose wings,
/// eyes 36<->45 ..., mouth); 5 points (left eye, right eye, nose, left mouth corner, right mouth
/// corner): eyes and mouth corners swap. Any other count: the identity (only x is mirrored).
std::vector<int64_t> landmark_flip_permutation(int64_t num_points);

/// True for the keys treated as landmark sets ([K, 2], (x, y) pixels): "landmarks" and "*_landmarks".
bool is_landmark_key(const std::string& key);

/// Mirrors a sample left-right. Image-like tensors ([C, H, W] or [H, W] with the spatial size of
/// "image", else of "mask", else of the first 3-D tensor) are flipped along W; landmark keys get
/// x -> W - 1 - x and the left/right relabelling of landmark_flip_permutation. "mask" needs no
/// relabelling: Region labels are left/right symmetric. Other tensors pass unchanged.
Sample hflip(Sample sample);

/// Crops every image-like tensor to rows [top, top + height) and columns [left, left + width), and
/// shifts landmarks by (-left, -top) (points may fall outside the crop; they are kept).
Sample crop(Sample sample, int64_t top, int64_t left, int64_t height, int64_t width);

/// Colour change of "image" (float [3, H, W] in [-1, 1]) only, in torchvision's order and formulas
/// on [0, 1] intensities: brightness (scale), contrast (blend with the mean grey), saturation
/// (blend with each pixel's grey, ITU-R 601 weights); the result is clamped to [-1, 1]. Factors of
/// 1 leave the image unchanged.
Sample adjust_color(Sample sample, double brightness, double contrast, double saturation);

/// Options of RandomHorizontalFlip.
struct RandomHorizontalFlipOptions {
  /// Probability of flipping a sample.
  TORCH_ARG(double, probability) = 0.5;

 public:
  template <class V>
  void visit(V& v) {
    v("probability", probability_);
  }
};

/// hflip() with a given probability.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(RandomHorizontalFlipOptions options = {});
  Sample operator()(Sample sample, std::mt19937_64& rng) const;
  RandomHorizontalFlipOptions options;
};

/// Options of RandomCrop: the output size.
struct RandomCropOptions {
  RandomCropOptions(int64_t height = 0, int64_t width = 0) : height_(height), width_(width) {}
  TORCH_ARG(int64_t, height);
  TORCH_ARG(int64_t, width);

 public:
  template <class V>
  void visit(V& v) {
    v("height", height_);
    v("width", width_);
  }
};

/// crop() at a uniformly drawn position; the input must be at least the crop size.
class RandomCrop {
 public:
  explicit RandomCrop(RandomCropOptions options);
  Sample operator()(Sample sample, std::mt19937_64& rng) const;
  RandomCropOptions options;
};

/// Options of ColorJitter: each factor is drawn uniformly from [max(0, 1 - x), 1 + x].
struct ColorJitterOptions {
  TORCH_ARG(double, brightness) = 0.2;
  TORCH_ARG(double, contrast) = 0.2;
  TORCH_ARG(double, saturation) = 0.2;

 public:
  template <class V>
  void visit(V& v) {
    v("brightness", brightness_);
    v("contrast", contrast_);
    v("saturation", saturation_);
  }
};

/// adjust_color() with random factors (always three draws, in a fixed order).
class ColorJitter {
 public:
  explicit ColorJitter(ColorJitterOptions options = {});
  Sample operator()(Sample sample, std::mt19937_64& rng) const;
  ColorJitterOptions options;
};

/// Applies transforms in order, all drawing from the same generator.
class Compose {
 public:
  Compose() = default;
  explicit Compose(std::vector<Transform> transforms);
  /// Appends a transform; returns *this for chaining.
  Compose& add(Transform transform);
  Sample operator()(Sample sample, std::mt19937_64& rng) const;
  size_t size() const { return transforms_.size(); }

 private:
  std::vector<Transform> transforms_;
};

/// Builds a transform from config: one `{"type": name, ...options}` or an array of them (composed
/// in order). Types: "random_horizontal_flip", "random_crop", "color_jitter". An unknown type or
/// option throws ConfigError naming it (prefixed by `where`).
Transform transform_from_json(const json& spec, const std::string& where = "transforms");

}  // namespace facegan::data
