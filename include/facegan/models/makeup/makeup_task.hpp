#pragma once
// PairedCycleGAN (Chang et al., "PairedCycleGAN: Asymmetric Style Transfer for Applying and
// Removing Makeup", CVPR 2018) as a train::Task. Networks: the transfer generator G(x, y)
// (MakeupGenerator: global + per-region residual paths), the removal network F(y), D_X (bare faces
// against F's outputs), D_Y (made-up faces against G's outputs) and the style discriminator D_S on
// pairs: (y, W(x, y)) real against (y, G(x, y)) fake, W warping y onto x's landmarks.
// G and F minimise (Sec. 3):
//   adversarial(D_Y, G) + adversarial(D_X, F) + adversarial(D_S, G)
//   + identity ||F(G(x, y)) - x||_1 + style ||G(F(y), G(x, y)) - y||_1
// where in the style term G(x, y) is warped back onto y's geometry before it serves as reference.
// Extension, not in the paper (off by default, weight 0): a per-region colour-histogram matching
// loss ||G(x, y) - HM(G(x, y), y)||_1 inside each area (BeautyGAN's makeup loss).

#include <facegan/core/config.hpp>
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/makeup/makeup_generator.hpp>
#include <facegan/train/task.hpp>

#include <memory>
#include <string>

namespace facegan::models {

/// Diagnostic terms of MakeupTask, apart from the paper's options (JSON key "diagnostics"): L1 to
/// the synthetic ground truth, ||G(x, y) - target||_1 and ||F(y) - reference_bare||_1, impossible
/// on real data; weight 0 = off. They tell a capacity or schedule limit (the networks cannot learn
/// the answer even when told it) from an objective limit (they can, but the paper's losses do not
/// lead there); docs/makeup.md, "Supervised bounds".
struct MakeupDiagnostics {
  json supervised_transfer = json{{"type", "l1"}, {"weight", 0.0}};
  json supervised_removal = json{{"type", "l1"}, {"weight", 0.0}};

  template <class V>
  void visit(V& v) {
    v("supervised_transfer", supervised_transfer);
    v("supervised_removal", supervised_removal);
  }
};

/// Options of MakeupTask (JSON keys as the fields).
struct MakeupTaskOptions {
  MakeupGeneratorOptions generator;
  /// F: x conditioned on the 3 area masks (in/out 3, cond_channels 3 are forced).
  UNetGeneratorOptions remover = UNetGeneratorOptions(3, 3).depth(6).base_channels(32).norm(Norm::kInstance).cond_channels(3);
  /// D_X and D_Y (in_channels 3 forced).
  PatchDiscriminatorOptions discriminator = PatchDiscriminatorOptions(3).base_channels(32).norm(Norm::kInstance);
  /// D_S on (y, image) pairs (in_channels 6 forced).
  PatchDiscriminatorOptions style_discriminator = PatchDiscriminatorOptions(6).base_channels(32).norm(Norm::kInstance);
  /// Adversarial losses (loss registry). CycleGAN's least-squares GAN for D_X/D_Y and for D_S.
  json adversarial = json{{"type", "lsgan"}};
  json style_adversarial = json{{"type", "lsgan"}};
  /// The D_X / F pair's own adversarial loss; null = the same as `adversarial`. F is the only
  /// network that must move away from the identity map for the style cycle to carry any makeup
  /// (with F = id, G = id satisfies both cycle losses exactly), so it may need a stronger push
  /// than G, whose adversarial terms cost face fidelity.
  json removal_adversarial = nullptr;
  /// ||F(G(x, y)) - x||_1 and ||G(F(y), G(x, y)) - y||_1 (reconstruction losses).
  json identity = json{{"type", "l1"}, {"weight", 10.0}};
  json style = json{{"type", "l1"}, {"weight", 10.0}};
  /// Extension, not in the paper: histogram matching inside each area; weight 0 = off.
  json histogram = json{{"type", "l1"}, {"weight", 0.0}};
  /// The areas the histogram extension matches (skin is left out by default: matching the whole
  /// skin area to the reference's would repaint the source's complexion, not its makeup).
  std::vector<std::string> histogram_regions{"eyes", "lips"};
  /// Not the paper: supervised bounds for experiments on synthetic data (off by default).
  MakeupDiagnostics diagnostics;
  /// Ablation switches: D_S (and its loss) off; the style loss off (its F(y) -> G pass is skipped).
  bool use_style_discriminator = true;
  bool use_style_loss = true;
  /// D objectives are halved (CycleGAN), slowing D relative to G.
  double d_loss_factor = 0.5;
  /// Group "g" updates G and F, group "d" the three discriminators.
  train::AdamSettings optimizer_g;
  train::AdamSettings optimizer_d;
  Init init = Init::kNormal;
  double init_gain = 0.02;

  template <class V>
  void visit(V& v) {
    v("generator", generator);
    v("remover", remover);
    v("discriminator", discriminator);
    v("style_discriminator", style_discriminator);
    v("adversarial", adversarial);
    v("style_adversarial", style_adversarial);
    v("removal_adversarial", removal_adversarial);
    v("identity", identity);
    v("style", style);
    v("histogram", histogram);
    v("histogram_regions", histogram_regions);
    v("diagnostics", diagnostics);
    v("use_style_discriminator", use_style_discriminator);
    v("use_style_loss", use_style_loss);
    v("d_loss_factor", d_loss_factor);
    v("optimizer_g", optimizer_g);
    v("optimizer_d", optimizer_d);
    v("init", init);
    v("init_gain", init_gain);
  }
};

/// What G, F and the cycles produce on one batch (MakeupTask::forward).
struct MakeupForward {
  torch::Tensor transfer;        ///< G(x, y), x's geometry
  torch::Tensor removal;         ///< F(y), y's geometry
  torch::Tensor identity_cycle;  ///< F(G(x, y)) (vs x)
  torch::Tensor style_cycle;     ///< G(F(y), warp_to_y(G(x, y))) (vs y); undefined without the style loss
};

/// The PairedCycleGAN task. Batch keys: data/makeup_pairs.hpp's ("source", "reference", "warped",
/// "source_areas", "reference_areas", "source_landmarks", "reference_landmarks",
/// "inverse_warp_grid"; evaluation also "target", "reference_bare", "source_mask",
/// "reference_mask", "source_makeup_mask"). Networks "g", "f", "d_x", "d_y", "d_s" (always
/// built, so checkpoints keep one layout; d_s is idle when use_style_discriminator is false).
/// Losses logged: "d_x", "d_y", "d_s", "g_adv_y", "f_adv_x", "g_adv_s", "identity", "style",
/// "histogram", "supervised_transfer", "supervised_removal" (each weighted; absent when switched
/// off; the supervised diagnostics need the synthetic keys "target" and "reference_bare").
class MakeupTask : public train::Task {
 public:
  /// Registry name.
  static constexpr const char* kType = "makeup";
  /// Builds and initialises the networks (seed torch first) and the losses; ConfigError naming the
  /// option when a value is inconsistent.
  explicit MakeupTask(MakeupTaskOptions options = {});

  std::string type() const override { return kType; }
  json to_json() const override;
  train::NamedModules networks() override;
  std::vector<train::OptimizerGroup> optimizer_groups() override;
  train::StepOutput train_step(const data::Batch& batch, train::StepContext& ctx) override;
  /// {"source", "reference", "warped", "transfer", "removal"} (+ "target" when the batch has it).
  train::NamedImages samples(const data::Batch& batch) override;
  /// {"transfer": G(x, y), "removal": F(y)}.
  train::Outputs predict(const data::Batch& batch) override;
  /// makeup_scores of outputs["transfer"] and (when present) outputs["removal"]; evaluate()
  /// reports their means (NaN entries skipped) and "samples".
  train::SampleScores score_batch(const data::Batch& batch, const train::Outputs& outputs) override;

  /// The forward passes of one batch (the cycles only when `cycles`).
  MakeupForward forward(const data::Batch& batch, bool cycles = true);
  /// The G+F objective's terms on a batch, weighted, by name (no optimizer step): what train_step
  /// minimises. Discriminators are evaluated as they are.
  std::map<std::string, torch::Tensor> generator_losses(const data::Batch& batch);

  MakeupGenerator& generator() { return generator_; }
  UNetGenerator& remover() { return remover_; }
  PatchDiscriminator& d_x() { return d_x_; }
  PatchDiscriminator& d_y() { return d_y_; }
  PatchDiscriminator& d_s() { return d_s_; }
  const MakeupTaskOptions& options() const { return options_; }

 private:
  std::map<std::string, torch::Tensor> g_terms(const data::Batch& batch, const MakeupForward& fw);

  MakeupTaskOptions options_;
  MakeupGenerator generator_{nullptr};
  UNetGenerator remover_{nullptr};
  PatchDiscriminator d_x_{nullptr}, d_y_{nullptr}, d_s_{nullptr};
  std::shared_ptr<losses::AdversarialLoss> adversarial_, style_adversarial_, removal_adversarial_;
  std::shared_ptr<losses::ReconstructionLoss> identity_, style_, histogram_, supervised_transfer_, supervised_removal_;
};

/// Evaluation of makeup outputs against the synthetic ground truth, per image (float64 [N]):
/// "face_psnr" (transfer vs target over face pixels: not background, not hair), "delta_e_lips",
/// "delta_e_eyes", "delta_e_cheeks" (mean CIE76 Delta E vs target inside the lips / eye / skin
/// area intersected with x's makeup mask; NaN where empty), "identity_psnr" (transfer vs target
/// over face pixels outside the makeup mask: makeup cannot change them) and, when `removal` is
/// defined, "removal_psnr" (removal vs reference_bare over y's face pixels). PSNRs are capped at
/// metrics::kPsnrCap. batch: a synthetic_makeup batch.
std::map<std::string, torch::Tensor> makeup_scores(const data::Batch& batch, const torch::Tensor& transfer,
                                                   const torch::Tensor& removal = {});

/// Registers "makeup" in the task registry.
void register_makeup_task(Registry<train::Task>& registry);

/// Registers the makeup baselines, each giving {"transfer", "removal"} for a synthetic_makeup batch:
///   "makeup_return_x":  transfer = x, removal = y (nothing changes);
///   "makeup_reinhard":  per-area Reinhard colour transfer (Lab mean and deviation) from y's eyes,
///                       lips and skin areas onto x's; removal = y;
///   "makeup_paste":     D_S's positive example: W(x, y) shifted onto x's complexion (Lab mean over
///                       the skin outside the areas) and pasted into x's areas; removal = y;
///   "makeup_oracle":    x + W(y - bare y), removal = bare y: reads the ground truth, so it is not a
///                       method but the headroom a transfer model has over "return x".
void register_makeup_baselines(Registry<train::Baseline>& registry);

}  // namespace facegan::models
