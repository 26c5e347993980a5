#pragma once
// Pairs of faces by identity (Bao et al. 2018's training input): an identity image x_s and an
// attribute image x_a that show the same person with a configurable probability. From the synthetic
// renderer the pair comes with its exact answer (identity of s, every other factor of a); from any
// labelled data set with an "identity" key (CASIA-WebFace's image_folder, CelebA) without one.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <memory>
#include <vector>

namespace facegan::data {

/// How a pair is drawn: same person with `same_probability`, unlabeled with `unlabeled_fraction`.
struct PairSamplingOptions {
  /// Probability that x_s and x_a show the same person (Bao et al. reconstruct x_a at full weight
  /// then, at a tenth otherwise).
  TORCH_ARG(double, same_probability) = 0.5;
  /// Fraction of pairs whose identity labels are withheld (semi-supervised regime: "labeled" 0,
  /// identities -1, "same" 0 since nobody knows).
  TORCH_ARG(double, unlabeled_fraction) = 0.0;
  /// Seeds the per-index draws (pair i depends on (seed, i) only).
  TORCH_ARG(int64_t, pair_seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("same_probability", same_probability_);
    v("unlabeled_fraction", unlabeled_fraction_);
    v("pair_seed", pair_seed_);
  }
  /// ConfigError naming `where`.key when a probability lies outside [0, 1].
  void validate(const std::string& where) const;
};

/// Options of "synthetic_identity_pairs": the renderer's options and the pair sampling (both
/// flattened into the same JSON object), the number of pairs and the identity split.
struct SyntheticIdentityPairsOptions {
  TORCH_ARG(SyntheticFacesOptions, renderer);
  TORCH_ARG(PairSamplingOptions, sampling);
  TORCH_ARG(int64_t, num_samples) = 10000;
  TORCH_ARG(Split, split) = Split::kTrain;

 public:
  template <class V>
  void visit(V& v) {
    renderer_.visit(v);
    sampling_.visit(v);
    v("num_samples", num_samples_);
    v("split", split_);
  }
};

/// The "synthetic_identity_pairs" data set. get(i): "source" (x_s), "attribute" (x_a) and "target"
/// (the ground-truth render: x_a's factors with x_s's identity) float32 [3, H, W] in [-1, 1];
/// "source_identity", "attribute_identity" int64 scalars (-1 when unlabeled); "same" and "labeled"
/// float32 scalars (1/0). meta: {"index", "source", "attribute", "target"} (factors_to_json).
/// The two faces come from sample_factors(2i) and sample_factors(2i + 1) of the split, so their
/// poses, lights and expressions are independent. Deterministic and thread-safe.
std::shared_ptr<Dataset> make_synthetic_identity_pairs_dataset(const SyntheticIdentityPairsOptions& options);

/// Options of "identity_pairs": pairs built from any data set whose samples carry "identity".
struct IdentityPairsOptions {
  /// Spec of the underlying data set ({"type": "image_folder", ...} or "celeba").
  TORCH_ARG(json, base) = json::object();
  TORCH_ARG(PairSamplingOptions, sampling);
  /// Pairs per epoch; 0 = one per image of the base data set (pair i has x_s = image i).
  TORCH_ARG(int64_t, num_samples) = 0;
  /// Key of the image in the base samples.
  TORCH_ARG(std::string, image_key) = "image";

 public:
  template <class V>
  void visit(V& v) {
    v("base", base_);
    sampling_.visit(v);
    v("num_samples", num_samples_);
    v("image_key", image_key_);
  }
};

/// Pairs from a labelled data set. `identities[k]` is the identity of base sample k (-1 = unknown:
/// such an image only ever forms unlabeled pairs); when empty, the base data set is read once to
/// collect them (every image is decoded: slow on CASIA-WebFace's 494k images, so pass them when
/// known). get(i): "source", "attribute", "source_identity", "attribute_identity", "same",
/// "labeled" as the synthetic pairs (no "target": real data has no ground truth); a same-person
/// pair takes another image of the identity when it has one. meta {"index", "source_index",
/// "attribute_index"}.
std::shared_ptr<Dataset> make_identity_pairs_dataset(std::shared_ptr<const Dataset> base, PairSamplingOptions sampling,
                                                     int64_t num_samples = 0, std::vector<int64_t> identities = {},
                                                     std::string image_key = "image");

/// Registers "synthetic_identity_pairs" and "identity_pairs" (call from the builtin data set list).
void register_identity_pair_datasets(Registry<Dataset>& registry);

}  // namespace facegan::data
