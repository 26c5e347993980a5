#include <facegan/models/blocks/encoders.hpp>

#include <algorithm>

namespace facegan::models {

int64_t ConvEncoderOptions::feature_channels() const {
  int64_t c = base_channels();
  for (int64_t i = 1; i < num_layers(); ++i) c = std::min(c * 2, max_channels());
  return c;
}

ConvEncoderImpl::ConvEncoderImpl(ConvEncoderOptions options_) : options(std::move(options_)) { reset(); }

void ConvEncoderImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0, "ConvEncoder: in_channels must be positive, got ", o.in_channels());
  TORCH_CHECK(o.num_layers() >= 1, "ConvEncoder: num_layers must be >= 1, got ", o.num_layers());
  TORCH_CHECK(o.base_channels() > 0 && o.max_channels() >= o.base_channels(),
              "ConvEncoder: need 0 < base_channels <= max_channels, got ", o.base_channels(), " and ",
              o.max_channels());
  TORCH_CHECK(o.out_dim() >= 0, "ConvEncoder: out_dim must be >= 0, got ", o.out_dim());
  stages_ = register_module("stages", torch::nn::ModuleList());
  int64_t in = o.in_channels(), out = o.base_channels();
  for (int64_t i = 0; i < o.num_layers(); ++i) {
    // The first layer sees raw pixels: no norm there, as in DCGAN and pix2pix discriminators.
    const Norm norm = i == 0 ? Norm::kNone : o.norm();
    stages_->push_back(
        ConvBlock(ConvBlockOptions::down(in, out).norm(norm).bias(conv_bias_for(norm)).activation(o.activation())));
    in = out;
    out = std::min(out * 2, o.max_channels());
  }
  if (o.out_dim() > 0) head_ = register_module("head", torch::nn::Linear(in, o.out_dim()));
}

torch::Tensor ConvEncoderImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features;
  return forward_features(x, features);
}

torch::Tensor ConvEncoderImpl::forward_features(const torch::Tensor& x, std::vector<torch::Tensor>& features) {
  features.clear();
  torch::Tensor h = x;
  for (const auto& stage : *stages_) {
    h = stage->as<ConvBlock>()->forward(h);
    features.push_back(h);
  }
  h = h.mean({2, 3});
  return head_ ? head_->forward(h) : h;
}

int64_t ConvEncoderImpl::out_dim() const {
  return options.out_dim() > 0 ? options.out_dim() : options.feature_channels();
}

VariationalEncoderImpl::VariationalEncoderImpl(VariationalEncoderOptions options_) : options(std::move(options_)) {
  reset();
}

void VariationalEncoderImpl::reset() {
  TORCH_CHECK(options.latent_dim() > 0, "VariationalEncoder: latent_dim must be positive, got ",
              options.latent_dim());
  trunk_ = register_module("trunk", ConvEncoder(options.trunk()));
  mu_ = register_module("mu", torch::nn::Linear(trunk_->out_dim(), options.latent_dim()));
  logvar_ = register_module("logvar", torch::nn::Linear(trunk_->out_dim(), options.latent_dim()));
}

VariationalOutput VariationalEncoderImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features;
  torch::Tensor h = trunk_->forward_features(x, features);
  if (options.trunk().out_dim() > 0) h = torch::leaky_relu(h, 0.2);
  VariationalOutput out{mu_->forward(h), logvar_->forward(h), {}, std::move(features)};
  out.z = is_training() ? out.mu + torch::exp(0.5 * out.logvar) * torch::randn_like(out.mu) : out.mu;
  return out;
}

}  // namespace facegan::models
