// Open-set identity-preserving face synthesis (Bao et al. 2018), end to end:
//   1. trains the identity classifier (the warm start of I/C): the config's "identity" stage,
//   2. trains the open_set task (its "open_set" stage), I/C warm-started from step 1,
//   3. loads the final checkpoint with the OpenSet inference API and writes, for held-out
//      identities never seen in training: mix(x_s, x_a) beside the ground truth, random attributes
//      (sample) and an identity interpolation, as PNG grids under --out.
//
//   OMP_NUM_THREADS=1 build/examples/open_set --config configs/open_set_synthetic.json
//       [--identity-steps N] [--steps N] [--out runs/open_set_example]
//   build/examples/open_set --checkpoint CKPT --identity a.png --attribute b.png --output mix.png
//       (apply a trained model to two face images of any size; 8-bit BGR via OpenCV)

#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/identity_pairs.hpp>
#include <facegan/data/image.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/open_set/open_set.hpp>
#include <facegan/train/pipeline.hpp>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <iostream>
#include <string>

using namespace facegan;

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    std::string config_path = "configs/open_set_synthetic.json", out = "runs/open_set_example";
    std::string checkpoint, identity_path, attribute_path, output_path = "mix.png";
    int64_t identity_steps = -1, steps = -1;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw ConfigError(a + ": missing value");
        return argv[++i];
      };
      if (a == "--config") config_path = next();
      else if (a == "--identity-steps") identity_steps = std::stoll(next());
      else if (a == "--steps") steps = std::stoll(next());
      else if (a == "--out") out = next();
      else if (a == "--checkpoint") checkpoint = next();
      else if (a == "--identity") identity_path = next();
      else if (a == "--attribute") attribute_path = next();
      else if (a == "--output") output_path = next();
      else throw ConfigError("unknown flag " + a);
    }

    if (!checkpoint.empty()) {
      // Inference on two images.
      const models::OpenSet model = models::OpenSet::load(checkpoint);
      const cv::Mat id = cv::imread(identity_path, cv::IMREAD_COLOR), attr = cv::imread(attribute_path, cv::IMREAD_COLOR);
      if (id.empty()) throw DataError("cannot read --identity image " + identity_path);
      if (attr.empty()) throw DataError("cannot read --attribute image " + attribute_path);
      cv::imwrite(output_path, model.mix(id, attr));
      std::printf("wrote %s\n", output_path.c_str());
      return 0;
    }

    json config = load_json_file(config_path);
    if (identity_steps >= 0) set_json_path(config, "stages.identity.trainer.steps", identity_steps);
    if (steps >= 0) set_json_path(config, "stages.open_set.trainer.steps", steps);
    set_json_path(config, "trainer.out_dir", out);
    // Stage 1 the identity classifier, stage 2 open_set with I/C warm-started from it (the config's
    // "inputs"); the same command continues an interrupted run.
    const train::PipelineRun run = train::run_pipeline(config);
    if (run.status != train::RunStatus::kCompleted) {
      std::printf("interrupted; run the same command again to continue\n");
      return 130;
    }
    const std::string checkpoint_path = run.stages.back().checkpoint;

    // Held-out identities, different people: the answer is known exactly.
    const models::OpenSet model = models::OpenSet::load(checkpoint_path);
    json eval_spec = config.at("data").at("eval");
    eval_spec["num_samples"] = 8;
    auto pairs = data::create_dataset(eval_spec, "open_set.data.eval");
    std::vector<data::Sample> s;
    for (size_t i = 0; i < pairs->size(); ++i) s.push_back(pairs->get(i));
    const data::Batch b = data::collate(s);
    const torch::Tensor mix = model.mix(b.at("source"), b.at("attribute"));
    std::printf("held-out mix vs ground truth: PSNR %.2f dB, SSIM %.3f (x_a itself: %.2f dB, %.3f)\n",
                metrics::psnr(mix, b.at("target")), metrics::ssim(mix, b.at("target")),
                metrics::psnr(b.at("attribute"), b.at("target")), metrics::ssim(b.at("attribute"), b.at("target")));
    data::write_image(out + "/mix.png",
                      data::make_grid(torch::cat({b.at("source"), b.at("attribute"), mix, b.at("target")}), 8));
    data::write_image(out + "/sample.png", data::make_grid(model.sample(b.at("source").slice(0, 0, 4), 6, 0), 6));
    data::write_image(out + "/interpolate.png",
                      data::make_grid(model.interpolate(b.at("source")[0], b.at("source")[1], b.at("attribute")[2], 8), 8));
    std::printf("wrote %s/mix.png (rows: x_s, x_a, mix, ground truth), sample.png, interpolate.png\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "open_set: " << e.what() << "\n";
    return 1;
  }
}
