#include <facegan/models/derl/residue_classifier.hpp>

#include <stdexcept>
#include <string>

namespace facegan::models {

ResidueClassifierOptions ResidueClassifierOptions::for_generator(const UNetGeneratorOptions& generator) const {
  ResidueClassifierOptions o = *this;
  const int64_t depth = generator.depth();
  if (o.levels().empty()) {
    std::vector<int64_t> levels;
    for (int64_t i = 0; i <= depth - 2; ++i) levels.push_back(i);
    o.levels(levels);
  }
  std::vector<int64_t> taps;
  for (int64_t level : o.levels()) {
    if (level < 0 || level > depth - 2) {
      throw std::invalid_argument("levels: level " + std::to_string(level) + " has no encoder/decoder pair in a U-Net of depth " +
                                  std::to_string(depth) + " (valid: 0 .. " + std::to_string(depth - 2) + ")");
    }
    taps.push_back((o.encoder_taps() ? 2 : 1) * generator.level_channels(level));
  }
  o.tap_channels(taps);
  o.bottleneck_channels(generator.level_channels(depth - 1));
  return o;
}

ResidueClassifierImpl::ResidueClassifierImpl(ResidueClassifierOptions options_) : options(std::move(options_)) { reset(); }

void ResidueClassifierImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.num_classes() >= 2, "ResidueClassifier: num_classes must be >= 2, got ", o.num_classes());
  TORCH_CHECK(o.bottleneck_channels() > 0, "ResidueClassifier: bottleneck_channels is unset (build the options with for_generator())");
  TORCH_CHECK(o.tap_channels().size() == o.levels().size(), "ResidueClassifier: ", o.levels().size(), " levels but ",
              o.tap_channels().size(), " tap_channels (build the options with for_generator())");
  TORCH_CHECK(o.local_channels() > 0 && o.local_layers() >= 1 && o.hidden() > 0,
              "ResidueClassifier: local_channels, local_layers and hidden must be positive");
  TORCH_CHECK(o.pool_size() >= 1, "ResidueClassifier: pool_size must be >= 1, got ", o.pool_size());
  TORCH_CHECK(o.dropout() >= 0.0 && o.dropout() < 1.0, "ResidueClassifier: dropout must be in [0, 1), got ", o.dropout());
  int64_t final_in = o.bottleneck_channels();
  if (o.local_heads()) {
    TORCH_CHECK(!o.levels().empty(), "ResidueClassifier: local heads need at least one level");
    local_features_ = register_module("local_features", torch::nn::ModuleList());
    local_hidden_ = register_module("local_hidden", torch::nn::ModuleList());
    local_out_ = register_module("local_out", torch::nn::ModuleList());
    for (int64_t channels : o.tap_channels()) {
      torch::nn::Sequential convs;
      int64_t in = channels;
      for (int64_t l = 0; l < o.local_layers(); ++l) {
        convs->push_back(ConvBlock(ConvBlockOptions(in, o.local_channels())
                                       .bias(conv_bias_for(o.norm()))
                                       .norm(o.norm())
                                       .activation(Activation::kReLU)));
        in = o.local_channels();
      }
      local_features_->push_back(convs);
      local_hidden_->push_back(torch::nn::Linear(o.local_channels() * o.pool_size() * o.pool_size(), o.hidden()));
      local_out_->push_back(torch::nn::Linear(o.hidden(), o.num_classes()));
      final_in += o.hidden();
    }
  }
  if (o.final_head() == FinalHead::kAverage) {
    TORCH_CHECK(o.local_heads(), "ResidueClassifier: final_head 'average' averages the local heads; enable local_heads");
    final_in = o.bottleneck_channels();
  }
  if (o.final_head() == FinalHead::kNormalized) {
    final_norm_ = register_module("final_norm", torch::nn::BatchNorm1d(final_in));
  }
  final_ = register_module("final", torch::nn::Linear(final_in, o.num_classes()));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout()));
}

ResidueLogits ResidueClassifierImpl::forward(const UNetFeatures& features) {
  const auto& o = options;
  const int64_t depth = static_cast<int64_t>(features.encoder.size());
  TORCH_CHECK(depth >= 2 && static_cast<int64_t>(features.decoder.size()) == depth - 1,
              "ResidueClassifier: expected U-Net features (encoder and decoder lists)");
  const torch::Tensor& bottleneck = features.encoder.back();
  TORCH_CHECK(bottleneck.size(1) == o.bottleneck_channels(), "ResidueClassifier: last encoding layer has ",
              bottleneck.size(1), " channels, expected ", o.bottleneck_channels());
  ResidueLogits out;
  std::vector<torch::Tensor> final_inputs;
  if (o.local_heads()) {
    for (size_t k = 0; k < o.levels().size(); ++k) {
      const int64_t level = o.levels()[k];
      TORCH_CHECK(level < depth - 1, "ResidueClassifier: level ", level, " is not in the features (depth ", depth, ")");
      const torch::Tensor tap = o.encoder_taps() ? torch::cat({features.encoder[level], features.decoder[level]}, 1)
                                                 : features.decoder[level];
      torch::Tensor h = local_features_[k]->as<torch::nn::Sequential>()->forward(tap);
      h = torch::adaptive_avg_pool2d(h, {o.pool_size(), o.pool_size()}).flatten(1);
      h = torch::relu(local_hidden_[k]->as<torch::nn::Linear>()->forward(h));
      out.local.push_back(local_out_[k]->as<torch::nn::Linear>()->forward(dropout_(h)));
      final_inputs.push_back(h);
    }
  }
  // The U-Net's next (decoder) block reads the bottleneck through a ReLU; so does this head.
  const torch::Tensor pooled = torch::relu(bottleneck).mean({2, 3});
  if (o.final_head() == FinalHead::kAverage) {
    torch::Tensor sum = final_->forward(dropout_(pooled));
    for (const auto& l : out.local) sum = sum + l;
    out.final = sum / static_cast<double>(out.local.size() + 1);
    return out;
  }
  final_inputs.push_back(pooled);
  torch::Tensor x = torch::cat(final_inputs, 1);
  if (final_norm_) x = final_norm_->forward(x);
  out.final = final_->forward(dropout_(x));
  return out;
}

}  // namespace facegan::models
