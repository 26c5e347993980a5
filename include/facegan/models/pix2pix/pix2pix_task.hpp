#pragma once
// pix2pix (Isola et al. 2017) as a train::Task: a U-Net generator G and a conditional PatchGAN D on
// (input, output) pairs; G minimises the adversarial loss plus 100 * L1 to the target (Eq. 4),
// D the adversarial loss halved. The example task of the trainer and the base recipe the paper
// tasks build on.

#include <facegan/core/config.hpp>
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/train/task.hpp>

#include <memory>
#include <string>

namespace facegan::models {

/// Options of Pix2PixTask (JSON keys as the fields). Defaults are the paper's: unet_256 (depth 8,
/// 64 channels, batch norm, dropout 0.5), 70x70 PatchGAN, vanilla GAN + 100 * L1, Adam 2e-4 with
/// beta1 0.5, N(0, 0.02) initialisation.
struct Pix2PixTaskOptions {
  UNetGeneratorOptions generator = UNetGeneratorOptions(3, 3).dropout(0.5);
  /// in_channels is filled in as generator in + out channels when left at 0.
  PatchDiscriminatorOptions discriminator = PatchDiscriminatorOptions(0);
  /// Loss specs for the loss registry (an adversarial and a reconstruction loss).
  json adversarial = json{{"type", "vanilla"}};
  json reconstruction = json{{"type", "l1"}, {"weight", 100.0}};
  /// pix2pix divides D's objective by 2 "to slow down the rate at which D learns relative to G".
  double d_loss_factor = 0.5;
  train::AdamSettings optimizer_g;
  train::AdamSettings optimizer_d;
  Init init = Init::kNormal;
  double init_gain = 0.02;
  /// Batch keys of the input image (condition) and of the target image, [N, C, H, W] in [-1, 1].
  std::string input_key = "input";
  std::string target_key = "target";

  template <class V>
  void visit(V& v) {
    v("generator", generator);
    v("discriminator", discriminator);
    v("adversarial", adversarial);
    v("reconstruction", reconstruction);
    v("d_loss_factor", d_loss_factor);
    v("optimizer_g", optimizer_g);
    v("optimizer_d", optimizer_d);
    v("init", init);
    v("init_gain", init_gain);
    v("input_key", input_key);
    v("target_key", target_key);
  }
};

/// The pix2pix task. Networks "g" and "d"; optimizer groups "g" and "d". Losses reported: "d"
/// (the halved D objective), "g_adv", "g_rec" (weighted); metrics "d_real", "d_fake" (mean D logits).
/// Step order as pix2pix's optimize_parameters: G forward, D step on the detached fake, G step
/// with D frozen.
class Pix2PixTask : public train::Task {
 public:
  /// Registry name.
  static constexpr const char* kType = "pix2pix";
  /// Builds and initialises the networks (from torch's default generator: seed it first) and the
  /// losses. ConfigError naming the option when a value is inconsistent.
  explicit Pix2PixTask(Pix2PixTaskOptions options = {});

  std::string type() const override { return kType; }
  json to_json() const override;
  train::NamedModules networks() override;
  std::vector<train::OptimizerGroup> optimizer_groups() override;
  train::StepOutput train_step(const data::Batch& batch, train::StepContext& ctx) override;
  /// {"input", "output", "target"}.
  train::NamedImages samples(const data::Batch& batch) override;
  /// {"output": G(input)}.
  train::Outputs predict(const data::Batch& batch) override;
  /// metrics::fidelity_per_image of outputs["output"] against the target: "l1" (mean |G(x) - y| on
  /// [-1, 1]), "psnr" (dB, capped), "ssim"; evaluate() reports their means and "samples".
  train::SampleScores score_batch(const data::Batch& batch, const train::Outputs& outputs) override;

  UNetGenerator& generator() { return generator_; }
  PatchDiscriminator& discriminator() { return discriminator_; }
  const Pix2PixTaskOptions& options() const { return options_; }

 private:
  Pix2PixTaskOptions options_;
  UNetGenerator generator_{nullptr};
  PatchDiscriminator discriminator_{nullptr};
  std::shared_ptr<losses::AdversarialLoss> adversarial_;
  std::shared_ptr<losses::ReconstructionLoss> reconstruction_;
};

/// Registers "pix2pix" in the task registry.
void register_pix2pix_task(Registry<train::Task>& registry);
/// Registers "return_input" (the do-nothing translation: output = the batch's "input" key, or the
/// option "input_key") in the baseline registry.
void register_pix2pix_baselines(Registry<train::Baseline>& registry);

}  // namespace facegan::models
