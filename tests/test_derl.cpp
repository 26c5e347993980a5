#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/synthetic_pairs.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/blocks/layout.hpp>
#include <facegan/models/derl/derl.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/train/trainer.hpp>

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include <filesystem>
#include <sstream>

using namespace facegan;
namespace fs = std::filesystem;

namespace {

/// 32-pixel expressive/neutral pairs held in memory (rendered once).
std::shared_ptr<data::Dataset> tiny_pairs(int64_t n, int64_t seed = 0) {
  data::SyntheticPairsOptions o;
  o.renderer(data::SyntheticFacesOptions().size(32).num_identities(12).held_out_identities(0).seed(seed))
      .num_samples(n)
      .pairing(data::Pairing::kNeutralize);
  auto source = data::make_synthetic_pairs_dataset(o);
  std::vector<data::Sample> samples;
  for (size_t i = 0; i < source->size(); ++i) samples.push_back(source->get(i));
  return std::make_shared<data::InMemoryDataset>(std::move(samples));
}

/// A tiny DeRL: 32 px, depth 5, 8 base channels, no dropout.
models::DeRLTaskOptions tiny_options(models::DeRLStage stage) {
  models::DeRLTaskOptions o;
  o.stage = stage;
  o.generator = models::UNetGeneratorOptions(3, 3).depth(5).base_channels(8).dropout(0.0);
  o.discriminator = models::PatchDiscriminatorOptions(0).base_channels(8).num_layers(2);
  o.classifier = models::ResidueClassifierOptions().local_channels(8).hidden(16);
  o.baseline = models::ConvEncoderOptions(3).base_channels(8).num_layers(3).max_channels(32);
  return o;
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("facegan_test_derl_" + name);
  fs::remove_all(p);
  return p;
}


std::vector<torch::Tensor> state_of(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

bool same_state(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("feature taps: default levels, shapes and local heads", "[derl]") {
  torch::manual_seed(11);
  const auto g_opts = models::UNetGeneratorOptions(3, 3).depth(5).base_channels(8);
  models::UNetGenerator g(g_opts);
  const models::ResidueClassifierOptions c_opts = models::ResidueClassifierOptions(6).local_channels(8).hidden(16).for_generator(g_opts);
  CHECK(c_opts.levels() == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(c_opts.tap_channels() == std::vector<int64_t>{16, 32, 64, 128});
  CHECK(c_opts.bottleneck_channels() == 64);
  g->eval();
  const models::UNetFeatures f = g->forward_features(torch::randn({2, 3, 32, 32}));
  // Tap i is cat(encoder[i], decoder[i]): equal resolutions, the channels the classifier expects.
  for (size_t k = 0; k < c_opts.levels().size(); ++k) {
    const int64_t i = c_opts.levels()[k];
    const int64_t side = 32 >> (i + 1);
    CHECK(f.encoder[i].sizes() == torch::IntArrayRef({2, g_opts.level_channels(i), side, side}));
    CHECK(f.decoder[i].sizes() == f.encoder[i].sizes());
    CHECK(torch::cat({f.encoder[i], f.decoder[i]}, 1).size(1) == c_opts.tap_channels()[k]);
  }
  models::ResidueClassifier c(c_opts);
  const models::ResidueLogits r = c->forward(f);
  REQUIRE(r.local.size() == 4);
  for (const auto& l : r.local) CHECK(l.sizes() == torch::IntArrayRef({2, 6}));
  CHECK(r.final.sizes() == torch::IntArrayRef({2, 6}));
  // Checkpoint keys are pinned.
  const auto params = c->named_parameters();
  for (const char* key : {"local_features.0.0.conv.weight", "local_features.2.1.norm.weight", "local_hidden.1.weight",
                          "local_out.2.bias", "final.weight"}) {
    CHECK(params.contains(key));
  }
  CHECK(c->named_parameters()["final.weight"].size(1) == 4 * 16 + 64);
  // The local FC reads the map pooled to pool_size x pool_size, so the layout survives.
  CHECK(c->named_parameters()["local_hidden.0.weight"].size(1) == c_opts.local_channels() * 4 * 4);
  models::ResidueClassifier global(models::ResidueClassifierOptions(c_opts).pool_size(1));
  CHECK(global->named_parameters()["local_hidden.0.weight"].size(1) == c_opts.local_channels());
  CHECK(global->forward(f).final.sizes() == torch::IntArrayRef({2, 6}));
  CHECK_THROWS_WITH(models::ResidueClassifier(models::ResidueClassifierOptions(c_opts).pool_size(0)),
                    Catch::Contains("pool_size"));

  // The final head's other wirings: batch-normalised inputs, or the vote of the local heads.
  models::ResidueClassifier normalized(models::ResidueClassifierOptions(c_opts).final_head(models::FinalHead::kNormalized));
  CHECK(normalized->named_parameters()["final_norm.weight"].size(0) == 4 * 16 + 64);
  normalized->eval();
  CHECK(normalized->forward(f).final.sizes() == torch::IntArrayRef({2, 6}));
  models::ResidueClassifier average(models::ResidueClassifierOptions(c_opts).final_head(models::FinalHead::kAverage));
  average->eval();
  const models::ResidueLogits rv = average->forward(f);
  torch::Tensor vote = average->named_modules()["final"]->as<torch::nn::Linear>()->forward(torch::relu(f.encoder.back()).mean({2, 3}));
  for (const auto& l : rv.local) vote = vote + l;
  CHECK(torch::allclose(rv.final, vote / 5.0, 1e-5, 1e-6));
  CHECK(average->named_parameters()["final.weight"].size(1) == 64);
  CHECK_THROWS_WITH(models::ResidueClassifier(models::ResidueClassifierOptions(6).local_heads(false).final_head(
                        models::FinalHead::kAverage).for_generator(g_opts)),
                    Catch::Contains("average"));

  // Final head alone (the ablation): no local CNNs, the final layer reads the bottleneck only.
  models::ResidueClassifier alone(models::ResidueClassifierOptions(6).local_heads(false).for_generator(g_opts));
  const models::ResidueLogits ra = alone->forward(f);
  CHECK(ra.local.empty());
  CHECK(ra.final.sizes() == torch::IntArrayRef({2, 6}));
  CHECK(alone->named_parameters().size() == 2);

  // Decoder-only taps: the generator's rebuilt change alone, level_channels(i) channels per tap.
  const auto dec_opts = models::ResidueClassifierOptions(6).local_channels(8).hidden(16).encoder_taps(false).for_generator(g_opts);
  CHECK(dec_opts.tap_channels() == std::vector<int64_t>{8, 16, 32, 64});
  models::ResidueClassifier dec(dec_opts);
  CHECK(dec->named_parameters()["local_features.1.0.conv.weight"].size(1) == 16);
  CHECK(dec->forward(f).final.sizes() == torch::IntArrayRef({2, 6}));

  // Custom levels, and a level without a skip partner is refused by name.
  CHECK(models::ResidueClassifierOptions().levels({1, 3}).for_generator(g_opts).tap_channels() ==
        std::vector<int64_t>{32, 128});
  CHECK_THROWS_WITH(models::ResidueClassifierOptions().levels({4}).for_generator(g_opts),
                    Catch::Contains("level 4"));
  auto bad = tiny_options(models::DeRLStage::kClassify);
  bad.classifier.levels({7});
  CHECK_THROWS_WITH(models::DeRLTask(bad), Catch::Contains("derl.classifier.levels"));
}

TEST_CASE("derl task: registry, options and class labels", "[derl]") {
  torch::manual_seed(12);
  Registry<train::Task> registry("task");
  models::register_derl_task(registry);
  REQUIRE(registry.contains("derl"));
  json spec = options_to_json(tiny_options(models::DeRLStage::kClassify));
  auto task = registry.create("derl", spec);
  CHECK(task->type() == "derl");
  CHECK(task->to_json().at("stage") == "classify");
  CHECK(task->to_json().at("theta") == 100.0);
  CHECK_THROWS_WITH(registry.create("derl", json{{"thetaa", 1.0}}), Catch::Contains("thetaa"));
  CHECK_THROWS_WITH(registry.create("derl", json{{"stage", "classfy"}}), Catch::Contains("deexpression"));
  CHECK_THROWS_WITH(registry.create("derl", json{{"reconstruction", "l3"}}),
                    Catch::Contains("derl.reconstruction") && Catch::Contains("l3"));
  CHECK(registry.create("derl", json{{"reconstruction", "l2"}})->to_json().at("reconstruction") == "l2");
  auto* derl = dynamic_cast<models::DeRLTask*>(task.get());
  REQUIRE(derl != nullptr);
  // Expression ids 1..6 are classes 0..5; neutral (0), unlabelled (-1) and unknown ids are ignored.
  const torch::Tensor labels = derl->class_labels(torch::tensor({1, 6, 0, -1, 3, 9}, torch::kLong));
  CHECK(torch::equal(labels, torch::tensor({0, 5, -1, -1, 2, -1}, torch::kLong)));
  auto opts = tiny_options(models::DeRLStage::kClassify);
  opts.local_weights = {1.0, 0.5};
  CHECK_THROWS_WITH(models::DeRLTask(opts), Catch::Contains("local_weights"));
  opts.local_weights.clear();
  opts.classes = {1, 1, 2};
  CHECK_THROWS_WITH(models::DeRLTask(opts), Catch::Contains("appears twice"));

  // The plain CNN reads the face, or (the diagnostic ceiling) the true residue face - neutral.
  auto cnn_opts = tiny_options(models::DeRLStage::kBaselineCnn);
  cnn_opts.baseline_input = models::BaselineInput::kTrueResidue;
  models::DeRLTask cnn(cnn_opts);
  data::Batch b;
  b.tensors["input"] = torch::rand({2, 3, 32, 32});
  b.tensors["target"] = torch::rand({2, 3, 32, 32});
  b.tensors["expression"] = torch::tensor({1, 2}, torch::kLong);
  CHECK(torch::equal(cnn.baseline_input(b), b.at("input") - b.at("target")));
  cnn.baseline()->eval();
  CHECK(torch::allclose(cnn.predict(b).at("logits"), cnn.baseline()->forward(b.at("input") - b.at("target"))));
  CHECK(registry.create("derl", json{{"stage", "baseline_cnn"}, {"baseline_input", "true_residue"}})->to_json().at(
            "baseline_input") == "true_residue");
  CHECK_THROWS_WITH(registry.create("derl", json{{"baseline_input", "residue"}}), Catch::Contains("true_residue"));
}

TEST_CASE("derl: both stages train, the frozen generator stays frozen, the inference API works", "[derl]") {
  torch::manual_seed(13);
  auto pairs = tiny_pairs(32);
  const fs::path dir = temp_dir("stages");
  std::ostringstream sink;

  // Stage 1: the de-expression cGAN.
  torch::manual_seed(13);
  auto stage1 = std::make_shared<models::DeRLTask>(tiny_options(models::DeRLStage::kDeexpression));
  std::string ckpt1;
  {
    train::Trainer trainer(facegan::testing::quiet_trainer((dir / "stage1").string(), 3), stage1, pairs, data::LoaderOptions(8).prefetch_threads(0),
                           nullptr, pairs);
    trainer.set_progress_stream(sink);
    ckpt1 = trainer.fit().checkpoint;
    const json ev = trainer.evaluate();
    CHECK(std::isfinite(ev.at("l1").get<double>()));
    CHECK(ev.at("ssim").get<double>() <= 1.0);
    CHECK(ev.at("samples") == 32);
  }
  REQUIRE(fs::exists(ckpt1));
  {
    const auto names = stage1->networks();
    REQUIRE(names.size() == 2);
    CHECK(names[0].first == "g");
    CHECK(names[1].first == "d");
  }

  // Stage 2: the generator comes from stage 1 and must not move, parameters nor batch-norm buffers.
  torch::manual_seed(14);
  auto opts2 = tiny_options(models::DeRLStage::kClassify);
  opts2.generator_checkpoint = ckpt1;
  opts2.local_weights = {0.5, 0.5, 0.5, 0.5};
  auto stage2 = std::make_shared<models::DeRLTask>(opts2);
  CHECK(same_state(state_of(*stage2->generator()), state_of(*stage1->generator())));
  for (const auto& p : stage2->generator()->parameters()) CHECK_FALSE(p.requires_grad());
  const auto groups = stage2->optimizer_groups();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].name == "c");
  CHECK(groups[0].parameters.size() == stage2->classifier()->parameters().size());
  const auto g_before = state_of(*stage2->generator());
  const auto c_before = state_of(*stage2->classifier());
  std::string ckpt2;
  {
    train::Trainer trainer(facegan::testing::quiet_trainer((dir / "stage2").string(), 4), stage2, pairs, data::LoaderOptions(8).prefetch_threads(0),
                           nullptr, pairs);
    trainer.set_progress_stream(sink);
    std::vector<std::string> loss_names;
    trainer.on_step([&](int64_t, const train::StepValues& v) {
      loss_names.clear();
      for (const auto& [k, x] : v) loss_names.push_back(k);
    });
    ckpt2 = trainer.fit().checkpoint;
    CHECK(std::find(loss_names.begin(), loss_names.end(), "local_1") != loss_names.end());
    CHECK(std::find(loss_names.begin(), loss_names.end(), "final") != loss_names.end());
    const json ev = trainer.evaluate();
    CHECK(ev.at("accuracy").get<double>() >= 0.0);
    CHECK(ev.at("confusion").size() == 6);
    CHECK(ev.at("local_accuracy").size() == 4);
  }
  CHECK(same_state(state_of(*stage2->generator()), g_before));
  CHECK_FALSE(same_state(state_of(*stage2->classifier()), c_before));
  CHECK_FALSE(stage2->generator()->is_training());

  // Inference API from the stage-2 checkpoint (holds the generator too).
  models::DeRL model = models::DeRL::load(ckpt2);
  REQUIRE(model.can_classify());
  // On CPU the loaded networks run channels-last; callers still get NCHW images.
  CHECK(models::is_channels_last(*model.generator()));
  CHECK(models::is_channels_last(*model.classifier()));
  CHECK(model.class_names() == std::vector<std::string>{"happy", "sad", "angry", "surprised", "disgusted", "fearful"});
  const data::Batch batch = data::collate({pairs->get(0), pairs->get(1), pairs->get(2)});
  const torch::Tensor x = batch.at("input");
  const torch::Tensor neutral = model.neutralize(x);
  CHECK(neutral.sizes() == x.sizes());
  CHECK(neutral.is_contiguous());
  CHECK(neutral.abs().max().item<double>() <= 1.0);
  {
    torch::NoGradGuard ng;
    stage2->generator()->eval();
    CHECK(torch::allclose(neutral, stage2->generator()->forward(x), 1e-5, 1e-6));
  }
  const torch::Tensor probs = model.classify(x);
  CHECK(probs.sizes() == torch::IntArrayRef({3, 6}));
  CHECK(torch::allclose(probs.sum(1), torch::ones({3}), 1e-5, 1e-5));
  CHECK(model.classify(x[0]).sizes() == torch::IntArrayRef({1, 6}));
  const cv::Mat face = data::tensor_to_image(x[0]);
  const cv::Mat out = model.neutralize(face);
  CHECK(out.rows == 32);
  CHECK(out.cols == 32);
  CHECK(out.type() == CV_8UC3);
  const std::vector<double> p = model.classify(face);
  REQUIRE(p.size() == 6);
  double sum = 0;
  for (double v : p) sum += v;
  CHECK(sum == Approx(1.0).epsilon(1e-5));
  // cv::Mat of another size with image_size set: resized in and back.
  const models::DeRL resizing = models::DeRL::load(ckpt2, torch::kCPU, 32);
  cv::Mat big;
  cv::resize(face, big, cv::Size(48, 48));
  CHECK(resizing.neutralize(big).size() == cv::Size(48, 48));

  // A stage-1 checkpoint neutralizes but cannot classify.
  const models::DeRL stage1_model = models::DeRL::load(ckpt1);
  CHECK_FALSE(stage1_model.can_classify());
  CHECK(torch::allclose(stage1_model.neutralize(x), neutral, 1e-5, 1e-6));
  CHECK_THROWS_WITH(stage1_model.classify(x), Catch::Contains("no classifier"));
  CHECK_THROWS_AS(models::DeRL::load((dir / "missing.pt").string()), CheckpointError);

  // The baseline CNN stage trains through the same trainer.
  torch::manual_seed(15);
  auto base = std::make_shared<models::DeRLTask>(tiny_options(models::DeRLStage::kBaselineCnn));
  {
    train::Trainer trainer(facegan::testing::quiet_trainer((dir / "baseline").string(), 2), base, pairs, data::LoaderOptions(8).prefetch_threads(0),
                           nullptr, pairs);
    trainer.set_progress_stream(sink);
    const std::string ckpt = trainer.fit().checkpoint;
    CHECK(trainer.evaluate().at("confusion").size() == 6);
    CHECK_THROWS_AS(models::DeRL::load(ckpt), CheckpointError);
  }
  fs::remove_all(dir);
}

TEST_CASE("derl stage 1: a short CPU training lowers the neutral-face error", "[derl]") {
  torch::manual_seed(16);
  auto train_data = tiny_pairs(64, 0);
  auto eval_data = tiny_pairs(16, 7);
  const fs::path dir = temp_dir("short");
  torch::manual_seed(16);
  auto opts = tiny_options(models::DeRLStage::kDeexpression);
  opts.optimizer_g.lr = 1e-3;
  auto task = std::make_shared<models::DeRLTask>(opts);
  train::Trainer trainer(facegan::testing::quiet_trainer(dir.string(), 60), task, train_data, data::LoaderOptions(8).prefetch_threads(0), nullptr,
                         eval_data);
  std::ostringstream sink;
  trainer.set_progress_stream(sink);
  const double before = trainer.evaluate().at("l1").get<double>();
  trainer.fit();
  const json after = trainer.evaluate();
  INFO("L1 to the ground-truth neutral face: " << before << " -> " << after.at("l1").get<double>());
  CHECK(after.at("l1").get<double>() < 0.75 * before);
  CHECK(after.at("psnr").get<double>() > 12.0);
  fs::remove_all(dir);
}

TEST_CASE("derl stage 1: the residual generator under L2 leaves the no-op it starts at", "[derl]") {
  // Scored on the pairs it trains on: what is tested is that the zero output layer moves at all
  // (under L1 it can stay pinned at the no-op; docs/derl.md), not how well 64 faces generalise.
  auto train_data = tiny_pairs(64, 0);
  auto eval_data = train_data;
  const fs::path dir = temp_dir("residual_l2");
  torch::manual_seed(17);
  auto opts = tiny_options(models::DeRLStage::kDeexpression);
  opts.generator.residual_scale(0.5);
  opts.reconstruction = "l2";
  opts.theta = 1e5;
  opts.optimizer_g.lr = 1e-3;
  auto task = std::make_shared<models::DeRLTask>(opts);
  train::Trainer trainer(facegan::testing::quiet_trainer(dir.string(), 150), task, train_data,
                         data::LoaderOptions(8).prefetch_threads(0), nullptr, eval_data);
  std::ostringstream sink;
  trainer.set_progress_stream(sink);
  // Zero output layer: the generator is exactly the no-op before training.
  const json before = trainer.evaluate();
  std::vector<torch::Tensor> inputs, targets;
  for (size_t i = 0; i < eval_data->size(); ++i) {
    const data::Sample sample = eval_data->get(i);
    inputs.push_back(sample.tensors.at("input"));
    targets.push_back(sample.tensors.at("target"));
  }
  const double no_op =
      metrics::fidelity_per_image(torch::stack(inputs), torch::stack(targets)).at("psnr").mean().item<double>();
  CHECK(before.at("psnr").get<double>() == Approx(no_op).epsilon(1e-9));
  trainer.fit();
  const double after = trainer.evaluate().at("psnr").get<double>();
  INFO("PSNR to the neutral face: no-op " << no_op << " dB, trained " << after << " dB");
  CHECK(after > no_op + 0.5);
  fs::remove_all(dir);
}
