#include <facegan/core/error.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/open_set/open_set_task.hpp>
#include <facegan/train/checkpoint.hpp>

#include <algorithm>
#include <cmath>

namespace facegan::models {
namespace {

int64_t log2_exact(int64_t v) {
  int64_t n = 0;
  while ((int64_t{1} << n) < v) ++n;
  return (int64_t{1} << n) == v ? n : -1;
}

}  // namespace

torch::Tensor attribute_skip(const ConvDecoderOptions& generator, const VariationalOutput& a) {
  if (generator.skip_size() == 0) return {};
  for (const auto& f : a.features) {
    if (f.size(2) == generator.skip_size()) return f;
  }
  TORCH_CHECK(false, "attribute_skip: A has no activation of side ", generator.skip_size());
}

IdentityOutput OpenSetTask::identity_fixed(const torch::Tensor& x) {
  // Batch norm in eval mode: G and L_GC see f_I and C's activations exactly as inference computes
  // them, and generated faces never leak into I's running statistics.
  const bool was_training = identity_->is_training();
  identity_->eval();
  IdentityOutput out = identity_->forward(x);
  if (was_training) identity_->train();
  return out;
}

OpenSetTask::OpenSetTask(OpenSetTaskOptions options) : options_(std::move(options)) {
  auto& o = options_;
  const int64_t levels = log2_exact(o.image_size);
  if (o.image_size < 16 || levels < 0) {
    throw ConfigError("open_set.image_size: must be a power of two >= 16, got " + std::to_string(o.image_size));
  }
  if (o.num_identities < 2) {
    throw ConfigError("open_set.num_identities: C needs at least 2 classes, got " + std::to_string(o.num_identities));
  }
  if (o.identity.num_classes() != 0 && o.identity.num_classes() != o.num_identities) {
    throw ConfigError("open_set.identity.num_classes: is set from num_identities (" +
                      std::to_string(o.num_identities) + "), got " + std::to_string(o.identity.num_classes()));
  }
  o.identity.num_classes(o.num_identities);
  if (o.attribute.trunk().num_layers() == 0) o.attribute.trunk().num_layers(levels);
  const int64_t in_dim = o.identity.embedding_dim() + o.attribute.latent_dim();
  if (o.generator.in_dim() == 0) o.generator.in_dim(in_dim);
  if (o.generator.in_dim() != in_dim) {
    throw ConfigError("open_set.generator.in_dim: G decodes [f_I, z_a], so it must be " + std::to_string(in_dim) +
                      ", got " + std::to_string(o.generator.in_dim()));
  }
  o.generator.image_size(o.image_size);
  if (o.attribute_skip_size < 0 || (o.attribute_skip_size > 0 && (log2_exact(o.attribute_skip_size) < 2 ||
                                                                   o.attribute_skip_size >= o.image_size))) {
    throw ConfigError("open_set.attribute_skip_size: must be 0 or a power of two in [4, image_size), got " +
                      std::to_string(o.attribute_skip_size));
  }
  if (o.attribute_skip_size > 0) {
    if (o.attribute_skip_channels < 1) {
      throw ConfigError("open_set.attribute_skip_channels: must be >= 1, got " + std::to_string(o.attribute_skip_channels));
    }
    // Trunk stage i has side image_size / 2^(i + 1) and min(base * 2^i, max) channels.
    const int64_t stage = levels - log2_exact(o.attribute_skip_size) - 1;
    const auto& t = o.attribute.trunk();
    int64_t c = t.base_channels();
    for (int64_t i = 0; i < stage; ++i) c = std::min(c * 2, t.max_channels());
    o.generator.skip_size(o.attribute_skip_size).skip_in_channels(c).skip_channels(o.attribute_skip_channels);
  }
  if (o.discriminator.in_channels() != 3) {
    throw ConfigError("open_set.discriminator.in_channels: D sees RGB faces, must be 3, got " +
                      std::to_string(o.discriminator.in_channels()));
  }
  if (!(o.different_weight >= 0.0 && o.different_weight <= 1.0)) {
    throw ConfigError("open_set.different_weight: must lie in [0, 1], got " + std::to_string(o.different_weight));
  }
  losses::check_non_negative(o.generator_adversarial_weight, "open_set.generator_adversarial_weight");
  identity_loss_ = losses::create_loss_as<losses::ClassificationLoss>(o.identity_loss, "open_set.identity_loss");
  kl_ = losses::create_loss_as<losses::KLDivergenceLoss>(o.kl, "open_set.kl");
  reconstruction_ = losses::create_loss_as<losses::ReconstructionLoss>(o.reconstruction, "open_set.reconstruction");
  gd_ = losses::create_loss_as<losses::FeatureMatchingLoss>(o.discriminator_matching, "open_set.discriminator_matching");
  gc_ = losses::create_loss_as<losses::FeatureMatchingLoss>(o.classifier_matching, "open_set.classifier_matching");
  adversarial_ = losses::create_loss_as<losses::AdversarialLoss>(o.adversarial, "open_set.adversarial");

  identity_ = IdentityNet(o.identity);
  attribute_ = VariationalEncoder(o.attribute);
  generator_ = ConvDecoder(o.generator);
  discriminator_ = PatchDiscriminator(o.discriminator);
  for (torch::nn::Module* m : {static_cast<torch::nn::Module*>(identity_.get()),
                               static_cast<torch::nn::Module*>(attribute_.get()),
                               static_cast<torch::nn::Module*>(generator_.get()),
                               static_cast<torch::nn::Module*>(discriminator_.get())}) {
    init_weights(*m, o.init, o.init_gain);
  }
  if (!o.identity_checkpoint.empty()) load_identity(o.identity_checkpoint, o.identity_checkpoint_network);
  if (!o.train_identity) set_requires_grad(*identity_, false);
}

void OpenSetTask::load_identity(const std::string& checkpoint, const std::string& network) {
  train::load_checkpoint_network(checkpoint, network, *identity_, true);
}

json OpenSetTask::to_json() const {
  json j = options_to_json(options_);
  j["type"] = kType;
  return j;
}

train::NamedModules OpenSetTask::networks() {
  return {{"identity", identity_.ptr()},
          {"attribute", attribute_.ptr()},
          {"generator", generator_.ptr()},
          {"discriminator", discriminator_.ptr()}};
}

std::vector<train::OptimizerGroup> OpenSetTask::optimizer_groups() {
  std::vector<torch::Tensor> ag = attribute_->parameters();
  for (const auto& p : generator_->parameters()) ag.push_back(p);
  std::vector<train::OptimizerGroup> groups;
  if (options_.train_identity) groups.push_back({"identity", identity_->parameters(), options_.optimizer_identity});
  groups.push_back({"generator", ag, options_.optimizer_generator});
  groups.push_back({"discriminator", discriminator_->parameters(), options_.optimizer_discriminator});
  return groups;
}

torch::Tensor OpenSetTask::mix(const torch::Tensor& source, const torch::Tensor& attribute, VariationalOutput* kl_out) {
  TORCH_CHECK(source.dim() == 4 && attribute.dim() == 4 && source.size(0) == attribute.size(0),
              "OpenSetTask::mix: expected two [N, 3, H, W] batches, got ", source.sizes(), " and ", attribute.sizes());
  // f_I is not trained by G's losses (Bao et al.: I learns from L_I only).
  const torch::Tensor f = identity_fixed(source).embedding.detach();
  VariationalOutput a = attribute_->forward(attribute);
  torch::Tensor out = generator_->forward(torch::cat({f, a.z}, 1), attribute_skip(generator_->options, a));
  if (kl_out) *kl_out = std::move(a);
  return out;
}

torch::Tensor OpenSetTask::pair_weights(const data::Batch& batch) const {
  const torch::Tensor same = batch.at("same").to(torch::kFloat).view({-1});
  return same + (1.0 - same) * options_.different_weight;
}

std::vector<torch::Tensor> OpenSetTask::classifier_features(const IdentityOutput& out) const {
  std::vector<torch::Tensor> f;
  if (options_.classifier_features == ClassifierFeatures::kAll) f = out.features;
  f.push_back(out.embedding);
  return f;
}

torch::Tensor OpenSetTask::identity_loss(const data::Batch& batch) {
  // Both images of a pair carry labels; unlabeled ones are -1 and ignored by the loss.
  const torch::Tensor x = torch::cat({batch.at("source"), batch.at("attribute")}, 0);
  const torch::Tensor y = torch::cat({batch.at("source_identity"), batch.at("attribute_identity")}, 0).view({-1});
  return (*identity_loss_)(identity_->forward(x).logits, y);
}

OpenSetLosses OpenSetTask::generator_losses(const data::Batch& batch) {
  const torch::Tensor& xs = batch.at("source");
  IdentityOutput source;
  {
    torch::NoGradGuard no_grad;
    source = identity_fixed(xs);
  }
  VariationalOutput a = attribute_->forward(batch.at("attribute"));
  const torch::Tensor fake =
      generator_->forward(torch::cat({source.embedding, a.z}, 1), attribute_skip(generator_->options, a));
  return losses_for(batch, fake, a, classifier_features(source));
}

OpenSetLosses OpenSetTask::losses_for(const data::Batch& batch, const torch::Tensor& fake, const VariationalOutput& a,
                                      const std::vector<torch::Tensor>& source_features) {
  const torch::Tensor& xa = batch.at("attribute");
  OpenSetLosses l;
  l.kl = (*kl_)(a.mu, a.logvar);
  l.reconstruction = (*reconstruction_)(fake, xa, pair_weights(batch));
  const torch::Tensor zero = torch::zeros({}, fake.options());
  l.discriminator_matching = zero;
  l.adversarial = zero;
  l.classifier_matching = zero;
  if (gd_->weight() > 0 || options_.generator_adversarial_weight > 0) {
    DiscriminatorFeatures df = discriminator_->forward_features(fake);
    if (gd_->weight() > 0) {
      std::vector<torch::Tensor> real_feats;
      {
        torch::NoGradGuard no_grad;
        real_feats = discriminator_->forward_features(xa).features;
      }
      l.discriminator_matching = (*gd_)(df.features, real_feats);
    }
    if (options_.generator_adversarial_weight > 0) {
      l.adversarial = options_.generator_adversarial_weight * adversarial_->generator_loss(df.logits);
    }
  }
  if (gc_->weight() > 0) {
    l.classifier_matching = (*gc_)(classifier_features(identity_fixed(fake)), source_features);
  }
  return l;
}

train::StepOutput OpenSetTask::train_step(const data::Batch& batch, train::StepContext& ctx) {
  train::StepOutput out;
  const torch::Tensor& xs = batch.at("source");
  const torch::Tensor& xa = batch.at("attribute");
  // 1. I/C on L_I (both images of each pair are labelled or -1).
  if (options_.train_identity) {
    torch::Tensor loss_i;
    {
      auto amp = ctx.autocast();
      loss_i = identity_loss(batch);
    }
    ctx.step("identity", loss_i);
    out.losses["identity"] = loss_i.detach();
  }
  // f_I(x_s) and C's activations of x_s, from the updated I in eval mode (G's losses never train I).
  IdentityOutput source;
  {
    auto amp = ctx.autocast();
    torch::NoGradGuard no_grad;
    source = identity_fixed(xs);
  }

  // 2. One pass of A and G (pix2pix's order: its x' serves the D step detached, then the G step).
  VariationalOutput a;
  torch::Tensor fake;
  {
    auto amp = ctx.autocast();
    a = attribute_->forward(xa);
    fake = generator_->forward(torch::cat({source.embedding, a.z}, 1), attribute_skip(generator_->options, a));
  }

  // 3. D: x_a is real, x' (detached) is fake.
  torch::Tensor loss_d, real_logits, fake_logits;
  {
    auto amp = ctx.autocast();
    real_logits = discriminator_->forward(xa);
    fake_logits = discriminator_->forward(fake.detach());
    loss_d = adversarial_->discriminator_loss(real_logits, fake_logits);
  }
  ctx.step("discriminator", loss_d);

  // 4. A and G with I/C and D frozen (gradients still flow through them into x').
  set_requires_grad(*discriminator_, false);
  set_requires_grad(*identity_, false);
  OpenSetLosses l;
  {
    auto amp = ctx.autocast();
    l = losses_for(batch, fake, a, classifier_features(source));
  }
  ctx.step("generator", l.total());
  set_requires_grad(*discriminator_, true);
  if (options_.train_identity) set_requires_grad(*identity_, true);

  out.losses["d"] = loss_d.detach();
  out.losses["kl"] = l.kl.detach();
  out.losses["gr"] = l.reconstruction.detach();
  out.losses["gd"] = l.discriminator_matching.detach();
  out.losses["gc"] = l.classifier_matching.detach();
  out.losses["g_adv"] = l.adversarial.detach();
  out.metrics = {{"d_real", real_logits.detach().mean()}, {"d_fake", fake_logits.detach().mean()}};
  return out;
}

train::NamedImages OpenSetTask::samples(const data::Batch& batch) {
  torch::NoGradGuard no_grad;
  train::NamedImages images{{"source", batch.at("source")},
                            {"attribute", batch.at("attribute")},
                            {"mix", mix(batch.at("source"), batch.at("attribute"))}};
  if (batch.tensors.count("target")) images.emplace_back("target", batch.at("target"));
  return images;
}

train::Outputs OpenSetTask::predict(const data::Batch& batch) {
  return {{"output", mix(batch.at("source"), batch.at("attribute"))}};
}

train::SampleScores OpenSetTask::score_batch(const data::Batch& batch, const train::Outputs& outputs) {
  const torch::Tensor out = train::output_at(outputs, "output").to(torch::kFloat);
  const torch::Tensor xa = batch.at("attribute").to(torch::kFloat);
  const torch::Tensor same = batch.at("same").reshape({-1}).cpu() != 0;
  const torch::Tensor rec = (out - xa).abs().flatten(1).mean(1).to(torch::kCPU, torch::kFloat64);
  train::SampleScores s{{"reconstruction_l1", torch::where(same, rec, torch::full_like(rec, std::nan("")))}};
  if (batch.tensors.count("target") != 0) {
    for (auto& [name, t] : metrics::fidelity_per_image(out, batch.at("target"))) s[name] = t.cpu();
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// identity_classifier

IdentityClassifierTask::IdentityClassifierTask(IdentityClassifierTaskOptions options) : options_(std::move(options)) {
  if (options_.num_identities < 2) {
    throw ConfigError("identity_classifier.num_identities: need at least 2 classes, got " +
                      std::to_string(options_.num_identities));
  }
  if (options_.identity.num_classes() != 0 && options_.identity.num_classes() != options_.num_identities) {
    throw ConfigError("identity_classifier.identity.num_classes: is set from num_identities (" +
                      std::to_string(options_.num_identities) + "), got " +
                      std::to_string(options_.identity.num_classes()));
  }
  options_.identity.num_classes(options_.num_identities);
  loss_ = losses::create_loss_as<losses::ClassificationLoss>(options_.loss, "identity_classifier.loss");
  identity_ = IdentityNet(options_.identity);
}

json IdentityClassifierTask::to_json() const {
  json j = options_to_json(options_);
  j["type"] = kType;
  return j;
}

std::vector<train::OptimizerGroup> IdentityClassifierTask::optimizer_groups() {
  return {{"identity", identity_->parameters(), options_.optimizer}};
}

train::StepOutput IdentityClassifierTask::train_step(const data::Batch& batch, train::StepContext& ctx) {
  const torch::Tensor y = batch.at(options_.label_key).view({-1});
  torch::Tensor loss, logits;
  {
    auto amp = ctx.autocast();
    logits = identity_->forward(batch.at(options_.image_key)).logits;
    loss = (*loss_)(logits, y);
  }
  ctx.step("identity", loss);
  train::StepOutput out;
  out.losses["ce"] = loss.detach();
  out.metrics["accuracy"] = (logits.detach().argmax(1) == y).to(torch::kFloat).mean();
  return out;
}

train::NamedImages IdentityClassifierTask::samples(const data::Batch& batch) {
  return {{"image", batch.at(options_.image_key)}};
}

train::Outputs IdentityClassifierTask::predict(const data::Batch& batch) {
  return {{"logits", identity_->forward(batch.at(options_.image_key)).logits}};
}

train::SampleScores IdentityClassifierTask::score_batch(const data::Batch& batch, const train::Outputs& outputs) {
  const torch::Tensor y = batch.at(options_.label_key).reshape({-1}).cpu();
  return {{"accuracy", train::output_at(outputs, "logits").argmax(1).cpu().eq(y).to(torch::kFloat64)}};
}

void register_open_set_tasks(Registry<train::Task>& registry) {
  registry.add(
      OpenSetTask::kType,
      [](const json& options) -> std::shared_ptr<train::Task> {
        return std::make_shared<OpenSetTask>(apply_json(OpenSetTaskOptions(), options, "open_set"));
      },
      "open-set identity-preserving synthesis (Bao et al. 2018): I/C, A, G, D; L_I, L_KL, L_GR, L_GD, L_GC",
      options_to_json(OpenSetTaskOptions()));
  registry.add(
      IdentityClassifierTask::kType,
      [](const json& options) -> std::shared_ptr<train::Task> {
        return std::make_shared<IdentityClassifierTask>(
            apply_json(IdentityClassifierTaskOptions(), options, "identity_classifier"));
      },
      "softmax identity classifier (IdentityNet), the warm start of open_set's I/C",
      options_to_json(IdentityClassifierTaskOptions()));
}

void register_open_set_baselines(Registry<train::Baseline>& registry) {
  for (const auto& [name, key] : std::vector<std::pair<std::string, std::string>>{{"return_x_a", "attribute"},
                                                                                  {"return_x_s", "source"}}) {
    const std::string k = key;
    registry.add(
        name,
        [k](const json& options) -> std::shared_ptr<train::Baseline> {
          apply_json(train::NoOptions(), options);
          return std::make_shared<train::FunctionBaseline>(
              [k](const data::Batch& b) { return train::Outputs{{"output", b.at(k)}}; });
        },
        "open-set synthesis without a model: output = x_" + std::string(key == "attribute" ? "a, the attribute face "
                                                                                              "(pose right, identity wrong)"
                                                                                            : "s, the identity face "
                                                                                              "(identity right, pose wrong)"));
  }
}

}  // namespace facegan::models
