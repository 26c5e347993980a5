#include <facegan/losses/adversarial.hpp>

#include <torch/torch.h>

namespace facegan::losses {

namespace F = torch::nn::functional;

namespace {

// Mean BCE-with-logits against a constant target (log-sum-exp form: stable for any logit).
torch::Tensor bce_to(const torch::Tensor& logits, double target) {
  return F::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
}

torch::Tensor mse_to(const torch::Tensor& logits, double target) { return (logits - target).square().mean(); }

void check_scales(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  TORCH_CHECK(!a.empty(), "adversarial loss: no discriminator scales given");
  TORCH_CHECK(a.size() == b.size(), "adversarial loss: ", a.size(), " real scales but ", b.size(), " fake scales");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AdversarialLoss

torch::Tensor AdversarialLoss::discriminator_loss(const torch::Tensor& real_logits,
                                                  const torch::Tensor& fake_logits) const {
  return weight() * (real_term(real_logits) + fake_term(fake_logits));
}

torch::Tensor AdversarialLoss::discriminator_loss(const std::vector<torch::Tensor>& real_logits,
                                                  const std::vector<torch::Tensor>& fake_logits) const {
  check_scales(real_logits, fake_logits);
  torch::Tensor total = real_term(real_logits[0]) + fake_term(fake_logits[0]);
  for (size_t k = 1; k < real_logits.size(); ++k) {
    total = total + real_term(real_logits[k]) + fake_term(fake_logits[k]);
  }
  return (weight() / static_cast<double>(real_logits.size())) * total;
}

torch::Tensor AdversarialLoss::generator_loss(const torch::Tensor& fake_logits) const {
  return weight() * generator_term(fake_logits);
}

torch::Tensor AdversarialLoss::generator_loss(const std::vector<torch::Tensor>& fake_logits) const {
  TORCH_CHECK(!fake_logits.empty(), "adversarial loss: no discriminator scales given");
  torch::Tensor total = generator_term(fake_logits[0]);
  for (size_t k = 1; k < fake_logits.size(); ++k) total = total + generator_term(fake_logits[k]);
  return (weight() / static_cast<double>(fake_logits.size())) * total;
}

torch::Tensor AdversarialLoss::penalty(const std::function<torch::Tensor(const torch::Tensor&)>& /*critic*/,
                                       const torch::Tensor& real, const torch::Tensor& /*fake*/,
                                       const torch::Tensor& /*alpha*/) const {
  return torch::zeros({}, real.options());
}

// ---------------------------------------------------------------------------------------------
// vanilla

VanillaGanLoss::VanillaGanLoss(Options options) : LossImpl(std::move(options)) {
  // BCE targets are probabilities; lsgan, whose targets are plain regression values, takes any.
  for (const auto& [key, value] : {std::pair{"real_label", this->options.real_label},
                                   std::pair{"fake_label", this->options.fake_label}}) {
    if (!(value >= 0.0 && value <= 1.0)) {
      throw ConfigError(std::string(key) + ": expected a probability in [0, 1], got " + json(value).dump());
    }
  }
}

torch::Tensor VanillaGanLoss::real_term(const torch::Tensor& real_logits) const {
  return bce_to(real_logits, options.real_label);
}
torch::Tensor VanillaGanLoss::fake_term(const torch::Tensor& fake_logits) const {
  return bce_to(fake_logits, options.fake_label);
}
// Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))), whose gradient
// vanishes exactly when the generator is worst. The target is 1 even with label smoothing:
// smoothing tempers the discriminator's confidence, not what the generator aims for.
torch::Tensor VanillaGanLoss::generator_term(const torch::Tensor& fake_logits) const {
  return bce_to(fake_logits, 1.0);
}

// ---------------------------------------------------------------------------------------------
// lsgan

LsganLoss::LsganLoss(Options options) : LossImpl(std::move(options)) {}

torch::Tensor LsganLoss::real_term(const torch::Tensor& real_logits) const {
  return mse_to(real_logits, options.real_label);
}
torch::Tensor LsganLoss::fake_term(const torch::Tensor& fake_logits) const {
  return mse_to(fake_logits, options.fake_label);
}
torch::Tensor LsganLoss::generator_term(const torch::Tensor& fake_logits) const { return mse_to(fake_logits, 1.0); }

// ---------------------------------------------------------------------------------------------
// hinge

HingeGanLoss::HingeGanLoss(Options options) : LossImpl(std::move(options)) {}

torch::Tensor HingeGanLoss::real_term(const torch::Tensor& real_logits) const {
  return torch::relu(1.0 - real_logits).mean();
}
torch::Tensor HingeGanLoss::fake_term(const torch::Tensor& fake_logits) const {
  return torch::relu(1.0 + fake_logits).mean();
}
torch::Tensor HingeGanLoss::generator_term(const torch::Tensor& fake_logits) const { return -fake_logits.mean(); }

// ---------------------------------------------------------------------------------------------
// wgan_gp

WganGpLoss::WganGpLoss(Options options) : LossImpl(std::move(options)) {
  check_non_negative(this->options.gp_weight, "gp_weight");
}

torch::Tensor WganGpLoss::real_term(const torch::Tensor& real_logits) const { return -real_logits.mean(); }
torch::Tensor WganGpLoss::fake_term(const torch::Tensor& fake_logits) const { return fake_logits.mean(); }
torch::Tensor WganGpLoss::generator_term(const torch::Tensor& fake_logits) const { return -fake_logits.mean(); }

torch::Tensor WganGpLoss::penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                                  const torch::Tensor& real, const torch::Tensor& fake,
                                  const torch::Tensor& alpha) const {
  TORCH_CHECK(real.dim() >= 1 && real.size(0) >= 1, "wgan_gp penalty: real must be [N, ...] with N >= 1, got ",
              real.sizes());
  TORCH_CHECK(real.sizes() == fake.sizes(), "wgan_gp penalty: real ", real.sizes(), " and fake ", fake.sizes(),
              " differ in shape");
  const int64_t n = real.size(0);
  // One interpolation weight per sample, broadcast over its other dimensions.
  std::vector<int64_t> per_sample(static_cast<size_t>(real.dim()), 1);
  per_sample[0] = n;
  torch::Tensor a;
  if (alpha.defined()) {
    TORCH_CHECK(alpha.numel() == n, "wgan_gp penalty: alpha needs one value per sample (", n, "), got ",
                alpha.sizes());
    a = alpha.detach().to(real.options()).reshape(per_sample);
  } else {
    a = torch::rand(per_sample, real.options());
  }
  // Only the critic is regularised: gradients must not flow into the generator or the data.
  const torch::Tensor x_hat = (a * real.detach() + (1.0 - a) * fake.detach()).requires_grad_(true);
  const torch::Tensor out = critic(x_hat);
  TORCH_CHECK(out.requires_grad(), "wgan_gp penalty: the critic's output does not depend on its input");
  const torch::Tensor grad = torch::autograd::grad({out}, {x_hat}, {torch::ones_like(out)},
                                                   /*retain_graph=*/true, /*create_graph=*/true)[0];
  const torch::Tensor norm = grad.reshape({n, -1}).norm(2, 1);
  return (weight() * options.gp_weight) * (norm - 1.0).square().mean();
}

void register_adversarial_losses(Registry<Loss>& registry) {
  add_loss<VanillaGanLoss>(registry, "non-saturating GAN: BCE with logits (Goodfellow et al. 2014)");
  add_loss<LsganLoss>(registry, "least-squares GAN (Mao et al. 2017)");
  add_loss<HingeGanLoss>(registry, "hinge GAN (Lim & Ye 2017; Miyato et al. 2018)");
  add_loss<WganGpLoss>(registry, "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)");
}

}  // namespace facegan::losses
