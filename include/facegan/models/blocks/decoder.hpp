#pragma once

#include <facegan/models/blocks/layers.hpp>

namespace facegan::models {

/// Options of ConvDecoder: a linear layer to a [C, start_size, start_size] map, stride-2 transposed
/// convolutions up to the image size, and a 3x3 tanh head.
struct ConvDecoderOptions {
  explicit ConvDecoderOptions(int64_t in_dim = 256) : in_dim_(in_dim) {}
  /// Size of the input vector.
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, out_channels) = 3;
  /// Side of the output image; image_size / start_size must be a power of two >= 1.
  TORCH_ARG(int64_t, image_size) = 64;
  /// Side of the first feature map (the linear layer's output).
  TORCH_ARG(int64_t, start_size) = 4;
  /// Channels at full resolution; they double per halving of the resolution up to max_channels.
  TORCH_ARG(int64_t, base_channels) = 32;
  TORCH_ARG(int64_t, max_channels) = 256;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  /// Optional spatial input: a map [N, skip_in_channels, skip_size, skip_size] projected by a 1x1
  /// convolution to skip_channels and concatenated to the features of that side (0 = none).
  TORCH_ARG(int64_t, skip_size) = 0;
  TORCH_ARG(int64_t, skip_in_channels) = 0;
  TORCH_ARG(int64_t, skip_channels) = 0;

 public:
  /// Number of stride-2 upsampling stages (log2(image_size / start_size)).
  int64_t num_stages() const;
  /// Channels of the feature map at side `size`.
  int64_t channels_at(int64_t size) const;
  template <class V>
  void visit(V& v) {
    v("in_dim", in_dim_);
    v("out_channels", out_channels_);
    v("image_size", image_size_);
    v("start_size", start_size_);
    v("base_channels", base_channels_);
    v("max_channels", max_channels_);
    v("norm", norm_);
    v("skip_size", skip_size_);
    v("skip_in_channels", skip_in_channels_);
    v("skip_channels", skip_channels_);
  }
};

/// Vector to image (DCGAN-style generator; Bao et al.'s G decoding [f_I, z_a]).
/// Children: "fc" (Linear), "stages" (ConvBlock list: 4x4 stride-2 transposed convolution, norm,
/// ReLU), "head" (3x3 convolution, tanh), and "skip" (1x1 convolution) when skip_size > 0.
class ConvDecoderImpl : public torch::nn::Cloneable<ConvDecoderImpl> {
 public:
  explicit ConvDecoderImpl(ConvDecoderOptions options = ConvDecoderOptions());
  void reset() override;
  /// z: [N, in_dim] (and skip [N, skip_in_channels, skip_size, skip_size] when skip_size > 0)
  /// -> [N, out_channels, image_size, image_size] in (-1, 1).
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& skip = {});

  ConvDecoderOptions options;

 private:
  torch::nn::Linear fc_{nullptr};
  torch::nn::ModuleList stages_{nullptr};
  ConvBlock head_{nullptr};
  torch::nn::Conv2d skip_{nullptr};
};
TORCH_MODULE(ConvDecoder);

}  // namespace facegan::models
