#pragma once

#include <facegan/losses/loss.hpp>

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace facegan::losses {

/// A GAN objective over discriminator logits (never probabilities: the `_with_logits` forms are the
/// numerically stable ones). Logits may have any shape ([N], [N, 1], PatchGAN's [N, 1, h, w]); every
/// term is a mean over all their elements. All values are multiplied by weight().
class AdversarialLoss : public Loss {
 public:
  /// The family as it reads in error messages.
  static constexpr const char* kKind = "an adversarial loss";

  /// Discriminator objective: real term + fake term, each a mean over its logits. Pass
  /// `fake_logits` of a detached fake so the generator receives no gradient from this loss.
  torch::Tensor discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) const;
  /// Multi-scale discriminators: the average over scales of the single-scale loss; the lists have
  /// one entry per scale, the same number of entries, at least one.
  torch::Tensor discriminator_loss(const std::vector<torch::Tensor>& real_logits,
                                   const std::vector<torch::Tensor>& fake_logits) const;

  /// Generator objective on the discriminator's logits of generated images.
  torch::Tensor generator_loss(const torch::Tensor& fake_logits) const;
  /// Multi-scale discriminators: the average over scales (at least one).
  torch::Tensor generator_loss(const std::vector<torch::Tensor>& fake_logits) const;

  /// Whether `penalty()` adds anything (a gradient penalty on the critic); when false, a recipe can
  /// skip building the interpolates altogether.
  virtual bool has_penalty() const { return false; }

  /// A regulariser of the discriminator `critic` evaluated around `real` and `fake` ([N, ...], the
  /// same shape); `alpha` ([N] or broadcastable to real) fixes the interpolation weights, random
  /// when undefined. This base returns a zero scalar of real's dtype and device.
  virtual torch::Tensor penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                                const torch::Tensor& real, const torch::Tensor& fake,
                                const torch::Tensor& alpha = {}) const;

 protected:
  /// Unweighted discriminator term on real logits (a mean).
  virtual torch::Tensor real_term(const torch::Tensor& real_logits) const = 0;
  /// Unweighted discriminator term on fake logits (a mean).
  virtual torch::Tensor fake_term(const torch::Tensor& fake_logits) const = 0;
  /// Unweighted generator term on fake logits (a mean).
  virtual torch::Tensor generator_term(const torch::Tensor& fake_logits) const = 0;
};

/// Options of the label-target GANs (vanilla, lsgan). Labels other than 1/0 give label smoothing
/// (Salimans et al. 2016 suggest real_label 0.9); they only change the discriminator's targets.
struct LabelTargetOptions {
  double weight = 1.0;
  double real_label = 1.0;  ///< Discriminator target for real logits.
  double fake_label = 0.0;  ///< Discriminator target for fake logits.
  template <class V>
  void visit(V& v) {
    v("weight", weight);
    v("real_label", real_label);
    v("fake_label", fake_label);
  }
};

/// Goodfellow et al. 2014 with the non-saturating generator loss:
/// D: BCE(real, real_label) + BCE(fake, fake_label); G: BCE(fake, 1) = mean softplus(-fake).
class VanillaGanLoss final : public LossImpl<VanillaGanLoss, AdversarialLoss, LabelTargetOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "vanilla";
  /// Throws ConfigError unless weight >= 0 and both labels lie in [0, 1].
  explicit VanillaGanLoss(Options options = {});

 protected:
  torch::Tensor real_term(const torch::Tensor& real_logits) const override;
  torch::Tensor fake_term(const torch::Tensor& fake_logits) const override;
  torch::Tensor generator_term(const torch::Tensor& fake_logits) const override;
};

/// Least-squares GAN (Mao et al. 2017) on raw logits:
/// D: mean (real - real_label)^2 + mean (fake - fake_label)^2; G: mean (fake - 1)^2.
class LsganLoss final : public LossImpl<LsganLoss, AdversarialLoss, LabelTargetOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "lsgan";
  /// Throws ConfigError on a negative weight; the labels may be any values (e.g. -1/1 coding).
  explicit LsganLoss(Options options = {});

 protected:
  torch::Tensor real_term(const torch::Tensor& real_logits) const override;
  torch::Tensor fake_term(const torch::Tensor& fake_logits) const override;
  torch::Tensor generator_term(const torch::Tensor& fake_logits) const override;
};

/// Hinge GAN (Lim & Ye 2017; Miyato et al. 2018):
/// D: mean relu(1 - real) + mean relu(1 + fake); G: -mean fake.
class HingeGanLoss final : public LossImpl<HingeGanLoss, AdversarialLoss, WeightOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "hinge";
  /// Throws ConfigError on a negative weight.
  explicit HingeGanLoss(Options options = {});

 protected:
  torch::Tensor real_term(const torch::Tensor& real_logits) const override;
  torch::Tensor fake_term(const torch::Tensor& fake_logits) const override;
  torch::Tensor generator_term(const torch::Tensor& fake_logits) const override;
};

/// Options of wgan_gp.
struct WganGpOptions {
  double weight = 1.0;
  double gp_weight = 10.0;  ///< lambda of Gulrajani et al. 2017, Eq. 3.
  template <class V>
  void visit(V& v) {
    v("weight", weight);
    v("gp_weight", gp_weight);
  }
};

/// Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Eq. 3):
/// D: mean fake - mean real; G: -mean fake;
/// penalty: gp_weight * mean_i (||grad_x critic(x_hat_i)||_2 - 1)^2,
/// x_hat = alpha * real + (1 - alpha) * fake, alpha ~ U[0, 1] per sample.
class WganGpLoss final : public LossImpl<WganGpLoss, AdversarialLoss, WganGpOptions> {
 public:
  /// Registry name.
  static constexpr const char* kType = "wgan_gp";
  /// Throws ConfigError on a negative weight or gp_weight.
  explicit WganGpLoss(Options options = {});

  bool has_penalty() const override { return true; }
  /// The gradient penalty, times weight(). Real and fake are detached (only the critic is
  /// regularised); the gradient is taken with create_graph so the penalty back-propagates into the
  /// critic's parameters. The critic sees [N, ...] interpolates; its output may have any shape
  /// (each element's gradient is summed, as in the reference code).
  torch::Tensor penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                        const torch::Tensor& real, const torch::Tensor& fake,
                        const torch::Tensor& alpha = {}) const override;

 protected:
  torch::Tensor real_term(const torch::Tensor& real_logits) const override;
  torch::Tensor fake_term(const torch::Tensor& fake_logits) const override;
  torch::Tensor generator_term(const torch::Tensor& fake_logits) const override;
};

/// Registers vanilla, lsgan, hinge and wgan_gp.
void register_adversarial_losses(Registry<Loss>& registry);

}  // namespace facegan::losses
