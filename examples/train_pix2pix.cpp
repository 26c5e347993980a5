// Trains the pix2pix task (U-Net G + conditional PatchGAN D) through the Trainer on rendered face
// pairs (expressive -> neutral of the same person, pose and light), from a JSON config. Writes
// checkpoints, metrics.jsonl and sample grids under the config's out_dir; run it again to resume.
//
//   train_pix2pix [--config configs/pix2pix_synthetic.json] [--steps N] [--out DIR] [--device D]
//                 [--threads T] [--amp none|bf16|fp16]
//
// Data parallel: start one process per rank with torchrun's variables, e.g. on one machine
//   MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 WORLD_SIZE=2 RANK=0 train_pix2pix &
//   MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 WORLD_SIZE=2 RANK=1 train_pix2pix
#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/train/trainer.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace {

using facegan::json;

int run(int argc, char** argv) {
  std::string config_path = "configs/pix2pix_synthetic.json";
  json overrides = json::object();
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: train_pix2pix [--config FILE] [--steps N] [--out DIR] [--device D] [--threads T] "
                   "[--amp none|bf16|fp16]\n";
      return 0;
    }
    if (i + 1 >= argc) throw facegan::ConfigError("flag " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--config") config_path = value;
    else if (flag == "--steps") overrides["steps"] = std::stoll(value);
    else if (flag == "--out") overrides["out_dir"] = value;
    else if (flag == "--device") overrides["device"] = value;
    else if (flag == "--threads") overrides["threads"] = std::stoll(value);
    else if (flag == "--amp") overrides["amp"] = value;
    else throw facegan::ConfigError("unknown flag " + flag + "; see --help");
  }
  std::ifstream in(config_path);
  if (!in) throw facegan::ConfigError("cannot open config " + config_path);
  json config;
  try {
    config = json::parse(in);
  } catch (const json::exception& e) {
    throw facegan::ConfigError(config_path + ": " + e.what());
  }
  for (auto it = overrides.begin(); it != overrides.end(); ++it) config["trainer"][it.key()] = it.value();

  auto trainer = facegan::train::Trainer::from_config(config);
  const facegan::train::TrainResult result = trainer->fit();
  if (trainer->rank() == 0) {
    const json eval = trainer->evaluate();
    std::cout << "status " << facegan::enum_to_string(result.status) << " at step " << result.step
              << ", checkpoint " << result.checkpoint << "\n";
    if (!eval.empty()) std::cout << "held-out evaluation (EMA generator): " << eval.dump() << "\n";
  }
  return result.status == facegan::train::RunStatus::kCompleted ? 0 : 130;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "train_pix2pix: " << facegan::error_message(e) << std::endl;
    return 1;
  }
}
