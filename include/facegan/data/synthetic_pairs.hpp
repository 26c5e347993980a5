#pragma once
// Paired images from the synthetic renderer, for image-to-image translation (pix2pix): the input
// and the target are the same face with one factor changed, everything else (identity, pose,
// light, background) equal, so the exact answer is known.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <array>
#include <memory>
#include <utility>

namespace facegan::data {

/// What the pair changes.
enum class Pairing {
  /// Input: an expressive face; target: the same face neutral (DeRL's de-expression).
  kNeutralize,
  /// Input: a face wearing makeup; target: the same face bare (makeup removal).
  kRemoveMakeup,
};

/// Options of the "synthetic_pairs" data set: the renderer's options (flattened into the same JSON
/// object), the number of pairs, the identity split and the pairing. The pairing forces its factor
/// to be present in every input: kNeutralize sets expression_probability to 1, kRemoveMakeup sets
/// makeup_probability to 1 (the renderer draws each factor from its own random stream, so the other
/// factors of pair i do not change).
struct SyntheticPairsOptions {
  TORCH_ARG(SyntheticFacesOptions, renderer);
  TORCH_ARG(int64_t, num_samples) = 10000;
  TORCH_ARG(Split, split) = Split::kTrain;
  TORCH_ARG(Pairing, pairing) = Pairing::kNeutralize;

 public:
  template <class V>
  void visit(V& v) {
    renderer_.visit(v);
    v("num_samples", num_samples_);
    v("split", split_);
    v("pairing", pairing_);
  }
};

/// The "synthetic_pairs" data set. get(i): "input" and "target" float32 [3, H, W] in [-1, 1],
/// "identity" and "expression" (of the input) int64 scalars; meta {"input": factors, "target":
/// factors} (factors_to_json). Deterministic and thread-safe.
std::shared_ptr<Dataset> make_synthetic_pairs_dataset(const SyntheticPairsOptions& options);

/// Registers "synthetic_pairs" (call from the builtin data set list).
void register_synthetic_pair_datasets(Registry<Dataset>& registry);

}  // namespace facegan::data

namespace facegan {
template <>
struct EnumNames<data::Pairing> {
  static constexpr std::array<std::pair<data::Pairing, const char*>, 2> values{
      {{data::Pairing::kNeutralize, "neutralize"}, {data::Pairing::kRemoveMakeup, "remove_makeup"}}};
};
}  // namespace facegan
