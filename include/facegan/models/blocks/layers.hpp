#pragma once

#include <facegan/core/config.hpp>

#include <torch/torch.h>

#include <array>
#include <utility>

namespace facegan::models {

/// Normalisation after a convolution. Instance norm follows pix2pix/CycleGAN: no affine
/// parameters and no running statistics, so it adds nothing to the parameter count.
enum class Norm { kBatch, kInstance, kNone };

/// Non-linearity of a block. Leaky ReLU uses the block's negative slope (0.2 by default).
enum class Activation { kReLU, kLeakyReLU, kTanh, kSigmoid, kNone };

/// How a convolution pads its input. Reflection avoids border artefacts in generators.
enum class Padding { kZeros, kReflect };

/// Builds the normalisation layer for `channels` feature maps; an empty AnyModule for kNone.
torch::nn::AnyModule make_norm(Norm norm, int64_t channels);

/// Builds the activation; an empty AnyModule for kNone. `inplace` (ReLU, leaky ReLU) overwrites
/// the input: only for inputs nothing else holds or needs for backward.
torch::nn::AnyModule make_activation(Activation activation, double negative_slope = 0.2, bool inplace = false);

/// pix2pix's rule: a convolution followed by batch norm needs no bias (the norm's shift replaces
/// it); instance norm without affine parameters, or no norm, keeps the bias.
inline bool conv_bias_for(Norm norm) { return norm != Norm::kBatch; }

/// Options of ConvBlock: pre-activation, convolution (or transposed convolution), norm,
/// activation, dropout, in that order.
struct ConvBlockOptions {
  ConvBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  /// 4x4 stride-2 convolution halving H and W (pix2pix encoder step), leaky ReLU after.
  static ConvBlockOptions down(int64_t in_channels, int64_t out_channels);
  /// 4x4 stride-2 transposed convolution doubling H and W (pix2pix decoder step), ReLU before.
  static ConvBlockOptions up(int64_t in_channels, int64_t out_channels);

  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size) = 3;
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 1;
  TORCH_ARG(Padding, padding_mode) = Padding::kZeros;
  /// Transposed convolution (upsampling by `stride`); `output_padding` resolves its size ambiguity.
  TORCH_ARG(bool, transposed) = false;
  TORCH_ARG(int64_t, output_padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  /// Applied to the input before the convolution (pix2pix's U-Net is pre-activated).
  TORCH_ARG(Activation, pre_activation) = Activation::kNone;
  /// The pre-activation may overwrite the input: only for callers that hand over a tensor nobody
  /// else reads (the U-Net decoder's fresh skip concatenation); saves one feature map per call.
  TORCH_ARG(bool, pre_activation_inplace) = false;
  TORCH_ARG(Activation, activation) = Activation::kReLU;
  TORCH_ARG(double, negative_slope) = 0.2;
  TORCH_ARG(double, dropout) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("out_channels", out_channels_);
    v("kernel_size", kernel_size_);
    v("stride", stride_);
    v("padding", padding_);
    v("padding_mode", padding_mode_);
    v("transposed", transposed_);
    v("output_padding", output_padding_);
    v("bias", bias_);
    v("norm", norm_);
    v("pre_activation", pre_activation_);
    v("pre_activation_inplace", pre_activation_inplace_);
    v("activation", activation_);
    v("negative_slope", negative_slope_);
    v("dropout", dropout_);
  }
};

/// The unit every network here is built of: [act] -> conv -> [norm] -> [act] -> [dropout].
/// Children: "conv", and when present "pre_act", "norm", "act", "dropout".
class ConvBlockImpl : public torch::nn::Cloneable<ConvBlockImpl> {
 public:
  explicit ConvBlockImpl(ConvBlockOptions options);
  void reset() override;
  /// x: [N, in_channels, H, W] -> [N, out_channels, H', W'] with H' set by kernel, stride, padding.
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  ConvBlockOptions options;

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::ConvTranspose2d deconv_{nullptr};
  torch::nn::AnyModule pre_act_, norm_, act_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ConvBlock);

/// Options of ResidualBlock. Defaults give a ResNet basic block; CycleGAN's block is
/// `padding_mode(kReflect).post_activation(false)`.
struct ResidualBlockOptions {
  ResidualBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  explicit ResidualBlockOptions(int64_t channels) : ResidualBlockOptions(channels, channels) {}

  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Stride of the first convolution; with stride 2 the block halves H and W.
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  TORCH_ARG(Padding, padding_mode) = Padding::kZeros;
  TORCH_ARG(Activation, activation) = Activation::kReLU;
  /// Activation after the sum (ResNet) or not (CycleGAN).
  TORCH_ARG(bool, post_activation) = true;
  /// Dropout between the two convolutions (CycleGAN's `use_dropout`).
  TORCH_ARG(double, dropout) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("out_channels", out_channels_);
    v("stride", stride_);
    v("norm", norm_);
    v("padding_mode", padding_mode_);
    v("activation", activation_);
    v("post_activation", post_activation_);
    v("dropout", dropout_);
  }
};

/// y = act(conv2(conv1(x)) + shortcut(x)) (He et al. 2016). The shortcut is a 1x1 convolution with
/// norm when the stride or the channel count changes, the identity otherwise.
/// Children: "conv1", "conv2", and "shortcut" when needed.
class ResidualBlockImpl : public torch::nn::Cloneable<ResidualBlockImpl> {
 public:
  explicit ResidualBlockImpl(ResidualBlockOptions options);
  void reset() override;
  /// x: [N, in_channels, H, W] -> [N, out_channels, H / stride, W / stride].
  torch::Tensor forward(const torch::Tensor& x);

  ResidualBlockOptions options;

 private:
  ConvBlock conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  torch::nn::AnyModule act_;
};
TORCH_MODULE(ResidualBlock);

/// Total number of scalar parameters of a module (the figure reference implementations print).
int64_t count_parameters(const torch::nn::Module& module);

/// Sets requires_grad on every parameter of `module`: freezes a discriminator during its
/// generator's step (pix2pix, Bao et al., PairedCycleGAN) or a pretrained network for good (DeRL).
void set_requires_grad(torch::nn::Module& module, bool value);

}  // namespace facegan::models

namespace facegan {
template <>
struct EnumNames<models::Norm> {
  static constexpr std::array<std::pair<models::Norm, const char*>, 3> values{
      {{models::Norm::kBatch, "batch"}, {models::Norm::kInstance, "instance"}, {models::Norm::kNone, "none"}}};
};
template <>
struct EnumNames<models::Activation> {
  static constexpr std::array<std::pair<models::Activation, const char*>, 5> values{
      {{models::Activation::kReLU, "relu"},
       {models::Activation::kLeakyReLU, "leaky_relu"},
       {models::Activation::kTanh, "tanh"},
       {models::Activation::kSigmoid, "sigmoid"},
       {models::Activation::kNone, "none"}}};
};
template <>
struct EnumNames<models::Padding> {
  static constexpr std::array<std::pair<models::Padding, const char*>, 2> values{
      {{models::Padding::kZeros, "zeros"}, {models::Padding::kReflect, "reflect"}}};
};
}  // namespace facegan
