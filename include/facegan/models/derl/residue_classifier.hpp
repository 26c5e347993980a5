#pragma once
// DeRL's expression classifier (Yang et al., CVPR 2018, Sec. 3.2): the de-expression generator's
// intermediate activations hold the "expressive component" it removes. For each tapped resolution
// the encoder and decoder activations are concatenated and read by a small local CNN; the local
// CNNs' last hidden layers and the pooled last encoding layer feed the final expression classifier.

#include <facegan/models/blocks/layers.hpp>
#include <facegan/models/blocks/unet.hpp>

#include <vector>

namespace facegan::models {

/// How the final expression classifier reads the local heads.
enum class FinalHead {
  /// A linear layer on the local CNNs' hidden layers and the pooled last encoding layer,
  /// concatenated (the paper's wiring).
  kConcat,
  /// The same concatenation through a batch norm first: the local hidden layers (post-ReLU, width
  /// `hidden` each) and the pooled bottleneck come in very different scales, and the unnormalised
  /// linear layer learns from the largest alone.
  kNormalized,
  /// The mean of the local heads' logits and a linear head on the pooled bottleneck (no
  /// parameters beyond that head): the final answer is the local heads' vote.
  kAverage,
};

/// Options of ResidueClassifier. JSON keys are the fields listed in visit(); tap_channels and
/// bottleneck_channels describe the generator and are filled in by for_generator().
struct ResidueClassifierOptions {
  ResidueClassifierOptions() = default;
  explicit ResidueClassifierOptions(int64_t num_classes) : num_classes_(num_classes) {}
  TORCH_ARG(int64_t, num_classes) = 6;
  /// U-Net levels tapped (0 = outermost); empty = every level that has a decoder skip partner,
  /// 0 .. depth - 2 (every resolution with spatial extent when depth = log2(size); the 1x1
  /// bottleneck feeds the final head).
  TORCH_ARG(std::vector<int64_t>, levels) = {};
  /// Width of each local CNN's convolutions.
  TORCH_ARG(int64_t, local_channels) = 64;
  /// 3x3 conv-norm-ReLU layers per local CNN (>= 1).
  TORCH_ARG(int64_t, local_layers) = 2;
  /// The local CNN's map is average-pooled to pool_size x pool_size and flattened into its fully
  /// connected layer, as the paper's FC layers read the whole map: where a pattern sits (mouth
  /// corner, brow) is what tells expressions apart; a global average (pool_size 1) loses it.
  TORCH_ARG(int64_t, pool_size) = 4;
  /// Size of each local CNN's hidden fully connected layer (what the final head reads).
  TORCH_ARG(int64_t, hidden) = 128;
  /// false: the final head sees the pooled last encoding layer alone (the ablation without local
  /// heads; no local CNNs are built).
  TORCH_ARG(bool, local_heads) = true;
  /// true: a level's tap is cat(encoder[i], decoder[i]); false: decoder[i] alone. The decoder
  /// holds what the generator rebuilds, which for a residual generator is the change x -> neutral
  /// (the residue); the encoder's copy of the face carries identity, which folds never share.
  TORCH_ARG(bool, encoder_taps) = true;
  /// Dropout before every classification layer.
  TORCH_ARG(double, dropout) = 0.0;
  /// How the final classifier combines the local heads (kConcat: the paper's).
  TORCH_ARG(FinalHead, final_head) = FinalHead::kConcat;
  TORCH_ARG(Norm, norm) = Norm::kBatch;
  /// Channels of each tap (cat(encoder[i], decoder[i]) = 2 * level_channels(i), or level_channels(i)
  /// without encoder_taps), one per level.
  TORCH_ARG(std::vector<int64_t>, tap_channels) = {};
  /// Channels of the last encoding layer encoder[depth - 1].
  TORCH_ARG(int64_t, bottleneck_channels) = 0;

 public:
  /// These options with `levels` resolved (the default filled in, each checked against the depth)
  /// and tap_channels / bottleneck_channels computed for `generator`. std::invalid_argument naming
  /// the level when one is out of range.
  ResidueClassifierOptions for_generator(const UNetGeneratorOptions& generator) const;
  template <class V>
  void visit(V& v) {
    v("num_classes", num_classes_);
    v("levels", levels_);
    v("local_channels", local_channels_);
    v("local_layers", local_layers_);
    v("pool_size", pool_size_);
    v("hidden", hidden_);
    v("local_heads", local_heads_);
    v("encoder_taps", encoder_taps_);
    v("dropout", dropout_);
    v("final_head", final_head_);
    v("norm", norm_);
  }
};

/// Logits of every head of ResidueClassifier.
struct ResidueLogits {
  /// One [N, num_classes] per tapped level, in `levels` order (empty without local heads).
  std::vector<torch::Tensor> local;
  /// The final head's [N, num_classes].
  torch::Tensor final;
};

/// Local CNNs on the generator's taps plus the final classifier. Children: "local_features"
/// (Sequential of ConvBlocks per level), "local_hidden" and "local_out" (Linear per level; absent
/// without local heads), "final" (Linear) and, with FinalHead::kNormalized, "final_norm"
/// (BatchNorm1d).
class ResidueClassifierImpl : public torch::nn::Cloneable<ResidueClassifierImpl> {
 public:
  /// `options` must have been through for_generator() (tap_channels set).
  explicit ResidueClassifierImpl(ResidueClassifierOptions options);
  void reset() override;
  /// features: UNetGenerator::forward_features of the (frozen) generator; reads encoder[i] and
  /// decoder[i] of every level i and encoder[depth - 1].
  ResidueLogits forward(const UNetFeatures& features);

  ResidueClassifierOptions options;

 private:
  torch::nn::ModuleList local_features_{nullptr}, local_hidden_{nullptr}, local_out_{nullptr};
  torch::nn::Linear final_{nullptr};
  torch::nn::BatchNorm1d final_norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ResidueClassifier);

}  // namespace facegan::models

namespace facegan {
template <>
struct EnumNames<models::FinalHead> {
  static constexpr std::array<std::pair<models::FinalHead, const char*>, 3> values{
      {{models::FinalHead::kConcat, "concat"},
       {models::FinalHead::kNormalized, "normalized"},
       {models::FinalHead::kAverage, "average"}}};
};
}  // namespace facegan
