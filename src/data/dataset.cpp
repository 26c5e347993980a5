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

std::shared_ptr<Dataset> create_dataset(const json& spec, const std::string& where) {
  if (!spec.is_object() || !spec.contains("type") || !spec.at("type").is_string()) {
    throw ConfigError(where + ": a data set spec is an object with a string \"type\"; known types: " +
                      join_names(dataset_registry().names()));
  }
  json options = spec;
  options.erase("type");
  return dataset_registry().create(spec.at("type").get<std::string>(), options);
}

}  // namespace facegan::data
