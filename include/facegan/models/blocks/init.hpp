#pragma once

#include <facegan/core/config.hpp>

#include <torch/torch.h>

namespace facegan::models {

/// Weight initialisation schemes of pix2pix/CycleGAN's `init_weights`.
enum class Init { kNormal, kXavier, kKaiming, kOrthogonal };

/// Initialises every Conv2d, ConvTranspose2d and Linear weight of `module` (recursively) with
/// `init` and zeroes their biases; BatchNorm2d gets weight ~ N(1, gain), bias 0, as pix2pix.
/// `gain` is the standard deviation for kNormal (0.02 in pix2pix) and the gain for kXavier and
/// kOrthogonal; kKaiming uses fan-in with a = 0 and ignores it.
void init_weights(torch::nn::Module& module, Init init = Init::kNormal, double gain = 0.02);

}  // namespace facegan::models

namespace facegan {
template <>
struct EnumNames<models::Init> {
  static constexpr std::array<std::pair<models::Init, const char*>, 4> values{
      {{models::Init::kNormal, "normal"},
       {models::Init::kXavier, "xavier"},
       {models::Init::kKaiming, "kaiming"},
       {models::Init::kOrthogonal, "orthogonal"}}};
};
}  // namespace facegan
