#include <facegan/models/blocks/layers.hpp>

namespace facegan::models {

torch::nn::AnyModule make_norm(Norm norm, int64_t channels) {
  TORCH_CHECK(channels > 0, "make_norm: channels must be positive, got ", channels);
  switch (norm) {
    case Norm::kBatch:
      return torch::nn::AnyModule(torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels)));
    case Norm::kInstance:
      return torch::nn::AnyModule(torch::nn::InstanceNorm2d(
          torch::nn::InstanceNorm2dOptions(channels).affine(false).track_running_stats(false)));
    case Norm::kNone:
      return {};
  }
  TORCH_CHECK(false, "make_norm: unknown norm ", static_cast<int>(norm));
}

torch::nn::AnyModule make_activation(Activation activation, double negative_slope, bool inplace) {
  switch (activation) {
    case Activation::kReLU:
      return torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(inplace)));
    case Activation::kLeakyReLU:
      return torch::nn::AnyModule(
          torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(negative_slope).inplace(inplace)));
    case Activation::kTanh:
      return torch::nn::AnyModule(torch::nn::Tanh());
    case Activation::kSigmoid:
      return torch::nn::AnyModule(torch::nn::Sigmoid());
    case Activation::kNone:
      return {};
  }
  TORCH_CHECK(false, "make_activation: unknown activation ", static_cast<int>(activation));
}

ConvBlockOptions ConvBlockOptions::down(int64_t in_channels, int64_t out_channels) {
  return ConvBlockOptions(in_channels, out_channels).kernel_size(4).stride(2).padding(1).activation(
      Activation::kLeakyReLU);
}

ConvBlockOptions ConvBlockOptions::up(int64_t in_channels, int64_t out_channels) {
  return ConvBlockOptions(in_channels, out_channels)
      .kernel_size(4)
      .stride(2)
      .padding(1)
      .transposed(true)
      .pre_activation(Activation::kReLU)
      .activation(Activation::kNone);
}

ConvBlockImpl::ConvBlockImpl(ConvBlockOptions options_) : options(std::move(options_)) { reset(); }

void ConvBlockImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0, "ConvBlock: in_channels must be positive, got ", o.in_channels());
  TORCH_CHECK(o.out_channels() > 0, "ConvBlock: out_channels must be positive, got ", o.out_channels());
  TORCH_CHECK(o.kernel_size() > 0, "ConvBlock: kernel_size must be positive, got ", o.kernel_size());
  TORCH_CHECK(o.stride() > 0, "ConvBlock: stride must be positive, got ", o.stride());
  TORCH_CHECK(o.padding() >= 0, "ConvBlock: padding must be >= 0, got ", o.padding());
  TORCH_CHECK(o.dropout() >= 0.0 && o.dropout() < 1.0, "ConvBlock: dropout must be in [0, 1), got ", o.dropout());
  TORCH_CHECK(!(o.transposed() && o.padding_mode() == Padding::kReflect),
              "ConvBlock: transposed convolutions support only zero padding");

  pre_act_ = make_activation(o.pre_activation(), o.negative_slope(), o.pre_activation_inplace());
  if (!pre_act_.is_empty()) register_module("pre_act", pre_act_.ptr());
  if (o.transposed()) {
    deconv_ = register_module(
        "conv", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(o.in_channels(), o.out_channels(),
                                                                             o.kernel_size())
                                               .stride(o.stride())
                                               .padding(o.padding())
                                               .output_padding(o.output_padding())
                                               .bias(o.bias())));
  } else {
    auto conv = torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                    .stride(o.stride())
                    .padding(o.padding())
                    .bias(o.bias());
    if (o.padding_mode() == Padding::kReflect) conv.padding_mode(torch::kReflect);
    conv_ = register_module("conv", torch::nn::Conv2d(conv));
  }
  norm_ = make_norm(o.norm(), o.out_channels());
  if (!norm_.is_empty()) register_module("norm", norm_.ptr());
  // In place: act_ always reads a tensor this block just made (conv or norm output, which neither
  // backward needs), so nothing else sees it change; saves one feature map per block. pre_act_
  // stays out of place unless the caller hands its input over (pre_activation_inplace): it is
  // usually the caller's own tensor (a U-Net skip, a residual input).
  act_ = make_activation(o.activation(), o.negative_slope(), /*inplace=*/true);
  if (!act_.is_empty()) register_module("act", act_.ptr());
  if (o.dropout() > 0.0) dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout()));
}

torch::Tensor ConvBlockImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "ConvBlock: expected input [N, ",
              options.in_channels(), ", H, W], got ", x.sizes());
  torch::Tensor h = pre_act_.is_empty() ? x : pre_act_.forward(x);
  h = conv_ ? conv_->forward(h) : deconv_->forward(h);
  if (!norm_.is_empty()) h = norm_.forward(h);
  if (!act_.is_empty()) h = act_.forward(h);
  if (dropout_) h = dropout_->forward(h);
  return h;
}

void ConvBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "facegan::models::ConvBlock(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
         << (options.transposed() ? ", transposed" : "") << ", norm=" << enum_to_string(options.norm())
         << ", activation=" << enum_to_string(options.activation()) << ")";
}

ResidualBlockImpl::ResidualBlockImpl(ResidualBlockOptions options_) : options(std::move(options_)) { reset(); }

void ResidualBlockImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0, "ResidualBlock: channels must be positive, got ",
              o.in_channels(), " -> ", o.out_channels());
  TORCH_CHECK(o.stride() == 1 || o.stride() == 2, "ResidualBlock: stride must be 1 or 2, got ", o.stride());
  const bool bias = conv_bias_for(o.norm());
  conv1_ = register_module("conv1", ConvBlock(ConvBlockOptions(o.in_channels(), o.out_channels())
                                                  .stride(o.stride())
                                                  .padding_mode(o.padding_mode())
                                                  .bias(bias)
                                                  .norm(o.norm())
                                                  .activation(o.activation())
                                                  .dropout(o.dropout())));
  conv2_ = register_module("conv2", ConvBlock(ConvBlockOptions(o.out_channels(), o.out_channels())
                                                  .padding_mode(o.padding_mode())
                                                  .bias(bias)
                                                  .norm(o.norm())
                                                  .activation(Activation::kNone)));
  if (o.stride() != 1 || o.in_channels() != o.out_channels()) {
    shortcut_ = register_module("shortcut", ConvBlock(ConvBlockOptions(o.in_channels(), o.out_channels())
                                                          .kernel_size(1)
                                                          .padding(0)
                                                          .stride(o.stride())
                                                          .bias(bias)
                                                          .norm(o.norm())
                                                          .activation(Activation::kNone)));
  }
  act_ = o.post_activation() ? make_activation(o.activation()) : torch::nn::AnyModule();
  if (!act_.is_empty()) register_module("act", act_.ptr());
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv2_->forward(conv1_->forward(x)) + (shortcut_ ? shortcut_->forward(x) : x);
  return act_.is_empty() ? y : act_.forward(y);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

void set_requires_grad(torch::nn::Module& module, bool value) {
  for (auto& p : module.parameters()) p.set_requires_grad(value);
}

}  // namespace facegan::models
