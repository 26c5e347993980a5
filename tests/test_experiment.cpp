// The experiment runner and what it stands on: paired intervals, the run-folder lock, pipelines of
// stages, per-sample scoring shared by tasks and baselines, and a tiny spec run end to end whose
// table is checked against a direct evaluation.
#include <facegan/core/error.hpp>
#include <facegan/experiment/experiment.hpp>
#include <facegan/experiment/stats.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/pipeline.hpp>
#include <facegan/train/run_lock.hpp>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace facegan;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

json tiny_pairs_spec(int64_t n, const std::string& split) {
  return {{"type", "synthetic_pairs"}, {"pairing", "neutralize"}, {"size", 32}, {"num_samples", n},
          {"split", split}, {"num_identities", 12}, {"held_out_identities", 4}, {"seed", 0}};
}

/// A two-stage DeRL pipeline of a few steps on 32-pixel faces.
json tiny_derl_pipeline(const std::string& dir) {
  const json generator = {{"depth", 5}, {"base_channels", 4}, {"dropout", 0.0}};
  return {{"trainer", {{"device", "cpu"}, {"threads", 1}, {"progress", "none"}, {"log_every", 1}, {"sample_every", 0},
                       {"checkpoint_every", 0}, {"seed", 3}, {"out_dir", dir}}},
          {"data", {{"train", tiny_pairs_spec(8, "train")}, {"loader", {{"batch_size", 4}, {"prefetch_threads", 0}}}}},
          {"stages",
           {{{"name", "deexpression"},
             {"trainer", {{"steps", 2}}},
             {"task", {{"type", "derl"}, {"stage", "deexpression"}, {"generator", generator},
                       {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}}}},
            {{"name", "classify"},
             {"inputs", {{"generator_checkpoint", "deexpression"}}},
             {"trainer", {{"steps", 3}}},
             {"task", {{"type", "derl"}, {"stage", "classify"}, {"generator", generator},
                       {"classifier", {{"local_channels", 4}, {"hidden", 8}}}}}}}}};
}

/// A tiny pix2pix experiment: two variants, the do-nothing baseline, two seeds.
json tiny_spec() {
  return {{"name", "tiny"},
          {"description", "tiny pix2pix table"},
          {"base",
           {{"trainer", {{"steps", 3}, {"device", "cpu"}, {"threads", 1}, {"progress", "none"}}},
            {"task", {{"type", "pix2pix"},
                      {"generator", {{"depth", 5}, {"base_channels", 4}, {"dropout", 0.0}}},
                      {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}}},
            {"data", {{"loader", {{"batch_size", 4}, {"prefetch_threads", 0}}}}}}},
          {"variants", {{{"name", "a"}, {"label", "variant a"}},
                        {{"name", "a_again"}, {"label", "variant a under another name"}},
                        {{"name", "b"}, {"set", {{"stages.pix2pix.task.reconstruction", {{"type", "l1"}, {"weight", 10.0}}}}}}}},
          {"baselines", {{{"name", "no_op"}, {"label", "return the input"}, {"type", "return_input"}}}},
          {"data", {{"protocol", "split"},
                    {"train", tiny_pairs_spec(16, "train")},
                    {"train_seed_key", "sample_seed"},
                    {"held_out", tiny_pairs_spec(8, "held_out")}}},
          {"seeds", {1, 2}},
          {"metrics", {{{"name", "psnr"}, {"precision", 2}},
                       {{"name", "ssim"}},
                       {{"name", "l1"}, {"higher_is_better", false}}}},
          {"eval_batch_size", 3}};
}

std::vector<double> values(const json& scores_file, const std::string& metric) {
  std::vector<double> v;
  for (const auto& x : scores_file.at("scores").at(metric)) v.push_back(x.is_null() ? std::nan("") : x.get<double>());
  return v;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("verdict: the better side depends on the metric's direction", "[experiment]") {
  auto interval = [](double low, double high) {
    experiment::PairedInterval i;
    i.low = low;
    i.high = high;
    i.mean = (low + high) / 2;
    return i;
  };
  CHECK(experiment::verdict(interval(0.1, 0.3), true) == 1);
  CHECK(experiment::verdict(interval(0.1, 0.3), false) == -1);
  CHECK(experiment::verdict(interval(-0.3, -0.1), true) == -1);
  CHECK(experiment::verdict(interval(-0.3, -0.1), false) == 1);
  // Containing zero settles nothing, whichever direction (the makeup table once marked a ΔE
  // interval [-0.001, +0.14] as better).
  CHECK(experiment::verdict(interval(-0.001, 0.14), false) == 0);
  CHECK(experiment::verdict(interval(-0.001, 0.14), true) == 0);
  CHECK(experiment::verdict(interval(-0.14, 0.001), false) == 0);
  CHECK(experiment::verdict(interval(0.0, 0.2), true) == 0);
}

TEST_CASE("paired_interval: exact shifts, undefined pairs, the seeds' spread, errors", "[experiment]") {
  torch::manual_seed(1);
  const torch::Tensor b = torch::randn({2, 500}, torch::kFloat64);
  // A constant shift has a zero-width interval at the shift.
  experiment::PairedInterval exact = experiment::paired_interval(b + 0.5, b);
  CHECK(exact.mean == Approx(0.5));
  CHECK(exact.low == Approx(0.5));
  CHECK(exact.high == Approx(0.5));
  CHECK(exact.pairs == 1000);
  REQUIRE(exact.per_seed.size() == 2);

  // Noisy differences: the interval holds the mean and is about 2 * 1.96 sd / sqrt(n) wide.
  const torch::Tensor noise = torch::randn({2, 500}, torch::kFloat64);
  experiment::PairedInterval iv = experiment::paired_interval(b + 0.2 + noise, b);
  CHECK(iv.low < iv.mean);
  CHECK(iv.mean < iv.high);
  CHECK(iv.low > 0.0);  // 0.2 is ~6 standard errors away from zero
  const double se = 1.0 / std::sqrt(1000.0);
  CHECK((iv.high - iv.low) == Approx(2 * 1.96 * se).epsilon(0.35));

  // Undefined pairs are left out, not counted as zero.
  torch::Tensor a = b + 1.0;
  a.index_put_({0, torch::indexing::Slice(0, 100)}, std::nan(""));
  experiment::PairedInterval partial = experiment::paired_interval(a, b);
  CHECK(partial.pairs == 900);
  CHECK(partial.mean == Approx(1.0));

  // Two seeds that disagree widen the interval beyond the samples' spread alone.
  torch::Tensor seeds = b.clone();
  seeds[0] += 1.0;
  seeds[1] -= 0.2;
  experiment::PairedInterval spread = experiment::paired_interval(seeds, b);
  CHECK(spread.per_seed[0] == Approx(1.0));
  CHECK(spread.per_seed[1] == Approx(-0.2));
  CHECK(spread.low < 0.0);
  CHECK(spread.high > 0.9);

  // Reproducible: the same inputs give the same interval.
  experiment::PairedInterval again = experiment::paired_interval(b + 0.2 + noise, b);
  CHECK(again.low == iv.low);
  CHECK(again.high == iv.high);

  CHECK_THROWS_AS(experiment::paired_interval(b, b.slice(1, 0, 10)), std::invalid_argument);
  CHECK_THROWS_AS(experiment::paired_interval(torch::full({1, 3}, std::nan(""), torch::kFloat64), torch::zeros({1, 3}, torch::kFloat64)),
                  std::invalid_argument);

  const experiment::MeanStd ms = experiment::mean_std({1.0, 2.0, std::nan(""), 3.0});
  CHECK(ms.count == 3);
  CHECK(ms.mean == Approx(2.0));
  CHECK(ms.std == Approx(1.0));
}

TEST_CASE("run lock: a second holder is refused with the holder's pid, a stale lock is taken over", "[train]") {
  const std::string dir = testing::fresh_dir("run_lock");
  {
    train::RunLock first(dir);
    CHECK_THROWS_AS(train::RunLock(dir), train::RunLockedError);
    CHECK_THROWS_WITH(train::RunLock(dir), Contains(dir) && Contains("process " + std::to_string(::getpid())));
  }
  train::RunLock again(dir);  // released by the first holder's destructor
  CHECK(fs::exists(again.path()));

  // A lock file that a killed process left behind (a pid, no flock) is free.
  const std::string stale = testing::fresh_dir("run_lock_stale");
  std::ofstream(fs::path(stale) / ".lock") << "999999\n";
  train::RunLock taken(stale);
  std::ifstream in(fs::path(stale) / ".lock");
  int64_t pid = 0;
  in >> pid;
  CHECK(pid == ::getpid());

  // The trainer holds its out_dir's lock during fit().
  auto task = train::create_task({{"type", "pix2pix"},
                                  {"generator", {{"depth", 5}, {"base_channels", 4}, {"dropout", 0.0}}},
                                  {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}});
  auto data = data::create_dataset(tiny_pairs_spec(4, "train"));
  train::Trainer trainer(testing::quiet_trainer(dir, 1), task, data, data::LoaderOptions(2).prefetch_threads(0));
  CHECK_THROWS_WITH(trainer.fit(), Contains("in use by process"));
}

TEST_CASE("set_json_path walks named list elements", "[core]") {
  json config = {{"stages", {{{"name", "a"}, {"trainer", {{"steps", 1}}}}, {{"name", "b"}}}}};
  set_json_path(config, "stages.b.trainer.steps", 7);
  set_json_path(config, "stages.0.trainer.seed", 2);
  CHECK(config["stages"][1]["trainer"]["steps"] == 7);
  CHECK(config["stages"][0]["trainer"]["seed"] == 2);
  CHECK(config["stages"][0]["trainer"]["steps"] == 1);
  CHECK_THROWS_WITH(set_json_path(config, "stages.c.trainer.steps", 1), Contains("no element named 'c'") && Contains("\"a\""));
  CHECK_THROWS_WITH(set_json_path(config, "stages.b.name.x", 1), Contains("stages.b.name") && Contains("not an object"));
  apply_overrides(config, {"stages.a.task.type=derl"});
  CHECK(config["stages"][0]["task"]["type"] == "derl");
}

TEST_CASE("pipeline: stages run in order, inputs carry checkpoints, a finished pipeline is not retrained", "[train]") {
  torch::manual_seed(0);
  const std::string dir = testing::fresh_dir("pipeline");
  const json config = tiny_derl_pipeline(dir);
  REQUIRE(train::is_pipeline(config));
  CHECK(train::pipeline_stage_names(config) == std::vector<std::string>{"deexpression", "classify"});
  train::validate_pipeline(config);

  std::ostringstream log;
  train::PipelineOptions po;
  po.progress = &log;
  po.keep_trainers = true;
  train::PipelineRun run = train::run_pipeline(config, po);
  REQUIRE(run.status == train::RunStatus::kCompleted);
  REQUIRE(run.stages.size() == 2);
  const std::string ckpt1 = run.stage("deexpression").checkpoint;
  CHECK(ckpt1 == (fs::path(dir) / "deexpression" / "checkpoints" / train::checkpoint_name(2)).string());
  CHECK(run.stage("classify").config["task"]["generator_checkpoint"] == ckpt1);
  CHECK(run.stage("classify").trainer->step() == 3);
  CHECK(fs::exists(fs::path(dir) / "pipeline.json"));
  CHECK(fs::exists(fs::path(dir) / "classify" / "config.json"));

  // The classifier's frozen generator holds stage 1's weights.
  auto& derl = dynamic_cast<models::DeRLTask&>(run.stage("classify").trainer->task());
  models::UNetGenerator g1(models::UNetGeneratorOptions(3, 3).depth(5).base_channels(4).dropout(0.0));
  train::load_checkpoint_network(ckpt1, "g", *g1);
  const auto p1 = g1->parameters(), p2 = derl.generator()->parameters();
  REQUIRE(p1.size() == p2.size());
  for (size_t i = 0; i < p1.size(); ++i) CHECK(torch::equal(p1[i], p2[i]));
  run.stages.clear();

  // Again: every stage resumes at its last step, nothing is trained or written anew.
  const auto metrics_size = fs::file_size(fs::path(dir) / "classify" / "metrics.jsonl");
  train::PipelineRun again = train::run_pipeline(config, po);
  CHECK(again.stage("classify").trainer->step() == 3);
  CHECK(train::list_checkpoints((fs::path(dir) / "classify" / "checkpoints").string()).size() == 1);
  CHECK(fs::file_size(fs::path(dir) / "classify" / "metrics.jsonl") == metrics_size);

  // Structural errors name the key.
  json later = config;
  later["stages"][0]["inputs"] = {{"generator_checkpoint", "classify"}};
  CHECK_THROWS_WITH(train::pipeline_stage_names(later),
                    Contains("stages[0].inputs.generator_checkpoint") && Contains("earlier stage"));
  json twice = config;
  twice["stages"][1]["name"] = "deexpression";
  CHECK_THROWS_WITH(train::pipeline_stage_names(twice), Contains("stages[1].name") && Contains("twice"));
  json unknown = config;
  unknown["stagez"] = 1;
  CHECK_THROWS_WITH(train::pipeline_stage_names(unknown), Contains("unknown key 'stagez'"));
  json bad_task = config;
  bad_task["stages"][1]["task"]["classifier"]["hiden"] = 3;
  CHECK_THROWS_WITH(train::validate_pipeline(bad_task), Contains("stages.classify") && Contains("hiden"));
}

TEST_CASE("tasks and baselines share one scoring path", "[experiment]") {
  torch::manual_seed(4);
  auto task = train::create_task({{"type", "pix2pix"},
                                  {"generator", {{"depth", 5}, {"base_channels", 4}, {"dropout", 0.0}}},
                                  {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}});
  for (auto& [name, net] : task->networks()) net->eval();
  auto data = data::materialize(*data::create_dataset(tiny_pairs_spec(5, "held_out")));
  train::EvalContext ctx;
  ctx.batch_size = 2;
  const train::SampleScores own = train::score_dataset(*task, *data, ctx);
  REQUIRE(own.at("psnr").numel() == 5);
  const json summary = task->evaluate(*data, ctx);
  CHECK(summary.at("psnr").get<double>() == Approx(own.at("psnr").mean().item<double>()));
  CHECK(summary.at("samples") == 5);

  auto baseline = train::create_baseline({{"type", "return_input"}});
  const train::SampleScores noop =
      train::score_dataset(*task, *data, ctx, [&](const data::Batch& b) { return baseline->predict(b); });
  std::vector<torch::Tensor> in, target;
  for (size_t i = 0; i < data->size(); ++i) {
    in.push_back(data->get(i).at("input"));
    target.push_back(data->get(i).at("target"));
  }
  const torch::Tensor expected = metrics::psnr_per_image(torch::stack(in), torch::stack(target)).clamp_max(metrics::kPsnrCap);
  CHECK(torch::allclose(noop.at("psnr"), expected));

  CHECK_THROWS_WITH(train::create_baseline({{"type", "nope"}}, "spec.baselines[0]"),
                    Contains("spec.baselines[0]") && Contains("return_input") && Contains("derl_chance"));
  CHECK_THROWS_WITH(train::create_baseline({{"type", "return_x_a"}, {"x", 1}}), Contains("'x'"));

  // Chance: one uniform guess per sample, accuracy near 1/6 over many samples.
  models::DeRLTaskOptions o;
  o.stage = models::DeRLStage::kBaselineCnn;
  o.baseline = models::ConvEncoderOptions(3).base_channels(4).num_layers(2).max_channels(8);
  models::DeRLTask cnn(o);
  auto chance = train::create_baseline({{"type", "derl_chance"}, {"num_classes", 6}});
  data::Batch batch;
  batch.tensors["input"] = torch::zeros({3000, 3, 4, 4});
  batch.tensors["expression"] = torch::randint(1, 7, {3000}, torch::kLong);
  const train::SampleScores s = cnn.score_batch(batch, chance->predict(batch));
  CHECK(s.at("accuracy").mean().item<double>() == Approx(1.0 / 6.0).margin(0.03));
}

TEST_CASE("experiment: a tiny spec end to end, its table against a direct evaluation", "[experiment]") {
  torch::manual_seed(0);
  const std::string out = testing::fresh_dir("experiment");
  const experiment::ExperimentSpec spec = experiment::parse_spec(tiny_spec());
  experiment::RunOptions options;
  options.out_dir = out;
  options.command = "test";
  std::ostringstream log;
  options.progress = &log;
  const experiment::ExperimentResult result = experiment::run_experiment(spec, options);
  INFO(log.str());
  for (const char* f : {"tiny.table.json", "tiny_paired.table.json", "tiny.md", "tiny.results.json"}) {
    CHECK(fs::exists(fs::path(out) / f));
  }
  CHECK_THAT(log.str(), Contains("[6/6]") && Contains("s left"));
  // A stage two variants share trains once: the same folder, and the same scores.
  const json pa = load_json_file((fs::path(out) / "runs/a/seed1/pipeline.json").string());
  const json pa2 = load_json_file((fs::path(out) / "runs/a_again/seed1/pipeline.json").string());
  CHECK(pa.at("stages")[0].at("trainer").at("out_dir") == pa2.at("stages")[0].at("trainer").at("out_dir"));
  CHECK(result.cells.at("a").at("psnr").per_seed == result.cells.at("a_again").at("psnr").per_seed);
  const json pb = load_json_file((fs::path(out) / "runs/b/seed1/pipeline.json").string());
  CHECK(pa.at("stages")[0].at("trainer").at("out_dir") != pb.at("stages")[0].at("trainer").at("out_dir"));

  // The per-seed means equal a direct evaluation of each run's final checkpoint.
  auto held_out = data::materialize(*data::create_dataset(tiny_pairs_spec(8, "held_out")));
  for (const std::string variant : {"a", "b"}) {
    for (int seed : {1, 2}) {
      // The variant's pipeline names the folder its stage trained in.
      const json pipeline = load_json_file(
          (fs::path(out) / "runs" / variant / ("seed" + std::to_string(seed)) / "pipeline.json").string());
      const fs::path run = pipeline.at("stages")[0].at("trainer").at("out_dir").get<std::string>();
      const std::string ckpt = (run / "checkpoints" / train::checkpoint_name(3)).string();
      REQUIRE(fs::exists(ckpt));
      auto options_json = train::checkpoint_task_json(ckpt, "pix2pix");
      models::Pix2PixTask task(apply_json(models::Pix2PixTaskOptions(), options_json));
      train::load_checkpoint_network(ckpt, "g", *task.generator());
      for (auto& [name, net] : task.networks()) net->eval();
      train::EvalContext ctx;
      ctx.batch_size = 8;
      const json direct = task.evaluate(*held_out, ctx);
      const auto& cell = result.cells.at(variant).at("psnr");
      CHECK(cell.per_seed.at(static_cast<size_t>(seed - 1)) == Approx(direct.at("psnr").get<double>()).epsilon(1e-9));
      CHECK(result.cells.at(variant).at("ssim").per_seed.at(static_cast<size_t>(seed - 1)) ==
            Approx(direct.at("ssim").get<double>()).epsilon(1e-9));
    }
    const auto& cell = result.cells.at(variant).at("psnr");
    CHECK(cell.value.mean == Approx((cell.per_seed[0] + cell.per_seed[1]) / 2));
    CHECK(cell.value.std == Approx(std::abs(cell.per_seed[0] - cell.per_seed[1]) / std::sqrt(2.0)));
  }
  // Seeds differ (new weights and new training samples), variants differ.
  CHECK(result.cells.at("a").at("psnr").per_seed[0] != result.cells.at("a").at("psnr").per_seed[1]);
  CHECK(result.cells.at("a").at("psnr").value.mean != result.cells.at("b").at("psnr").value.mean);

  // The baseline: the input itself scored against the target, the same for both seeds.
  std::vector<torch::Tensor> in, target;
  for (size_t i = 0; i < held_out->size(); ++i) {
    in.push_back(held_out->get(i).at("input"));
    target.push_back(held_out->get(i).at("target"));
  }
  const double noop = metrics::psnr_per_image(torch::stack(in), torch::stack(target)).clamp_max(metrics::kPsnrCap).mean().item<double>();
  CHECK(result.cells.at("no_op").at("psnr").value.mean == Approx(noop));
  CHECK(result.cells.at("no_op").at("psnr").value.std == Approx(0.0).margin(1e-12));

  // The paired interval is the one the scores on disk give.
  auto matrix = [&](const std::string& dir, const std::string& metric) {
    std::vector<torch::Tensor> rows;
    for (int seed : {1, 2}) {
      const json s = load_json_file((fs::path(out) / "runs" / dir / ("seed" + std::to_string(seed)) / "scores.json").string());
      rows.push_back(torch::tensor(values(s, metric), torch::kFloat64));
    }
    return torch::stack(rows);
  };
  const experiment::PairedInterval expected = experiment::paired_interval(matrix("a", "psnr"), matrix("_baselines/no_op", "psnr"));
  bool found = false;
  for (const auto& c : result.comparisons) {
    if (c.row == "a" && c.against == "no_op" && c.metric == "psnr") {
      found = true;
      CHECK(c.interval.mean == Approx(expected.mean));
      CHECK(c.interval.low == Approx(expected.low));
      CHECK(c.interval.high == Approx(expected.high));
      CHECK(c.interval.mean == Approx(result.cells.at("a").at("psnr").value.mean - noop));
      CHECK(c.verdict == (c.interval.low > 0 ? 1 : c.interval.high < 0 ? -1 : 0));
    }
  }
  CHECK(found);
  // ✓ means the whole interval lies on the better side: above zero for PSNR,
  // below zero for L1 (lower is better).
  bool found_l1 = false;
  for (const auto& c : result.comparisons) {
    const bool higher = c.metric != "l1";
    found_l1 = found_l1 || !higher;
    const int expected_verdict = c.interval.low > 0 ? (higher ? 1 : -1) : c.interval.high < 0 ? (higher ? -1 : 1) : 0;
    CHECK(c.verdict == expected_verdict);
  }
  CHECK(found_l1);
  CHECK(mean_of(values(load_json_file((fs::path(out) / "runs/a/seed1/scores.json").string()), "psnr")) ==
        Approx(result.cells.at("a").at("psnr").per_seed[0]));
  const json results = load_json_file((fs::path(out) / "tiny.results.json").string());
  CHECK(results.at("cells").at("b").at("l1").at("per_seed").size() == 2);
  const eval::ReportTable table = eval::read_table((fs::path(out) / "tiny.table.json").string());
  CHECK(table.rows.size() == 4);
  CHECK(table.rows[0][0] == "variant a");
  CHECK_THAT(table.rows[0][1].get<std::string>(), Contains(" ± "));

  // A second run reads every score from the runs' caches: the same table, no training.
  std::ostringstream log2;
  options.progress = &log2;
  const experiment::ExperimentResult cached = experiment::run_experiment(spec, options);
  CHECK_THAT(log2.str(), Contains("scores from the cache") && !Contains("pipeline: stage"));
  CHECK(cached.cells.at("b").at("psnr").value.mean == result.cells.at("b").at("psnr").value.mean);

  // --seeds and --only: one seed of one variant.
  options.seeds = {2};
  options.only = {"b"};
  options.out_dir = out + "/only";
  const experiment::ExperimentResult one = experiment::run_experiment(spec, options);
  CHECK(one.cells.count("a") == 0);
  CHECK(one.cells.at("b").at("psnr").per_seed.size() == 1);
}

TEST_CASE("experiment: bad specs fail before any training, naming the key", "[experiment]") {
  const std::string out = testing::fresh_dir("experiment_bad");
  experiment::RunOptions options;
  options.out_dir = out;
  std::ostringstream log;
  options.progress = &log;
  auto fails = [&](json spec, const std::string& a, const std::string& b) {
    INFO(spec.dump());
    try {
      const experiment::ExperimentSpec parsed = experiment::parse_spec(spec);
      experiment::run_experiment(parsed, options);
      FAIL("accepted");
    } catch (const ConfigError& e) {
      CHECK_THAT(std::string(e.what()), Contains(a) && Contains(b));
    }
    CHECK(!fs::exists(fs::path(out) / "runs"));
    CHECK(!fs::exists(fs::path(out) / "stages"));
  };
  json s = tiny_spec();
  s["variants"][2]["set"]["stages.pix2pix.task.bogus"] = 1;
  fails(s, "variant 'b'", "bogus");
  s = tiny_spec();
  s["variants"][2]["set"] = {{"stages.nope.task.x", 1}};
  fails(s, "variant 'b'", "no element named 'nope'");
  s = tiny_spec();
  s["baselines"][0]["type"] = "return_inputs";
  fails(s, "baseline 'no_op'", "return_input");
  s = tiny_spec();
  s["data"].erase("held_out");
  fails(s, "spec.data.held_out", "missing");
  s = tiny_spec();
  s["seeds"] = json::array();
  fails(s, "spec.seeds", "at least one seed");
  s = tiny_spec();
  s["variantz"] = json::array();
  fails(s, "unknown key 'variantz'", "variants");
  s = tiny_spec();
  s["compare_to"] = {"nobody"};
  fails(s, "spec.compare_to[0]", "'nobody'");
  s = tiny_spec();
  s["data"]["held_out"]["sise"] = 32;
  fails(s, "spec.data.held_out", "sise");
  s = tiny_spec();
  s["variants"][0]["name"] = "b";
  fails(s, "spec.variants[2].name", "twice");
  s = tiny_spec();
  options.split = "selection";
  fails(s, "spec.data.selection", "missing");
}

TEST_CASE("experiment: --folds runs part of the folds, the rest stays unscored", "[experiment]") {
  const std::string out = testing::fresh_dir("experiment_folds");
  json s = tiny_spec();
  s["variants"] = {{{"name", "a"}}};
  s["data"] = {{"protocol", "folds"}, {"pool", tiny_pairs_spec(24, "train")}, {"folds", 3}, {"split_seed", 0}};
  s["seeds"] = {1};
  const experiment::ExperimentSpec spec = experiment::parse_spec(s);
  experiment::RunOptions options;
  options.out_dir = out;
  std::ostringstream log;
  options.progress = &log;
  options.folds = {1};
  const experiment::ExperimentResult result = experiment::run_experiment(spec, options);
  CHECK(fs::exists(fs::path(out) / "runs/a/seed1/fold1/scores.json"));
  CHECK(!fs::exists(fs::path(out) / "runs/a/seed1/fold0"));
  CHECK(!fs::exists(fs::path(out) / "runs/a/seed1/fold2"));
  CHECK_THAT(log.str(), Contains("[1/1] a seed 1 fold 1"));
  const json results = load_json_file((fs::path(out) / "tiny.results.json").string());
  CHECK_THAT(results.dump(), Contains("(folds 1 run)"));
  // The mean is the fold's own: fold 1's scores on disk, every other sample NaN and left out.
  const std::vector<double> fold1 = values(load_json_file((fs::path(out) / "runs/a/seed1/fold1/scores.json").string()), "psnr");
  REQUIRE(!fold1.empty());
  CHECK(fold1.size() < 24);
  CHECK(result.cells.at("a").at("psnr").per_seed.at(0) == Approx(mean_of(fold1)));
  for (const auto& c : result.comparisons) CHECK(c.interval.pairs == static_cast<int64_t>(fold1.size()));

  // A fold that does not exist, or folds on a split protocol, are refused by name.
  options.folds = {3};
  CHECK_THROWS_WITH(experiment::run_experiment(spec, options), Contains("folds: 3 is not a fold of 3 (0..2)"));
  options.folds = {0};
  CHECK_THROWS_WITH(experiment::run_experiment(experiment::parse_spec(tiny_spec()), options),
                    Contains("protocol is 'split', which has no folds"));
}
