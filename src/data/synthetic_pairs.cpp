#include <facegan/core/error.hpp>
#include <facegan/data/synthetic_pairs.hpp>

namespace facegan::data {
namespace {

class SyntheticPairsDataset : public Dataset {
 public:
  explicit SyntheticPairsDataset(const SyntheticPairsOptions& options)
      : options_(options), renderer_(forced(options)) {
    if (options_.num_samples() < 1) {
      throw ConfigError("synthetic_pairs.num_samples: must be >= 1, got " + std::to_string(options_.num_samples()));
    }
    if (options_.split() == Split::kHeldOut && options_.renderer().held_out_identities() == 0) {
      throw ConfigError("synthetic_pairs.split: 'held_out' needs held_out_identities > 0");
    }
  }
  size_t size() const override { return static_cast<size_t>(options_.num_samples()); }
  Sample get(size_t index) const override {
    if (index >= size()) {
      throw DataError("synthetic_pairs: index " + std::to_string(index) + " out of range [0, " + std::to_string(size()) + ")");
    }
    const FaceFactors input = renderer_.sample_factors(index, options_.split());
    FaceFactors target = input;
    switch (options_.pairing()) {
      case Pairing::kNeutralize:
        target.expression = Expression::kNeutral;
        target.intensity = 0.0;
        break;
      case Pairing::kRemoveMakeup:
        target.makeup = Makeup{};
        break;
    }
    Sample a = renderer_.render_sample(input);
    Sample b = renderer_.render_sample(target);
    Sample s;
    s.tensors.emplace("input", a.tensors.at("image"));
    s.tensors.emplace("target", b.tensors.at("image"));
    s.tensors.emplace("identity", a.tensors.at("identity"));
    s.tensors.emplace("expression", a.tensors.at("expression"));
    s.meta = json{{"index", index}, {"input", a.meta}, {"target", b.meta}};
    return s;
  }
  std::string type() const override { return "synthetic_pairs"; }

 private:
  static SyntheticFacesOptions forced(const SyntheticPairsOptions& o) {
    SyntheticFacesOptions r = o.renderer();
    if (o.pairing() == Pairing::kNeutralize) r.expression_probability(1.0);
    if (o.pairing() == Pairing::kRemoveMakeup) r.makeup_probability(1.0);
    return r;
  }
  SyntheticPairsOptions options_;
  SyntheticFaces renderer_;
};

}  // namespace

std::shared_ptr<Dataset> make_synthetic_pairs_dataset(const SyntheticPairsOptions& options) {
  return std::make_shared<SyntheticPairsDataset>(options);
}

void register_synthetic_pair_datasets(Registry<Dataset>& registry) {
  registry.add(
      "synthetic_pairs",
      [](const json& options) {
        return make_synthetic_pairs_dataset(apply_json(SyntheticPairsOptions(), options, "synthetic_pairs"));
      },
      "rendered (input, target) pairs differing in one factor: expression -> neutral or makeup -> bare",
      options_to_json(SyntheticPairsOptions()));
}

}  // namespace facegan::data
