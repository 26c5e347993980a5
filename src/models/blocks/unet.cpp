#include <facegan/models/blocks/unet.hpp>

#include <algorithm>

namespace facegan::models {

int64_t UNetGeneratorOptions::level_channels(int64_t i) const {
  int64_t mult = 1;
  for (int64_t k = 0; k < i && mult < max_multiplier(); ++k) mult *= 2;
  return base_channels() * std::min(mult, max_multiplier());
}

UNetGeneratorImpl::UNetGeneratorImpl(UNetGeneratorOptions options_) : options(std::move(options_)) { reset(); }

void UNetGeneratorImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0, "UNetGenerator: channels must be positive, got ",
              o.in_channels(), " -> ", o.out_channels());
  TORCH_CHECK(o.depth() >= 2, "UNetGenerator: depth must be >= 2, got ", o.depth());
  TORCH_CHECK(o.base_channels() > 0, "UNetGenerator: base_channels must be positive, got ", o.base_channels());
  TORCH_CHECK(o.max_multiplier() >= 1, "UNetGenerator: max_multiplier must be >= 1, got ", o.max_multiplier());
  TORCH_CHECK(o.cond_channels() >= 0, "UNetGenerator: cond_channels must be >= 0, got ", o.cond_channels());
  TORCH_CHECK(o.dropout() >= 0.0 && o.dropout() < 1.0, "UNetGenerator: dropout must be in [0, 1), got ",
              o.dropout());
  TORCH_CHECK(o.residual_scale() >= 0.0, "UNetGenerator: residual_scale must be >= 0, got ", o.residual_scale());
  TORCH_CHECK(o.residual_scale() == 0.0 || (o.in_channels() == o.out_channels() && o.output_activation() == Activation::kTanh),
              "UNetGenerator: residual_scale > 0 needs in_channels == out_channels and a tanh output, got ",
              o.in_channels(), " -> ", o.out_channels());

  // pix2pix drops the bias of every convolution under batch norm, including the two ends that have
  // no norm (outermost down, innermost down); keeping that quirk keeps the reference count.
  const bool bias = conv_bias_for(o.norm());
  const int64_t depth = o.depth();
  const int64_t widest = o.base_channels() * o.max_multiplier();
  down_ = register_module("down", torch::nn::ModuleList());
  up_ = register_module("up", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    const bool outermost = i == 0, innermost = i == depth - 1;
    const int64_t in = outermost ? o.in_channels() + o.cond_channels() : o.level_channels(i - 1);
    const int64_t out = o.level_channels(i);
    down_->push_back(ConvBlock(ConvBlockOptions::down(in, out)
                                   .bias(bias)
                                   .pre_activation(outermost ? Activation::kNone : Activation::kLeakyReLU)
                                   .norm(outermost || innermost ? Norm::kNone : o.norm())
                                   .activation(Activation::kNone)));
  }
  for (int64_t i = 0; i < depth; ++i) {
    const bool outermost = i == 0, innermost = i == depth - 1;
    const int64_t in = innermost ? o.level_channels(i) : 2 * o.level_channels(i);
    const int64_t out = outermost ? o.out_channels() : o.level_channels(i - 1);
    const bool widest_level = !outermost && !innermost && o.level_channels(i) == widest &&
                              o.level_channels(i - 1) == widest;
    // Every up block but the innermost reads a fresh torch::cat of a skip and the level below, which
    // nothing else holds, so its ReLU may act in place (as pix2pix's uprelu does); the innermost reads
    // the bottleneck itself, an encoder feature that DeRL's classifier also reads.
    up_->push_back(ConvBlock(ConvBlockOptions::up(in, out)
                                 .pre_activation_inplace(!innermost)
                                 .bias(outermost || bias)
                                 .norm(outermost ? Norm::kNone : o.norm())
                                 .activation(outermost ? o.output_activation() : Activation::kNone)
                                 .dropout(widest_level ? o.dropout() : 0.0)));
  }
}

UNetFeatures UNetGeneratorImpl::run(const torch::Tensor& x, const torch::Tensor& cond, bool keep_features) {
  const int64_t depth = options.depth();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "UNetGenerator: expected input [N, ",
              options.in_channels(), ", H, W], got ", x.sizes());
  const int64_t step = int64_t{1} << depth;
  TORCH_CHECK(x.size(2) % step == 0 && x.size(3) % step == 0, "UNetGenerator: H and W must be multiples of 2^depth = ",
              step, " (depth ", depth, "), got ", x.size(2), "x", x.size(3));
  torch::Tensor h = x;
  if (options.cond_channels() > 0) {
    TORCH_CHECK(cond.defined(), "UNetGenerator: cond_channels = ", options.cond_channels(),
                " but no conditioning tensor was given");
    TORCH_CHECK(cond.size(0) == x.size(0) && cond.size(1) == options.cond_channels() &&
                    (cond.dim() == 2 || (cond.dim() == 4 && cond.size(2) == x.size(2) && cond.size(3) == x.size(3))),
                "UNetGenerator: conditioning must be [N, ", options.cond_channels(), "] or [N, ",
                options.cond_channels(), ", H, W] matching the input ", x.sizes(), ", got ", cond.sizes());
    torch::Tensor c = cond.dim() == 2 ? cond.view({cond.size(0), cond.size(1), 1, 1}).expand(
                                            {-1, -1, x.size(2), x.size(3)})
                                      : cond;
    h = torch::cat({x, c.to(x.dtype())}, 1);
  } else {
    TORCH_CHECK(!cond.defined(), "UNetGenerator: got a conditioning tensor but cond_channels = 0");
  }

  std::vector<torch::Tensor> skips;
  skips.reserve(depth);
  for (int64_t i = 0; i < depth; ++i) {
    h = down_[i]->as<ConvBlock>()->forward(h);
    skips.push_back(h);
  }
  UNetFeatures features;
  if (keep_features) features.decoder.resize(depth - 1);
  torch::Tensor u = up_[depth - 1]->as<ConvBlock>()->forward(skips[depth - 1]);
  for (int64_t i = depth - 2; i >= 0; --i) {
    if (keep_features) features.decoder[i] = u;
    u = up_[i]->as<ConvBlock>()->forward(torch::cat({skips[i], u}, 1));
  }
  features.output = options.residual_scale() > 0 ? (x + options.residual_scale() * u).clamp(-1.0, 1.0) : u;
  if (keep_features) features.encoder = std::move(skips);
  return features;
}

void UNetGeneratorImpl::zero_output_layer() {
  torch::NoGradGuard no_grad;
  for (auto& p : up_[0]->parameters()) p.zero_();
}

torch::Tensor UNetGeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  return run(x, cond, false).output;
}

UNetFeatures UNetGeneratorImpl::forward_features(const torch::Tensor& x, const torch::Tensor& cond) {
  return run(x, cond, true);
}

}  // namespace facegan::models
