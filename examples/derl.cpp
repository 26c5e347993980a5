// DeRL end to end on the synthetic faces: the config's pipeline (stage 1 the de-expression cGAN,
// stage 2 the residue classifier on the frozen generator) through the Trainer, evaluation on
// held-out identities, then the inference API on a few rendered faces and a sample sheet
// (input | neutralized | true neutral).
//
//   build/examples/derl [config.json] [--quick] [--steps1 N] [--steps2 N] [--out DIR]
//   build/examples/derl --sheet CHECKPOINT --out FILE.png [--size 64]
//       one rendered face per expression at peak intensity, through a trained model: input |
//       generated neutral | true neutral | |generated residue| | |true residue| (residues x4), and
//       FILE.txt with the caption (`facegan report` shows FILE.figure.png files with it)
//
// Default config: configs/derl_synthetic.json (the long schedule). --quick: 32-pixel faces, a small
// U-Net and a few hundred steps per stage, a couple of minutes on two CPU cores. Rerunning the same
// command continues an interrupted run (each stage resumes from its checkpoints).

#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/data/synthetic_faces.hpp>
#include <facegan/models/derl/derl.hpp>
#include <facegan/train/pipeline.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>

using namespace facegan;

namespace {

/// The --quick schedule, as overrides of the config.
std::vector<std::string> quick_overrides() {
  const std::string gen = R"({"depth": 5, "base_channels": 16, "dropout": 0.0})";
  std::vector<std::string> o{"data.loader={\"batch_size\": 16, \"prefetch_threads\": 1}"};
  for (const char* split : {"train", "eval"}) {
    const std::string k = std::string("data.") + split + ".";
    o.push_back(k + "size=32");
    o.push_back(k + "num_identities=60");
    o.push_back(k + "held_out_identities=12");
    o.push_back(k + "num_samples=" + (std::string(split) == "train" ? "3000" : "200"));
  }
  for (const char* stage : {"deexpression", "classify"}) {
    const std::string k = std::string("stages.") + stage + ".";
    o.push_back(k + "trainer.steps=" + (std::string(stage) == "deexpression" ? "600" : "400"));
    o.push_back(k + "trainer.checkpoint_every=0");
    o.push_back(k + "trainer.eval_every=0");
    o.push_back(k + "task.generator=" + gen);
  }
  o.push_back("stages.deexpression.task.discriminator={\"base_channels\": 16, \"num_layers\": 2}");
  o.push_back("stages.deexpression.task.optimizer_g.lr=0.001");
  o.push_back("stages.classify.task.classifier={\"local_channels\": 32, \"hidden\": 64, \"dropout\": 0.0}");
  return o;
}

/// The expression sheet of a trained model (--sheet): rows happy .. fearful.
int write_sheet(const std::string& checkpoint, const std::string& out, int64_t size) {
  const models::DeRL model = models::DeRL::load(checkpoint);
  const data::SyntheticFaces renderer(data::SyntheticFacesOptions().size(size).makeup_probability(0.0));
  std::vector<torch::Tensor> cells;
  auto magnified = [](const torch::Tensor& residue) { return (residue.abs() * 4.0 * 2.0 - 1.0).clamp(-1, 1); };
  for (int64_t e = 1; e <= 6; ++e) {  // happy .. fearful, the renderer's expressions
    data::FaceFactors f = renderer.sample_factors(static_cast<uint64_t>(100 + e), data::Split::kHeldOut);
    f.expression = static_cast<data::Expression>(e);
    f.intensity = 1.0;
    data::FaceFactors neutral = f;
    neutral.expression = data::Expression::kNeutral;
    neutral.intensity = 0.0;
    const torch::Tensor x = renderer.render_sample(f).at("image");
    const torch::Tensor n = renderer.render_sample(neutral).at("image");
    const torch::Tensor g = model.neutralize(x.unsqueeze(0))[0].to(torch::kCPU, torch::kFloat);
    for (const torch::Tensor& t : {x, g, n, magnified(x - g), magnified(x - n)}) cells.push_back(t);
  }
  data::write_image(out, data::make_grid(torch::stack(cells), 5));
  std::string caption = out;
  if (caption.size() > 4 && caption.compare(caption.size() - 4, 4, ".png") == 0) caption.resize(caption.size() - 4);
  std::ofstream(caption + ".txt")
      << "DeRL, one held-out face per expression (rows happy, sad, angry, surprised, disgusted, fearful) at peak "
         "intensity; columns: input | generated neutral | true neutral render | |input - generated| x4 | "
         "|input - true neutral| x4 (the residue the classifier should find)";
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    std::string config_path = "configs/derl_synthetic.json", out = "runs/derl_example";
    bool quick = false;
    int64_t steps1 = 0, steps2 = 0, size = 64;
    std::string sheet_checkpoint;
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
      } else if (a == "--sheet") {
        sheet_checkpoint = next();
      } else if (a == "--size") {
        size = std::stoll(next());
      } else if (!a.empty() && a[0] != '-') {
        config_path = a;
      } else {
        std::cerr << "usage: derl [config.json] [--quick] [--steps1 N] [--steps2 N] [--out DIR]\n"
                     "       derl --sheet CHECKPOINT --out FILE.png [--size 64]\n";
        return 2;
      }
    }
    if (!sheet_checkpoint.empty()) return write_sheet(sheet_checkpoint, out, size);
    json config = load_json_file(config_path);
    if (quick) apply_overrides(config, quick_overrides());
    if (steps1 > 0) set_json_path(config, "stages.deexpression.trainer.steps", steps1);
    if (steps2 > 0) set_json_path(config, "stages.classify.trainer.steps", steps2);
    set_json_path(config, "trainer.out_dir", out);
    if (!config.at("data").contains("eval")) throw ConfigError("derl example: the config needs data.eval");

    train::PipelineOptions po;
    po.keep_trainers = true;
    train::PipelineRun run = train::run_pipeline(config, po);
    if (run.status != train::RunStatus::kCompleted) {
      std::cout << "interrupted; run the same command again to continue\n";
      return 130;
    }
    std::cout << "stage 1 (de-expression) on held-out identities: " << run.stage("deexpression").trainer->evaluate().dump()
              << "\n";
    const json e2 = run.stage("classify").trainer->evaluate();
    std::cout << "stage 2 (classification) on held-out identities: accuracy " << e2.at("accuracy").get<double>()
              << ", local heads " << e2.value("local_accuracy", json()).dump() << "\n";
    auto eval_data = data::create_dataset(config.at("data").at("eval"), "data.eval");

    // The inference API from the stage-2 checkpoint.
    const models::DeRL model = models::DeRL::load(run.stage("classify").checkpoint);
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
