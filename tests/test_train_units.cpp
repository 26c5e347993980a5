// Unit tests of the trainer's parts: schedules, EMA, loss scaler, autocast scopes, registries,
// config errors, progress output, checkpoint files, the synthetic pairs data set.
#include <facegan/core/files.hpp>
#include <facegan/data/synthetic_pairs.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/amp.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/distributed.hpp>
#include <facegan/train/ema.hpp>
#include <facegan/train/progress.hpp>
#include <facegan/train/schedule.hpp>
#include <facegan/train/task.hpp>
#include <facegan/train/trainer.hpp>

#include <ATen/autocast_mode.h>
#include <catch2/catch.hpp>

#include "test_util.hpp"
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace facegan;
using namespace facegan::train;
namespace fs = std::filesystem;

namespace {

using facegan::testing::fresh_dir;

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("schedules give the hand-computed factors", "[train]") {
  ScheduleOptions constant;
  CHECK(lr_factor(constant, 0, 100) == 1.0);
  CHECK(lr_factor(constant, 99, 100) == 1.0);

  // pix2pix linear: 1 - max(0, s - 10) / (decay + 1), decay = 100 - 10 = 90.
  ScheduleOptions linear = ScheduleOptions().type(ScheduleType::kLinearDecay).constant_steps(10);
  CHECK(lr_factor(linear, 0, 100) == 1.0);
  CHECK(lr_factor(linear, 10, 100) == 1.0);
  CHECK(lr_factor(linear, 11, 100) == Approx(1.0 - 1.0 / 91.0));
  CHECK(lr_factor(linear, 55, 100) == Approx(1.0 - 45.0 / 91.0));
  CHECK(lr_factor(linear, 99, 100) == Approx(1.0 - 89.0 / 91.0));
  linear.decay_steps(4);
  CHECK(lr_factor(linear, 12, 100) == Approx(0.6));  // 1 - 2/5
  CHECK(lr_factor(linear, 20, 100) == 0.0);         // clamped

  ScheduleOptions step = ScheduleOptions().type(ScheduleType::kStep).step_size(30).gamma(0.5);
  CHECK(lr_factor(step, 0, 100) == 1.0);
  CHECK(lr_factor(step, 29, 100) == 1.0);
  CHECK(lr_factor(step, 30, 100) == 0.5);
  CHECK(lr_factor(step, 65, 100) == 0.25);
  CHECK(lr_factor(step, 90, 100) == 0.125);

  ScheduleOptions cosine = ScheduleOptions().type(ScheduleType::kCosine);
  CHECK(lr_factor(cosine, 0, 100) == Approx(1.0));
  CHECK(lr_factor(cosine, 50, 100) == Approx(0.5));
  CHECK(lr_factor(cosine, 25, 100) == Approx(0.5 * (1 + std::cos(M_PI / 4))));
  CHECK(lr_factor(cosine, 100, 100) == Approx(0.0).margin(1e-12));
  CHECK(lr_factor(cosine, 150, 100) == Approx(0.0).margin(1e-12));
  cosine.min_factor(0.1).total_steps(200);
  CHECK(lr_factor(cosine, 100, 100) == Approx(0.1 + 0.9 * 0.5));

  ScheduleOptions warm = ScheduleOptions().warmup_steps(4);
  CHECK(lr_factor(warm, 0, 100) == 0.25);
  CHECK(lr_factor(warm, 2, 100) == 0.75);
  CHECK(lr_factor(warm, 4, 100) == 1.0);

  CHECK_THROWS_WITH(validate(ScheduleOptions().step_size(0), "trainer.schedule"),
                    Catch::Contains("trainer.schedule.step_size"));
  const auto parsed = apply_json(ScheduleOptions(), json{{"type", "linear_decay"}, {"constant_steps", 5}}, "schedule");
  CHECK(parsed.type() == ScheduleType::kLinearDecay);
  CHECK_THROWS_WITH(apply_json(ScheduleOptions(), json{{"type", "exp"}}, "schedule"), Catch::Contains("cosine"));
}

TEST_CASE("EMA: one update by hand, swap and restore", "[train]") {
  torch::manual_seed(3);
  torch::nn::Linear net(3, 2);
  Ema ema(net.ptr(), 0.9);
  const torch::Tensor w0 = net->weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    net->weight.add_(1.0);
    net->bias.fill_(2.0);
  }
  const torch::Tensor b0 = ema.average()->named_parameters()["bias"].clone();
  ema.update();
  const auto avg = ema.average()->named_parameters();
  // ema = 0.9 * old + 0.1 * live
  CHECK(torch::allclose(avg["weight"], 0.9 * w0 + 0.1 * (w0 + 1.0), 1e-6, 1e-7));
  CHECK(torch::allclose(avg["bias"], 0.9 * b0 + 0.1 * torch::full_like(b0, 2.0), 1e-6, 1e-7));
  CHECK_FALSE(avg["weight"].requires_grad());

  const torch::Tensor live = net->weight.detach().clone();
  {
    Ema::Swap swap(ema);
    CHECK(torch::equal(net->weight, avg["weight"]));
  }
  CHECK(torch::equal(net->weight, live));
  CHECK_THROWS_WITH(Ema(net.ptr(), 1.5), Catch::Contains("ema.decay"));
}

TEST_CASE("loss scaler: backs off on inf, grows after growth_interval finite steps", "[train]") {
  LossScaler scaler(LossScalerOptions().init_scale(1024).growth_interval(3));
  CHECK(scaler.current_scale() == 1024.0);
  CHECK(scaler.scale(torch::tensor(2.0f)).item<float>() == 2048.0f);
  // fp16 losses are scaled in float32, so 65536 * loss cannot overflow half precision.
  CHECK(scaler.scale(torch::tensor(100.0f).to(torch::kHalf)).scalar_type() == torch::kFloat);

  torch::Tensor g = torch::tensor({2048.0f, -1024.0f});
  CHECK(scaler.unscale_({g}).item<float>() == 0.0f);
  CHECK(torch::equal(g, torch::tensor({2.0f, -1.0f})));
  CHECK(scaler.step_allowed());
  scaler.update();
  CHECK(scaler.current_scale() == 1024.0);
  CHECK(scaler.growth_tracker() == 1);

  torch::Tensor bad = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  torch::Tensor fine = torch::tensor({4.0f});
  CHECK(scaler.unscale_({fine}).item<float>() == 0.0f);
  CHECK(scaler.unscale_({bad}).item<float>() > 0.0f);
  CHECK_FALSE(scaler.step_allowed());
  scaler.update();
  CHECK(scaler.current_scale() == 512.0);  // halved
  CHECK(scaler.growth_tracker() == 0);
  CHECK(scaler.step_allowed());             // the flag is per step

  for (int i = 0; i < 3; ++i) {
    torch::Tensor ok = torch::ones({2});
    scaler.unscale_({ok});
    scaler.update();
  }
  CHECK(scaler.current_scale() == 1024.0);  // grew after 3 good steps
  CHECK(scaler.growth_tracker() == 0);

  const json st = scaler.state();
  LossScaler other(LossScalerOptions().growth_interval(3));
  other.load_state(st);
  CHECK(other.current_scale() == 1024.0);
  CHECK_THROWS_WITH(LossScaler(LossScalerOptions().backoff_factor(2)), Catch::Contains("backoff_factor"));
}

TEST_CASE("autocast guard enables bf16 on CPU for its scope and restores the state", "[train]") {
  const bool before = at::autocast::is_autocast_enabled(at::kCPU);
  {
    AutocastGuard guard(AmpMode::kBf16, torch::kCPU);
    CHECK(at::autocast::is_autocast_enabled(at::kCPU));
    CHECK(at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16);
    torch::nn::Linear lin(4, 3);
    CHECK(lin(torch::randn({2, 4})).scalar_type() == torch::kBFloat16);
    {
      AutocastGuard off(AmpMode::kNone, torch::kCPU);
      CHECK_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
    }
    CHECK(at::autocast::is_autocast_enabled(at::kCPU));
  }
  CHECK(at::autocast::is_autocast_enabled(at::kCPU) == before);
}

TEST_CASE("task registry: pix2pix is built from JSON, unknown names and options are named", "[train]") {
  CHECK(task_registry().contains("pix2pix"));
  const std::string unknown = message_of([] { create_task(json{{"type", "pix3pix"}}); });
  CHECK_THAT(unknown, Catch::Contains("pix3pix") && Catch::Contains("known: ") && Catch::Contains("pix2pix"));
  const std::string bad_key = message_of([] { create_task(json{{"type", "pix2pix"}, {"generatr", json::object()}}); });
  CHECK_THAT(bad_key, Catch::Contains("generatr"));
  const std::string bad_nested =
      message_of([] { create_task(json{{"type", "pix2pix"}, {"generator", {{"depht", 3}}}}); });
  CHECK_THAT(bad_nested, Catch::Contains("pix2pix.generator.depht"));
  const std::string bad_d = message_of(
      [] { create_task(json{{"type", "pix2pix"}, {"discriminator", {{"in_channels", 3}}}}); });
  CHECK_THAT(bad_d, Catch::Contains("in_channels") && Catch::Contains("6"));

  torch::manual_seed(0);
  auto task = create_task(json{{"type", "pix2pix"},
                               {"generator", {{"depth", 5}, {"base_channels", 4}}},
                               {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}});
  CHECK(task->type() == "pix2pix");
  const auto nets = task->networks();
  REQUIRE(nets.size() == 2);
  CHECK(nets[0].first == "g");
  CHECK(nets[1].first == "d");
  const auto groups = task->optimizer_groups();
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].adam.lr == 2e-4);
  CHECK(groups[0].adam.beta1 == 0.5);
  CHECK(task->to_json()["generator"]["depth"] == 5);
}

TEST_CASE("trainer config: an unknown key is named", "[train]") {
  const std::string top = message_of([] { apply_json(TrainerOptions(), json{{"stepz", 3}}, "trainer"); });
  CHECK_THAT(top, Catch::Contains("trainer.stepz") && Catch::Contains("steps"));
  const std::string nested =
      message_of([] { apply_json(TrainerOptions(), json{{"ema", {{"decay", 0.9}, {"netwrks", {"g"}}}}}, "trainer"); });
  CHECK_THAT(nested, Catch::Contains("trainer.ema.netwrks"));
  const std::string amp = message_of([] { apply_json(TrainerOptions(), json{{"amp", "fp8"}}, "trainer"); });
  CHECK_THAT(amp, Catch::Contains("trainer.amp") && Catch::Contains("bf16"));
  const std::string cfg = message_of([] { Trainer::from_config(json{{"trainer", json::object()}, {"tasks", 1}}); });
  CHECK_THAT(cfg, Catch::Contains("'tasks'"));
  const auto o = apply_json(TrainerOptions(), json{{"steps", 7}, {"amp", "bf16"}, {"ema", {{"networks", {"g"}}}}}, "trainer");
  CHECK(o.steps() == 7);
  CHECK(o.amp() == AmpMode::kBf16);
  CHECK(o.ema().networks == std::vector<std::string>{"g"});
  CHECK(options_to_json(o)["schedule"]["type"] == "constant");
}

TEST_CASE("progress in non-terminal mode writes plain lines", "[train]") {
  std::ostringstream out;
  Progress p(out, ProgressMode::kLines, 0, 10, 5);
  for (int64_t s = 1; s <= 10; ++s) p.update(s, {{"d", 0.5}, {"g_rec", 12.25}});
  p.message("done");
  p.finish();
  const std::string text = out.str();
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\033") == std::string::npos);
  std::istringstream lines(text);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  CHECK_THAT(l1, Catch::StartsWith("step 5/10") && Catch::Contains("it/s") && Catch::Contains("eta") &&
                     Catch::Contains("d 0.5") && Catch::Contains("g_rec 12.25"));
  CHECK_THAT(l2, Catch::StartsWith("step 10/10") && Catch::Contains("100.0%"));
  CHECK(l3 == "done");
  CHECK(format_duration(3725) == "1:02:05");
  CHECK(format_duration(65) == "1:05");

  std::ostringstream bar;
  Progress b(bar, ProgressMode::kBar, 0, 4, 1);
  b.update(4, {{"d", 1.0}});
  b.finish();
  CHECK(bar.str().find('\r') != std::string::npos);

  std::ostringstream labelled;
  Progress l(labelled, ProgressMode::kLines, 0, 3, 3);
  l.label("pack").update(3, {});
  CHECK_THAT(labelled.str(), Catch::StartsWith("pack 3/3 100.0%"));
}

TEST_CASE("checkpoint files: atomic write, discovery ignores .tmp, pruning keeps the newest", "[train]") {
  const std::string dir = fresh_dir("ckfiles");
  for (int64_t s : {2, 4, 6, 8}) write_file_atomic(dir + "/" + checkpoint_name(s), "step " + std::to_string(s));
  std::ofstream(dir + "/" + checkpoint_name(10) + ".tmp") << "partial";
  std::ofstream(dir + "/notes.txt") << "x";
  auto all = list_checkpoints(dir);
  REQUIRE(all.size() == 4);
  CHECK(all.front().step == 2);
  CHECK(latest_checkpoint(dir)->step == 8);
  CHECK(checkpoint_name(8) == "ckpt_000000008.pt");
  prune_checkpoints(dir, 2);
  all = list_checkpoints(dir);
  REQUIRE(all.size() == 2);
  CHECK(all[0].step == 6);
  CHECK_FALSE(fs::exists(dir + "/" + checkpoint_name(10) + ".tmp"));
  CHECK(fs::exists(dir + "/notes.txt"));
  std::ifstream in(all[1].path);
  std::string content;
  std::getline(in, content);
  CHECK(content == "step 8");
  CHECK_FALSE(latest_checkpoint(dir + "/missing"));
  fs::remove_all(dir);
}

TEST_CASE("metrics JSON lines are truncated to a resumed step", "[train]") {
  const std::string dir = fresh_dir("jsonl");
  {
    JsonLinesWriter w(dir + "/m.jsonl");
    for (int s = 1; s <= 5; ++s) w.write(json{{"step", s}});
  }
  { std::ofstream(dir + "/m.jsonl", std::ios::app) << "{\"step\": 6, \"cut"; }
  truncate_json_lines(dir + "/m.jsonl", 3);
  std::ifstream in(dir + "/m.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) CHECK(json::parse(line)["step"].get<int>() == ++n);
  CHECK(n == 3);
  fs::remove_all(dir);
}

TEST_CASE("distributed environment is read as torchrun writes it", "[train]") {
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "2", 1);
  ::setenv("MASTER_ADDR", "10.0.0.5", 1);
  ::setenv("MASTER_PORT", "23456", 1);
  auto e = DistributedEnv::from_environment();
  CHECK(e.world_size == 4);
  CHECK(e.rank == 2);
  CHECK(e.local_rank == 2);
  CHECK(e.master_addr == "10.0.0.5");
  CHECK(e.master_port == 23456);
  ::setenv("RANK", "4", 1);
  CHECK_THROWS_WITH(DistributedEnv::from_environment(), Catch::Contains("RANK"));
  ::setenv("RANK", "x", 1);
  CHECK_THROWS_WITH(DistributedEnv::from_environment(), Catch::Contains("RANK"));
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
  e = DistributedEnv::from_environment();
  CHECK(e.world_size == 1);
  ProcessGroup single(e, torch::kCPU);
  torch::Tensor t = torch::ones({3});
  single.all_reduce_mean({t});
  CHECK(torch::equal(t, torch::ones({3})));
  CHECK(distributed_backend_available(c10::DeviceType::CPU) == true);
}

TEST_CASE("synthetic_pairs: the same face with the expression removed", "[train][data]") {
  auto ds = data::create_dataset(json{{"type", "synthetic_pairs"}, {"size", 32}, {"num_samples", 8}});
  REQUIRE(ds->size() == 8);
  const data::Sample s = ds->get(3);
  CHECK(s.at("input").sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(s.at("target").sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(s.at("expression").item<int64_t>() != 0);
  CHECK(s.meta["target"]["expression"] == "neutral");
  CHECK(s.meta["input"]["identity"] == s.meta["target"]["identity"]);
  CHECK(s.meta["input"]["attributes"] == s.meta["target"]["attributes"]);
  CHECK_FALSE(torch::equal(s.at("input"), s.at("target")));
  CHECK(torch::equal(ds->get(3).at("input"), s.at("input")));  // deterministic

  auto mk = data::create_dataset(
      json{{"type", "synthetic_pairs"}, {"size", 32}, {"num_samples", 4}, {"pairing", "remove_makeup"}});
  const data::Sample m = mk->get(1);
  CHECK(m.meta["target"]["makeup"]["lipstick"]["enabled"] == false);
  CHECK(m.meta["input"]["expression"] == m.meta["target"]["expression"]);
  CHECK_THROWS_WITH(data::create_dataset(json{{"type", "synthetic_pairs"}, {"pairng", "x"}}), Catch::Contains("pairng"));
}
