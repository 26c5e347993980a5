#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>
#include <facegan/models/open_set/open_set.hpp>
#include <facegan/models/open_set/open_set_task.hpp>
#include <facegan/train/checkpoint.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <opencv2/imgproc.hpp>

namespace facegan::models {

OpenSet::OpenSet(IdentityNet identity, VariationalEncoder attribute, ConvDecoder generator, torch::Device device)
    : identity_(std::move(identity)), attribute_(std::move(attribute)), generator_(std::move(generator)), device_(device) {
  TORCH_CHECK(!identity_.is_empty() && !attribute_.is_empty() && !generator_.is_empty(),
              "OpenSet: identity, attribute and generator networks are required");
  TORCH_CHECK(generator_->options.in_dim() == identity_->options.embedding_dim() + attribute_->options.latent_dim(),
              "OpenSet: the generator decodes ", generator_->options.in_dim(), " values, not embedding ",
              identity_->options.embedding_dim(), " + latent ", attribute_->options.latent_dim());
  for (torch::nn::Module* m : {static_cast<torch::nn::Module*>(identity_.get()),
                               static_cast<torch::nn::Module*>(attribute_.get()),
                               static_cast<torch::nn::Module*>(generator_.get())}) {
    m->to(device_);
    m->eval();
  }
}

OpenSet OpenSet::load(const std::string& checkpoint, torch::Device device) {
  // The networks come from this file: no warm start from the original identity checkpoint.
  const OpenSetTaskOptions o = train::checkpoint_task_options<OpenSetTaskOptions>(checkpoint, OpenSetTask::kType,
                                                                                  json{{"identity_checkpoint", ""}});
  IdentityNet identity(o.identity);
  VariationalEncoder attribute(o.attribute);
  ConvDecoder generator(o.generator);
  train::load_checkpoint_network(checkpoint, "identity", *identity);
  train::load_checkpoint_network(checkpoint, "attribute", *attribute);
  train::load_checkpoint_network(checkpoint, "generator", *generator);
  return OpenSet(identity, attribute, generator, device);
}

OpenSet OpenSet::from_task(OpenSetTask& task) {
  torch::Device device = torch::kCPU;
  for (const auto& p : task.generator()->parameters()) {
    device = p.device();
    break;
  }
  return OpenSet(task.identity(), task.attribute(), task.generator(), device);
}

torch::Tensor OpenSet::prepare(const torch::Tensor& faces, const char* what) const {
  const int64_t s = image_size();
  TORCH_CHECK((faces.dim() == 4 || faces.dim() == 3) && faces.size(-3) == 3 && faces.size(-2) == s &&
                  faces.size(-1) == s,
              "OpenSet: expected ", what, " [N, 3, ", s, ", ", s, "] or [3, ", s, ", ", s, "], got ", faces.sizes());
  torch::Tensor x = faces.dim() == 3 ? faces.unsqueeze(0) : faces;
  return x.to(device_, torch::kFloat);
}

torch::Tensor OpenSet::identity_features(const torch::Tensor& faces) const {
  c10::InferenceMode guard;
  return identity_->forward(prepare(faces, "faces")).embedding;
}

torch::Tensor OpenSet::mix(const torch::Tensor& identity, const torch::Tensor& attribute) const {
  c10::InferenceMode guard;
  torch::Tensor f = identity_->forward(prepare(identity, "identity")).embedding;
  VariationalOutput a = attribute_->forward(prepare(attribute, "attribute"));
  const torch::Tensor& z = a.mu;
  TORCH_CHECK(f.size(0) == z.size(0) || f.size(0) == 1 || z.size(0) == 1, "OpenSet::mix: ", f.size(0),
              " identity images for ", z.size(0), " attribute images");
  const int64_t n = std::max(f.size(0), z.size(0));
  torch::Tensor skip = attribute_skip(generator_->options, a);
  if (skip.defined()) skip = skip.expand({n, -1, -1, -1});
  torch::Tensor y = generator_->forward(torch::cat({f.expand({n, -1}), z.expand({n, -1})}, 1), skip);
  return identity.dim() == 3 && attribute.dim() == 3 ? y.squeeze(0) : y;
}

torch::Tensor OpenSet::sample(const torch::Tensor& identity, int64_t n, uint64_t seed) const {
  TORCH_CHECK(n >= 1, "OpenSet::sample: n must be >= 1, got ", n);
  TORCH_CHECK(generator_->options.skip_size() == 0,
              "OpenSet::sample: this model's G also reads A's spatial map (attribute_skip_size), which random "
              "attributes do not have; use mix()");
  c10::InferenceMode guard;
  torch::Tensor f = identity_->forward(prepare(identity, "identity")).embedding.repeat_interleave(n, 0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor z = at::randn({f.size(0), attribute_->options.latent_dim()}, gen, torch::kFloat).to(device_);
  return generator_->forward(torch::cat({f, z}, 1));
}

torch::Tensor OpenSet::interpolate(const torch::Tensor& identity_a, const torch::Tensor& identity_b,
                                   const torch::Tensor& attribute, int64_t steps) const {
  TORCH_CHECK(steps >= 2, "OpenSet::interpolate: steps must be >= 2, got ", steps);
  c10::InferenceMode guard;
  torch::Tensor fa = identity_->forward(prepare(identity_a, "identity_a")).embedding;
  torch::Tensor fb = identity_->forward(prepare(identity_b, "identity_b")).embedding;
  VariationalOutput a = attribute_->forward(prepare(attribute, "attribute"));
  const torch::Tensor& z = a.mu;
  torch::Tensor skip = attribute_skip(generator_->options, a);
  if (skip.defined()) skip = skip.expand({steps, -1, -1, -1});
  TORCH_CHECK(fa.size(0) == 1 && fb.size(0) == 1 && z.size(0) == 1,
              "OpenSet::interpolate: expected one image each, got ", fa.size(0), ", ", fb.size(0), ", ", z.size(0));
  torch::Tensor t = torch::linspace(0.0, 1.0, steps, fa.options()).unsqueeze(1);
  torch::Tensor f = (1 - t) * fa + t * fb;
  return generator_->forward(torch::cat({f, z.expand({steps, -1})}, 1), skip);
}

torch::Tensor OpenSet::mat_to_batch(const cv::Mat& face, const char* what) const {
  TORCH_CHECK(!face.empty(), "OpenSet: empty ", what, " image");
  const int s = static_cast<int>(image_size());
  cv::Mat resized = face;
  if (face.rows != s || face.cols != s) cv::resize(face, resized, cv::Size(s, s), 0, 0, cv::INTER_AREA);
  return data::image_to_tensor(resized).unsqueeze(0);
}

cv::Mat OpenSet::batch_to_mat(const torch::Tensor& image, const cv::Size& size) const {
  cv::Mat out = data::tensor_to_image(image.cpu());
  if (out.size() != size) cv::resize(out, out, size, 0, 0, cv::INTER_LINEAR);
  return out;
}

cv::Mat OpenSet::mix(const cv::Mat& identity, const cv::Mat& attribute) const {
  return batch_to_mat(mix(mat_to_batch(identity, "identity"), mat_to_batch(attribute, "attribute"))[0],
                      identity.size());
}

std::vector<cv::Mat> OpenSet::sample(const cv::Mat& identity, int64_t n, uint64_t seed) const {
  const torch::Tensor y = sample(mat_to_batch(identity, "identity"), n, seed);
  std::vector<cv::Mat> out;
  for (int64_t i = 0; i < y.size(0); ++i) out.push_back(batch_to_mat(y[i], identity.size()));
  return out;
}

std::vector<cv::Mat> OpenSet::interpolate(const cv::Mat& identity_a, const cv::Mat& identity_b,
                                          const cv::Mat& attribute, int64_t steps) const {
  const torch::Tensor y = interpolate(mat_to_batch(identity_a, "identity_a"), mat_to_batch(identity_b, "identity_b"),
                                      mat_to_batch(attribute, "attribute"), steps);
  std::vector<cv::Mat> out;
  for (int64_t i = 0; i < y.size(0); ++i) out.push_back(batch_to_mat(y[i], identity_a.size()));
  return out;
}

}  // namespace facegan::models
