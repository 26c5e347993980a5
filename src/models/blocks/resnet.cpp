#include <facegan/models/blocks/resnet.hpp>

namespace facegan::models {

ResnetGeneratorImpl::ResnetGeneratorImpl(ResnetGeneratorOptions options_) : options(std::move(options_)) { reset(); }

void ResnetGeneratorImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0, "ResnetGenerator: channels must be positive, got ",
              o.in_channels(), " -> ", o.out_channels());
  TORCH_CHECK(o.base_channels() > 0, "ResnetGenerator: base_channels must be positive, got ", o.base_channels());
  TORCH_CHECK(o.num_blocks() >= 0, "ResnetGenerator: num_blocks must be >= 0, got ", o.num_blocks());
  TORCH_CHECK(o.num_downsampling() >= 0, "ResnetGenerator: num_downsampling must be >= 0, got ",
              o.num_downsampling());
  const bool bias = conv_bias_for(o.norm());
  const int64_t ngf = o.base_channels();
  stem_ = register_module("stem", ConvBlock(ConvBlockOptions(o.in_channels(), ngf)
                                                .kernel_size(7)
                                                .padding(3)
                                                .padding_mode(Padding::kReflect)
                                                .bias(bias)
                                                .norm(o.norm())));
  down_ = register_module("down", torch::nn::ModuleList());
  int64_t c = ngf;
  for (int64_t i = 0; i < o.num_downsampling(); ++i, c *= 2) {
    down_->push_back(ConvBlock(ConvBlockOptions(c, 2 * c).stride(2).bias(bias).norm(o.norm())));
  }
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_blocks(); ++i) {
    blocks_->push_back(ResidualBlock(ResidualBlockOptions(c)
                                         .norm(o.norm())
                                         .padding_mode(Padding::kReflect)
                                         .post_activation(false)
                                         .dropout(o.dropout())));
  }
  up_ = register_module("up", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_downsampling(); ++i, c /= 2) {
    up_->push_back(ConvBlock(
        ConvBlockOptions(c, c / 2).stride(2).transposed(true).output_padding(1).bias(bias).norm(o.norm())));
  }
  head_ = register_module("head", ConvBlock(ConvBlockOptions(ngf, o.out_channels())
                                                .kernel_size(7)
                                                .padding(3)
                                                .padding_mode(Padding::kReflect)
                                                .norm(Norm::kNone)
                                                .activation(Activation::kTanh)));
}

torch::Tensor ResnetGeneratorImpl::forward(const torch::Tensor& x) {
  const int64_t step = int64_t{1} << options.num_downsampling();
  TORCH_CHECK(x.dim() == 4 && x.size(2) % step == 0 && x.size(3) % step == 0,
              "ResnetGenerator: expected [N, C, H, W] with H and W multiples of ", step, ", got ", x.sizes());
  torch::Tensor h = stem_->forward(x);
  for (const auto& m : *down_) h = m->as<ConvBlock>()->forward(h);
  for (const auto& m : *blocks_) h = m->as<ResidualBlock>()->forward(h);
  for (const auto& m : *up_) h = m->as<ConvBlock>()->forward(h);
  return head_->forward(h);
}

IdentityNetImpl::IdentityNetImpl(IdentityNetOptions options_) : options(std::move(options_)) { reset(); }

void IdentityNetImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.num_classes() >= 0, "IdentityNet: num_classes must be >= 0, got ", o.num_classes());
  TORCH_CHECK(o.in_channels() > 0, "IdentityNet: in_channels must be positive, got ", o.in_channels());
  TORCH_CHECK(o.base_channels() > 0, "IdentityNet: base_channels must be positive, got ", o.base_channels());
  TORCH_CHECK(o.num_stages() >= 1, "IdentityNet: num_stages must be >= 1, got ", o.num_stages());
  TORCH_CHECK(o.blocks_per_stage() >= 1, "IdentityNet: blocks_per_stage must be >= 1, got ", o.blocks_per_stage());
  TORCH_CHECK(o.embedding_dim() > 0, "IdentityNet: embedding_dim must be positive, got ", o.embedding_dim());
  stem_ = register_module("stem", ConvBlock(ConvBlockOptions(o.in_channels(), o.base_channels())
                                                .bias(conv_bias_for(o.norm()))
                                                .norm(o.norm())));
  stages_ = register_module("stages", torch::nn::ModuleList());
  int64_t c = o.base_channels();
  for (int64_t s = 0; s < o.num_stages(); ++s) {
    torch::nn::Sequential stage;
    const int64_t out = s == 0 ? c : 2 * c;
    for (int64_t b = 0; b < o.blocks_per_stage(); ++b) {
      const bool first = b == 0;
      stage->push_back(ResidualBlock(
          ResidualBlockOptions(first ? c : out, out).stride(first && s > 0 ? 2 : 1).norm(o.norm())));
    }
    stages_->push_back(stage);
    c = out;
  }
  embedding_ = register_module("embedding", torch::nn::Linear(c, o.embedding_dim()));
  if (o.num_classes() > 0) {
    classifier_ = register_module("classifier", torch::nn::Linear(o.embedding_dim(), o.num_classes()));
  }
}

IdentityOutput IdentityNetImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "IdentityNet: expected input [N, ",
              options.in_channels(), ", H, W], got ", x.sizes());
  IdentityOutput out;
  torch::Tensor h = stem_->forward(x);
  for (const auto& stage : *stages_) {
    h = stage->as<torch::nn::Sequential>()->forward(h);
    out.features.push_back(h);
  }
  out.embedding = embedding_->forward(h.mean({2, 3}));
  if (classifier_) out.logits = classifier_->forward(out.embedding);
  return out;
}

}  // namespace facegan::models
