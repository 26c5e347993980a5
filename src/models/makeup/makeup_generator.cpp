#include <facegan/core/error.hpp>
#include <facegan/models/makeup/makeup_generator.hpp>

#include <algorithm>

namespace facegan::models {
namespace F = torch::nn::functional;

namespace {

std::vector<int64_t> landmark_ids(data::FaceArea area) {
  std::vector<int64_t> ids;
  switch (area) {
    case data::FaceArea::kEyes:
      for (int64_t i = 17; i <= 26; ++i) ids.push_back(i);
      for (int64_t i = 36; i <= 47; ++i) ids.push_back(i);
      break;
    case data::FaceArea::kLips:
      for (int64_t i = 48; i <= 67; ++i) ids.push_back(i);
      break;
    case data::FaceArea::kSkin:
      for (int64_t i = 0; i < 68; ++i) ids.push_back(i);
      break;
  }
  return ids;
}

/// theta of affine_grid (align_corners = false) mapping the output's [-1, 1] onto the boxes.
torch::Tensor box_theta(const torch::Tensor& boxes, int64_t height, int64_t width) {
  const torch::Tensor x0 = boxes.select(1, 0), y0 = boxes.select(1, 1), x1 = boxes.select(1, 2), y1 = boxes.select(1, 3);
  const torch::Tensor a = (x1 - x0) / static_cast<double>(width), b = (x0 + x1) / static_cast<double>(width) - 1;
  const torch::Tensor c = (y1 - y0) / static_cast<double>(height), d = (y0 + y1) / static_cast<double>(height) - 1;
  const torch::Tensor z = torch::zeros_like(a);
  return torch::stack({torch::stack({a, z, b}, 1), torch::stack({z, c, d}, 1)}, 1);
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& warped, const torch::Tensor& areas, const torch::Tensor& landmarks) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "MakeupGenerator: x must be [N, 3, H, W], got ", x.sizes());
  TORCH_CHECK(warped.sizes() == x.sizes(), "MakeupGenerator: warped must have x's shape ", x.sizes(), ", got ", warped.sizes());
  TORCH_CHECK(areas.dim() == 4 && areas.size(0) == x.size(0) && areas.size(1) == data::kNumFaceAreas && areas.size(2) == x.size(2) &&
                  areas.size(3) == x.size(3),
              "MakeupGenerator: areas must be [N, 3, H, W] matching x, got ", areas.sizes());
  TORCH_CHECK(landmarks.dim() == 3 && landmarks.size(0) == x.size(0) && landmarks.size(1) == 68 && landmarks.size(2) == 2,
              "MakeupGenerator: landmarks must be [N, 68, 2], got ", landmarks.sizes());
}

}  // namespace

torch::Tensor area_boxes(const torch::Tensor& landmarks, data::FaceArea area, double padding) {
  TORCH_CHECK(landmarks.dim() == 3 && landmarks.size(1) == 68 && landmarks.size(2) == 2, "area_boxes: landmarks must be [N, 68, 2], got ",
              landmarks.sizes());
  const auto ids = landmark_ids(area);
  const torch::Tensor idx = torch::tensor(ids, torch::TensorOptions().dtype(torch::kInt64).device(landmarks.device()));
  // Pixel centres sit at integers; +0.5 gives the continuous (edge) coordinates of the boxes.
  const torch::Tensor p = landmarks.to(torch::kFloat32).index_select(1, idx) + 0.5;
  const torch::Tensor lo = std::get<0>(p.min(1)), hi = std::get<0>(p.max(1));  // [N, 2]
  const torch::Tensor centre = (lo + hi) / 2;
  const torch::Tensor side = std::get<0>((hi - lo).max(1, true)).clamp_min(2.0) * (1 + 2 * padding);  // [N, 1]
  return torch::cat({centre - side / 2, centre + side / 2}, 1);
}

torch::Tensor crop_boxes(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size) {
  TORCH_CHECK(images.dim() == 4 && boxes.dim() == 2 && boxes.size(0) == images.size(0) && boxes.size(1) == 4,
              "crop_boxes: images [N, C, H, W] and boxes [N, 4] expected, got ", images.sizes(), " and ", boxes.sizes());
  TORCH_CHECK(size > 0, "crop_boxes: size must be > 0, got ", size);
  const torch::Tensor theta = box_theta(boxes.to(images.dtype()), images.size(2), images.size(3));
  const torch::Tensor grid = F::affine_grid(theta, {images.size(0), images.size(1), size, size}, false);
  return F::grid_sample(images, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

torch::Tensor paste_boxes(const torch::Tensor& crops, const torch::Tensor& boxes, int64_t height, int64_t width) {
  TORCH_CHECK(crops.dim() == 4 && boxes.dim() == 2 && boxes.size(0) == crops.size(0) && boxes.size(1) == 4,
              "paste_boxes: crops [N, C, s, s] and boxes [N, 4] expected, got ", crops.sizes(), " and ", boxes.sizes());
  const torch::Tensor t = box_theta(boxes.to(crops.dtype()), height, width);
  // Inverse of u -> a u + b per axis: x -> (x - b) / a.
  const torch::Tensor a = t.select(1, 0).select(1, 0), b = t.select(1, 0).select(1, 2);
  const torch::Tensor c = t.select(1, 1).select(1, 1), d = t.select(1, 1).select(1, 2);
  const torch::Tensor z = torch::zeros_like(a);
  const torch::Tensor inv = torch::stack({torch::stack({1 / a, z, -b / a}, 1), torch::stack({z, 1 / c, -d / c}, 1)}, 1);
  const torch::Tensor grid = F::affine_grid(inv, {crops.size(0), crops.size(1), height, width}, false);
  return F::grid_sample(crops, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

std::vector<int64_t> area_indices(const std::vector<std::string>& names, const std::string& where) {
  std::vector<int64_t> out;
  for (const std::string& n : names) {
    auto it = std::find(data::kFaceAreaNames.begin(), data::kFaceAreaNames.end(), n);
    if (it == data::kFaceAreaNames.end()) {
      throw ConfigError(where + ": unknown region '" + n + "' (known: eyes, lips, skin)");
    }
    const int64_t i = it - data::kFaceAreaNames.begin();
    if (std::find(out.begin(), out.end(), i) != out.end()) throw ConfigError(where + ": region '" + n + "' listed twice");
    out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

MakeupGeneratorImpl::MakeupGeneratorImpl(MakeupGeneratorOptions options_) : options(std::move(options_)) { reset(); }

void MakeupGeneratorImpl::reset() {
  areas_ = area_indices(options.regions, "makeup.generator.regions");
  if (areas_.empty()) throw ConfigError("makeup.generator.regions: choose at least one of eyes, lips, skin");
  if (!options.per_region && !options.use_global) {
    throw ConfigError("makeup.generator: per_region and use_global are both false (no path left)");
  }
  if (options.crop_size < 8) throw ConfigError("makeup.generator.crop_size: must be >= 8, got " + std::to_string(options.crop_size));
  if (!(options.box_padding >= 0)) throw ConfigError("makeup.generator.box_padding: must be >= 0");
  if (!(options.delta_scale > 0)) throw ConfigError("makeup.generator.delta_scale: must be > 0");
  // The channel layout is the generator's, not the user's: x, then W(x, y) and the mask(s).
  options.global.in_channels(3).out_channels(3).cond_channels(6);
  options.region.in_channels(3).out_channels(3).cond_channels(4);
  if (options.crop_size % (int64_t{1} << options.region.depth()) != 0) {
    throw ConfigError("makeup.generator.crop_size: " + std::to_string(options.crop_size) + " is not divisible by 2^region.depth = " +
                      std::to_string(int64_t{1} << options.region.depth()));
  }
  region_.clear();
  if (options.use_global) global_ = register_module("global_path", UNetGenerator(options.global));
  if (options.per_region) {
    for (int64_t a : areas_) {
      region_.push_back(register_module(std::string("region_") + data::kFaceAreaNames[static_cast<size_t>(a)], UNetGenerator(options.region)));
    }
  }
}

torch::Tensor MakeupGeneratorImpl::deltas(const torch::Tensor& x, const torch::Tensor& warped, const torch::Tensor& areas,
                                          const torch::Tensor& landmarks) {
  check_inputs(x, warped, areas, landmarks);
  const int64_t h = x.size(2), w = x.size(3);
  const torch::Tensor m = areas.to(x.dtype());
  torch::Tensor global;
  if (options.use_global) global = options.delta_scale * global_->forward(x, torch::cat({warped, m}, 1));
  std::vector<torch::Tensor> out(data::kNumFaceAreas);
  for (size_t k = 0; k < areas_.size(); ++k) {
    const int64_t a = areas_[k];
    const torch::Tensor mk = m.narrow(1, a, 1);
    torch::Tensor d = global.defined() ? global : torch::Tensor();
    if (options.per_region) {
      const torch::Tensor boxes = area_boxes(landmarks, static_cast<data::FaceArea>(a), options.box_padding);
      const int64_t s = options.crop_size;
      const torch::Tensor cx = crop_boxes(x, boxes, s);
      const torch::Tensor cond = crop_boxes(torch::cat({warped, mk}, 1), boxes, s);
      const torch::Tensor r = paste_boxes(options.delta_scale * region_[k]->forward(cx, cond), boxes, h, w);
      d = d.defined() ? d + r : r;
    }
    out[static_cast<size_t>(a)] = mk * d;
  }
  for (auto& t : out) {
    if (!t.defined()) t = torch::zeros_like(x);
  }
  return torch::stack(out, 1);
}

void zero_unet_output(UNetGenerator& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.key().rfind("up.0.", 0) == 0) p.value().zero_();
  }
}

void MakeupGeneratorImpl::zero_outputs() {
  if (!global_.is_empty()) zero_unet_output(global_);
  for (auto& r : region_) zero_unet_output(r);
}

torch::Tensor MakeupGeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& warped, const torch::Tensor& areas,
                                           const torch::Tensor& landmarks) {
  return (x + deltas(x, warped, areas, landmarks).sum(1)).clamp(-1, 1);
}

torch::Tensor compose_makeup(const torch::Tensor& x, const torch::Tensor& deltas, const std::vector<int64_t>& chosen, double intensity) {
  TORCH_CHECK(intensity >= 0.0 && intensity <= 1.0, "compose_makeup: intensity must be in [0, 1], got ", intensity);
  TORCH_CHECK(deltas.dim() == 5 && deltas.size(1) == data::kNumFaceAreas, "compose_makeup: deltas must be [N, 3, 3, H, W], got ",
              deltas.sizes());
  if (intensity == 0.0 || chosen.empty()) return x.clone();
  torch::Tensor sum = torch::zeros_like(x);
  for (int64_t a : chosen) {
    TORCH_CHECK(a >= 0 && a < data::kNumFaceAreas, "compose_makeup: area index ", a, " out of range");
    sum = sum + deltas.select(1, a);
  }
  return (x + intensity * sum).clamp(-1, 1);
}

torch::Tensor remove_makeup(UNetGenerator& remover, const torch::Tensor& y, const torch::Tensor& areas, double delta_scale) {
  TORCH_CHECK(y.dim() == 4 && y.size(1) == 3, "remove_makeup: y must be [N, 3, H, W], got ", y.sizes());
  TORCH_CHECK(areas.dim() == 4 && areas.size(1) == data::kNumFaceAreas && areas.size(0) == y.size(0),
              "remove_makeup: areas must be [N, 3, H, W], got ", areas.sizes());
  const torch::Tensor m = areas.to(y.dtype());
  const torch::Tensor any = std::get<0>(m.max(1, true));
  return (y + any * delta_scale * remover->forward(y, m)).clamp(-1, 1);
}

}  // namespace facegan::models
