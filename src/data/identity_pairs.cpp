#include <facegan/core/error.hpp>
#include <facegan/data/identity_pairs.hpp>

#include <random>
#include <unordered_map>

namespace facegan::data {
namespace {

torch::Tensor int_scalar(int64_t v) { return torch::tensor(v, torch::kInt64); }
torch::Tensor float_scalar(double v) { return torch::tensor(static_cast<float>(v)); }

/// The random stream of pair `index`: a function of (seed, index) only, so the loader's order and
/// thread count never change a pair.
std::mt19937_64 pair_rng(int64_t seed, size_t index) {
  std::seed_seq seq{static_cast<uint64_t>(seed), static_cast<uint64_t>(index), uint64_t{0x6f70656e736574}};
  return std::mt19937_64(seq);
}

double uniform(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

class SyntheticIdentityPairsDataset : public Dataset {
 public:
  explicit SyntheticIdentityPairsDataset(const SyntheticIdentityPairsOptions& options)
      : options_(options), renderer_(options.renderer()) {
    options_.sampling().validate("synthetic_identity_pairs");
    if (options_.num_samples() < 1) {
      throw ConfigError("synthetic_identity_pairs.num_samples: must be >= 1, got " +
                        std::to_string(options_.num_samples()));
    }
    if (options_.split() == Split::kHeldOut && options_.renderer().held_out_identities() == 0) {
      throw ConfigError("synthetic_identity_pairs.split: 'held_out' needs held_out_identities > 0");
    }
  }
  size_t size() const override { return static_cast<size_t>(options_.num_samples()); }
  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("synthetic_identity_pairs: index " + std::to_string(index) + " out of range [0, " +
                      std::to_string(size()) + ")");
    }
    auto rng = pair_rng(options_.sampling().pair_seed(), index);
    const bool labeled = uniform(rng) >= options_.sampling().unlabeled_fraction();
    const bool same = uniform(rng) < options_.sampling().same_probability();
    const FaceFactors source = renderer_.sample_factors(2 * index, options_.split());
    FaceFactors attribute = renderer_.sample_factors(2 * index + 1, options_.split());
    // Unlabeled pairs are drawn without knowing who is who: the renderer's independent draw (which
    // may hit the same person by chance, like two random unlabeled images).
    if (same && labeled) {
      attribute.identity = source.identity;
    } else if (labeled && attribute.identity == source.identity) {
      // A labelled "different" pair must show two people: the next identity of the split.
      const int64_t lo = options_.split() == Split::kHeldOut ? renderer_.num_train_identities() : 0;
      const int64_t hi = options_.split() == Split::kTrain ? renderer_.num_train_identities()
                                                           : renderer_.options().num_identities();
      if (hi - lo > 1) attribute.identity = lo + (attribute.identity - lo + 1) % (hi - lo);
    }
    FaceFactors target = attribute;
    target.identity = source.identity;
    const bool is_same = attribute.identity == source.identity;

    Sample s;
    Sample rs = renderer_.render_sample(source);
    Sample ra = renderer_.render_sample(attribute);
    s.tensors["source"] = rs.tensors.at("image");
    s.tensors["attribute"] = ra.tensors.at("image");
    // Same person: the ground truth is x_a itself (no third render).
    s.tensors["target"] = is_same ? ra.tensors.at("image") : renderer_.render_sample(target).tensors.at("image");
    s.tensors["source_identity"] = int_scalar(labeled ? source.identity : -1);
    s.tensors["attribute_identity"] = int_scalar(labeled ? attribute.identity : -1);
    s.tensors["same"] = float_scalar(labeled && is_same ? 1.0 : 0.0);
    s.tensors["labeled"] = float_scalar(labeled ? 1.0 : 0.0);
    s.meta = json{{"index", index},
                  {"source", factors_to_json(source)},
                  {"attribute", factors_to_json(attribute)},
                  {"target", factors_to_json(target)}};
    return s;
  }
  std::string type() const override { return "synthetic_identity_pairs"; }

 private:
  SyntheticIdentityPairsOptions options_;
  SyntheticFaces renderer_;
};

class IdentityPairsDataset : public Dataset {
 public:
  IdentityPairsDataset(std::shared_ptr<const Dataset> base, PairSamplingOptions sampling, int64_t num_samples,
                       std::vector<int64_t> identities, std::string image_key)
      : base_(std::move(base)),
        sampling_(sampling),
        num_samples_(num_samples),
        identities_(std::move(identities)),
        image_key_(std::move(image_key)) {
    sampling_.validate("identity_pairs");
    if (!base_ || base_->size() == 0) throw ConfigError("identity_pairs.base: the base data set is empty");
    if (num_samples_ < 0) {
      throw ConfigError("identity_pairs.num_samples: must be >= 0, got " + std::to_string(num_samples_));
    }
    if (identities_.empty()) {
      identities_.reserve(base_->size());
      for (size_t k = 0; k < base_->size(); ++k) identities_.push_back(base_->get(k).at("identity").item<int64_t>());
    }
    if (identities_.size() != base_->size()) {
      throw ConfigError("identity_pairs: " + std::to_string(identities_.size()) + " identities for a base of " +
                        std::to_string(base_->size()) + " samples");
    }
    for (size_t k = 0; k < identities_.size(); ++k) {
      if (identities_[k] >= 0) by_identity_[identities_[k]].push_back(k);
    }
  }
  size_t size() const override { return num_samples_ > 0 ? static_cast<size_t>(num_samples_) : base_->size(); }
  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("identity_pairs: index " + std::to_string(index) + " out of range [0, " +
                      std::to_string(size()) + ")");
    }
    auto rng = pair_rng(sampling_.pair_seed(), index);
    const bool want_label = uniform(rng) >= sampling_.unlabeled_fraction();
    const bool want_same = uniform(rng) < sampling_.same_probability();
    const size_t n = base_->size();
    const size_t si = num_samples_ > 0 ? static_cast<size_t>(rng() % n) : index;
    const int64_t sid = identities_[si];
    const bool labeled = want_label && sid >= 0;
    size_t ai = si;
    if (labeled && want_same) {
      const auto& same = by_identity_.at(sid);
      if (same.size() > 1) {
        ai = same[rng() % (same.size() - 1)];
        if (ai == si) ai = same.back();  // k-th other image: skip si itself
      }
    } else {
      // A different person when labels say so (a few draws; identities are many), else any image.
      for (int tries = 0; tries < 16; ++tries) {
        ai = static_cast<size_t>(rng() % n);
        if (!labeled || identities_[ai] != sid) break;
      }
    }
    const int64_t aid = identities_[ai];
    const bool is_same = labeled && aid >= 0 && aid == sid;
    Sample s;
    s.tensors["source"] = base_->get(si).at(image_key_);
    s.tensors["attribute"] = base_->get(ai).at(image_key_);
    s.tensors["source_identity"] = int_scalar(labeled ? sid : -1);
    s.tensors["attribute_identity"] = int_scalar(labeled ? aid : -1);
    s.tensors["same"] = float_scalar(is_same ? 1.0 : 0.0);
    s.tensors["labeled"] = float_scalar(labeled ? 1.0 : 0.0);
    s.meta = json{{"index", index}, {"source_index", si}, {"attribute_index", ai}};
    return s;
  }
  std::string type() const override { return "identity_pairs"; }

 private:
  std::shared_ptr<const Dataset> base_;
  PairSamplingOptions sampling_;
  int64_t num_samples_;
  std::vector<int64_t> identities_;
  std::string image_key_;
  std::unordered_map<int64_t, std::vector<size_t>> by_identity_;
};

}  // namespace

void PairSamplingOptions::validate(const std::string& where) const {
  auto check = [&](double v, const char* key) {
    if (!(v >= 0.0 && v <= 1.0)) {
      throw ConfigError(where + "." + key + ": must lie in [0, 1], got " + std::to_string(v));
    }
  };
  check(same_probability(), "same_probability");
  check(unlabeled_fraction(), "unlabeled_fraction");
}

std::shared_ptr<Dataset> make_synthetic_identity_pairs_dataset(const SyntheticIdentityPairsOptions& options) {
  return std::make_shared<SyntheticIdentityPairsDataset>(options);
}

std::shared_ptr<Dataset> make_identity_pairs_dataset(std::shared_ptr<const Dataset> base, PairSamplingOptions sampling,
                                                     int64_t num_samples, std::vector<int64_t> identities,
                                                     std::string image_key) {
  return std::make_shared<IdentityPairsDataset>(std::move(base), sampling, num_samples, std::move(identities),
                                                std::move(image_key));
}

void register_identity_pair_datasets(Registry<Dataset>& registry) {
  registry.add(
      "synthetic_identity_pairs",
      [](const json& options) {
        return make_synthetic_identity_pairs_dataset(
            apply_json(SyntheticIdentityPairsOptions(), options, "synthetic_identity_pairs"));
      },
      "rendered (identity, attribute) face pairs with the ground-truth mix (Bao et al. 2018)",
      options_to_json(SyntheticIdentityPairsOptions()));
  registry.add(
      "identity_pairs",
      [](const json& options) {
        const IdentityPairsOptions o = apply_json(IdentityPairsOptions(), options, "identity_pairs");
        if (!o.base().is_object() || !o.base().contains("type")) {
          throw ConfigError("identity_pairs.base: expected a data set spec {\"type\": ..., ...}");
        }
        return make_identity_pairs_dataset(create_dataset(o.base(), "identity_pairs.base"), o.sampling(),
                                           o.num_samples(), {}, o.image_key());
      },
      "(identity, attribute) pairs from any data set with an \"identity\" key (image_folder, celeba)",
      options_to_json(IdentityPairsOptions()));
}

}  // namespace facegan::data
