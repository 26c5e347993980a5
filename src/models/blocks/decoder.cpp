#include <facegan/models/blocks/decoder.hpp>

#include <algorithm>

namespace facegan::models {

int64_t ConvDecoderOptions::num_stages() const {
  int64_t n = 0;
  for (int64_t s = start_size(); s < image_size(); s *= 2) ++n;
  return n;
}

int64_t ConvDecoderOptions::channels_at(int64_t size) const {
  return std::min(base_channels() * std::max<int64_t>(image_size() / std::max<int64_t>(size, 1), 1), max_channels());
}

ConvDecoderImpl::ConvDecoderImpl(ConvDecoderOptions options_) : options(std::move(options_)) { reset(); }

void ConvDecoderImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_dim() > 0, "ConvDecoder: in_dim must be positive, got ", o.in_dim());
  TORCH_CHECK(o.out_channels() > 0, "ConvDecoder: out_channels must be positive, got ", o.out_channels());
  TORCH_CHECK(o.start_size() >= 1, "ConvDecoder: start_size must be >= 1, got ", o.start_size());
  TORCH_CHECK(o.image_size() >= o.start_size() && (o.start_size() << o.num_stages()) == o.image_size(),
              "ConvDecoder: image_size / start_size must be a power of two, got image_size ", o.image_size(),
              " and start_size ", o.start_size());
  TORCH_CHECK(o.base_channels() > 0 && o.max_channels() >= o.base_channels(),
              "ConvDecoder: need 0 < base_channels <= max_channels, got ", o.base_channels(), " and ",
              o.max_channels());
  TORCH_CHECK(o.skip_size() >= 0 && (o.skip_size() == 0 || (o.skip_size() >= o.start_size() &&
                                                               o.skip_size() < o.image_size() &&
                                                               o.image_size() % o.skip_size() == 0)),
              "ConvDecoder: skip_size must be 0 or a side in [start_size, image_size), got ", o.skip_size());
  TORCH_CHECK(o.skip_size() == 0 || (o.skip_in_channels() > 0 && o.skip_channels() > 0),
              "ConvDecoder: skip_size ", o.skip_size(), " needs skip_in_channels and skip_channels > 0");
  int64_t size = o.start_size();
  int64_t in = o.channels_at(size);
  fc_ = register_module("fc", torch::nn::Linear(o.in_dim(), in * size * size));
  stages_ = register_module("stages", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_stages(); ++i) {
    size *= 2;
    const int64_t out = o.channels_at(size);
    // The skip map joins the features of its side before they are upsampled further.
    if (o.skip_size() == size / 2) in += o.skip_channels();
    stages_->push_back(ConvBlock(ConvBlockOptions::up(in, out)
                                     .pre_activation(Activation::kNone)
                                     .norm(o.norm())
                                     .bias(conv_bias_for(o.norm()))
                                     .activation(Activation::kReLU)));
    in = out;
  }
  head_ = register_module("head", ConvBlock(ConvBlockOptions(in, o.out_channels())
                                                .kernel_size(3)
                                                .padding(1)
                                                .norm(Norm::kNone)
                                                .activation(Activation::kTanh)));
  if (o.skip_size() > 0) {
    skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.skip_in_channels(), o.skip_channels(), 1)));
  }
}

torch::Tensor ConvDecoderImpl::forward(const torch::Tensor& z, const torch::Tensor& skip) {
  TORCH_CHECK(z.dim() == 2 && z.size(1) == options.in_dim(), "ConvDecoder: expected input [N, ", options.in_dim(),
              "], got ", z.sizes());
  const int64_t ss = options.skip_size();
  TORCH_CHECK(ss == 0 || (skip.defined() && skip.dim() == 4 && skip.size(0) == z.size(0) &&
                          skip.size(1) == options.skip_in_channels() && skip.size(2) == ss && skip.size(3) == ss),
              "ConvDecoder: expected skip [", z.size(0), ", ", options.skip_in_channels(), ", ", ss, ", ", ss, "], got ",
              skip.defined() ? skip.sizes() : torch::IntArrayRef{});
  int64_t s = options.start_size();
  torch::Tensor h = torch::relu(fc_->forward(z)).view({z.size(0), -1, s, s});
  for (const auto& stage : *stages_) {
    if (ss == s) h = torch::cat({h, torch::relu(skip_->forward(skip))}, 1);
    h = stage->as<ConvBlock>()->forward(h);
    s *= 2;
  }
  return head_->forward(h);
}

}  // namespace facegan::models
