#pragma once

#include <facegan/models/blocks/layers.hpp>

#include <vector>

namespace facegan::models {

/// Options of PatchDiscriminator (pix2pix's NLayerDiscriminator; num_layers 3 = the 70x70 PatchGAN).
struct PatchDiscriminatorOptions {
  explicit PatchDiscriminatorOptions(int64_t in_channels = 3) : in_channels_(in_channels) {}
  /// Conditional discriminators see (input, output) pairs: in_channels is their sum.
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, base_channels) = 64;
  TORCH_ARG(int64_t, num_layers) = 3;
  TORCH_ARG(Norm, norm) = Norm::kBatch;

 public:
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("base_channels", base_channels_);
    v("num_layers", num_layers_);
    v("norm", norm_);
  }
};

/// Logits and the activations that produced them.
struct DiscriminatorFeatures {
  /// [N, 1, h, w]: one logit per receptive-field patch (use the `_with_logits` losses).
  torch::Tensor logits;
  /// Output of every stage before the logit layer, shallow to deep (feature-matching losses read them).
  std::vector<torch::Tensor> features;
};

/// PatchGAN discriminator (Isola et al. 2017): classifies each overlapping patch as real or fake.
/// Children: "stages" (ConvBlock list; the last one emits the logits).
class PatchDiscriminatorImpl : public torch::nn::Cloneable<PatchDiscriminatorImpl> {
 public:
  explicit PatchDiscriminatorImpl(PatchDiscriminatorOptions options = PatchDiscriminatorOptions());
  void reset() override;
  /// x: [N, in_channels, H, W] -> logits [N, 1, h, w]; 256x256 gives 30x30 at num_layers 3.
  torch::Tensor forward(const torch::Tensor& x);
  /// forward() that also returns the intermediate activations.
  DiscriminatorFeatures forward_features(const torch::Tensor& x);

  PatchDiscriminatorOptions options;

 private:
  torch::nn::ModuleList stages_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

/// Options of MultiScaleDiscriminator: one PatchGAN per scale (Wang et al. 2018, pix2pixHD).
struct MultiScaleDiscriminatorOptions {
  explicit MultiScaleDiscriminatorOptions(int64_t in_channels = 3) : patch_(in_channels) {}
  TORCH_ARG(PatchDiscriminatorOptions, patch);
  TORCH_ARG(int64_t, num_scales) = 2;

 public:
  template <class V>
  void visit(V& v) {
    v("patch", patch_);
    v("num_scales", num_scales_);
  }
};

/// PatchGANs on the input and on 2x, 4x, ... average-pooled copies, so that coarse structure and
/// fine texture are both judged. Children: "scales" (PatchDiscriminator list, index = scale).
class MultiScaleDiscriminatorImpl : public torch::nn::Cloneable<MultiScaleDiscriminatorImpl> {
 public:
  explicit MultiScaleDiscriminatorImpl(MultiScaleDiscriminatorOptions options = MultiScaleDiscriminatorOptions());
  void reset() override;
  /// x: [N, C, H, W] -> logits per scale, finest first: [N, 1, h / 2^s, w / 2^s] approximately.
  std::vector<torch::Tensor> forward(const torch::Tensor& x);
  /// Logits and activations per scale.
  std::vector<DiscriminatorFeatures> forward_features(const torch::Tensor& x);

  MultiScaleDiscriminatorOptions options;

 private:
  torch::nn::ModuleList scales_{nullptr};
};
TORCH_MODULE(MultiScaleDiscriminator);

}  // namespace facegan::models
