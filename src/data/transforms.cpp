#include <facegan/core/error.hpp>
#include <facegan/data/transforms.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace facegan::data {

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  TORCH_CHECK(lo <= hi, "uniform_int: empty range [", lo, ", ", hi, "]");
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (range == std::numeric_limits<uint64_t>::max()) return static_cast<int64_t>(rng());
  const uint64_t span = range + 1;
  // Rejection sampling: draws at or above the largest multiple of span would bias the modulo.
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % span;
  uint64_t draw = rng();
  while (draw >= limit) draw = rng();
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + draw % span);
}

double uniform_real(std::mt19937_64& rng, double lo, double hi) {
  const double unit = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
  return lo + (hi - lo) * unit;
}

std::vector<int64_t> landmark_flip_permutation(int64_t num_points) {
  std::vector<int64_t> perm(static_cast<size_t>(std::max<int64_t>(num_points, 0)));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  auto swap = [&](int64_t a, int64_t b) {
    perm[static_cast<size_t>(a)] = b;
    perm[static_cast<size_t>(b)] = a;
  };
  if (num_points == 68) {
    for (int64_t i = 0; i < 8; ++i) swap(i, 16 - i);        // jaw line, 8 (chin) stays
    for (int64_t i = 0; i < 5; ++i) swap(17 + i, 26 - i);   // brows
    swap(31, 35);                                           // nose wings; bridge 27-30 and tip 33 stay
    swap(32, 34);
    swap(36, 45);                                           // eyes: outer corners
    swap(37, 44);                                           // upper lids
    swap(38, 43);
    swap(39, 42);                                           // inner corners
    swap(40, 47);                                           // lower lids
    swap(41, 46);
    swap(48, 54);                                           // outer mouth corners; 51, 57 stay
    swap(49, 53);
    swap(50, 52);
    swap(55, 59);
    swap(56, 58);
    swap(60, 64);                                           // inner mouth; 62, 66 stay
    swap(61, 63);
    swap(65, 67);
  } else if (num_points == 5) {
    swap(0, 1);  // eyes
    swap(3, 4);  // mouth corners
  }
  return perm;
}

bool is_landmark_key(const std::string& key) {
  static const std::string suffix = "_landmarks";
  return key == "landmarks" ||
         (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0);
}

namespace {

/// (H, W) of the sample's images: from "image", else "mask", else the first 3-D tensor; {-1, -1}
/// when there is none.
std::pair<int64_t, int64_t> spatial_size(const Sample& sample) {
  auto image = sample.tensors.find("image");
  if (image != sample.tensors.end() && image->second.dim() >= 2) {
    return {image->second.size(-2), image->second.size(-1)};
  }
  auto mask = sample.tensors.find("mask");
  if (mask != sample.tensors.end() && mask->second.dim() >= 2) {
    return {mask->second.size(-2), mask->second.size(-1)};
  }
  for (const auto& [key, t] : sample.tensors) {
    if (!is_landmark_key(key) && t.dim() == 3) return {t.size(1), t.size(2)};
  }
  return {-1, -1};
}

bool is_image_like(const std::string& key, const torch::Tensor& t, std::pair<int64_t, int64_t> hw) {
  return !is_landmark_key(key) && (t.dim() == 2 || t.dim() == 3) && t.size(-2) == hw.first &&
         t.size(-1) == hw.second;
}

void check_landmarks(const std::string& key, const torch::Tensor& t) {
  TORCH_CHECK(t.dim() == 2 && t.size(1) == 2, "landmark key '", key, "' must be [K, 2], got ", t.sizes());
}

}  // namespace

Sample hflip(Sample sample) {
  const auto hw = spatial_size(sample);
  for (auto& [key, t] : sample.tensors) {
    if (is_landmark_key(key)) {
      check_landmarks(key, t);
      TORCH_CHECK(hw.second > 0, "hflip: cannot mirror '", key, "' without an image-like tensor giving the width");
      const auto perm = landmark_flip_permutation(t.size(0));
      torch::Tensor out = t.index_select(0, torch::tensor(perm, torch::kLong)).clone();
      out.select(1, 0).neg_().add_(static_cast<double>(hw.second - 1));
      t = out;
    } else if (is_image_like(key, t, hw)) {
      t = t.flip({-1}).contiguous();
    }
  }
  return sample;
}

Sample crop(Sample sample, int64_t top, int64_t left, int64_t height, int64_t width) {
  const auto hw = spatial_size(sample);
  TORCH_CHECK(hw.first > 0, "crop: the sample has no image-like tensor");
  TORCH_CHECK(height > 0 && width > 0 && top >= 0 && left >= 0 && top + height <= hw.first &&
                  left + width <= hw.second,
              "crop: window (top ", top, ", left ", left, ", ", height, "x", width, ") does not fit in ", hw.first,
              "x", hw.second);
  for (auto& [key, t] : sample.tensors) {
    if (is_landmark_key(key)) {
      check_landmarks(key, t);
      torch::Tensor out = t.clone();
      out.select(1, 0).sub_(static_cast<double>(left));
      out.select(1, 1).sub_(static_cast<double>(top));
      t = out;
    } else if (is_image_like(key, t, hw)) {
      t = t.narrow(-2, top, height).narrow(-1, left, width).contiguous();
    }
  }
  return sample;
}

Sample adjust_color(Sample sample, double brightness, double contrast, double saturation) {
  auto it = sample.tensors.find("image");
  if (it == sample.tensors.end() || (brightness == 1.0 && contrast == 1.0 && saturation == 1.0)) return sample;
  const torch::Tensor& image = it->second;
  TORCH_CHECK(image.dim() == 3 && image.size(0) == 3 && image.is_floating_point(),
              "adjust_color: 'image' must be float [3, H, W], got ", image.sizes());
  torch::Tensor x = image.add(1.0).mul_(0.5);  // [0, 1]
  auto grey = [](const torch::Tensor& rgb) {
    return (rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114).unsqueeze(0);
  };
  if (brightness != 1.0) x = x.mul(brightness).clamp_(0.0, 1.0);
  if (contrast != 1.0) x = (x * contrast + grey(x).mean() * (1.0 - contrast)).clamp_(0.0, 1.0);
  if (saturation != 1.0) x = (x * saturation + grey(x) * (1.0 - saturation)).clamp_(0.0, 1.0);
  it->second = x.mul(2.0).sub_(1.0).clamp_(-1.0, 1.0).contiguous();
  return sample;
}

RandomHorizontalFlip::RandomHorizontalFlip(RandomHorizontalFlipOptions opts) : options(opts) {
  if (!(options.probability() >= 0.0 && options.probability() <= 1.0)) {
    throw ConfigError("random_horizontal_flip.probability must be in [0, 1], got " +
                      std::to_string(options.probability()));
  }
}

Sample RandomHorizontalFlip::operator()(Sample sample, std::mt19937_64& rng) const {
  const bool flip = uniform_real(rng, 0.0, 1.0) < options.probability();
  return flip ? hflip(std::move(sample)) : sample;
}

RandomCrop::RandomCrop(RandomCropOptions opts) : options(opts) {
  if (options.height() <= 0 || options.width() <= 0) {
    throw ConfigError("random_crop: height and width must be positive, got " + std::to_string(options.height()) +
                      "x" + std::to_string(options.width()));
  }
}

Sample RandomCrop::operator()(Sample sample, std::mt19937_64& rng) const {
  const auto hw = spatial_size(sample);
  TORCH_CHECK(hw.first >= options.height() && hw.second >= options.width(), "random_crop: ", options.height(), "x",
              options.width(), " does not fit in a ", hw.first, "x", hw.second, " sample");
  const int64_t top = uniform_int(rng, 0, hw.first - options.height());
  const int64_t left = uniform_int(rng, 0, hw.second - options.width());
  return crop(std::move(sample), top, left, options.height(), options.width());
}

ColorJitter::ColorJitter(ColorJitterOptions opts) : options(opts) {
  for (auto [name, v] : {std::pair<const char*, double>{"brightness", options.brightness()},
                         {"contrast", options.contrast()},
                         {"saturation", options.saturation()}}) {
    if (!(v >= 0.0)) throw ConfigError(std::string("color_jitter.") + name + " must be >= 0, got " + std::to_string(v));
  }
}

Sample ColorJitter::operator()(Sample sample, std::mt19937_64& rng) const {
  auto factor = [&](double x) { return uniform_real(rng, std::max(0.0, 1.0 - x), 1.0 + x); };
  const double b = factor(options.brightness());
  const double c = factor(options.contrast());
  const double s = factor(options.saturation());
  return adjust_color(std::move(sample), b, c, s);
}

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {}

Compose& Compose::add(Transform transform) {
  transforms_.push_back(std::move(transform));
  return *this;
}

Sample Compose::operator()(Sample sample, std::mt19937_64& rng) const {
  for (const auto& t : transforms_) sample = t(std::move(sample), rng);
  return sample;
}

Transform transform_from_json(const json& spec, const std::string& where) {
  if (spec.is_array()) {
    Compose compose;
    for (size_t i = 0; i < spec.size(); ++i) compose.add(transform_from_json(spec[i], where + "[" + std::to_string(i) + "]"));
    return compose;
  }
  if (!spec.is_object() || !spec.contains("type") || !spec.at("type").is_string()) {
    throw ConfigError(where + ": a transform is an object with a string \"type\" (random_horizontal_flip, "
                              "random_crop, color_jitter), or an array of them");
  }
  const std::string type = spec.at("type").get<std::string>();
  json options = spec;
  options.erase("type");
  if (type == "random_horizontal_flip") {
    return RandomHorizontalFlip(apply_json(RandomHorizontalFlipOptions(), options, where));
  }
  if (type == "random_crop") return RandomCrop(apply_json(RandomCropOptions(), options, where));
  if (type == "color_jitter") return ColorJitter(apply_json(ColorJitterOptions(), options, where));
  throw ConfigError(where + ": unknown transform '" + type +
                    "'; known: color_jitter, random_crop, random_horizontal_flip");
}

}  // namespace facegan::data
