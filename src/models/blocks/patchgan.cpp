#include <facegan/models/blocks/patchgan.hpp>

#include <algorithm>

namespace facegan::models {

PatchDiscriminatorImpl::PatchDiscriminatorImpl(PatchDiscriminatorOptions options_) : options(std::move(options_)) {
  reset();
}

void PatchDiscriminatorImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0, "PatchDiscriminator: in_channels must be positive, got ", o.in_channels());
  TORCH_CHECK(o.base_channels() > 0, "PatchDiscriminator: base_channels must be positive, got ", o.base_channels());
  TORCH_CHECK(o.num_layers() >= 1, "PatchDiscriminator: num_layers must be >= 1, got ", o.num_layers());
  const bool bias = conv_bias_for(o.norm());
  const int64_t ndf = o.base_channels();
  stages_ = register_module("stages", torch::nn::ModuleList());
  stages_->push_back(ConvBlock(ConvBlockOptions::down(o.in_channels(), ndf).norm(Norm::kNone)));
  int64_t mult = 1;
  for (int64_t n = 1; n <= o.num_layers(); ++n) {
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t{1} << n, 8);
    // The last of these keeps the resolution (stride 1), widening the receptive field to 70 px.
    const int64_t stride = n == o.num_layers() ? 1 : 2;
    stages_->push_back(
        ConvBlock(ConvBlockOptions::down(ndf * prev, ndf * mult).stride(stride).bias(bias).norm(o.norm())));
  }
  stages_->push_back(ConvBlock(
      ConvBlockOptions(ndf * mult, 1).kernel_size(4).padding(1).norm(Norm::kNone).activation(Activation::kNone)));
}

DiscriminatorFeatures PatchDiscriminatorImpl::forward_features(const torch::Tensor& x) {
  DiscriminatorFeatures out;
  out.features.reserve(stages_->size() - 1);
  torch::Tensor h = x;
  for (size_t i = 0; i + 1 < stages_->size(); ++i) {
    h = stages_[i]->as<ConvBlock>()->forward(h);
    out.features.push_back(h);
  }
  out.logits = stages_[stages_->size() - 1]->as<ConvBlock>()->forward(h);
  return out;
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (const auto& stage : *stages_) h = stage->as<ConvBlock>()->forward(h);
  return h;
}

MultiScaleDiscriminatorImpl::MultiScaleDiscriminatorImpl(MultiScaleDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void MultiScaleDiscriminatorImpl::reset() {
  TORCH_CHECK(options.num_scales() >= 1, "MultiScaleDiscriminator: num_scales must be >= 1, got ",
              options.num_scales());
  scales_ = register_module("scales", torch::nn::ModuleList());
  for (int64_t s = 0; s < options.num_scales(); ++s) scales_->push_back(PatchDiscriminator(options.patch()));
}

namespace {
// pix2pixHD's downsampler: 3x3 average, stride 2, borders averaged over valid pixels only.
torch::Tensor halve(const torch::Tensor& x) {
  return torch::avg_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1, /*ceil_mode=*/false,
                           /*count_include_pad=*/false);
}
}  // namespace

std::vector<torch::Tensor> MultiScaleDiscriminatorImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> out;
  torch::Tensor h = x;
  for (size_t s = 0; s < scales_->size(); ++s) {
    if (s > 0) h = halve(h);
    out.push_back(scales_[s]->as<PatchDiscriminator>()->forward(h));
  }
  return out;
}

std::vector<DiscriminatorFeatures> MultiScaleDiscriminatorImpl::forward_features(const torch::Tensor& x) {
  std::vector<DiscriminatorFeatures> out;
  torch::Tensor h = x;
  for (size_t s = 0; s < scales_->size(); ++s) {
    if (s > 0) h = halve(h);
    out.push_back(scales_[s]->as<PatchDiscriminator>()->forward_features(h));
  }
  return out;
}

}  // namespace facegan::models
