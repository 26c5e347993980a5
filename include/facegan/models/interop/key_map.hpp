#pragma once
// Key maps: where each tensor of a facegan network lives in the state dict of its Python
// counterpart, per architecture, and the two transfers through a map (state dict -> network with
// every key and shape checked; network -> state dict). The Python names are those of
// pytorch-CycleGAN-and-pix2pix's models/networks.py (mirrored by benchmarks/python/reference_nets.py)
// and of the Python mirrors of the papers' networks in benchmarks/python/bench_steps.py.

#include <facegan/models/blocks/decoder.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/derl/residue_classifier.hpp>
#include <facegan/models/interop/state_dict.hpp>
#include <facegan/models/makeup/makeup_generator.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace facegan::models {

/// Module paths of a facegan network paired with those of its Python counterpart. A tensor
/// "<facegan path>.<leaf>" (leaf: weight, bias, running_mean, running_var, num_batches_tracked) is
/// "<python path>.<leaf>" in the Python state dict. Every tensor of the network must have an entry;
/// entries of modules the network lacks (a norm under Norm::kNone) are unused.
struct KeyMap {
  std::vector<std::pair<std::string, std::string>> modules;

  /// One module: facegan path -> Python path.
  KeyMap& add(const std::string& facegan, const std::string& python);
  /// A ConvBlock at `facegan`: its "conv" at `python_conv`, its "norm" at `python_norm` ("": none).
  KeyMap& add_block(const std::string& facegan, const std::string& python_conv, const std::string& python_norm);
  /// Every entry of `other` (a sub-network's map) under the two prefixes.
  KeyMap& nest(const KeyMap& other, const std::string& facegan_prefix, const std::string& python_prefix);
  /// The Python name of facegan tensor `name` ("down.1.conv.weight"); nullopt without an entry.
  std::optional<std::string> python_name(const std::string& name) const;
};

/// pytorch-CycleGAN-and-pix2pix's UnetGenerator (unet_256 = depth 8, unet_128 = depth 7): the
/// recursive UnetSkipConnectionBlock names ("model.model.1.model.3.model.1" is level 2's down
/// convolution). `root` is the path of the outermost block: "model." in UnetGenerator, "" for a
/// bare block (reference_nets.unet, as the makeup mirror uses it).
KeyMap pix2pix_unet_keys(const UNetGeneratorOptions& options, const std::string& root = "model.");
/// pytorch-CycleGAN-and-pix2pix's ResnetGenerator (resnet_9blocks, resnet_6blocks): one Sequential
/// "model" of padding, convolution, norm, ReLU ... with ResnetBlock "conv_block"s; with dropout
/// (pix2pix without --no_dropout) each block's second convolution moves up one index.
KeyMap pix2pix_resnet_keys(const ResnetGeneratorOptions& options, const std::string& root = "model.");
/// pytorch-CycleGAN-and-pix2pix's NLayerDiscriminator (the "basic" 70x70 PatchGAN at 3 layers): one
/// Sequential "model" ("" for reference_nets.patchgan's bare Sequential).
KeyMap pix2pix_patchgan_keys(const PatchDiscriminatorOptions& options, const std::string& root = "model.");

/// bench_steps.py's IdentityNet (open_set's I = C): ConvBlocks as Sequential(conv, norm, act).
KeyMap mirror_identity_net_keys(const IdentityNetOptions& options);
/// bench_steps.py's VariationalEncoder (open_set's A): the trunk's stages at top level.
KeyMap mirror_variational_encoder_keys(const VariationalEncoderOptions& options);
/// bench_steps.py's ConvDecoder (open_set's G).
KeyMap mirror_conv_decoder_keys(const ConvDecoderOptions& options);
/// bench_steps.py's PatchFeatures (open_set's D): reference_nets.patchgan's Sequential sliced into
/// "blocks", each slice keeping its layers' indices ("blocks.1.2.weight").
KeyMap mirror_patch_features_keys(const PatchDiscriminatorOptions& options);
/// bench_steps.py's MakeupGenerator (makeup's G): "global_path" and "regions.<area id>" as bare
/// reference U-Nets (area ids: eyes 0, lips 1, skin 2).
KeyMap mirror_makeup_generator_keys(const MakeupGeneratorOptions& options);
/// bench_steps.py's ResidueClassifier (DeRL's classifier): local ConvBlocks flattened into one
/// Sequential per tapped level.
KeyMap mirror_residue_classifier_keys(const ResidueClassifierOptions& options);

/// What a tolerant load left out.
struct ImportReport {
  /// Keys of the state dict that no tensor of the network took.
  std::vector<std::string> unused;
  /// Python names of network tensors the state dict lacks (they keep their values).
  std::vector<std::string> missing;
};

/// Copies `state_dict` into `network` through `map`, converting dtypes. Every shape must match:
/// otherwise CheckpointError naming `source`, each key at fault and both shapes (nothing is
/// copied). `strict`: a missing or an extra key is an error too (naming them); not strict: they
/// are listed in the report. ConfigError when the map has no entry for a tensor of the network.
ImportReport load_state_dict(torch::nn::Module& network, const KeyMap& map, const StateDict& state_dict,
                             const std::string& source, bool strict = true);

/// The parameters and buffers of `network` under their Python names (CPU copies), in the network's
/// order: what the Python counterpart's load_state_dict takes. ConfigError when the map has no
/// entry for a tensor of the network.
StateDict export_state_dict(const torch::nn::Module& network, const KeyMap& map);

}  // namespace facegan::models
