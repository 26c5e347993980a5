#pragma once

#include <facegan/models/blocks/layers.hpp>

#include <vector>

namespace facegan::models {

/// Options of ConvEncoder: a stack of stride-2 4x4 convolutions, global average pooling and a
/// linear head.
struct ConvEncoderOptions {
  explicit ConvEncoderOptions(int64_t in_channels = 3) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, base_channels) = 64;
  /// Number of stride-2 convolutions; channels double per layer up to max_channels.
  TORCH_ARG(int64_t, num_layers) = 4;
  TORCH_ARG(int64_t, max_channels) = 512;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  TORCH_ARG(Activation, activation) = Activation::kLeakyReLU;
  /// Size of the output vector; 0 returns the pooled features of the last layer.
  TORCH_ARG(int64_t, out_dim) = 256;

 public:
  /// Channels of the last convolution (the pooled feature size).
  int64_t feature_channels() const;
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("base_channels", base_channels_);
    v("num_layers", num_layers_);
    v("max_channels", max_channels_);
    v("norm", norm_);
    v("activation", activation_);
    v("out_dim", out_dim_);
  }
};

/// Image to feature vector. Children: "stages" (ConvBlock list), "head" (Linear, when out_dim > 0).
class ConvEncoderImpl : public torch::nn::Cloneable<ConvEncoderImpl> {
 public:
  explicit ConvEncoderImpl(ConvEncoderOptions options = ConvEncoderOptions());
  void reset() override;
  /// x: [N, in_channels, H, W] with H, W >= 2^num_layers -> [N, out_dim] (or [N, feature_channels]).
  torch::Tensor forward(const torch::Tensor& x);
  /// forward() that also returns each stage's activation, shallow to deep: stage i is
  /// [N, channels_i, H / 2^(i+1), W / 2^(i+1)] (Bao et al.'s attribute skip reads one of them).
  torch::Tensor forward_features(const torch::Tensor& x, std::vector<torch::Tensor>& features);
  /// Output size of forward().
  int64_t out_dim() const;

  ConvEncoderOptions options;

 private:
  torch::nn::ModuleList stages_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ConvEncoder);

/// Options of VariationalEncoder: a ConvEncoder trunk and the size of the latent code.
struct VariationalEncoderOptions {
  explicit VariationalEncoderOptions(int64_t in_channels = 3) : trunk_(in_channels) {}
  TORCH_ARG(ConvEncoderOptions, trunk);
  TORCH_ARG(int64_t, latent_dim) = 128;

 public:
  template <class V>
  void visit(V& v) {
    v("trunk", trunk_);
    v("latent_dim", latent_dim_);
  }
};

/// The three outputs of a VariationalEncoder, each [N, latent_dim].
struct VariationalOutput {
  torch::Tensor mu;
  /// log sigma^2, the form the KL term of Kingma & Welling (and Bao et al.'s L_KL) takes.
  torch::Tensor logvar;
  /// z = mu + sigma * eps, eps ~ N(0, I) in training mode (reparameterisation trick); z = mu in eval.
  torch::Tensor z;
  /// The trunk's stage activations (ConvEncoder::forward_features), shallow to deep.
  std::vector<torch::Tensor> features;
};

/// Image to a Gaussian posterior q(z | x) and a sample of it (Bao et al.'s attribute encoder A).
/// Children: "trunk" (ConvEncoder), "mu" and "logvar" (Linear).
class VariationalEncoderImpl : public torch::nn::Cloneable<VariationalEncoderImpl> {
 public:
  explicit VariationalEncoderImpl(VariationalEncoderOptions options = VariationalEncoderOptions());
  void reset() override;
  /// x: [N, C, H, W] -> {mu, logvar, z}, each [N, latent_dim].
  VariationalOutput forward(const torch::Tensor& x);

  VariationalEncoderOptions options;

 private:
  ConvEncoder trunk_{nullptr};
  torch::nn::Linear mu_{nullptr}, logvar_{nullptr};
};
TORCH_MODULE(VariationalEncoder);

}  // namespace facegan::models
