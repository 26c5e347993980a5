#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/warp.hpp>
#include <facegan/models/makeup/makeup.hpp>
#include <facegan/models/makeup/makeup_task.hpp>
#include <facegan/train/checkpoint.hpp>

#include <opencv2/imgproc.hpp>

namespace facegan::models {

namespace {

std::vector<cv::Point2f> to_points(const torch::Tensor& lm, const char* what) { return data::landmarks_from_tensor(lm, what); }

torch::Tensor areas_from(const std::vector<cv::Point2f>& lm, cv::Size size, const cv::Mat& regions) {
  const auto a = data::face_area_masks(lm, size, regions);
  std::vector<torch::Tensor> t;
  for (const cv::Mat& m : a) {
    cv::Mat c = m.clone();
    t.push_back(torch::from_blob(c.data, {c.rows, c.cols}, torch::kUInt8).to(torch::kFloat32));
  }
  return torch::stack(t);
}

torch::Tensor points_tensor(std::vector<cv::Point2f> p) {
  return torch::from_blob(p.data(), {static_cast<int64_t>(p.size()), 2}, torch::kFloat32).clone();
}

}  // namespace

Makeup::Makeup(MakeupGenerator generator, UNetGenerator remover, torch::Device device)
    : generator_(std::move(generator)), remover_(std::move(remover)), device_(device) {
  TORCH_CHECK(!generator_.is_empty() && !remover_.is_empty(), "Makeup: a generator and a remover are required");
  generator_->to(device_);
  remover_->to(device_);
  generator_->eval();
  remover_->eval();
}

Makeup Makeup::load(const std::string& checkpoint, torch::Device device) {
  MakeupTaskOptions o = train::checkpoint_task_options<MakeupTaskOptions>(checkpoint, MakeupTask::kType);
  MakeupGenerator g(o.generator);
  UNetGenerator f(o.remover.in_channels(3).out_channels(3).cond_channels(data::kNumFaceAreas));
  train::load_checkpoint_network(checkpoint, "g", *g);
  train::load_checkpoint_network(checkpoint, "f", *f);
  return Makeup(g, f, device);
}

Makeup Makeup::from_task(MakeupTask& task) {
  torch::Device device = torch::kCPU;
  for (const auto& p : task.generator()->parameters()) {
    device = p.device();
    break;
  }
  return Makeup(task.generator(), task.remover(), device);
}

torch::Tensor Makeup::transfer(const data::Batch& pair, double intensity, const std::vector<std::string>& regions) const {
  if (!(intensity >= 0.0 && intensity <= 1.0)) {
    throw ConfigError("Makeup::transfer: intensity must be in [0, 1], got " + std::to_string(intensity));
  }
  const std::vector<int64_t> chosen =
      area_indices(regions.empty() ? generator_->options.regions : regions, "Makeup::transfer regions");
  const torch::Tensor x = pair.at("source").to(device_, torch::kFloat32);
  if (intensity == 0.0) return x.clone();
  torch::NoGradGuard no_grad;
  const torch::Tensor d = generator_->deltas(x, pair.at("warped").to(device_, torch::kFloat32),
                                             pair.at("source_areas").to(device_, torch::kFloat32),
                                             pair.at("source_landmarks").to(device_, torch::kFloat32));
  return compose_makeup(x, d, chosen, intensity);
}

torch::Tensor Makeup::transfer(const torch::Tensor& source, const torch::Tensor& source_landmarks, const torch::Tensor& reference,
                               const torch::Tensor& reference_landmarks, double intensity,
                               const std::vector<std::string>& regions) const {
  const bool single = source.dim() == 3;
  const torch::Tensor xs = single ? source.unsqueeze(0) : source, ys = single ? reference.unsqueeze(0) : reference;
  const torch::Tensor xl = source_landmarks.dim() == 2 ? source_landmarks.unsqueeze(0) : source_landmarks;
  const torch::Tensor yl = reference_landmarks.dim() == 2 ? reference_landmarks.unsqueeze(0) : reference_landmarks;
  TORCH_CHECK(xs.dim() == 4 && xs.sizes() == ys.sizes(), "Makeup::transfer: source and reference must be equal [N, 3, H, W], got ",
              source.sizes(), " and ", reference.sizes());
  TORCH_CHECK(xl.size(0) == xs.size(0) && yl.size(0) == xs.size(0), "Makeup::transfer: one landmark set per image");
  const int64_t n = xs.size(0), h = xs.size(2), w = xs.size(3);
  data::Batch b;
  std::vector<torch::Tensor> warped, areas;
  const torch::Tensor ycpu = ys.to(torch::kCPU, torch::kFloat32);
  for (int64_t i = 0; i < n; ++i) {
    const auto xp = to_points(xl[i], "source_landmarks"), yp = to_points(yl[i], "reference_landmarks");
    const data::WarpMap m = data::piecewise_affine_map(yp, xp, cv::Size(static_cast<int>(w), static_cast<int>(h)));
    warped.push_back(torch::nn::functional::grid_sample(
                         ycpu[i].unsqueeze(0), data::warp_map_to_grid(m).unsqueeze(0),
                         torch::nn::functional::GridSampleFuncOptions().padding_mode(torch::kBorder).align_corners(false))
                         .squeeze(0));
    areas.push_back(areas_from(xp, cv::Size(static_cast<int>(w), static_cast<int>(h)), cv::Mat()));
  }
  b.tensors["source"] = xs;
  b.tensors["warped"] = torch::stack(warped);
  b.tensors["source_areas"] = torch::stack(areas);
  b.tensors["source_landmarks"] = xl;
  return transfer(b, intensity, regions);
}

cv::Mat Makeup::transfer(const cv::Mat& source, const std::vector<cv::Point2f>& source_landmarks, const cv::Mat& reference,
                         const std::vector<cv::Point2f>& reference_landmarks, double intensity,
                         const std::vector<std::string>& regions, const cv::Mat& source_regions) const {
  if (source.empty() || reference.empty()) throw DataError("Makeup::transfer: empty image");
  if (source.size() != reference.size()) throw DataError("Makeup::transfer: source and reference must have the same size");
  data::Batch b;
  b.tensors["source"] = data::image_to_tensor(source).unsqueeze(0);
  b.tensors["warped"] = data::image_to_tensor(data::warp_piecewise_affine(reference, reference_landmarks, source_landmarks)).unsqueeze(0);
  b.tensors["source_areas"] = areas_from(source_landmarks, source.size(), source_regions).unsqueeze(0);
  b.tensors["source_landmarks"] = points_tensor(source_landmarks).unsqueeze(0);
  return data::tensor_to_image(transfer(b, intensity, regions)[0].cpu());
}

torch::Tensor Makeup::remove(const torch::Tensor& faces, const torch::Tensor& areas) const {
  const bool single = faces.dim() == 3;
  torch::NoGradGuard no_grad;
  torch::Tensor out = remove_makeup(remover_, (single ? faces.unsqueeze(0) : faces).to(device_, torch::kFloat32),
                                    (areas.dim() == 3 ? areas.unsqueeze(0) : areas).to(device_, torch::kFloat32),
                                    generator_->options.delta_scale);
  return single ? out.squeeze(0) : out;
}

cv::Mat Makeup::remove(const cv::Mat& face, const std::vector<cv::Point2f>& landmarks, const cv::Mat& regions) const {
  if (face.empty()) throw DataError("Makeup::remove: empty image");
  const torch::Tensor out = remove(data::image_to_tensor(face), areas_from(landmarks, face.size(), regions));
  return data::tensor_to_image(out.cpu());
}

}  // namespace facegan::models
