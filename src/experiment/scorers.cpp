#include <facegan/core/error.hpp>
#include <facegan/data/synthetic_faces.hpp>
#include <facegan/eval/identity_probe.hpp>
#include <facegan/experiment/scorers.hpp>

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace facegan::experiment {
namespace {

/// "face_probes": per sample, "identity_top1" (1 when the independent identity probe retrieves the
/// identity face's identity from a gallery of canonical renders: the held-out identities, or the
/// training identities on the selection split) and "attribute_error" (the attribute probe's mean
/// |error| against the attribute face's factors, in training standard deviations).
class FaceProbes : public Scorer {
 public:
  explicit FaceProbes(FaceProbesOptions options) : options_(std::move(options)) {
    if (options_.faces < 64) throw ConfigError("faces: at least 64 probe faces, got " + std::to_string(options_.faces));
    if (options_.steps < 1) throw ConfigError("steps: must be >= 1, got " + std::to_string(options_.steps));
    renderer_options_ = apply_json(data::SyntheticFacesOptions(), options_.renderer, "renderer");
  }

  train::ExtraScorer prepare(const ScorerContext& context) override {
    const data::SyntheticFaces renderer(renderer_options_);
    const int64_t size = renderer_options_.size(), num_train = renderer.num_train_identities();
    // The cache key names every setting that changes the probes.
    const std::string tag = std::to_string(size) + "px_" + std::to_string(renderer_options_.num_identities()) + "ids_" +
                            std::to_string(renderer_options_.held_out_identities()) + "held_seed" +
                            std::to_string(renderer_options_.seed()) + "_" + std::to_string(options_.faces) + "faces_" +
                            std::to_string(options_.steps) + "steps";
    const fs::path dir = fs::path(context.cache_dir.empty() ? fs::temp_directory_path().string() : context.cache_dir);
    fs::create_directories(dir);
    const std::string id_path = (dir / ("identity_probe_" + tag + ".pt")).string();
    const std::string attr_path = (dir / ("attribute_probe_" + tag + ".pt")).string();
    std::shared_ptr<eval::IdentityProbe> identity;
    std::shared_ptr<eval::AttributeProbe> attribute;
    if (fs::exists(id_path) && fs::exists(attr_path)) {
      identity = std::make_shared<eval::IdentityProbe>(
          eval::IdentityProbe::load(id_path, eval::IdentityProbe::default_network(num_train)));
      attribute = std::make_shared<eval::AttributeProbe>(
          eval::AttributeProbe::load(attr_path, eval::AttributeProbe::default_network(size)));
    } else {
      std::cout << "face_probes: training the identity and attribute probes (" << options_.faces << " faces of "
                << num_train << " training identities, " << options_.steps << " steps each)" << std::endl;
      const eval::ProbeSet set = eval::render_probe_set(renderer, options_.faces, data::Split::kTrain, 1u << 20);
      eval::ProbeTrainingOptions po;
      po.steps = options_.steps;
      identity = std::make_shared<eval::IdentityProbe>(
          eval::IdentityProbe::train(set, eval::IdentityProbe::default_network(num_train), po));
      attribute = std::make_shared<eval::AttributeProbe>(
          eval::AttributeProbe::train(set, eval::AttributeProbe::default_network(size), po));
      identity->save(id_path);
      attribute->save(attr_path);
    }
    std::vector<int64_t> gallery;
    const bool held_out = context.split == "held_out";
    for (int64_t id = held_out ? num_train : 0; id < (held_out ? renderer_options_.num_identities() : num_train); ++id) {
      gallery.push_back(id);
    }
    identity->set_gallery(renderer, gallery);
    const FaceProbesOptions o = options_;
    return [identity, attribute, o](const data::Batch& batch, const train::Outputs& outputs) {
      const torch::Tensor faces = train::output_at(outputs, o.output).to(torch::kCPU, torch::kFloat);
      std::vector<int64_t> ids;
      std::vector<torch::Tensor> targets;
      for (const json& meta : batch.meta) {
        if (!meta.contains(o.identity_meta) || !meta.contains(o.attribute_meta)) {
          throw DataError("face_probes: a sample's meta lacks '" + o.identity_meta + "' or '" + o.attribute_meta +
                          "' (the factors of a synthetic pair)");
        }
        ids.push_back(meta.at(o.identity_meta).at("identity").get<int64_t>());
        targets.push_back(eval::attribute_targets(data::factors_from_json(meta.at(o.attribute_meta))));
      }
      const torch::Tensor truth = torch::tensor(ids, torch::kInt64);
      return train::SampleScores{
          {"identity_top1", identity->retrieve(faces).eq(truth).to(torch::kFloat64)},
          {"attribute_error", attribute->error_per_image(faces, torch::stack(targets))}};
    };
  }

 private:
  FaceProbesOptions options_;
  data::SyntheticFacesOptions renderer_options_;
};

}  // namespace

Registry<Scorer>& scorer_registry() {
  static Registry<Scorer> registry = [] {
    Registry<Scorer> r("scorer");
    r.add(
        "face_probes",
        [](const json& options) -> std::shared_ptr<Scorer> {
          return std::make_shared<FaceProbes>(apply_json(FaceProbesOptions(), options));
        },
        "identity top-1 (independent identity probe, gallery of canonical renders) and attribute error (attribute "
        "probe) of synthetic faces; probes trained on training identities only",
        options_to_json(FaceProbesOptions()));
    return r;
  }();
  return registry;
}

std::shared_ptr<Scorer> create_scorer(const json& spec, const std::string& where) {
  return scorer_registry().create_from_spec(spec, where);
}

}  // namespace facegan::experiment
