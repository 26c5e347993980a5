#include <facegan/losses/regularizers.hpp>

#include <torch/torch.h>

#include <string>

namespace facegan::losses {

// ---------------------------------------------------------------------------------------------
// kl_normal

KLDivergenceLoss::KLDivergenceLoss(Options options) : LossImpl(std::move(options)) {}

torch::Tensor KLDivergenceLoss::operator()(const torch::Tensor& mu, const torch::Tensor& logvar) const {
  TORCH_CHECK(mu.sizes() == logvar.sizes(), "kl_normal loss: mu ", mu.sizes(), " and logvar ", logvar.sizes(),
              " differ in shape");
  TORCH_CHECK(mu.dim() >= 2 && mu.size(0) >= 1, "kl_normal loss: expected [N, D] with N >= 1, got ", mu.sizes());
  const torch::Tensor kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar);
  return weight() * kl.reshape({mu.size(0), -1}).sum(1).mean();
}

// ---------------------------------------------------------------------------------------------
// feature_matching

FeatureMatchingLoss::FeatureMatchingLoss(Options options) : LossImpl(std::move(options)) {
  for (size_t k = 0; k < this->options.layer_weights.size(); ++k) {
    check_non_negative(this->options.layer_weights[k], ("layer_weights[" + std::to_string(k) + "]").c_str());
  }
}

torch::Tensor FeatureMatchingLoss::operator()(const std::vector<torch::Tensor>& fake_feats,
                                              const std::vector<torch::Tensor>& real_feats) const {
  TORCH_CHECK(!fake_feats.empty(), "feature_matching loss: no feature layers given");
  TORCH_CHECK(fake_feats.size() == real_feats.size(), "feature_matching loss: ", fake_feats.size(),
              " fake layers but ", real_feats.size(), " real layers");
  const auto& layer_weights = options.layer_weights;
  TORCH_CHECK(layer_weights.empty() || layer_weights.size() == fake_feats.size(), "feature_matching loss: ",
              layer_weights.size(), " layer_weights for ", fake_feats.size(), " feature layers");
  torch::Tensor total;
  for (size_t k = 0; k < fake_feats.size(); ++k) {
    const torch::Tensor& fake = fake_feats[k];
    const torch::Tensor real = options.detach_target ? real_feats[k].detach() : real_feats[k];
    TORCH_CHECK(fake.sizes() == real.sizes(), "feature_matching loss: layer ", k, ": fake ", fake.sizes(),
                " and real ", real.sizes(), " differ in shape");
    torch::Tensor term = elementwise_distance(options.distance, fake, real).mean();
    if (!layer_weights.empty()) term = layer_weights[k] * term;
    total = total.defined() ? total + term : term;
  }
  return weight() * total;
}

// ---------------------------------------------------------------------------------------------
// cross_entropy

ClassificationLoss::ClassificationLoss(Options options) : LossImpl(std::move(options)) {
  const double eps = this->options.label_smoothing;
  if (!(eps >= 0.0 && eps <= 1.0)) {
    throw ConfigError("label_smoothing: expected a value in [0, 1], got " + json(eps).dump());
  }
}

torch::Tensor ClassificationLoss::operator()(const torch::Tensor& logits, const torch::Tensor& labels) const {
  TORCH_CHECK(logits.dim() == 2, "cross_entropy loss: logits must be [N, K], got ", logits.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), "cross_entropy loss: labels must be [N] = [",
              logits.size(0), "], got ", labels.sizes());
  TORCH_CHECK(labels.scalar_type() == torch::kLong, "cross_entropy loss: labels must be int64, got ",
              labels.scalar_type());
  const torch::Tensor labelled = labels != options.ignore_index;
  // Ignored samples gather class 0 so the index stays valid; their term is masked out below.
  const torch::Tensor safe_labels = labels.masked_fill(labelled.logical_not(), 0);
  const torch::Tensor log_p = torch::log_softmax(logits, 1);
  torch::Tensor per_sample = -log_p.gather(1, safe_labels.unsqueeze(1)).squeeze(1);
  const double eps = options.label_smoothing;
  if (eps > 0.0) per_sample = (1.0 - eps) * per_sample - eps * log_p.mean(1);
  // where(), not a product with the mask: an ignored row's value never enters the sum (inf * 0 = NaN).
  const torch::Tensor masked = torch::where(labelled, per_sample, torch::zeros_like(per_sample));
  const torch::Tensor count = labelled.sum().to(per_sample.scalar_type()).clamp_min(1.0);
  return weight() * (masked.sum() / count);
}

// ---------------------------------------------------------------------------------------------
// total_variation

TotalVariationLoss::TotalVariationLoss(Options options) : LossImpl(std::move(options)) {}

torch::Tensor TotalVariationLoss::operator()(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(2) >= 2 && x.size(3) >= 2,
              "total_variation loss: expected [N, C, H, W] with H, W >= 2, got ", x.sizes());
  using torch::indexing::Slice;
  const torch::Tensor dy = x.index({Slice(), Slice(), Slice(1, torch::indexing::None)}) -
                           x.index({Slice(), Slice(), Slice(torch::indexing::None, -1)});
  const torch::Tensor dx = x.index({Slice(), Slice(), Slice(), Slice(1, torch::indexing::None)}) -
                           x.index({Slice(), Slice(), Slice(), Slice(torch::indexing::None, -1)});
  return weight() * (dy.abs().mean() + dx.abs().mean());
}

void register_regularizer_losses(Registry<Loss>& registry) {
  add_loss<KLDivergenceLoss>(registry, "KL divergence of N(mu, exp(logvar)) to N(0, I), summed over latent dims");
  add_loss<FeatureMatchingLoss>(registry, "per-layer weighted l1/l2 distance between fake and real features");
  add_loss<ClassificationLoss>(registry, "softmax cross entropy with label smoothing and ignored labels");
  add_loss<TotalVariationLoss>(registry, "anisotropic L1 total variation of [N, C, H, W] images");
}

}  // namespace facegan::losses
