// DeRL end to end on the synthetic faces: stage 1 (de-expression cGAN) and stage 2 (residue
// classifier on the frozen generator) through the Trainer, evaluation on held-out identities, then
// the inference API on a few rendered faces and a sample sheet (input | neutralized | true neutral).
//
//   build/examples/derl [config.json] [--quick] [--steps1 N] [--steps2 N] [--out DIR]
//
// Default config: configs/derl_synthetic.json (the long schedule). --quick: 32-pixel faces, a small
// U-Net and a few hundred steps per stage, a couple of minutes on two CPU cores.

#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/models/derl/derl.hpp>
#include <facegan/models/derl/derl_experiment.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>

using namespace facegan;

namespace {

/// The --quick schedule, merged over the config.
json quick_patch() {
  const json gen = {{"depth", 5}, {"base_channels", 16}, {"dropout", 0.0}};
  const json data_common = {{"size", 32}, {"num_identities", 60}, {"held_out_identities", 12}};
  json train = data_common, eval = data_common;
  train["num_samples"] = 3000;
  eval["num_samples"] = 200;
  return json{{"data", {{"train", train}, {"eval", eval}, {"loader", {{"batch_size", 16}, {"prefetch_threads", 1}}}}},
              {"deexpression",
               {{"trainer", {{"steps", 600}, {"log_every", 100}, {"sample_every", 0}, {"checkpoint_every", 0},
                             {"eval_every", 0}}},
                {"task", {{"generator", gen}, {"discriminator", {{"base_channels", 16}, {"num_layers", 2}}},
                          {"optimizer_g", {{"lr", 0.001}}}}}}},
              {"classify",
               {{"trainer", {{"steps", 400}, {"log_every", 100}, {"checkpoint_every", 0}, {"eval_every", 0}}},
                {"task", {{"generator", gen}, {"classifier", {{"local_channels", 32}, {"hidden", 64}, {"dropout", 0.0}}}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    std::string config_path = "configs/derl_synthetic.json", out = "runs/derl_example";
    bool quick = false;
    int64_t steps1 = 0, steps2 = 0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw ConfigError("missing value after " + a);
        return argv[++i];
      };
      if (a == "--quick") {
        quick = true;
      } else if (a == "--steps1") {
        steps1 = std::stoll(next());
      } else if (a == "--steps2") {
        steps2 = std::stoll(next());
      } else if (a == "--out") {
        out = next();
      } else if (!a.empty() && a[0] != '-') {
        config_path = a;
      } else {
        std::cerr << "usage: derl [config.json] [--quick] [--steps1 N] [--steps2 N] [--out DIR]\n";
        return 2;
      }
    }
    std::ifstream file(config_path);
    if (!file) throw ConfigError("cannot open config " + config_path);
    json config = json::parse(file);
    if (quick) config.merge_patch(quick_patch());
    if (!config.at("data").contains("eval")) throw ConfigError("derl example: the config needs data.eval");

    auto train_data = data::create_dataset(config.at("data").at("train"), "data.train");
    auto eval_data = data::create_dataset(config.at("data").at("eval"), "data.eval");
    std::cout << "train " << train_data->size() << " pairs, eval " << eval_data->size() << " pairs\n";

    // Stage 1: expressive -> neutral.
    json t1 = {{"out_dir", out + "/deexpression"}, {"resume", "none"}};
    if (steps1 > 0) t1["steps"] = steps1;
    models::DeRLStageRun s1 = models::train_derl_stage(config, "deexpression", train_data, eval_data, t1, {}, &std::cout);
    const json e1 = s1.trainer->evaluate();
    std::cout << "stage 1 (de-expression) on held-out identities: " << e1.dump() << "\n";

    // Stage 2: the frozen generator's residue -> expression.
    json t2 = {{"out_dir", out + "/classify"}, {"resume", "none"}};
    if (steps2 > 0) t2["steps"] = steps2;
    models::DeRLStageRun s2 = models::train_derl_stage(config, "classify", train_data, eval_data, t2,
                                                       {{"generator_checkpoint", s1.checkpoint}}, &std::cout);
    const json e2 = s2.trainer->evaluate();
    std::cout << "stage 2 (classification) on held-out identities: accuracy " << e2.at("accuracy").get<double>()
              << ", local heads " << e2.value("local_accuracy", json()).dump() << "\n";

    // The inference API from the stage-2 checkpoint.
    const models::DeRL model = models::DeRL::load(s2.checkpoint);
    const std::vector<std::string> names = model.class_names();
    std::vector<torch::Tensor> rows;
    std::cout << "\nface  truth       predicted   p(predicted)\n";
    for (size_t i = 0; i < 6 && i < eval_data->size(); ++i) {
      const data::Sample s = eval_data->get(i);
      const cv::Mat face = data::tensor_to_image(s.at("input"));
      const cv::Mat neutral = model.neutralize(face);
      const std::vector<double> p = model.classify(face);
      const size_t best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      const int64_t truth = s.at("expression").item<int64_t>();
      std::cout << std::setw(4) << i << "  " << std::left << std::setw(11)
                << data::kExpressionClassNames.at(static_cast<size_t>(truth)) << " " << std::setw(11) << names[best]
                << std::right << " " << std::fixed << std::setprecision(3) << p[best] << "\n";
      rows.push_back(s.at("input"));
      rows.push_back(data::image_to_tensor(neutral));
      rows.push_back(s.at("target"));
    }
    const std::string sheet = out + "/derl_samples.png";
    data::write_image(sheet, data::make_grid(torch::stack(rows), 3));
    std::cout << "\nwrote " << sheet << " (rows: input | neutralized | ground-truth neutral)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "derl: " << e.what() << "\n";
    return 1;
  }
}
