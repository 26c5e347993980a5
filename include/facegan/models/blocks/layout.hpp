#pragma once

#include <torch/torch.h>

namespace facegan::models {

/// Lays out every 4-D parameter and buffer of `module` (recursively) channels-last (NHWC),
/// in place: the same tensors, the same values, other strides.
///
/// Why: on CPU, oneDNN's convolutions run natively in NHWC; with NCHW weights each call reorders
/// its input, output and weights. Convolutions propagate the weights' layout, so a network laid
/// out this way takes NCHW inputs and returns channels-last outputs of the same values (up to
/// float rounding). Measured on U-Nets it makes inference 6-10 % faster. Inside a training step
/// it was slower and peaked higher, even for a frozen feature extractor (DeRL's generator in
/// stage 2; docs/benchmarks.md), so it is for inference models. An optimizer's state created
/// before the call keeps its old layout.
void to_channels_last(torch::nn::Module& module);

/// Whether every 4-D parameter of `module` is channels-last (true for a module without any).
bool is_channels_last(const torch::nn::Module& module);

}  // namespace facegan::models
