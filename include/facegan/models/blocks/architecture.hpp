#pragma once
// A network recorded by its type and options, for checkpoints that hold a network no task builds
// (`facegan import` of a pytorch-CycleGAN-and-pix2pix ResNet generator): meta "architectures"
// maps a network name to such a record, and loaders build the network from it.

#include <torch/torch.h>

#include <facegan/core/config.hpp>
#include <memory>
#include <string>

namespace facegan::models {

/// {"type": "unet_generator" | "resnet_generator" | "patch_discriminator", "options": {...}} of a
/// UNetGenerator, ResnetGenerator or PatchDiscriminator. ConfigError for any other module.
json architecture_json(const torch::nn::Module& network);

/// The network a record of architecture_json describes, freshly initialised. ConfigError naming
/// `where` and the type or option at fault.
std::shared_ptr<torch::nn::Module> build_architecture(const json& record, const std::string& where);

}  // namespace facegan::models
