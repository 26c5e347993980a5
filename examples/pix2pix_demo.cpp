// pix2pix on a generated image pair: a U-Net generator learns to colour line drawings of shapes,
// judged by a conditional 70x70 PatchGAN (Isola et al. 2017: adversarial + 100 * L1, Adam 2e-4,
// beta1 0.5). Writes a sample sheet (input | output | target, one row per pair).
//
//   pix2pix_demo [--steps N] [--size S] [--out DIR] [--seed K] [--threads T]
#include <facegan/facegan.hpp>

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

using facegan::json;

// A line drawing of random shapes and the same shapes filled with colour: the pair pix2pix's
// facades or edges2shoes data provide, made here so the example needs no download.
std::pair<torch::Tensor, torch::Tensor> make_pair(cv::RNG& rng, int size) {
  cv::Mat lines(size, size, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::Mat filled(size, size, CV_8UC3, cv::Scalar(235, 235, 235));
  const int shapes = 2 + rng.uniform(0, 3);
  for (int s = 0; s < shapes; ++s) {
    const cv::Scalar colour(rng.uniform(30, 230), rng.uniform(30, 230), rng.uniform(30, 230));
    const cv::Point centre(rng.uniform(size / 5, 4 * size / 5), rng.uniform(size / 5, 4 * size / 5));
    const int r = rng.uniform(size / 10, size / 4);
    if (rng.uniform(0, 2) == 0) {
      cv::circle(filled, centre, r, colour, cv::FILLED, cv::LINE_AA);
      cv::circle(lines, centre, r, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    } else {
      const cv::Rect box(centre.x - r, centre.y - r, 2 * r, 2 * r);
      cv::rectangle(filled, box, colour, cv::FILLED, cv::LINE_AA);
      cv::rectangle(lines, box, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
  }
  return {facegan::data::image_to_tensor(lines), facegan::data::image_to_tensor(filled)};
}

struct Args {
  int steps = 200;
  int size = 64;
  std::string out = "runs/demo";
  uint64_t seed = 1;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: pix2pix_demo [--steps N] [--size S] [--out DIR] [--seed K] [--threads T]\n";
      std::exit(0);
    }
    if (i + 1 >= argc) throw facegan::ConfigError("flag " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--steps") a.steps = std::stoi(value);
    else if (flag == "--size") a.size = std::stoi(value);
    else if (flag == "--out") a.out = value;
    else if (flag == "--seed") a.seed = std::stoull(value);
    else if (flag == "--threads") a.threads = std::stoi(value);
    else throw facegan::ConfigError("unknown flag " + flag + "; see --help");
  }
  if (a.size < 32 || a.size % 32 != 0) throw facegan::ConfigError("--size must be a multiple of 32, got " + std::to_string(a.size));
  return a;
}

int run(const Args& args) {
  namespace fm = facegan::models;
  namespace fl = facegan::losses;
  torch::manual_seed(args.seed);
  at::set_num_threads(args.threads > 0 ? args.threads : static_cast<int>(std::thread::hardware_concurrency()));
  std::cout << "pix2pix demo: " << args.steps << " steps at " << args.size << " px, " << at::get_num_threads()
            << " threads" << std::endl;

  cv::RNG rng(args.seed);
  const int pool = 8, batch = 4;
  std::vector<torch::Tensor> inputs, targets;
  for (int i = 0; i < pool; ++i) {
    auto [a, b] = make_pair(rng, args.size);
    inputs.push_back(a);
    targets.push_back(b);
  }
  const auto all_inputs = torch::stack(inputs), all_targets = torch::stack(targets);

  // The pix2pix configuration: U-Net with as many levels as the size allows (8 at 256 px), batch
  // norm, dropout 0.5; the discriminator sees (input, output) pairs.
  int64_t depth = 0;
  for (int s = args.size; s > 1 && depth < 8; s /= 2) ++depth;
  fm::UNetGenerator generator(fm::UNetGeneratorOptions(3, 3).depth(depth).dropout(0.5));
  fm::PatchDiscriminator discriminator(fm::PatchDiscriminatorOptions(6).num_layers(args.size >= 128 ? 3 : 2));
  fm::init_weights(*generator);
  fm::init_weights(*discriminator);
  auto adversarial = fl::create_loss_as<fl::AdversarialLoss>(json{{"type", "vanilla"}}, "adversarial");
  auto l1 = fl::create_loss_as<fl::ReconstructionLoss>(json{{"type", "l1"}, {"weight", 100.0}}, "l1");
  torch::optim::Adam opt_g(generator->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  torch::optim::Adam opt_d(discriminator->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));

  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= args.steps; ++step) {
    const auto idx = torch::randperm(pool, torch::kLong).slice(0, 0, batch);
    const auto a = all_inputs.index_select(0, idx), b = all_targets.index_select(0, idx);
    const auto fake = generator->forward(a);

    opt_d.zero_grad();
    const auto d_loss = 0.5 * adversarial->discriminator_loss(discriminator->forward(torch::cat({a, b}, 1)),
                                                              discriminator->forward(torch::cat({a, fake.detach()}, 1)));
    d_loss.backward();
    opt_d.step();

    opt_g.zero_grad();
    const auto g_adv = adversarial->generator_loss(discriminator->forward(torch::cat({a, fake}, 1)));
    const auto g_l1 = (*l1)(fake, b);
    (g_adv + g_l1).backward();
    opt_g.step();

    if (step == 1 || step % 20 == 0 || step == args.steps) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %4d/%d  D %.3f  G_adv %.3f  G_L1 %.3f  (%.1f steps/s)\n", step, args.steps,
                  d_loss.item<double>(), g_adv.item<double>(), g_l1.item<double>() / 100.0, step / secs);
      std::fflush(stdout);
    }
  }

  generator->eval();
  torch::NoGradGuard no_grad;
  const auto out = generator->forward(all_inputs.slice(0, 0, 4));
  std::vector<torch::Tensor> cells;
  for (int i = 0; i < 4; ++i) {
    cells.push_back(all_inputs[i]);
    cells.push_back(out[i]);
    cells.push_back(all_targets[i]);
  }
  const std::string path = args.out + "/pix2pix_sample.png";
  facegan::data::write_image(path, facegan::data::make_grid(torch::stack(cells), 3));
  const double l1_final = (out - all_targets.slice(0, 0, 4)).abs().mean().item<double>();
  std::cout << "mean L1 of the samples against their targets: " << l1_final << "\nwrote " << path << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "pix2pix_demo: " << facegan::error_message(e) << std::endl;
    return 1;
  }
}
