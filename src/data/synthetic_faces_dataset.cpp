// The torch side of the synthetic renderer: RenderedFace -> Sample, and the "synthetic_faces" data set.
#include <facegan/core/error.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include "builtin_datasets.hpp"
#include "synthetic/painter.hpp"

namespace facegan::data {
namespace {

// The renderer writes its own copy of the Region values (synthetic/painter.hpp stays torch-free).
namespace sr = synthetic;
static_assert(Region::kBackground == Region(sr::kBackground) && Region::kSkin == Region(sr::kSkin) &&
                  Region::kBrows == Region(sr::kBrows) && Region::kEyes == Region(sr::kEyes) &&
                  Region::kLips == Region(sr::kLips) && Region::kHair == Region(sr::kHair) &&
                  Region::kNeck == Region(sr::kNeck) && Region::kEars == Region(sr::kEars) &&
                  Region::kNose == Region(sr::kNose) && Region::kMouth == Region(sr::kMouth),
              "synthetic/painter.hpp's RegionValue mirrors Region");

torch::Tensor mat_to_u8(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  return torch::from_blob(c.data, {c.rows, c.cols}, torch::kUInt8).clone();
}

class SyntheticFacesDataset : public Dataset {
 public:
  explicit SyntheticFacesDataset(const SyntheticFacesDatasetOptions& options)
      : options_(options), renderer_(options.renderer()) {
    if (options_.num_samples() < 1) {
      throw ConfigError("synthetic_faces.num_samples: must be >= 1, got " + std::to_string(options_.num_samples()));
    }
    if (options_.split() == Split::kHeldOut && options_.renderer().held_out_identities() == 0) {
      throw ConfigError("synthetic_faces.split: 'held_out' needs held_out_identities > 0");
    }
  }
  size_t size() const override { return static_cast<size_t>(options_.num_samples()); }
  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("synthetic_faces: index " + std::to_string(index) + " out of range [0, " + std::to_string(size()) + ")");
    }
    return renderer_.render_sample(renderer_.sample_factors(index, options_.split()));
  }
  std::string type() const override { return "synthetic_faces"; }

 private:
  SyntheticFacesDatasetOptions options_;
  SyntheticFaces renderer_;
};

}  // namespace

Sample SyntheticFaces::render_sample(const FaceFactors& factors) const {
  RenderedFace r = render(factors);
  Sample s;
  s.tensors.emplace("image", image_to_tensor(r.image));
  s.tensors.emplace("landmarks",
                    torch::from_blob(r.landmarks.data(), {kNumLandmarks, 2}, torch::kFloat32).clone());
  s.tensors.emplace("mask", mat_to_u8(r.regions));
  s.tensors.emplace("makeup_mask", mat_to_u8(r.makeup_mask));
  s.tensors.emplace("identity", torch::scalar_tensor(factors.identity, torch::kInt64));
  s.tensors.emplace("expression", torch::scalar_tensor(static_cast<int64_t>(factors.expression), torch::kInt64));
  s.tensors.emplace("makeup", torch::scalar_tensor(factors.makeup.any() ? 1 : 0, torch::kInt64));
  s.tensors.emplace("intensity", torch::scalar_tensor(factors.intensity, torch::kFloat32));
  s.meta = factors_to_json(factors);
  return s;
}

std::shared_ptr<Dataset> make_synthetic_faces_dataset(const SyntheticFacesDatasetOptions& options) {
  return std::make_shared<SyntheticFacesDataset>(options);
}

void register_synthetic_datasets(Registry<Dataset>& registry) {
  registry.add(
      "synthetic_faces",
      [](const json& options) {
        return make_synthetic_faces_dataset(apply_json(SyntheticFacesDatasetOptions(), options, "synthetic_faces"));
      },
      "rendered faces with known identity, pose, light, expression and makeup (exact ground truth)",
      options_to_json(SyntheticFacesDatasetOptions()));
}

}  // namespace facegan::data
