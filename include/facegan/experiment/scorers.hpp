#pragma once
// Scorers beside a task's own metrics: evaluation networks that judge a method's outputs and that
// no method trains against (open-set synthesis is scored by an identity probe and an attribute
// probe, never by the model's own recogniser). The experiment runner applies them to every variant
// and baseline alike.

#include <facegan/core/config.hpp>
#include <facegan/core/registry.hpp>
#include <facegan/train/task.hpp>

#include <memory>
#include <string>

namespace facegan::experiment {

/// What a scorer may need to know of the experiment it serves.
struct ScorerContext {
  /// A folder where trained evaluation networks are kept between runs (keyed by their settings).
  std::string cache_dir;
  /// The split being scored: "held_out" (identities never trained on) or "selection" (training
  /// identities, unseen samples).
  std::string split = "held_out";
};

/// A scorer: prepares its networks once, then scores batches of outputs.
class Scorer {
 public:
  virtual ~Scorer() = default;
  /// Trains (or loads from the cache) what the scorer needs; the function it returns scores one
  /// batch's outputs per sample.
  virtual train::ExtraScorer prepare(const ScorerContext& context) = 0;
};

/// The scorer catalogue: "face_probes" (identity top-1 and attribute error of synthetic faces).
Registry<Scorer>& scorer_registry();
/// Builds a scorer from `{"type": name, ...options}`; errors name `where`.
std::shared_ptr<Scorer> create_scorer(const json& spec, const std::string& where = "scorer");

/// Options of the "face_probes" scorer.
struct FaceProbesOptions {
  /// The renderer of the experiment's faces (its identities, size and seed); the probes train on
  /// its training identities only.
  json renderer = json::object();
  /// The output scored (the batch's key of the method's Outputs).
  std::string output = "output";
  /// Meta keys of the pair that hold the identity face's and the attribute face's factors.
  std::string identity_meta = "source";
  std::string attribute_meta = "attribute";
  /// Faces rendered for probe training, and training steps of each probe.
  int64_t faces = 2000;
  int64_t steps = 800;

  template <class V>
  void visit(V& v) {
    v("renderer", renderer);
    v("output", output);
    v("identity_meta", identity_meta);
    v("attribute_meta", attribute_meta);
    v("faces", faces);
    v("steps", steps);
  }
};

}  // namespace facegan::experiment
