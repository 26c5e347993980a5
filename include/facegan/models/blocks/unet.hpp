#pragma once

#include <facegan/models/blocks/layers.hpp>

#include <vector>

namespace facegan::models {

/// Options of UNetGenerator, the pix2pix generator (Isola et al. 2017, `unet_256` at depth 8).
struct UNetGeneratorOptions {
  UNetGeneratorOptions(int64_t in_channels = 3, int64_t out_channels = 3)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Number of stride-2 levels (pix2pix's num_downs); inputs must be divisible by 2^depth.
  TORCH_ARG(int64_t, depth) = 8;
  /// Channels of the outermost level (pix2pix's ngf).
  TORCH_ARG(int64_t, base_channels) = 64;
  /// Channels stop doubling at base_channels * max_multiplier.
  TORCH_ARG(int64_t, max_multiplier) = 8;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  /// Dropout in the decoder levels whose both sides have the widest channel count (pix2pix: 0.5,
  /// its only source of noise).
  TORCH_ARG(double, dropout) = 0.0;
  /// Extra conditioning channels concatenated to the input ([N, C] maps are broadcast over H, W).
  TORCH_ARG(int64_t, cond_channels) = 0;
  TORCH_ARG(Activation, output_activation) = Activation::kTanh;
  /// > 0: a residual generator, output = clamp(x + residual_scale * tanh(U(x)), -1, 1) (needs
  /// in_channels == out_channels and the tanh output). With the output layer zero-initialised
  /// (zero_output_layer) it starts as the identity and learns the change alone: DeRL's
  /// de-expression generator then spends its layers on the expression, not on redrawing the face,
  /// and its decoder holds the residue. 0 = pix2pix's plain generator.
  TORCH_ARG(double, residual_scale) = 0.0;

 public:
  /// Channels of level `i` (0 = outermost): base_channels * min(2^i, max_multiplier).
  int64_t level_channels(int64_t i) const;
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("out_channels", out_channels_);
    v("depth", depth_);
    v("base_channels", base_channels_);
    v("max_multiplier", max_multiplier_);
    v("norm", norm_);
    v("dropout", dropout_);
    v("cond_channels", cond_channels_);
    v("output_activation", output_activation_);
    v("residual_scale", residual_scale_);
  }
};

/// Output of UNetGenerator::forward_features.
struct UNetFeatures {
  /// [N, out_channels, H, W] (for a residual generator: x + residual_scale * residue, clamped).
  torch::Tensor output;
  /// encoder[i]: output of encoder level i, [N, level_channels(i), H / 2^(i+1), W / 2^(i+1)], i < depth.
  std::vector<torch::Tensor> encoder;
  /// decoder[i]: output of decoder level i + 1, at the resolution of encoder[i], for i < depth - 1;
  /// encoder[i] and decoder[i] are the skip pair of that resolution (DeRL concatenates them).
  std::vector<torch::Tensor> decoder;
};

/// Encoder-decoder with skip connections between mirrored levels, laid out flat (not pix2pix's
/// recursion) so that every level's activation can be read; parameter count and function equal the
/// reference. Children: "down" and "up" (ConvBlock lists, index = level).
class UNetGeneratorImpl : public torch::nn::Cloneable<UNetGeneratorImpl> {
 public:
  explicit UNetGeneratorImpl(UNetGeneratorOptions options = UNetGeneratorOptions());
  void reset() override;
  /// x: [N, in_channels, H, W], cond: [N, cond_channels] or [N, cond_channels, H, W] (or undefined
  /// when cond_channels = 0) -> [N, out_channels, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond = {});
  /// forward() that also returns every level's activation.
  UNetFeatures forward_features(const torch::Tensor& x, const torch::Tensor& cond = {});
  /// Sets the outermost up-convolution's weight and bias to 0: a residual generator then returns
  /// its input exactly. Call after weight initialisation.
  void zero_output_layer();

  UNetGeneratorOptions options;

 private:
  UNetFeatures run(const torch::Tensor& x, const torch::Tensor& cond, bool keep_features);
  torch::nn::ModuleList down_{nullptr}, up_{nullptr};
};
TORCH_MODULE(UNetGenerator);

}  // namespace facegan::models
