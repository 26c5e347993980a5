#pragma once
// PairedCycleGAN's networks (Chang et al. 2018): the transfer generator G(x, y) and the removal
// network F(y). G is residual and region-wise: per makeup area (eyes, lips, skin) a small U-Net sees
// a landmark-aligned crop of the source x and of the reference warped onto x's geometry, W(x, y);
// its output is pasted back (affine_grid / grid_sample, differentiable and device-generic) and
// masked by the area, plus a global U-Net on the whole image; output = x + sum of masked deltas,
// so pixels outside every chosen area stay exactly x.

#include <facegan/core/config.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/models/blocks/unet.hpp>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace facegan::models {

/// Crop boxes of a makeup area from landmarks: float [N, 4] (x0, y0, x1, y1) in continuous pixel
/// coordinates (pixel i spans [i, i + 1]). The box bounds the area's landmarks (eyes: brows and
/// eyes 17-26, 36-47; lips: 48-67; skin: all 68), is made square about its centre and grown by
/// `padding` times its side on every side. landmarks: [N, 68, 2].
torch::Tensor area_boxes(const torch::Tensor& landmarks, data::FaceArea area, double padding);

/// Crops boxes [N, 4] out of images [N, C, H, W] resized to size x size (bilinear, border
/// padding) -> [N, C, size, size]; differentiable in the images.
torch::Tensor crop_boxes(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size);

/// Inverse of crop_boxes: crops [N, C, s, s] placed back into their boxes on an [N, C, H, W]
/// canvas of zeros (bilinear); differentiable in the crops.
torch::Tensor paste_boxes(const torch::Tensor& crops, const torch::Tensor& boxes, int64_t height, int64_t width);

/// Options of MakeupGenerator.
struct MakeupGeneratorOptions {
  /// The global path: x (3 channels) conditioned on W(x, y) and the 3 area masks (cond_channels 6).
  UNetGeneratorOptions global =
      UNetGeneratorOptions(3, 3).depth(6).base_channels(32).norm(Norm::kInstance).cond_channels(6);
  /// Each area's path on crops: x's crop conditioned on W(x, y)'s crop and the area mask's crop
  /// (cond_channels 4). in/out/cond channels are fixed; depth must fit crop_size.
  UNetGeneratorOptions region =
      UNetGeneratorOptions(3, 3).depth(5).base_channels(32).norm(Norm::kInstance).cond_channels(4);
  /// Side of the square crops the region paths see.
  int64_t crop_size = 32;
  /// Box growth on each side as a fraction of its side.
  double box_padding = 0.15;
  /// The areas G handles (a subset of "eyes", "lips", "skin"); the others stay x.
  std::vector<std::string> regions{"eyes", "lips", "skin"};
  /// Per-region path on/off (off: the global path alone, the "no per-region" ablation).
  bool per_region = true;
  /// Global path on/off (at least one of the two paths must be on).
  bool use_global = true;
  /// Deltas are delta_scale * tanh(.), so that an output can reach any value in [-1, 1] from any x.
  double delta_scale = 2.0;
  /// Zero the output layer of every delta path (G's and F's) after weight init, so that G and F
  /// start as the identity (the "return x" baseline) and training moves them only where it helps.
  /// Not in the paper: on a short schedule random initial deltas cost more than they teach.
  bool zero_init = true;

  template <class V>
  void visit(V& v) {
    v("global", global);
    v("region", region);
    v("crop_size", crop_size);
    v("box_padding", box_padding);
    v("regions", regions);
    v("per_region", per_region);
    v("use_global", use_global);
    v("delta_scale", delta_scale);
    v("zero_init", zero_init);
  }
};

/// Area indices (data::FaceArea) of config names; ConfigError naming `where` and the bad name.
std::vector<int64_t> area_indices(const std::vector<std::string>& names, const std::string& where);

/// The transfer generator G(x, y). Children: "global_path" (UNetGenerator, when use_global; not "global", a Python keyword the TorchScript archive cannot hold) and
/// "region_<name>" per configured area (UNetGenerator, when per_region).
class MakeupGeneratorImpl : public torch::nn::Cloneable<MakeupGeneratorImpl> {
 public:
  explicit MakeupGeneratorImpl(MakeupGeneratorOptions options = MakeupGeneratorOptions());
  void reset() override;
  /// Each area's masked delta: x [N, 3, H, W] in [-1, 1], warped = W(x, y) [N, 3, H, W], areas
  /// [N, 3, H, W] (0/1 eyes, lips, skin of x), landmarks [N, 68, 2] of x -> [N, 3 (area), 3, H, W],
  /// zero for areas not configured. Since the areas are disjoint, x + the sum over areas is G(x, y).
  torch::Tensor deltas(const torch::Tensor& x, const torch::Tensor& warped, const torch::Tensor& areas,
                       const torch::Tensor& landmarks);
  /// G(x, y) = clamp(x + sum of the areas' deltas, -1, 1): [N, 3, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& warped, const torch::Tensor& areas,
                        const torch::Tensor& landmarks);
  /// Zeroes the output layer of every path (see MakeupGeneratorOptions::zero_init).
  void zero_outputs();
  MakeupGeneratorOptions options;

 private:
  std::vector<int64_t> areas_;
  UNetGenerator global_{nullptr};
  std::vector<UNetGenerator> region_;  // indexed like areas_ (empty when per_region is off)
};
TORCH_MODULE(MakeupGenerator);

/// Zeroes the parameters of a U-Net's outermost decoder block ("up.0"): with a tanh output the
/// network then returns exactly 0 until trained.
void zero_unet_output(UNetGenerator& net);

/// x + intensity * (sum of the chosen areas' deltas), clamped to [-1, 1]. deltas: MakeupGenerator::
/// deltas' [N, 3, 3, H, W]; chosen: area indices; intensity in [0, 1] (0 returns x exactly).
torch::Tensor compose_makeup(const torch::Tensor& x, const torch::Tensor& deltas, const std::vector<int64_t>& chosen,
                             double intensity);

/// F(y) = clamp(y + m * delta_scale * F_net(y | areas), -1, 1) with m the union of y's areas: the
/// removal network is residual too (outside the makeup areas it returns y). remover: a U-Net with
/// 3 in/out channels and cond_channels 3; areas [N, 3, H, W].
torch::Tensor remove_makeup(UNetGenerator& remover, const torch::Tensor& y, const torch::Tensor& areas, double delta_scale = 2.0);

}  // namespace facegan::models
