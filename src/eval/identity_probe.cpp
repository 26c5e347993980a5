#include <facegan/core/error.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/eval/identity_probe.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/train/optim.hpp>

#include <functional>

#include <ATen/CPUGeneratorImpl.h>

namespace facegan::eval {
namespace {

int64_t log2_floor(int64_t v) {
  int64_t n = 0;
  while ((int64_t{2} << n) <= v) ++n;
  return n;
}

/// Batches of a fixed set in a seeded random order, endlessly.
class BatchSampler {
 public:
  BatchSampler(int64_t size, int64_t batch, uint64_t seed)
      : size_(size), batch_(std::min(batch, size)), gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}
  torch::Tensor next() {
    if (!order_.defined() || pos_ + batch_ > size_) {
      order_ = torch::randperm(size_, gen_, torch::kInt64);
      pos_ = 0;
    }
    torch::Tensor idx = order_.slice(0, pos_, pos_ + batch_);
    pos_ += batch_;
    return idx;
  }

 private:
  int64_t size_, batch_, pos_ = 0;
  at::Generator gen_;
  torch::Tensor order_;
};

/// The one training loop of both probes: `steps` Adam updates (the Trainer's optimizer, betas
/// 0.9 / 0.999) of `net` on seeded batches of a fixed set; `loss_of` maps a batch's indices to its loss.
void fit_probe(torch::nn::Module& net, int64_t set_size, const ProbeTrainingOptions& options, uint64_t order_seed,
               const std::function<torch::Tensor(const torch::Tensor&)>& loss_of) {
  train::AdamSettings adam;
  adam.lr = options.lr;
  adam.beta1 = 0.9;
  const auto opt = train::make_adam(net.parameters(), adam, /*fused=*/true);
  BatchSampler sampler(set_size, options.batch_size, order_seed);
  net.train();
  for (int64_t step = 0; step < options.steps; ++step) {
    const torch::Tensor loss = loss_of(sampler.next());
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
}

void check_set(const ProbeSet& data, const char* who) {
  TORCH_CHECK(data.images.defined() && data.images.dim() == 4 && data.images.size(0) > 0, who,
              ": expected images [M, 3, S, S], got ", data.images.defined() ? data.images.sizes() : at::IntArrayRef{});
}

}  // namespace

torch::Tensor attribute_targets(const data::FaceFactors& f) {
  const auto& a = f.attributes;
  const double intensity = f.expression == data::Expression::kNeutral ? 0.0 : f.intensity;
  const std::vector<float> v{static_cast<float>(a.roll),
                             static_cast<float>(a.yaw),
                             static_cast<float>(a.scale),
                             static_cast<float>(a.shift_x),
                             static_cast<float>(a.shift_y),
                             static_cast<float>(a.light_x),
                             static_cast<float>(a.light_y),
                             static_cast<float>(a.light_strength),
                             static_cast<float>(a.background_top.r),
                             static_cast<float>(a.background_top.g),
                             static_cast<float>(a.background_top.b),
                             static_cast<float>(a.background_bottom.r),
                             static_cast<float>(a.background_bottom.g),
                             static_cast<float>(a.background_bottom.b),
                             static_cast<float>(a.clothes.r),
                             static_cast<float>(a.clothes.g),
                             static_cast<float>(a.clothes.b),
                             static_cast<float>(intensity)};
  return torch::tensor(v);
}

data::FaceFactors canonical_factors(int64_t identity) {
  data::FaceFactors f;
  f.identity = identity;
  return f;
}

ProbeSet render_probe_set(const data::SyntheticFaces& renderer, int64_t count, data::Split split, uint64_t first,
                          bool no_makeup) {
  TORCH_CHECK(count > 0, "render_probe_set: count must be positive, got ", count);
  std::vector<torch::Tensor> images, attributes;
  std::vector<int64_t> ids;
  for (int64_t k = 0; k < count; ++k) {
    data::FaceFactors f = renderer.sample_factors(first + static_cast<uint64_t>(k), split);
    if (no_makeup) f.makeup = data::Makeup{};
    images.push_back(renderer.render_sample(f).tensors.at("image"));
    attributes.push_back(attribute_targets(f));
    ids.push_back(f.identity);
  }
  return ProbeSet{torch::stack(images), torch::tensor(ids, torch::kInt64), torch::stack(attributes)};
}

// ---------------------------------------------------------------------------------------------

models::IdentityNetOptions IdentityProbe::default_network(int64_t num_classes) {
  return models::IdentityNetOptions(num_classes).base_channels(24).num_stages(3).embedding_dim(96);
}

IdentityProbe IdentityProbe::train(const ProbeSet& data, models::IdentityNetOptions network,
                                   const ProbeTrainingOptions& options) {
  check_set(data, "IdentityProbe::train");
  torch::manual_seed(options.seed);
  models::IdentityNet net(network);
  TORCH_CHECK(network.num_classes() > data.identities.max().item<int64_t>(), "IdentityProbe::train: ",
              network.num_classes(), " classes for identities up to ", data.identities.max().item<int64_t>());
  // Horizontal flips are not used: yaw and hair parting are not mirror-symmetric identities.
  fit_probe(*net, data.images.size(0), options, options.seed, [&](const torch::Tensor& idx) {
    return torch::cross_entropy_loss(net->forward(data.images.index_select(0, idx)).logits,
                                     data.identities.index_select(0, idx));
  });
  return IdentityProbe(net);
}

IdentityProbe::IdentityProbe(models::IdentityNet network) : network_(std::move(network)) { network_->eval(); }

torch::Tensor IdentityProbe::embed(const torch::Tensor& faces) const {
  torch::NoGradGuard no_grad;
  network_->eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < faces.size(0); i += 64) {
    out.push_back(network_->forward(faces.slice(0, i, std::min(i + 64, faces.size(0))).to(torch::kFloat)).embedding);
  }
  return torch::nn::functional::normalize(torch::cat(out), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

void IdentityProbe::set_gallery(const data::SyntheticFaces& renderer, const std::vector<int64_t>& identities) {
  TORCH_CHECK(!identities.empty(), "IdentityProbe::set_gallery: no identities");
  std::vector<torch::Tensor> images;
  for (int64_t id : identities) images.push_back(renderer.render_sample(canonical_factors(id)).tensors.at("image"));
  gallery_ = embed(torch::stack(images));
  gallery_ids_ = torch::tensor(identities, torch::kInt64);
}

torch::Tensor IdentityProbe::retrieve(const torch::Tensor& faces) const {
  TORCH_CHECK(gallery_.defined(), "IdentityProbe::retrieve: set_gallery() first");
  return gallery_ids_.index_select(0, embed(faces).matmul(gallery_.t()).argmax(1));
}

double IdentityProbe::top1(const torch::Tensor& faces, const torch::Tensor& identities) const {
  return (retrieve(faces) == identities.view({-1}).cpu()).to(torch::kDouble).mean().item<double>();
}

void IdentityProbe::save(const std::string& path) const { torch::save(network_, path); }

IdentityProbe IdentityProbe::load(const std::string& path, models::IdentityNetOptions network) {
  models::IdentityNet net(network);
  try {
    torch::load(net, path);
  } catch (const std::exception& e) {
    throw CheckpointError("identity probe " + path + ": " + e.what());
  }
  return IdentityProbe(net);
}

// ---------------------------------------------------------------------------------------------

models::ConvEncoderOptions AttributeProbe::default_network(int64_t image_size) {
  return models::ConvEncoderOptions(3).base_channels(32).max_channels(256).num_layers(log2_floor(image_size)).out_dim(
      kNumAttributeTargets);
}

AttributeProbe AttributeProbe::train(const ProbeSet& data, models::ConvEncoderOptions network,
                                     const ProbeTrainingOptions& options) {
  check_set(data, "AttributeProbe::train");
  torch::manual_seed(options.seed);
  network.out_dim(kNumAttributeTargets);
  models::ConvEncoder net(network);
  const torch::Tensor mean = data.attributes.mean(0);
  // Constant attributes (e.g. no expressions rendered) must not divide by zero.
  const torch::Tensor stdev = data.attributes.std(0).clamp_min(1e-6);
  const torch::Tensor z = (data.attributes - mean) / stdev;
  fit_probe(*net, data.images.size(0), options, options.seed + 1, [&](const torch::Tensor& idx) {
    return torch::mse_loss(net->forward(data.images.index_select(0, idx)), z.index_select(0, idx));
  });
  return AttributeProbe(net, mean, stdev);
}

AttributeProbe::AttributeProbe(models::ConvEncoder network, torch::Tensor mean, torch::Tensor stdev)
    : network_(std::move(network)), mean_(std::move(mean)), stdev_(std::move(stdev)) {
  TORCH_CHECK(mean_.numel() == kNumAttributeTargets && stdev_.numel() == kNumAttributeTargets,
              "AttributeProbe: mean and stdev need ", kNumAttributeTargets, " entries");
  network_->eval();
}

torch::Tensor AttributeProbe::predict(const torch::Tensor& faces) const {
  torch::NoGradGuard no_grad;
  network_->eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < faces.size(0); i += 64) {
    out.push_back(network_->forward(faces.slice(0, i, std::min(i + 64, faces.size(0))).to(torch::kFloat)));
  }
  return torch::cat(out).cpu() * stdev_ + mean_;
}

torch::Tensor AttributeProbe::error_per_image(const torch::Tensor& faces, const torch::Tensor& targets) const {
  return ((predict(faces) - targets.cpu()).abs() / stdev_).mean(1).to(torch::kFloat64);
}

double AttributeProbe::error(const torch::Tensor& faces, const torch::Tensor& targets) const {
  return error_per_image(faces, targets).mean().item<double>();
}

void AttributeProbe::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  network_->save(archive);
  archive.write("probe_mean", mean_);
  archive.write("probe_stdev", stdev_);
  archive.save_to(path);
}

AttributeProbe AttributeProbe::load(const std::string& path, models::ConvEncoderOptions network) {
  network.out_dim(kNumAttributeTargets);
  models::ConvEncoder net(network);
  torch::Tensor mean, stdev;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    net->load(archive);
    archive.read("probe_mean", mean);
    archive.read("probe_stdev", stdev);
  } catch (const std::exception& e) {
    throw CheckpointError("attribute probe " + path + ": " + e.what());
  }
  return AttributeProbe(net, mean, stdev);
}

}  // namespace facegan::eval
