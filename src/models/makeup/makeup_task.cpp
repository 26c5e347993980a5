#include <facegan/core/error.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/losses/histogram.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/makeup/makeup_task.hpp>

#include <cmath>

namespace facegan::models {
namespace F = torch::nn::functional;

namespace {

torch::Tensor warp_with_grid(const torch::Tensor& images, const torch::Tensor& grid) {
  return F::grid_sample(images, grid.to(images.dtype()),
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

/// Face pixels of Region maps [N, H, W]: neither background nor hair.
torch::Tensor face_pixels(const torch::Tensor& regions) {
  return (regions != static_cast<int>(data::Region::kBackground)) & (regions != static_cast<int>(data::Region::kHair));
}

}  // namespace

MakeupTask::MakeupTask(MakeupTaskOptions options) : options_(std::move(options)) {
  if (!(options_.d_loss_factor > 0)) throw ConfigError("makeup.d_loss_factor: must be > 0");
  area_indices(options_.histogram_regions, "makeup.histogram_regions");
  options_.remover.in_channels(3).out_channels(3).cond_channels(data::kNumFaceAreas);
  options_.discriminator.in_channels(3);
  options_.style_discriminator.in_channels(6);
  adversarial_ = losses::create_loss_as<losses::AdversarialLoss>(options_.adversarial, "makeup.adversarial");
  style_adversarial_ = losses::create_loss_as<losses::AdversarialLoss>(options_.style_adversarial, "makeup.style_adversarial");
  removal_adversarial_ = options_.removal_adversarial.is_null()
                             ? adversarial_
                             : losses::create_loss_as<losses::AdversarialLoss>(options_.removal_adversarial, "makeup.removal_adversarial");
  identity_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.identity, "makeup.identity");
  style_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.style, "makeup.style");
  histogram_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.histogram, "makeup.histogram");
  supervised_transfer_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.diagnostics.supervised_transfer,
                                                                         "makeup.diagnostics.supervised_transfer");
  supervised_removal_ = losses::create_loss_as<losses::ReconstructionLoss>(options_.diagnostics.supervised_removal,
                                                                        "makeup.diagnostics.supervised_removal");
  generator_ = MakeupGenerator(options_.generator);
  options_.generator = generator_->options;
  remover_ = UNetGenerator(options_.remover);
  d_x_ = PatchDiscriminator(options_.discriminator);
  d_y_ = PatchDiscriminator(options_.discriminator);
  d_s_ = PatchDiscriminator(options_.style_discriminator);
  for (torch::nn::Module* m : std::initializer_list<torch::nn::Module*>{generator_.get(), remover_.get(), d_x_.get(), d_y_.get(), d_s_.get()}) {
    init_weights(*m, options_.init, options_.init_gain);
  }
  if (options_.generator.zero_init) {
    generator_->zero_outputs();
    zero_unet_output(remover_);
  }
}

json MakeupTask::to_json() const {
  json j = options_to_json(options_);
  j["type"] = kType;
  return j;
}

train::NamedModules MakeupTask::networks() {
  return {{"g", generator_.ptr()}, {"f", remover_.ptr()}, {"d_x", d_x_.ptr()}, {"d_y", d_y_.ptr()}, {"d_s", d_s_.ptr()}};
}

std::vector<train::OptimizerGroup> MakeupTask::optimizer_groups() {
  std::vector<torch::Tensor> g = generator_->parameters(), d = d_x_->parameters();
  for (const auto& p : remover_->parameters()) g.push_back(p);
  for (const auto& p : d_y_->parameters()) d.push_back(p);
  if (options_.use_style_discriminator) {
    for (const auto& p : d_s_->parameters()) d.push_back(p);
  }
  return {{"g", g, options_.optimizer_g}, {"d", d, options_.optimizer_d}};
}

MakeupForward MakeupTask::forward(const data::Batch& batch, bool cycles) {
  const torch::Tensor& x = batch.at("source");
  const torch::Tensor& y = batch.at("reference");
  const torch::Tensor& x_areas = batch.at("source_areas");
  const torch::Tensor& y_areas = batch.at("reference_areas");
  const double scale = options_.generator.delta_scale;
  MakeupForward fw;
  fw.transfer = generator_->forward(x, batch.at("warped"), x_areas, batch.at("source_landmarks"));
  fw.removal = remove_makeup(remover_, y, y_areas, scale);
  if (cycles) {
    fw.identity_cycle = remove_makeup(remover_, fw.transfer, x_areas, scale);
    if (options_.use_style_loss) {
      // G(x, y) carries y's makeup in x's geometry; warped onto y's it is the reference for F(y).
      const torch::Tensor ref = warp_with_grid(fw.transfer, batch.at("inverse_warp_grid"));
      fw.style_cycle = generator_->forward(fw.removal, ref, y_areas, batch.at("reference_landmarks"));
    }
  }
  return fw;
}

std::map<std::string, torch::Tensor> MakeupTask::g_terms(const data::Batch& batch, const MakeupForward& fw) {
  const torch::Tensor& x = batch.at("source");
  const torch::Tensor& y = batch.at("reference");
  std::map<std::string, torch::Tensor> t;
  t["g_adv_y"] = adversarial_->generator_loss(d_y_->forward(fw.transfer));
  t["f_adv_x"] = removal_adversarial_->generator_loss(d_x_->forward(fw.removal));
  if (options_.use_style_discriminator) {
    t["g_adv_s"] = style_adversarial_->generator_loss(d_s_->forward(torch::cat({y, fw.transfer}, 1)));
  }
  t["identity"] = (*identity_)(fw.identity_cycle, x);
  if (options_.use_style_loss) t["style"] = (*style_)(fw.style_cycle, y);
  if (supervised_transfer_->weight() > 0) t["supervised_transfer"] = (*supervised_transfer_)(fw.transfer, batch.at("target"));
  if (supervised_removal_->weight() > 0) t["supervised_removal"] = (*supervised_removal_)(fw.removal, batch.at("reference_bare"));
  if (histogram_->weight() > 0) {
    const torch::Tensor& xa = batch.at("source_areas");
    const torch::Tensor& ya = batch.at("reference_areas");
    torch::Tensor h;
    for (int64_t a : area_indices(options_.histogram_regions, "makeup.histogram_regions")) {
      const torch::Tensor m = xa.narrow(1, a, 1).to(x.dtype());
      const torch::Tensor target = losses::histogram_matched(fw.transfer, m, y, ya.narrow(1, a, 1));
      const torch::Tensor term = (*histogram_)(fw.transfer * m, target * m);
      h = h.defined() ? h + term : term;
    }
    t["histogram"] = h;
  }
  return t;
}

std::map<std::string, torch::Tensor> MakeupTask::generator_losses(const data::Batch& batch) {
  return g_terms(batch, forward(batch, true));
}

train::StepOutput MakeupTask::train_step(const data::Batch& batch, train::StepContext& ctx) {
  const torch::Tensor& x = batch.at("source");
  const torch::Tensor& y = batch.at("reference");
  MakeupForward fw;
  {
    auto amp = ctx.autocast();
    fw = forward(batch, true);
  }
  train::StepOutput out;

  // D step on detached fakes: D_Y (made-up y vs G(x, y)), D_X (bare x vs F(y)), D_S ((y, W) vs (y, G)).
  for (auto* d : {&d_x_, &d_y_, &d_s_}) set_requires_grad(**d, true);
  torch::Tensor d_total, d_s_loss, real_s, fake_s;
  {
    auto amp = ctx.autocast();
    const torch::Tensor fake_y = fw.transfer.detach(), fake_x = fw.removal.detach();
    const torch::Tensor d_y_loss = options_.d_loss_factor * adversarial_->discriminator_loss(d_y_->forward(y), d_y_->forward(fake_y));
    const torch::Tensor d_x_loss = options_.d_loss_factor * removal_adversarial_->discriminator_loss(d_x_->forward(x), d_x_->forward(fake_x));
    d_total = d_y_loss + d_x_loss;
    out.losses["d_y"] = d_y_loss.detach();
    out.losses["d_x"] = d_x_loss.detach();
    if (options_.use_style_discriminator) {
      real_s = d_s_->forward(torch::cat({y, batch.at("warped")}, 1));
      fake_s = d_s_->forward(torch::cat({y, fake_y}, 1));
      d_s_loss = options_.d_loss_factor * style_adversarial_->discriminator_loss(real_s, fake_s);
      d_total = d_total + d_s_loss;
      out.losses["d_s"] = d_s_loss.detach();
    }
  }
  ctx.step("d", d_total);

  // G + F step with the discriminators frozen.
  for (auto* d : {&d_x_, &d_y_, &d_s_}) set_requires_grad(**d, false);
  std::map<std::string, torch::Tensor> terms;
  torch::Tensor g_total;
  {
    auto amp = ctx.autocast();
    terms = g_terms(batch, fw);
    for (const auto& [name, v] : terms) g_total = g_total.defined() ? g_total + v : v;
  }
  ctx.step("g", g_total);
  for (auto* d : {&d_x_, &d_y_, &d_s_}) set_requires_grad(**d, true);
  for (const auto& [name, v] : terms) out.losses[name] = v.detach();
  if (real_s.defined()) {
    out.metrics["d_s_real"] = real_s.detach().mean();
    out.metrics["d_s_fake"] = fake_s.detach().mean();
  }
  if (batch.tensors.count("target")) {
    // Transfer error against the ground truth (synthetic data only): a metric, never a loss.
    out.metrics["transfer_l1"] = (fw.transfer.detach() - batch.at("target")).abs().mean();
  }
  return out;
}

train::NamedImages MakeupTask::samples(const data::Batch& batch) {
  MakeupForward fw = forward(batch, false);
  train::NamedImages out{{"source", batch.at("source")}, {"reference", batch.at("reference")}, {"warped", batch.at("warped")},
                         {"transfer", fw.transfer}, {"removal", fw.removal}};
  if (batch.tensors.count("target")) out.emplace_back("target", batch.at("target"));
  return out;
}

std::map<std::string, torch::Tensor> makeup_scores(const data::Batch& batch, const torch::Tensor& transfer, const torch::Tensor& removal) {
  const torch::Tensor target = batch.at("target").to(torch::kFloat);
  const torch::Tensor out = transfer.to(torch::kFloat);
  const torch::Tensor face = face_pixels(batch.at("source_mask"));
  const torch::Tensor makeup = batch.at("source_makeup_mask") != 0;
  const torch::Tensor areas = batch.at("source_areas") != 0;
  std::map<std::string, torch::Tensor> s;
  s["face_psnr"] = metrics::masked_psnr_per_image(out, target, face).clamp_max(metrics::kPsnrCap);
  s["delta_e_eyes"] = metrics::delta_e_per_image(out, target, areas.select(1, 0) & makeup);
  s["delta_e_lips"] = metrics::delta_e_per_image(out, target, areas.select(1, 1) & makeup);
  s["delta_e_cheeks"] = metrics::delta_e_per_image(out, target, areas.select(1, 2) & makeup);
  s["identity_psnr"] = metrics::masked_psnr_per_image(out, target, face & ~makeup).clamp_max(metrics::kPsnrCap);
  if (removal.defined()) {
    s["removal_psnr"] = metrics::masked_psnr_per_image(removal.to(torch::kFloat), batch.at("reference_bare").to(torch::kFloat),
                                                    face_pixels(batch.at("reference_mask")))
                            .clamp_max(metrics::kPsnrCap);
  }
  return s;
}

train::Outputs MakeupTask::predict(const data::Batch& batch) {
  const MakeupForward fw = forward(batch, false);
  return {{"transfer", fw.transfer}, {"removal", fw.removal}};
}

train::SampleScores MakeupTask::score_batch(const data::Batch& batch, const train::Outputs& outputs) {
  auto removal = outputs.find("removal");
  train::SampleScores s = makeup_scores(batch, train::output_at(outputs, "transfer"),
                                        removal == outputs.end() ? torch::Tensor() : removal->second);
  for (auto& [name, t] : s) t = t.to(torch::kCPU, torch::kFloat64);
  return s;
}

void register_makeup_task(Registry<train::Task>& registry) {
  registry.add(
      MakeupTask::kType,
      [](const json& options) -> std::shared_ptr<train::Task> {
        return std::make_shared<MakeupTask>(apply_json(MakeupTaskOptions(), options, "makeup"));
      },
      "PairedCycleGAN (Chang et al. 2018): makeup transfer G(x, y), removal F(y), D_X, D_Y, style D_S",
      options_to_json(MakeupTaskOptions()));
}

}  // namespace facegan::models
