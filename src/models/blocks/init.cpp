#include <facegan/models/blocks/init.hpp>

namespace facegan::models {
namespace {

void init_weight(torch::Tensor& w, Init init, double gain) {
  switch (init) {
    case Init::kNormal:
      torch::nn::init::normal_(w, 0.0, gain);
      return;
    case Init::kXavier:
      torch::nn::init::xavier_normal_(w, gain);
      return;
    case Init::kKaiming:
      torch::nn::init::kaiming_normal_(w, 0.0, torch::kFanIn);
      return;
    case Init::kOrthogonal:
      torch::nn::init::orthogonal_(w, gain);
      return;
  }
}

void zero_if_defined(torch::Tensor& b) {
  if (b.defined()) torch::nn::init::zeros_(b);
}

}  // namespace

void init_weights(torch::nn::Module& module, Init init, double gain) {
  torch::NoGradGuard no_grad;
  module.apply([&](torch::nn::Module& m) {
    if (auto* conv = m.as<torch::nn::Conv2d>()) {
      init_weight(conv->weight, init, gain);
      zero_if_defined(conv->bias);
    } else if (auto* deconv = m.as<torch::nn::ConvTranspose2d>()) {
      init_weight(deconv->weight, init, gain);
      zero_if_defined(deconv->bias);
    } else if (auto* linear = m.as<torch::nn::Linear>()) {
      init_weight(linear->weight, init, gain);
      zero_if_defined(linear->bias);
    } else if (auto* bn = m.as<torch::nn::BatchNorm2d>()) {
      if (bn->weight.defined()) torch::nn::init::normal_(bn->weight, 1.0, gain);
      zero_if_defined(bn->bias);
    }
  });
}

}  // namespace facegan::models
