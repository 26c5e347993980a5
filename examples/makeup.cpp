// PairedCycleGAN makeup transfer and removal (issue 6): trains the "makeup" task from a JSON config
// (synthetic pairs by default; configs/makeup_mt.json for BeautyGAN's MT layout), then loads the
// final checkpoint through the inference API and writes a grid for a few held-out pairs:
//   source | reference | lips only | eyes only | intensity 0.5 | intensity 1 | removal F(reference)
//
//   makeup [--config configs/makeup_synthetic.json] [--steps N] [--out DIR] [--threads T]
//          [--pairs 4] [--grid makeup_grid.png]
#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/makeup_pairs.hpp>
#include <facegan/models/makeup/makeup.hpp>
#include <facegan/train/trainer.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace {

using facegan::json;
namespace data = facegan::data;

int run(int argc, char** argv) {
  std::string config_path = "configs/makeup_synthetic.json", grid = "";
  int64_t pairs = 4;
  json overrides = json::object();
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: makeup [--config FILE] [--steps N] [--out DIR] [--threads T] [--pairs K] [--grid PNG]\n";
      return 0;
    }
    if (i + 1 >= argc) throw facegan::ConfigError("flag " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--config") config_path = value;
    else if (flag == "--steps") overrides["steps"] = std::stoll(value);
    else if (flag == "--out") overrides["out_dir"] = value;
    else if (flag == "--threads") overrides["threads"] = std::stoll(value);
    else if (flag == "--pairs") pairs = std::stoll(value);
    else if (flag == "--grid") grid = value;
    else throw facegan::ConfigError("unknown flag " + flag + "; see --help");
  }
  std::ifstream in(config_path);
  if (!in) throw facegan::ConfigError("cannot open config " + config_path);
  json config = json::parse(in);
  for (auto it = overrides.begin(); it != overrides.end(); ++it) config["trainer"][it.key()] = it.value();

  auto trainer = facegan::train::Trainer::from_config(config);
  const facegan::train::TrainResult result = trainer->fit();
  std::cout << "status " << facegan::enum_to_string(result.status) << " at step " << result.step << ", checkpoint "
            << result.checkpoint << "\n";
  if (config.at("data").contains("eval")) std::cout << "held-out evaluation: " << trainer->evaluate().dump() << "\n";

  // The inference API on the saved checkpoint.
  facegan::models::Makeup model = facegan::models::Makeup::load(result.checkpoint);
  const json& eval_spec = config.at("data").contains("eval") ? config.at("data").at("eval") : config.at("data").at("train");
  auto dataset = data::create_dataset(eval_spec, "data.eval");
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < std::min<int64_t>(pairs, static_cast<int64_t>(dataset->size())); ++i) {
    const data::Batch b = data::collate({dataset->get(static_cast<size_t>(i))});
    rows.push_back(torch::cat({b.at("source"), b.at("reference"), model.transfer(b, 1.0, {"lips"}), model.transfer(b, 1.0, {"eyes"}),
                               model.transfer(b, 0.5), model.transfer(b, 1.0), model.remove(b.at("reference"), b.at("reference_areas"))}));
  }
  if (grid.empty()) grid = config.at("trainer").value("out_dir", std::string("runs/makeup")) + "/makeup_grid.png";
  data::write_image(grid, data::make_grid(torch::cat(rows), 7));
  std::cout << "wrote " << grid << " (columns: source, reference, lips only, eyes only, intensity 0.5, 1, removal)\n";
  return result.status == facegan::train::RunStatus::kCompleted ? 0 : 130;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "makeup: " << facegan::error_message(e) << std::endl;
    return 1;
  }
}
