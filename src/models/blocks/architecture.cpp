#include <facegan/core/error.hpp>
#include <facegan/models/blocks/architecture.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/models/blocks/unet.hpp>

namespace facegan::models {

json architecture_json(const torch::nn::Module& network) {
  if (const auto* m = dynamic_cast<const UNetGeneratorImpl*>(&network)) {
    return {{"type", "unet_generator"}, {"options", options_to_json(m->options)}};
  }
  if (const auto* m = dynamic_cast<const ResnetGeneratorImpl*>(&network)) {
    return {{"type", "resnet_generator"}, {"options", options_to_json(m->options)}};
  }
  if (const auto* m = dynamic_cast<const PatchDiscriminatorImpl*>(&network)) {
    return {{"type", "patch_discriminator"}, {"options", options_to_json(m->options)}};
  }
  throw ConfigError("architecture_json: a " + network.name() + " has no architecture record");
}

std::shared_ptr<torch::nn::Module> build_architecture(const json& record, const std::string& where) {
  const std::string type = record.is_object() ? record.value("type", "") : "";
  const json options = record.is_object() ? record.value("options", json::object()) : json::object();
  const std::string at = where + ".options";
  if (type == "unet_generator") return UNetGenerator(apply_json(UNetGeneratorOptions(), options, at)).ptr();
  if (type == "resnet_generator") return ResnetGenerator(apply_json(ResnetGeneratorOptions(), options, at)).ptr();
  if (type == "patch_discriminator") {
    return PatchDiscriminator(apply_json(PatchDiscriminatorOptions(), options, at)).ptr();
  }
  throw ConfigError(where + ".type: unknown architecture '" + type +
                    "'; known: unet_generator, resnet_generator, patch_discriminator");
}

}  // namespace facegan::models
