#include <facegan/core/error.hpp>
#include <facegan/data/dataset.hpp>

#include "builtin_datasets.hpp"

namespace facegan::data {
namespace {

std::string keys_of(const std::map<std::string, torch::Tensor>& tensors) {
  std::vector<std::string> keys;
  for (const auto& kv : tensors) keys.push_back(kv.first);
  return keys.empty() ? "none" : join_names(keys);
}

const torch::Tensor& find_key(const std::map<std::string, torch::Tensor>& tensors, const std::string& key,
                              const char* what) {
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    throw DataError(std::string(what) + " has no tensor '" + key + "'; it has: " + keys_of(tensors));
  }
  return it->second;
}

}  // namespace

const torch::Tensor& Sample::at(const std::string& key) const { return find_key(tensors, key, "sample"); }

Sample InMemoryDataset::get(size_t index) const {
  if (index >= samples_.size()) {
    throw DataError("sample index " + std::to_string(index) + " out of range for a data set of " +
                    std::to_string(samples_.size()) + " samples");
  }
  return samples_[index];
}

const torch::Tensor& Batch::at(const std::string& key) const { return find_key(tensors, key, "batch"); }

int64_t Batch::size() const { return tensors.empty() ? 0 : tensors.begin()->second.size(0); }

Batch Batch::to(const torch::Device& device, bool non_blocking) const {
  Batch out;
  out.meta = meta;
  for (const auto& [key, t] : tensors) out.tensors.emplace(key, t.to(device, non_blocking));
  return out;
}

Batch collate(const std::vector<Sample>& samples) {
  Batch batch;
  if (samples.empty()) return batch;
  for (const auto& [key, first] : samples.front().tensors) {
    std::vector<torch::Tensor> parts;
    parts.reserve(samples.size());
    bool everywhere = true;
    for (size_t i = 0; i < samples.size() && everywhere; ++i) {
      auto it = samples[i].tensors.find(key);
      if (it == samples[i].tensors.end()) {
        everywhere = false;
        break;
      }
      if (it->second.sizes() != first.sizes()) {
        std::ostringstream msg;
        msg << "cannot batch '" << key << "': sample 0 has shape " << first.sizes() << " but sample " << i
            << " has " << it->second.sizes();
        throw DataError(msg.str());
      }
      parts.push_back(it->second);
    }
    if (everywhere) batch.tensors.emplace(key, torch::stack(parts));
  }
  batch.meta.reserve(samples.size());
  for (const auto& s : samples) batch.meta.push_back(s.meta);
  return batch;
}

Registry<Dataset>& dataset_registry() {
  static Registry<Dataset> registry = [] {
    Registry<Dataset> r("dataset");
    register_builtin_datasets(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<InMemoryDataset> materialize(const Dataset& dataset, size_t first,
                                             const std::function<void(size_t, size_t)>& progress) {
  const size_t n = dataset.size() > first ? dataset.size() - first : 0;
  std::vector<Sample> samples;
  samples.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    samples.push_back(dataset.get(first + i));
    if (progress && ((i + 1) % 256 == 0 || i + 1 == n)) progress(i + 1, n);
  }
  return std::make_shared<InMemoryDataset>(std::move(samples), dataset.type());
}

namespace {
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<size_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}
  size_t size() const override { return indices_.size(); }
  Sample get(size_t index) const override {
    if (index >= indices_.size()) {
      throw DataError("subset: index " + std::to_string(index) + " out of range (size " + std::to_string(indices_.size()) + ")");
    }
    return base_->get(indices_[index]);
  }
  std::string type() const override { return base_->type(); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<size_t> indices_;
};
}  // namespace

std::shared_ptr<Dataset> subset(std::shared_ptr<const Dataset> dataset, std::vector<size_t> indices) {
  if (!dataset) throw DataError("subset: no data set");
  for (size_t i : indices) {
    if (i >= dataset->size()) {
      throw DataError("subset: index " + std::to_string(i) + " out of range for a data set of " +
                      std::to_string(dataset->size()) + " samples");
    }
  }
  return std::make_shared<SubsetDataset>(std::move(dataset), std::move(indices));
}

std::shared_ptr<Dataset> create_dataset(const json& spec, const std::string& where) {
  return dataset_registry().create_from_spec(spec, where);
}

}  // namespace facegan::data
