#include <facegan/core/error.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>

#include <cmath>

namespace facegan::models {

Pix2PixTask::Pix2PixTask(Pix2PixTaskOptions options) : options_(std::move(options)) {
  const auto& g = options_.generator;
  if (options_.discriminator.in_channels() == 0) {
    options_.discriminator.in_channels(g.in_channels() + g.out_channels());
  }
  if (options_.discriminator.in_channels() != g.in_channels() + g.out_channels()) {
    throw ConfigError("pix2pix.discriminator.in_channels: the conditional D sees (input, output) pairs, so it must be " +
                      std::to_string(g.in_channels() + g.out_channels()) + ", got " +
                      std::to_string(options_.discriminator.in_channels()));
  }
  if (!(options_.d_loss_factor > 0)) throw ConfigError("pix2pix.d_loss_factor: must be > 0");
  if (options_.input_key.empty() || options_.target_key.empty()) throw ConfigError("pix2pix: empty batch key");
  adversarial_ = losses::create_loss_as<losses::AdversarialLoss>(options_.adversarial, "pix2pix.adversarial");
  reconstruction_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.reconstruction, "pix2pix.reconstruction");
  generator_ = UNetGenerator(options_.generator);
  discriminator_ = PatchDiscriminator(options_.discriminator);
  init_weights(*generator_, options_.init, options_.init_gain);
  // A residual generator starts as the identity: the L1 term then teaches it the change alone.
  if (g.residual_scale() > 0) generator_->zero_output_layer();
  init_weights(*discriminator_, options_.init, options_.init_gain);
}

json Pix2PixTask::to_json() const {
  json j = options_to_json(options_);
  j["type"] = kType;
  return j;
}

train::NamedModules Pix2PixTask::networks() { return {{"g", generator_.ptr()}, {"d", discriminator_.ptr()}}; }

std::vector<train::OptimizerGroup> Pix2PixTask::optimizer_groups() {
  return {{"g", generator_->parameters(), options_.optimizer_g}, {"d", discriminator_->parameters(), options_.optimizer_d}};
}

train::StepOutput Pix2PixTask::train_step(const data::Batch& batch, train::StepContext& ctx) {
  const torch::Tensor& real_a = batch.at(options_.input_key);
  const torch::Tensor& real_b = batch.at(options_.target_key);
  train::StepOutput out;

  torch::Tensor fake_b;
  {
    auto amp = ctx.autocast();
    fake_b = generator_->forward(real_a);
  }

  // D step: real pairs vs detached fake pairs (G gets no gradient from it).
  set_requires_grad(*discriminator_, true);
  torch::Tensor d_loss, real_logits, fake_logits;
  {
    auto amp = ctx.autocast();
    real_logits = discriminator_->forward(torch::cat({real_a, real_b}, 1));
    fake_logits = discriminator_->forward(torch::cat({real_a, fake_b.detach()}, 1));
    d_loss = options_.d_loss_factor * adversarial_->discriminator_loss(real_logits, fake_logits);
  }
  ctx.step("d", d_loss);

  // G step: fool the (frozen) D and stay close to the target.
  set_requires_grad(*discriminator_, false);
  torch::Tensor g_adv, g_rec;
  {
    auto amp = ctx.autocast();
    g_adv = adversarial_->generator_loss(discriminator_->forward(torch::cat({real_a, fake_b}, 1)));
    g_rec = (*reconstruction_)(fake_b.to(real_b.scalar_type()), real_b);
  }
  ctx.step("g", g_adv + g_rec);
  set_requires_grad(*discriminator_, true);

  out.losses = {{"d", d_loss.detach()}, {"g_adv", g_adv.detach()}, {"g_rec", g_rec.detach()}};
  out.metrics = {{"d_real", real_logits.detach().mean()}, {"d_fake", fake_logits.detach().mean()}};
  return out;
}

train::NamedImages Pix2PixTask::samples(const data::Batch& batch) {
  const torch::Tensor& a = batch.at(options_.input_key);
  return {{"input", a}, {"output", generator_->forward(a)}, {"target", batch.at(options_.target_key)}};
}

train::Outputs Pix2PixTask::predict(const data::Batch& batch) {
  return {{"output", generator_->forward(batch.at(options_.input_key))}};
}

train::SampleScores Pix2PixTask::score_batch(const data::Batch& batch, const train::Outputs& outputs) {
  return metrics::fidelity_per_image(train::output_at(outputs, "output"), batch.at(options_.target_key));
}

void register_pix2pix_task(Registry<train::Task>& registry) {
  registry.add(
      Pix2PixTask::kType,
      [](const json& options) -> std::shared_ptr<train::Task> {
        return std::make_shared<Pix2PixTask>(apply_json(Pix2PixTaskOptions(), options, "pix2pix"));
      },
      "pix2pix (Isola et al. 2017): U-Net G, conditional PatchGAN D, adversarial + 100 * L1",
      options_to_json(Pix2PixTaskOptions()));
}

namespace {
/// Options of the "return_input" baseline.
struct ReturnInputOptions {
  std::string input_key = "input";
  template <class V>
  void visit(V& v) {
    v("input_key", input_key);
  }
};
}  // namespace

void register_pix2pix_baselines(Registry<train::Baseline>& registry) {
  registry.add(
      "return_input",
      [](const json& options) -> std::shared_ptr<train::Baseline> {
        const std::string key = apply_json(ReturnInputOptions(), options).input_key;
        return std::make_shared<train::FunctionBaseline>(
            [key](const data::Batch& b) { return train::Outputs{{"output", b.at(key)}}; });
      },
      "the do-nothing translation: output = the input image (image-to-image tasks: pix2pix, DeRL stage 1)",
      options_to_json(ReturnInputOptions()));
}

}  // namespace facegan::models
