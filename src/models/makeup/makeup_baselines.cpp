// The makeup baselines: methods without learning, scored by MakeupTask::score_batch on the same
// pairs as the trained model (docs/makeup.md lists them beside the model).
#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/makeup/makeup_task.hpp>

namespace facegan::models {
namespace {

namespace F = torch::nn::functional;

/// One image of a batch at a time: `fn(batch, i)` -> transfer [3, H, W]; removal is y itself.
train::Outputs per_image(const data::Batch& b, const std::function<torch::Tensor(const data::Batch&, int64_t)>& fn) {
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < b.size(); ++i) out.push_back(fn(b, i));
  return {{"transfer", torch::stack(out)}, {"removal", b.at("reference")}};
}

/// W(x, y) shifted onto x's complexion (its Lab mean over the skin outside the areas moved onto
/// x's) and pasted into x's makeup areas: a pseudo target made without learning.
torch::Tensor tone_matched_paste(const data::Batch& b, int64_t i) {
  const torch::Tensor x = b.at("source")[i], w = b.at("warped")[i];
  const torch::Tensor areas = std::get<0>(b.at("source_areas")[i].max(0)) != 0;
  const torch::Tensor skin = (b.at("source_mask")[i] == static_cast<int>(data::Region::kSkin)) & ~areas;
  if (skin.sum().item<int64_t>() == 0) return x.clone();
  const torch::Tensor lx = metrics::rgb_to_lab(x), lw = metrics::rgb_to_lab(w);
  const torch::Tensor shift = lx.masked_select(skin.unsqueeze(0)).view({3, -1}).mean(1) -
                              lw.masked_select(skin.unsqueeze(0)).view({3, -1}).mean(1);
  const torch::Tensor moved = metrics::lab_to_rgb(lw + shift.view({3, 1, 1})).to(x.scalar_type());
  return torch::where(areas.unsqueeze(0), moved, x);
}

/// Reinhard colour transfer from each of y's areas onto the same area of x.
torch::Tensor reinhard(const data::Batch& b, int64_t i) {
  torch::Tensor out = b.at("source")[i].clone();
  for (int64_t a = 0; a < data::kNumFaceAreas; ++a) {
    out = metrics::reinhard_transfer(out, b.at("reference")[i], b.at("source_areas")[i][a], b.at("reference_areas")[i][a]);
  }
  return out;
}

/// x plus y's true makeup layer (y - bare y) warped into x's geometry.
train::Outputs oracle(const data::Batch& b) {
  const torch::Tensor layer = F::grid_sample(
      b.at("reference") - b.at("reference_bare"), b.at("warp_grid"),
      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  return {{"transfer", (b.at("source") + layer).clamp(-1, 1)}, {"removal", b.at("reference_bare")}};
}

void add(Registry<train::Baseline>& registry, const std::string& name, std::function<train::Outputs(const data::Batch&)> fn,
         const std::string& summary) {
  registry.add(
      name,
      [fn](const json& options) -> std::shared_ptr<train::Baseline> {
        apply_json(train::NoOptions(), options);
        return std::make_shared<train::FunctionBaseline>(fn);
      },
      summary);
}

}  // namespace

void register_makeup_baselines(Registry<train::Baseline>& registry) {
  add(registry, "makeup_return_x",
      [](const data::Batch& b) { return train::Outputs{{"transfer", b.at("source")}, {"removal", b.at("reference")}}; },
      "makeup without a model: transfer = x, removal = y");
  add(registry, "makeup_reinhard", [](const data::Batch& b) { return per_image(b, reinhard); },
      "per-area Reinhard colour transfer (Lab mean and deviation) from y's eyes, lips and skin onto x's; removal = y");
  add(registry, "makeup_paste", [](const data::Batch& b) { return per_image(b, tone_matched_paste); },
      "D_S's positive example: W(x, y) tone-matched to x and pasted into x's areas; removal = y");
  add(registry, "makeup_oracle", oracle,
      "oracle (reads the ground truth; not a method): x + W(y - bare y), removal = bare y");
}

}  // namespace facegan::models
