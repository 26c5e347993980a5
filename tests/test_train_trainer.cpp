// End-to-end tests of the Trainer on CPU: resume exactness (with prefetch threads and a transform),
// a kill during a checkpoint save, the bf16 and fp16 AMP paths, the NaN stop, SIGINT, samples and
// metrics output.
#include <facegan/core/files.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/synthetic_pairs.hpp>
#include <facegan/data/transforms.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/trainer.hpp>

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace facegan;
using namespace facegan::train;
namespace fs = std::filesystem;

namespace {

using facegan::testing::fresh_dir;

json tiny_pix2pix() {
  return json{{"type", "pix2pix"},
              {"generator", {{"depth", 5}, {"base_channels", 4}, {"max_multiplier", 2}}},
              {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}};
}

std::shared_ptr<const data::Dataset> tiny_pairs(int64_t n = 12) {
  return data::create_dataset(json{{"type", "synthetic_pairs"}, {"size", 32}, {"num_samples", n}, {"num_identities", 20},
                                   {"held_out_identities", 4}});
}

TrainerOptions quiet_options(const std::string& dir, int64_t steps) {
  return TrainerOptions()
      .steps(steps)
      .seed(7)
      .device("cpu")
      .threads(1)
      .out_dir(dir)
      .progress(ProgressMode::kNone)
      .log_every(1)
      .sample_every(0)
      .checkpoint_every(0)
      .distributed("off");
}

/// Records every step's losses.
struct Recorder {
  std::map<int64_t, StepValues> steps;
  void attach(Trainer& t) {
    t.on_step([this](int64_t step, const StepValues& v) { steps[step] = v; });
  }
};

std::unique_ptr<Trainer> make_pix2pix_trainer(const TrainerOptions& options, bool with_transform) {
  torch::manual_seed(static_cast<uint64_t>(options.seed()));
  auto task = create_task(tiny_pix2pix());
  data::Transform transform;
  if (with_transform) transform = data::transform_from_json(json::array({json{{"type", "random_horizontal_flip"}}}));
  return std::make_unique<Trainer>(options, task, tiny_pairs(),
                                   data::LoaderOptions(2).prefetch_threads(2).seed(11), transform, tiny_pairs(4));
}

std::map<std::string, torch::Tensor> weights(Trainer& t) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, net] : t.task().networks()) {
    for (const auto& p : net->named_parameters()) out[name + "." + p.key()] = p.value().detach().clone();
    for (const auto& b : net->named_buffers()) out[name + "." + b.key()] = b.value().detach().clone();
  }
  return out;
}

/// A linear regression task whose loss can be made NaN at a chosen step.
class ToyTask : public Task {
 public:
  explicit ToyTask(int64_t nan_at_step = -1) : nan_at_(nan_at_step) {}
  std::string type() const override { return "toy"; }
  NamedModules networks() override { return {{"net", net_.ptr()}}; }
  std::vector<OptimizerGroup> optimizer_groups() override {
    AdamSettings a;
    a.lr = 1e-2;
    return {{"net", net_->parameters(), a}};
  }
  StepOutput train_step(const data::Batch& batch, StepContext& ctx) override {
    torch::Tensor loss;
    {
      auto amp = ctx.autocast();
      loss = (net_->forward(batch.at("x")).squeeze(1) - batch.at("y")).square().mean();
    }
    if (ctx.global_step() + 1 == nan_at_) loss = loss * std::numeric_limits<float>::quiet_NaN();
    ctx.step("net", loss);
    return {{{"mse", loss.detach()}}, {}};
  }
  NamedImages samples(const data::Batch& batch) override {
    const auto n = batch.at("x").size(0);
    return {{"x", torch::zeros({n, 3, 4, 4})}};
  }
  json evaluate(const data::Dataset& dataset, const EvalContext&) override { return {{"n", dataset.size()}}; }

 private:
  torch::nn::Linear net_{4, 1};
  int64_t nan_at_;
};

class ToyData : public data::Dataset {
 public:
  size_t size() const override { return 16; }
  data::Sample get(size_t i) const override {
    data::Sample s;
    auto g = at::detail::createCPUGenerator(1000 + i);
    s.tensors["x"] = torch::randn({4}, g);
    s.tensors["y"] = s.tensors["x"].sum() * 0.5;
    return s;
  }
  std::string type() const override { return "toy"; }
};

int run_self(const std::string& test_name, const std::string& dir) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // exec (not just fork) so the child starts with no threads of ours.
    ::setenv("FACEGAN_KILL_TEST_DIR", dir.c_str(), 1);
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) ::_exit(127);
    exe[n] = '\0';
    const std::string name = test_name;
    ::execl(exe, exe, name.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("resume from a checkpoint gives bit-identical losses and weights", "[train]") {
  const std::string a_dir = fresh_dir("resume_a"), b_dir = fresh_dir("resume_b");
  auto base = quiet_options(a_dir, 6).sample_every(2).eval_every(3).eval_max_samples(2);
  base.ema().networks = {"g"};
  base.ema().decay = 0.9;
  base.schedule().type(ScheduleType::kLinearDecay).constant_steps(2);

  {
    // The generator draws dropout masks from torch's generator, so the RNG state matters.
    auto task = create_task(tiny_pix2pix());
    auto& g = dynamic_cast<models::Pix2PixTask&>(*task).generator();
    const torch::Tensor x = torch::randn({1, 3, 32, 32});
    torch::NoGradGuard no_grad;
    REQUIRE_FALSE(torch::equal(g->forward(x), g->forward(x)));
  }

  // One run of 6 steps.
  auto a = make_pix2pix_trainer(base, /*with_transform=*/true);
  Recorder ra;
  ra.attach(*a);
  REQUIRE(a->fit().status == RunStatus::kCompleted);
  REQUIRE(ra.steps.size() == 6);

  // 3 steps, then a new trainer (new task, new loader) resumes to 6.
  auto first = base;
  first.out_dir(b_dir).steps(3);
  auto b1 = make_pix2pix_trainer(first, true);
  Recorder rb;
  rb.attach(*b1);
  const TrainResult r1 = b1->fit();
  REQUIRE(r1.step == 3);
  REQUIRE(fs::exists(r1.checkpoint));
  b1.reset();
  auto second = base;
  second.out_dir(b_dir).seed(7);
  torch::manual_seed(999);  // whatever the stream is now, the checkpoint restores it
  auto b2 = make_pix2pix_trainer(second, true);
  rb.attach(*b2);
  REQUIRE(b2->fit().step == 6);

  for (int64_t s = 1; s <= 6; ++s) {
    INFO("step " << s);
    REQUIRE(rb.steps.count(s) == 1);
    for (const auto& [name, v] : ra.steps[s]) {
      INFO("loss " << name);
      CHECK(rb.steps[s].at(name) == v);  // bit for bit
    }
  }
  const auto wa = weights(*a), wb = weights(*b2);
  for (const auto& [k, v] : wa) {
    INFO(k);
    CHECK(torch::equal(v, wb.at(k)));
  }
  for (const auto& p : a->ema_network("g")->named_parameters()) {
    CHECK(torch::equal(p.value(), b2->ema_network("g")->named_parameters()[p.key()]));
  }
  CHECK(a->learning_rate("g") == b2->learning_rate("g"));

  // Outputs: metrics lines parse as JSON; sample grids and checkpoints are where they should be.
  std::ifstream in(b_dir + "/metrics.jsonl");
  std::string line;
  std::vector<int64_t> steps;
  int evals = 0;
  while (std::getline(in, line)) {
    const json j = json::parse(line);
    if (j.contains("eval")) {
      ++evals;
      CHECK(j["eval"].contains("psnr"));
      continue;
    }
    steps.push_back(j["step"].get<int64_t>());
    CHECK(j["losses"].contains("g_rec"));
    CHECK(j["lr"].contains("d"));
  }
  CHECK(steps == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(evals == 2);
  CHECK(fs::file_size(b_dir + "/samples/step_000000006.png") > 100);
  CHECK(fs::exists(b_dir + "/checkpoints/" + checkpoint_name(6)));
  CHECK(fs::exists(b_dir + "/config.json"));
  fs::remove_all(a_dir);
  fs::remove_all(b_dir);
}

// The child half of the kill test: resumes the run in FACEGAN_KILL_TEST_DIR and is SIGKILLed while
// writing the checkpoint of step 4. Hidden ([.]): only run by name.
TEST_CASE("kill-during-save child", "[.][train_child]") {
  const char* dir = std::getenv("FACEGAN_KILL_TEST_DIR");
  REQUIRE(dir != nullptr);
  auto o = TrainerOptions().steps(4).seed(3).device("cpu").threads(1).out_dir(dir).progress(ProgressMode::kNone)
               .sample_every(0).checkpoint_every(2).distributed("off");
  torch::manual_seed(3);
  Trainer t(o, std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(1));
  facegan::testing::kill_during_next_write(3000);
  t.fit();
  FAIL("the save of step 4 should have killed this process");
}

TEST_CASE("a checkpoint survives a kill during save", "[train]") {
  const std::string dir = fresh_dir("kill");
  auto o = TrainerOptions().steps(2).seed(3).device("cpu").threads(1).out_dir(dir).progress(ProgressMode::kNone)
               .sample_every(0).checkpoint_every(2).distributed("off");
  torch::manual_seed(3);
  {
    Trainer t(o, std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(1));
    REQUIRE(t.fit().step == 2);
  }
  const std::string ckpt2 = dir + "/checkpoints/" + checkpoint_name(2);
  const auto size2 = fs::file_size(ckpt2);

  const int status = run_self("kill-during-save child", dir);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  const std::string tmp = dir + "/checkpoints/" + checkpoint_name(4) + ".tmp";
  REQUIRE(fs::exists(tmp));
  CHECK(fs::file_size(tmp) == 3000);
  CHECK_FALSE(fs::exists(dir + "/checkpoints/" + checkpoint_name(4)));
  CHECK(fs::file_size(ckpt2) == size2);
  REQUIRE(latest_checkpoint(dir + "/checkpoints")->step == 2);

  // A new run resumes from step 2 (the partial file is ignored, then cleaned up) and finishes.
  torch::manual_seed(3);
  Trainer t(o.steps(4), std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(1));
  Recorder r;
  r.attach(t);
  const TrainResult res = t.fit();
  CHECK(res.step == 4);
  CHECK(r.steps.begin()->first == 3);
  CHECK(fs::exists(dir + "/checkpoints/" + checkpoint_name(4)));
  CHECK_FALSE(fs::exists(tmp));
  fs::remove_all(dir);
}

TEST_CASE("bf16 autocast on CPU trains with finite losses close to fp32", "[train]") {
  const std::string dir = fresh_dir("bf16");
  std::map<AmpMode, StepValues> first;
  for (AmpMode mode : {AmpMode::kNone, AmpMode::kBf16}) {
    auto o = quiet_options(dir + "/" + enum_to_string(mode), 3).amp(mode).resume("none");
    auto t = make_pix2pix_trainer(o, false);
    Recorder r;
    r.attach(*t);
    t->fit();
    for (const auto& [s, v] : r.steps) {
      for (const auto& [k, x] : v) CHECK(std::isfinite(x));
    }
    first[mode] = r.steps.at(1);
  }
  for (const auto& [k, v] : first[AmpMode::kNone]) {
    INFO(k << ": fp32 " << v << " bf16 " << first[AmpMode::kBf16].at(k));
    CHECK(first[AmpMode::kBf16].at(k) == Approx(v).epsilon(0.03).margin(0.02));
  }
  fs::remove_all(dir);
}

TEST_CASE("fp16 path with loss scaling runs on CPU", "[train]") {
  const std::string dir = fresh_dir("fp16");
  auto o = quiet_options(dir, 3).amp(AmpMode::kFp16).grad_clip(1.0);
  o.loss_scaler().init_scale(1024).growth_interval(2);
  torch::manual_seed(1);
  Trainer t(o, std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(0));
  Recorder r;
  r.attach(t);
  t.fit();
  REQUIRE(r.steps.size() == 3);
  for (const auto& [s, v] : r.steps) CHECK(std::isfinite(v.at("mse")));
  CHECK(t.loss_scaler().current_scale() == 2048.0);  // grew once after 2 finite steps
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  std::getline(in, line);
  const json j = json::parse(line);
  CHECK(j["metrics"].contains("grad_norm/net"));
  CHECK(j["metrics"]["skipped/net"] == 0.0);
  CHECK(j["loss_scale"] == 1024.0);
  fs::remove_all(dir);
}

TEST_CASE("a NaN loss stops the run, names the loss and keeps the last good checkpoint", "[train]") {
  const std::string dir = fresh_dir("nan");
  auto o = quiet_options(dir, 10).checkpoint_every(2);
  torch::manual_seed(2);
  Trainer t(o, std::make_shared<ToyTask>(/*nan_at_step=*/5), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(0));
  std::string what;
  try {
    t.fit();
  } catch (const NonFiniteLossError& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::Contains("'mse'") && Catch::Contains("NaN") && Catch::Contains("step 5") &&
                       Catch::Contains(checkpoint_name(4)));
  const auto ck = list_checkpoints(dir + "/checkpoints");
  REQUIRE_FALSE(ck.empty());
  CHECK(ck.back().step == 4);
  // The kept checkpoint loads.
  torch::manual_seed(2);
  Trainer again(o.steps(4), std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(0));
  again.load_checkpoint(ck.back().path);
  CHECK(again.step() == 4);
  fs::remove_all(dir);
}

TEST_CASE("SIGINT writes a checkpoint and returns interrupted", "[train]") {
  const std::string dir = fresh_dir("sigint");
  auto o = quiet_options(dir, 50);
  torch::manual_seed(2);
  Trainer t(o, std::make_shared<ToyTask>(), std::make_shared<ToyData>(), data::LoaderOptions(4).prefetch_threads(1));
  t.on_step([](int64_t step, const StepValues&) {
    if (step == 3) ::raise(SIGINT);
  });
  const TrainResult r = t.fit();
  CHECK(r.status == RunStatus::kInterrupted);
  CHECK(r.step == 3);
  CHECK(r.checkpoint == dir + "/checkpoints/" + checkpoint_name(3));
  CHECK(fs::exists(r.checkpoint));
  // Programs that chain fits stop here instead of going on with a 3-step model.
  CHECK_THROWS_AS(require_completed(r), Interrupted);
  CHECK_THROWS_WITH(require_completed(r), Catch::Contains("step 3") && Catch::Contains(r.checkpoint));
  TrainResult done = r;
  done.status = RunStatus::kCompleted;
  CHECK(require_completed(done).checkpoint == r.checkpoint);
  fs::remove_all(dir);
}

TEST_CASE("progress lines, samples and from_config on the pix2pix example config shape", "[train]") {
  const std::string dir = fresh_dir("config");
  const json config = {
      {"trainer", {{"steps", 2}, {"seed", 1}, {"device", "cpu"}, {"threads", 1}, {"out_dir", dir}, {"log_every", 1},
                   {"sample_every", 2}, {"progress", "lines"}, {"distributed", "off"}}},
      {"task", tiny_pix2pix()},
      {"data", {{"train", {{"type", "synthetic_pairs"}, {"size", 32}, {"num_samples", 8}}},
                {"loader", {{"batch_size", 2}, {"prefetch_threads", 1}}}}}};
  auto t = Trainer::from_config(config);
  std::ostringstream out;
  t->set_progress_stream(out);
  t->fit();
  const std::string text = out.str();
  CHECK(text.find('\r') == std::string::npos);
  CHECK_THAT(text, Catch::Contains("1 threads") && Catch::Contains("step 1/2") && Catch::Contains("step 2/2") &&
                       Catch::Contains("g_rec"));
  CHECK(fs::exists(dir + "/samples/step_000000002.png"));
  const torch::Tensor grid = data::read_image(dir + "/samples/step_000000002.png");
  CHECK(grid.size(1) == 2 + 4 * 34);  // 4 rows of 32 px with 2 px borders
  CHECK(grid.size(2) == 2 + 3 * 34);  // input | output | target
  fs::remove_all(dir);
}
