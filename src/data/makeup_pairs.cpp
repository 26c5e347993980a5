#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/makeup_pairs.hpp>
#include <facegan/data/warp.hpp>

#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builtin_datasets.hpp"

namespace facegan::data {
namespace {

namespace fs = std::filesystem;

torch::Tensor u8_tensor(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  return torch::from_blob(c.data, {c.rows, c.cols}, torch::kUInt8).clone();
}

torch::Tensor landmarks_tensor(const std::vector<cv::Point2f>& lm) {
  std::vector<cv::Point2f> c = lm;
  return torch::from_blob(c.data(), {static_cast<int64_t>(c.size()), 2}, torch::kFloat32).clone();
}

torch::Tensor areas_tensor(const std::vector<cv::Point2f>& lm, const cv::Mat& regions) {
  const auto a = face_area_masks(lm, regions.size(), regions);
  std::vector<torch::Tensor> t;
  for (const cv::Mat& m : a) t.push_back(u8_tensor(m).to(torch::kFloat32));
  return torch::stack(t);
}

/// The keys every makeup pair has, from the two faces' images (BGR CV_8UC3), landmarks and Region maps.
Sample make_pair(const cv::Mat& x, const std::vector<cv::Point2f>& x_lm, const cv::Mat& x_regions, const cv::Mat& y,
                 const std::vector<cv::Point2f>& y_lm, const cv::Mat& y_regions) {
  Sample s;
  s.tensors["source"] = image_to_tensor(x);
  s.tensors["reference"] = image_to_tensor(y);
  // Output in x's geometry samples y: the map goes from x's landmarks (destination) to y's.
  const WarpMap to_x = piecewise_affine_map(y_lm, x_lm, x.size());
  cv::Mat warped;
  cv::remap(y, warped, to_x.map_x, to_x.map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  s.tensors["warped"] = image_to_tensor(warped);
  s.tensors["warp_grid"] = warp_map_to_grid(to_x);
  s.tensors["inverse_warp_grid"] = warp_map_to_grid(piecewise_affine_map(x_lm, y_lm, y.size()));
  s.tensors["source_landmarks"] = landmarks_tensor(x_lm);
  s.tensors["reference_landmarks"] = landmarks_tensor(y_lm);
  s.tensors["source_mask"] = u8_tensor(x_regions);
  s.tensors["reference_mask"] = u8_tensor(y_regions);
  s.tensors["source_areas"] = areas_tensor(x_lm, x_regions);
  s.tensors["reference_areas"] = areas_tensor(y_lm, y_regions);
  return s;
}

class SyntheticMakeupDataset : public Dataset {
 public:
  explicit SyntheticMakeupDataset(const SyntheticMakeupOptions& options)
      : options_(options), renderer_(SyntheticFacesOptions(options.renderer()).makeup_probability(1.0)) {
    if (options_.num_samples() < 1) {
      throw ConfigError("synthetic_makeup.num_samples: must be >= 1, got " + std::to_string(options_.num_samples()));
    }
    if (options_.split() == Split::kHeldOut && options_.renderer().held_out_identities() < 2) {
      throw ConfigError("synthetic_makeup.split: 'held_out' needs held_out_identities >= 2 (source and reference differ)");
    }
    const int64_t n = options_.renderer().num_identities(), held = options_.renderer().held_out_identities();
    switch (options_.split()) {
      case Split::kTrain: first_ = 0, count_ = n - held; break;
      case Split::kHeldOut: first_ = n - held, count_ = held; break;
      case Split::kAll: first_ = 0, count_ = n; break;
    }
    if (count_ < 2) throw ConfigError("synthetic_makeup.split: needs at least 2 identities in the split");
  }
  size_t size() const override { return static_cast<size_t>(options_.num_samples()); }

  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("synthetic_makeup: index " + std::to_string(index) + " out of range [0, " + std::to_string(size()) + ")");
    }
    FaceFactors src = renderer_.sample_factors(2 * index, options_.split());
    src.makeup = Makeup{};
    FaceFactors ref = renderer_.sample_factors(2 * index + 1, options_.split());
    if (ref.identity == src.identity) ref.identity = first_ + (ref.identity - first_ + 1) % count_;
    FaceFactors target = src;
    target.makeup = ref.makeup;
    FaceFactors ref_bare = ref;
    ref_bare.makeup = Makeup{};

    const RenderedFace x = renderer_.render(src), y = renderer_.render(ref);
    Sample s = make_pair(x.image, x.landmarks, x.regions, y.image, y.landmarks, y.regions);
    s.tensors["target"] = image_to_tensor(renderer_.render(target).image);
    s.tensors["reference_bare"] = image_to_tensor(renderer_.render(ref_bare).image);
    s.tensors["source_makeup_mask"] = u8_tensor(x.makeup_mask);
    s.tensors["source_identity"] = torch::scalar_tensor(src.identity, torch::kInt64);
    s.tensors["reference_identity"] = torch::scalar_tensor(ref.identity, torch::kInt64);
    s.meta = json{{"index", index}, {"source", factors_to_json(src)}, {"reference", factors_to_json(ref)}};
    return s;
  }
  std::string type() const override { return "synthetic_makeup"; }

 private:
  SyntheticMakeupOptions options_;
  SyntheticFaces renderer_;
  int64_t first_ = 0, count_ = 0;
};

/// Path of the landmark file of an MT image: root/landmarks/<half>/<stem>.pts, else .txt.
fs::path landmark_file(const fs::path& root, const fs::path& image) {
  const fs::path dir = root / "landmarks" / image.parent_path().filename();
  const fs::path pts = dir / (image.stem().string() + ".pts");
  if (fs::exists(pts)) return pts;
  return dir / (image.stem().string() + ".txt");
}

class MtMakeupPairsDataset : public Dataset {
 public:
  explicit MtMakeupPairsDataset(const MtMakeupPairsOptions& options)
      : options_(options),
        makeup_(MtMakeupOptions(options.root()).subset(MakeupSubset::kMakeup)),
        bare_(MtMakeupOptions(options.root()).subset(MakeupSubset::kNonMakeup)) {
    if (options_.image_size() < 0) throw ConfigError("mt_makeup_pairs.image_size: must be >= 0");
    if (options_.num_samples() < 0) throw ConfigError("mt_makeup_pairs.num_samples: must be >= 0");
    if (options_.stride() < 1) throw ConfigError("mt_makeup_pairs.stride: must be >= 1");
    if (options_.offset() < 0) throw ConfigError("mt_makeup_pairs.offset: must be >= 0");
    // Read every landmark file now: a missing one should fail at construction, not mid-training.
    for (const MtMakeupDataset* d : {&makeup_, &bare_}) {
      auto& out = d == &makeup_ ? makeup_landmarks_ : bare_landmarks_;
      for (size_t i = 0; i < d->size(); ++i) {
        const fs::path image = file_of(*d, i);
        const fs::path lm = landmark_file(options_.root(), image);
        if (!fs::exists(lm)) {
          throw DataError("mt_makeup_pairs: landmark file not found: " + lm.string() + " (expected " +
                          (lm.parent_path() / (image.stem().string() + ".pts")).string() + " or .txt with 68 points for " +
                          image.string() + ")");
        }
        out.push_back(read_landmarks_file(lm.string()));
      }
    }
  }
  size_t size() const override {
    return options_.num_samples() > 0 ? static_cast<size_t>(options_.num_samples()) : bare_.size();
  }
  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("mt_makeup_pairs: index " + std::to_string(index) + " out of range [0, " + std::to_string(size()) + ")");
    }
    const size_t xi = index % bare_.size();
    const size_t yi = (index * static_cast<size_t>(options_.stride()) + static_cast<size_t>(options_.offset())) % makeup_.size();
    cv::Mat x, xr, y, yr;
    std::vector<cv::Point2f> xl = bare_landmarks_[xi], yl = makeup_landmarks_[yi];
    load(bare_, xi, x, xr, xl);
    load(makeup_, yi, y, yr, yl);
    Sample s = make_pair(x, xl, xr, y, yl, yr);
    s.meta = json{{"index", index}, {"source", file_of(bare_, xi).string()}, {"reference", file_of(makeup_, yi).string()}};
    return s;
  }
  std::string type() const override { return "mt_makeup_pairs"; }

 private:
  static fs::path file_of(const MtMakeupDataset& d, size_t i) { return d.get(i).meta.at("file").get<std::string>(); }

  void load(const MtMakeupDataset& d, size_t i, cv::Mat& image, cv::Mat& regions, std::vector<cv::Point2f>& lm) const {
    const Sample s = d.get(i);
    image = tensor_to_image(s.at("image"));
    torch::Tensor m = s.at("mask").contiguous();
    regions = cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8U, m.data_ptr<uint8_t>()).clone();
    const int64_t n = options_.image_size();
    if (n > 0 && (image.cols != n || image.rows != n)) {
      const float sx = static_cast<float>(n) / image.cols, sy = static_cast<float>(n) / image.rows;
      // Pixel centres: x' + 0.5 = (x + 0.5) * scale.
      for (auto& p : lm) p = {(p.x + 0.5f) * sx - 0.5f, (p.y + 0.5f) * sy - 0.5f};
      cv::resize(image, image, cv::Size(static_cast<int>(n), static_cast<int>(n)), 0, 0, cv::INTER_AREA);
      cv::resize(regions, regions, cv::Size(static_cast<int>(n), static_cast<int>(n)), 0, 0, cv::INTER_NEAREST);
    }
  }

  MtMakeupPairsOptions options_;
  MtMakeupDataset makeup_, bare_;
  std::vector<std::vector<cv::Point2f>> makeup_landmarks_, bare_landmarks_;
};

}  // namespace

std::vector<cv::Point2f> read_landmarks_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open landmark file " + path);
  std::vector<cv::Point2f> pts;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    const std::string t = line.substr(first);
    // .pts header and braces: "version: 1", "n_points: 68", "{", "}".
    if (t[0] == '{' || t[0] == '}' || t.rfind("version", 0) == 0 || t.rfind("n_points", 0) == 0) continue;
    std::istringstream ss(t);
    float x = 0, y = 0;
    std::string rest;
    if (!(ss >> x >> y) || (ss >> rest)) {
      throw DataError("landmark file " + path + " line " + std::to_string(line_no) + ": expected 'x y', got '" + t + "'");
    }
    pts.emplace_back(x, y);
  }
  if (pts.size() != 68) {
    throw DataError("landmark file " + path + ": expected 68 points, got " + std::to_string(pts.size()));
  }
  return pts;
}

std::shared_ptr<Dataset> make_synthetic_makeup_dataset(const SyntheticMakeupOptions& options) {
  return std::make_shared<SyntheticMakeupDataset>(options);
}

std::shared_ptr<Dataset> make_mt_makeup_pairs_dataset(const MtMakeupPairsOptions& options) {
  return std::make_shared<MtMakeupPairsDataset>(options);
}

void register_makeup_datasets(Registry<Dataset>& registry) {
  registry.add(
      "synthetic_makeup",
      [](const json& options) {
        return make_synthetic_makeup_dataset(apply_json(SyntheticMakeupOptions(), options, "synthetic_makeup"));
      },
      "rendered makeup-transfer pairs (bare source, made-up reference, warp) with exact ground truth",
      options_to_json(SyntheticMakeupOptions()));
  registry.add(
      "mt_makeup_pairs",
      [](const json& options) {
        return make_mt_makeup_pairs_dataset(apply_json(MtMakeupPairsOptions(), options, "mt_makeup_pairs"));
      },
      "MT (BeautyGAN) non-makeup x makeup pairs with 68-point landmarks from landmarks/",
      options_to_json(MtMakeupPairsOptions()));
}

}  // namespace facegan::data
