// Two-process data-parallel check on loopback (c10d Gloo): trains a small conv net for a few steps
// as 2 ranks with 4 samples each, and as 1 process on the combined batch of 8, then checks that
// both ranks end with identical weights and that they equal the single-process weights within
// float tolerance (the mean of the ranks' gradients is the gradient of the combined batch).
//
//   ddp_check [--steps N] [--out DIR]       launcher: spawns the 3 workers and compares (exit 0 = pass)
//   ddp_check --worker DIR single|ddp       one worker (ddp reads RANK, WORLD_SIZE, MASTER_ADDR/PORT)
#include <facegan/core/error.hpp>
#include <facegan/train/trainer.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace facegan;

namespace {

/// 3x16x16 images; the target is the input mirrored and darkened, a map a conv net can learn.
class Images : public data::Dataset {
 public:
  size_t size() const override { return 32; }
  data::Sample get(size_t i) const override {
    auto g = at::detail::createCPUGenerator(500 + i);
    data::Sample s;
    s.tensors["input"] = torch::rand({3, 16, 16}, g) * 2 - 1;
    s.tensors["target"] = s.tensors["input"].flip({2}) * 0.5;
    return s;
  }
  std::string type() const override { return "ddp_images"; }
};

/// Conv -> LeakyReLU -> Conv, no batch norm (whose statistics would differ between a batch of 8
/// and two of 4), L1 loss.
class ConvTask : public train::Task {
 public:
  ConvTask() {
    net_ = torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)),
                                 torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                                 torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 3, 3).padding(1)));
  }
  std::string type() const override { return "ddp_conv"; }
  train::NamedModules networks() override { return {{"net", net_.ptr()}}; }
  std::vector<train::OptimizerGroup> optimizer_groups() override {
    train::AdamSettings a;
    a.lr = 1e-2;
    return {{"net", net_->parameters(), a}};
  }
  train::StepOutput train_step(const data::Batch& b, train::StepContext& ctx) override {
    const torch::Tensor loss = (net_->forward(b.at("input")) - b.at("target")).abs().mean();
    ctx.step("net", loss);
    return {{{"l1", loss.detach()}}, {}};
  }
  train::NamedImages samples(const data::Batch& b) override { return {{"input", b.at("input")}}; }
  json evaluate(const data::Dataset&, const train::EvalContext&) override { return json::object(); }

 private:
  torch::nn::Sequential net_{nullptr};
};

int worker(const std::string& dir, const std::string& mode, int64_t steps) {
  const bool ddp = mode == "ddp";
  auto options = train::TrainerOptions()
                     .steps(steps)
                     .seed(5)
                     .device("cpu")
                     .threads(1)
                     .out_dir(dir + "/" + mode)
                     .progress(train::ProgressMode::kNone)
                     .log_every(1)
                     .sample_every(0)
                     .checkpoint_every(0)
                     .resume("none")
                     .distributed(ddp ? "auto" : "off")
                     .distributed_timeout_s(30);
  torch::manual_seed(5);
  auto task = std::make_shared<ConvTask>();
  train::Trainer trainer(options, task, std::make_shared<Images>(),
                         data::LoaderOptions(ddp ? 4 : 8).seed(9).prefetch_threads(1));
  if (ddp && trainer.world_size() != 2) throw Error("ddp worker expected WORLD_SIZE=2");
  std::vector<double> losses;
  trainer.on_step([&](int64_t, const train::StepValues& v) { losses.push_back(v.at("l1")); });
  trainer.fit();
  std::vector<torch::Tensor> params;
  for (const auto& p : task->networks()[0].second->parameters()) params.push_back(p.detach().clone());
  params.push_back(torch::tensor(losses, torch::kDouble));
  torch::save(params, dir + "/weights_" + mode + "_" + std::to_string(trainer.rank()) + ".pt");
  return 0;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw Error("cannot find a free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const std::vector<std::string>& env) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int launcher(const std::string& exe, std::string dir, int64_t steps) {
  if (dir.empty()) dir = (fs::temp_directory_path() / ("facegan_ddp_check_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int port = free_port();
  const std::string s = std::to_string(steps);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    pids.push_back(spawn(exe, {"--worker", dir, "ddp", s},
                         {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank), "WORLD_SIZE=2",
                          "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)}));
  }
  pids.push_back(spawn(exe, {"--worker", dir, "single", s}, {}));
  bool ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    // Bounded wait: a hung rendezvous must not hang the test suite.
    while (true) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(90)) {
        for (pid_t p : pids) ::kill(p, SIGKILL);
        std::cerr << "ddp_check: workers did not finish within 90 s\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "ddp_check: worker " << pid << " failed (status " << status << ")\n";
      ok = false;
    }
  }
  if (!ok) return 1;
  std::vector<torch::Tensor> r0, r1, single;
  torch::load(r0, dir + "/weights_ddp_0.pt");
  torch::load(r1, dir + "/weights_ddp_1.pt");
  torch::load(single, dir + "/weights_single_0.pt");
  double max_rank_diff = 0.0, max_single_diff = 0.0, max_loss_diff = 0.0;
  for (size_t i = 0; i + 1 < r0.size(); ++i) {
    max_rank_diff = std::max(max_rank_diff, (r0[i] - r1[i]).abs().max().item<double>());
    max_single_diff = std::max(max_single_diff, (r0[i] - single[i]).abs().max().item<double>());
  }
  max_loss_diff = (r0.back() - single.back()).abs().max().item<double>();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("ddp_check: %lld steps, 2 ranks x 4 vs 1 x 8 samples; max |w_rank0 - w_rank1| = %g, "
              "max |w_ddp - w_single| = %g, max |loss_ddp - loss_single| = %g (%.1f s)\n",
              static_cast<long long>(steps), max_rank_diff, max_single_diff, max_loss_diff, secs);
  const bool pass = max_rank_diff == 0.0 && max_single_diff < 1e-5 && max_loss_diff < 1e-5 &&
                    !torch::equal(r0[0], torch::zeros_like(r0[0]));
  std::printf("%s\n", pass ? "1 passed, 0 failed" : "0 passed, 1 failed");
  if (pass) fs::remove_all(dir);
  return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() >= 3 && args[0] == "--worker") {
      return worker(args[1], args[2], args.size() >= 4 ? std::stoll(args[3]) : 5);
    }
    int64_t steps = 5;
    std::string out;
    for (size_t i = 0; i + 1 < args.size(); i += 2) {
      if (args[i] == "--steps") steps = std::stoll(args[i + 1]);
      else if (args[i] == "--out") out = args[i + 1];
      else throw ConfigError("unknown flag " + args[i]);
    }
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) throw Error("cannot find this program's path");
    exe[n] = '\0';
    return launcher(exe, out, steps);
  } catch (const std::exception& e) {
    std::cerr << "ddp_check: " << error_message(e) << std::endl;
    return 1;
  }
}
