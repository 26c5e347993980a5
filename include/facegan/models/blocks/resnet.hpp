#pragma once

#include <facegan/models/blocks/layers.hpp>

#include <vector>

namespace facegan::models {

/// Options of ResnetGenerator, CycleGAN's generator (Zhu et al. 2017, `resnet_9blocks`).
struct ResnetGeneratorOptions {
  ResnetGeneratorOptions(int64_t in_channels = 3, int64_t out_channels = 3)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, base_channels) = 64;
  TORCH_ARG(int64_t, num_blocks) = 9;
  /// Stride-2 steps before the residual blocks (and transposed steps after); inputs must be
  /// divisible by 2^num_downsampling.
  TORCH_ARG(int64_t, num_downsampling) = 2;
  TORCH_ARG(Norm, norm) = Norm::kInstance;
  TORCH_ARG(double, dropout) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels_);
    v("out_channels", out_channels_);
    v("base_channels", base_channels_);
    v("num_blocks", num_blocks_);
    v("num_downsampling", num_downsampling_);
    v("norm", norm_);
    v("dropout", dropout_);
  }
};

/// 7x7 stem, stride-2 downsampling, residual blocks, transposed upsampling, 7x7 tanh head.
/// Children: "stem", "down" (list), "blocks" (list), "up" (list), "head".
class ResnetGeneratorImpl : public torch::nn::Cloneable<ResnetGeneratorImpl> {
 public:
  explicit ResnetGeneratorImpl(ResnetGeneratorOptions options = ResnetGeneratorOptions());
  void reset() override;
  /// x: [N, in_channels, H, W] -> [N, out_channels, H, W] in (-1, 1).
  torch::Tensor forward(const torch::Tensor& x);

  ResnetGeneratorOptions options;

 private:
  ConvBlock stem_{nullptr}, head_{nullptr};
  torch::nn::ModuleList down_{nullptr}, blocks_{nullptr}, up_{nullptr};
};
TORCH_MODULE(ResnetGenerator);

/// Options of IdentityNet, the ResNet-style face identity backbone.
struct IdentityNetOptions {
  explicit IdentityNetOptions(int64_t num_classes = 0) : num_classes_(num_classes) {}
  /// Identities of the softmax head; 0 builds the embedding network only.
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, base_channels) = 32;
  /// Stages of residual blocks; every stage after the first halves H and W and doubles channels.
  TORCH_ARG(int64_t, num_stages) = 4;
  TORCH_ARG(int64_t, blocks_per_stage) = 2;
  TORCH_ARG(int64_t, embedding_dim) = 256;
  TORCH_ARG(Norm, norm) = Norm::kBatch;

 public:
  template <class V>
  void visit(V& v) {
    v("num_classes", num_classes_);
    v("in_channels", in_channels_);
    v("base_channels", base_channels_);
    v("num_stages", num_stages_);
    v("blocks_per_stage", blocks_per_stage_);
    v("embedding_dim", embedding_dim_);
    v("norm", norm_);
  }
};

/// Output of IdentityNet.
struct IdentityOutput {
  /// [N, embedding_dim]: the identity vector (Bao et al.'s f_I).
  torch::Tensor embedding;
  /// [N, num_classes], undefined when num_classes = 0.
  torch::Tensor logits;
  /// Output of each stage, [N, base_channels * 2^s, H / 2^s, W / 2^s] (Bao et al.'s L_GC matches them).
  std::vector<torch::Tensor> features;
};

/// Face identity network: stem, residual stages, global average pooling, linear embedding and a
/// softmax classifier over training identities. Serves as Bao et al.'s identity encoder I and
/// classifier C. Children: "stem", "stages" (list of Sequential of ResidualBlock), "embedding",
/// "classifier".
class IdentityNetImpl : public torch::nn::Cloneable<IdentityNetImpl> {
 public:
  explicit IdentityNetImpl(IdentityNetOptions options = IdentityNetOptions());
  void reset() override;
  /// x: [N, in_channels, H, W] with H, W >= 2^(num_stages - 1) -> {embedding, logits, features}.
  IdentityOutput forward(const torch::Tensor& x);

  IdentityNetOptions options;

 private:
  ConvBlock stem_{nullptr};
  torch::nn::ModuleList stages_{nullptr};
  torch::nn::Linear embedding_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(IdentityNet);

}  // namespace facegan::models
