#pragma once

#include <facegan/core/config.hpp>
#include <facegan/core/registry.hpp>

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

/// Face regions of the label maps under the key "mask" ([H, W] uint8). Readers of parsing data
/// (MT's segs/) map their own indices onto these.
enum class Region : uint8_t { kBackground = 0, kSkin = 1, kBrows = 2, kEyes = 3, kLips = 4, kHair = 5, kNeck = 6, kEars = 7, kNose = 8, kMouth = 9 };

/// One example: named tensors plus metadata. Conventional keys:
/// - "image": float32 [3, H, W], RGB in [-1, 1] (data::image_to_tensor's form);
/// - "landmarks": float32 [68, 2], (x, y) in pixels of "image", iBUG 68-point order;
/// - "mask": uint8 [H, W] of Region values;
/// - "identity", "expression": int64 scalars (class indices; -1 = unlabeled).
/// Datasets may add their own keys (a task's pair, a ground-truth render).
struct Sample {
  std::map<std::string, torch::Tensor> tensors;
  /// Where the sample came from ("file", "index") and its known factors, for reports and tests.
  json meta = json::object();

  /// The tensor under `key`; DataError naming the key and the keys present when it is missing.
  const torch::Tensor& at(const std::string& key) const;
};

/// A random-access data set. get() must be safe to call from several threads at once (the loader's
/// prefetch threads do) and deterministic: the same index gives the same sample.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual size_t size() const = 0;
  /// Sample `index` (< size()); DataError naming the file at fault when its data cannot be read.
  virtual Sample get(size_t index) const = 0;
  /// Registry name of the data set type, e.g. "celeba".
  virtual std::string type() const = 0;
};

/// Samples held in memory: for small data sets, caches and tests.
class InMemoryDataset : public Dataset {
 public:
  /// `type` is what type() reports (packed HDF5 files record it as their source).
  explicit InMemoryDataset(std::vector<Sample> samples, std::string type = "in_memory")
      : samples_(std::move(samples)), type_(std::move(type)) {}
  size_t size() const override { return samples_.size(); }
  Sample get(size_t index) const override;
  std::string type() const override { return type_; }

 private:
  std::vector<Sample> samples_;
  std::string type_;
};

/// Every sample of `dataset` (from index `first` on) rendered or read once into memory: for small
/// data sets that several runs train on. `progress`, when set, is called with (done, total) every
/// 256 samples and at the end.
std::shared_ptr<InMemoryDataset> materialize(const Dataset& dataset, size_t first = 0,
                                             const std::function<void(size_t, size_t)>& progress = nullptr);

/// The samples `indices` of `dataset`, in that order, without copying them (a fold of an
/// experiment). get(i) is dataset.get(indices[i]); the indices are checked against its size.
std::shared_ptr<Dataset> subset(std::shared_ptr<const Dataset> dataset, std::vector<size_t> indices);

/// Samples stacked along a new batch dimension: every key present in all samples, with equal shapes.
struct Batch {
  std::map<std::string, torch::Tensor> tensors;
  std::vector<json> meta;

  /// The tensor under `key`; DataError naming the key and the keys present when it is missing.
  const torch::Tensor& at(const std::string& key) const;
  /// Batch size (0 for an empty batch).
  int64_t size() const;
  /// The same batch on `device` (non_blocking copies from pinned memory on CUDA).
  Batch to(const torch::Device& device, bool non_blocking = false) const;
};

/// Stacks samples into a Batch; DataError naming the key when shapes differ between samples.
Batch collate(const std::vector<Sample>& samples);

/// The data set catalogue: `{"type": name, ...options}` -> Dataset.
Registry<Dataset>& dataset_registry();

/// Builds a data set from its spec; `where` names the config key in errors.
std::shared_ptr<Dataset> create_dataset(const json& spec, const std::string& where = "dataset");

}  // namespace facegan::data

namespace facegan {
template <>
struct EnumNames<data::Region> {
  static constexpr std::array<std::pair<data::Region, const char*>, 10> values{
      {{data::Region::kBackground, "background"},
       {data::Region::kSkin, "skin"},
       {data::Region::kBrows, "brows"},
       {data::Region::kEyes, "eyes"},
       {data::Region::kLips, "lips"},
       {data::Region::kHair, "hair"},
       {data::Region::kNeck, "neck"},
       {data::Region::kEars, "ears"},
       {data::Region::kNose, "nose"},
       {data::Region::kMouth, "mouth"}}};
};
}  // namespace facegan
