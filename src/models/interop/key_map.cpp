#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/models/interop/key_map.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

namespace facegan::models {
namespace {

std::string str(int64_t i) {
  return std::to_string(i);
}

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

/// The network's parameters, then its buffers, as the state dict order of both frameworks.
std::vector<std::pair<std::string, torch::Tensor>> network_tensors(const torch::nn::Module& network) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : network.named_parameters(true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : network.named_buffers(true)) out.emplace_back(item.key(), item.value());
  return out;
}

std::string python_name_of(const KeyMap& map, const std::string& name) {
  auto python = map.python_name(name);
  if (!python)
    throw ConfigError("key map: no Python name for facegan tensor '" + name +
                      "' (a key map that does not fit its network)");
  return *python;
}

std::string join_limited(const std::vector<std::string>& items, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > limit) out += "; ... and " + std::to_string(items.size() - limit) + " more";
  return out;
}

}  // namespace

KeyMap& KeyMap::add(const std::string& facegan, const std::string& python) {
  modules.emplace_back(facegan, python);
  return *this;
}

KeyMap& KeyMap::add_block(const std::string& facegan, const std::string& python_conv, const std::string& python_norm) {
  add(facegan + ".conv", python_conv);
  return python_norm.empty() ? *this : add(facegan + ".norm", python_norm);
}

KeyMap& KeyMap::nest(const KeyMap& other, const std::string& facegan_prefix, const std::string& python_prefix) {
  for (const auto& [f, p] : other.modules) add(facegan_prefix + f, python_prefix + p);
  return *this;
}

std::optional<std::string> KeyMap::python_name(const std::string& name) const {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string module = name.substr(0, dot);
  for (const auto& [f, p] : modules) {
    if (f == module) return p + name.substr(dot);
  }
  return std::nullopt;
}

KeyMap pix2pix_unet_keys(const UNetGeneratorOptions& o, const std::string& root) {
  // Block i's Sequential is "<path>model."; the outermost holds [down, sub, relu, up, tanh], a
  // middle one [lrelu, down, norm, sub, relu, up, norm(, dropout)], the innermost
  // [lrelu, down, relu, up, norm]; the next block is `sub`.
  KeyMap map;
  std::string s = root + "model.";
  for (int64_t i = 0; i < o.depth(); ++i) {
    const std::string level = str(i);
    if (i == 0) {
      map.add_block("down." + level, s + "0", "");
      map.add_block("up." + level, s + "3", "");
      s += "1.model.";
    } else if (i == o.depth() - 1) {
      map.add_block("down." + level, s + "1", "");
      map.add_block("up." + level, s + "3", s + "4");
    } else {
      map.add_block("down." + level, s + "1", s + "2");
      map.add_block("up." + level, s + "5", s + "6");
      s += "3.model.";
    }
  }
  return map;
}

KeyMap pix2pix_resnet_keys(const ResnetGeneratorOptions& o, const std::string& root) {
  // [pad, conv, norm, relu], per downsampling [conv, norm, relu], the blocks, per upsampling
  // [deconv, norm, relu], [pad, conv, tanh]. A block: [pad, conv, norm, relu, (dropout,) pad, conv, norm].
  KeyMap map;
  map.add_block("stem", root + "1", root + "2");
  const int64_t nd = o.num_downsampling(), blocks = 4 + 3 * nd, up = blocks + o.num_blocks();
  for (int64_t i = 0; i < nd; ++i) map.add_block("down." + str(i), root + str(4 + 3 * i), root + str(5 + 3 * i));
  const int64_t second = o.dropout() > 0.0 ? 6 : 5;
  for (int64_t i = 0; i < o.num_blocks(); ++i) {
    const std::string b = root + str(blocks + i) + ".conv_block.";
    map.add_block("blocks." + str(i) + ".conv1", b + "1", b + "2");
    map.add_block("blocks." + str(i) + ".conv2", b + str(second), b + str(second + 1));
  }
  for (int64_t i = 0; i < nd; ++i) map.add_block("up." + str(i), root + str(up + 3 * i), root + str(up + 3 * i + 1));
  map.add_block("head", root + str(up + 3 * nd + 1), "");
  return map;
}

KeyMap pix2pix_patchgan_keys(const PatchDiscriminatorOptions& o, const std::string& root) {
  // [conv, lrelu], per layer n [conv, norm, lrelu], the logit conv.
  KeyMap map;
  map.add_block("stages.0", root + "0", "");
  for (int64_t n = 1; n <= o.num_layers(); ++n)
    map.add_block("stages." + str(n), root + str(3 * n - 1), root + str(3 * n));
  map.add_block("stages." + str(o.num_layers() + 1), root + str(3 * o.num_layers() + 2), "");
  return map;
}

KeyMap mirror_identity_net_keys(const IdentityNetOptions& o) {
  KeyMap map;
  map.add_block("stem", "stem.0", "stem.1");
  for (int64_t s = 0; s < o.num_stages(); ++s) {
    for (int64_t b = 0; b < o.blocks_per_stage(); ++b) {
      const std::string block = "stages." + str(s) + "." + str(b) + ".";
      for (const char* conv : {"conv1", "conv2", "shortcut"})
        map.add_block(block + conv, block + conv + ".0", block + conv + ".1");
    }
  }
  return map.add("embedding", "embedding").add("classifier", "classifier");
}

KeyMap mirror_variational_encoder_keys(const VariationalEncoderOptions& o) {
  KeyMap map;
  for (int64_t i = 0; i < o.trunk().num_layers(); ++i)
    map.add_block("trunk.stages." + str(i), "stages." + str(i) + ".0", "stages." + str(i) + ".1");
  return map.add("trunk.head", "head").add("mu", "mu").add("logvar", "logvar");
}

KeyMap mirror_conv_decoder_keys(const ConvDecoderOptions& o) {
  KeyMap map;
  map.add("fc", "fc");
  for (int64_t k = 0; k < o.num_stages(); ++k)
    map.add_block("stages." + str(k), "stages." + str(k) + ".0", "stages." + str(k) + ".1");
  return map.add_block("head", "head.0", "").add("skip", "skip");
}

KeyMap mirror_patch_features_keys(const PatchDiscriminatorOptions& o) {
  // PatchFeatures slices reference_nets.patchgan's Sequential into "blocks"; a slice keeps the
  // Sequential's indices, so stage n's layers are "blocks.<n>.<index in the Sequential>".
  KeyMap map;
  for (const auto& [facegan, python] : pix2pix_patchgan_keys(o, "").modules) {
    const std::string stage = facegan.substr(0, facegan.find('.', 7));  // "stages.<n>"
    map.add(facegan, "blocks." + stage.substr(7) + "." + python);
  }
  return map;
}

KeyMap mirror_makeup_generator_keys(const MakeupGeneratorOptions& o) {
  KeyMap map;
  map.nest(pix2pix_unet_keys(o.global, ""), "global_path.", "global_path.");
  for (int64_t area : area_indices(o.regions, "makeup.generator.regions")) {
    map.nest(pix2pix_unet_keys(o.region, ""),
             std::string("region_") + data::kFaceAreaNames[static_cast<size_t>(area)] + ".",
             "regions." + str(area) + ".");
  }
  return map;
}

KeyMap mirror_residue_classifier_keys(const ResidueClassifierOptions& o) {
  KeyMap map;
  for (size_t k = 0; k < o.levels().size(); ++k) {
    const std::string level = str(static_cast<int64_t>(k));
    for (int64_t l = 0; l < o.local_layers(); ++l) {
      map.add_block("local_features." + level + "." + str(l), "local_features." + level + "." + str(3 * l),
                    "local_features." + level + "." + str(3 * l + 1));
    }
    map.add("local_hidden." + level, "local_hidden." + level).add("local_out." + level, "local_out." + level);
  }
  return map.add("final", "final");
}

ImportReport load_state_dict(torch::nn::Module& network, const KeyMap& map, const StateDict& state_dict,
                             const std::string& source, bool strict) {
  std::unordered_map<std::string, const torch::Tensor*> file;
  for (const auto& [key, tensor] : state_dict) file.emplace(key, &tensor);
  std::set<std::string> used;
  std::vector<std::string> mismatched, missing_text;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  ImportReport report;
  for (const auto& [name, tensor] : network_tensors(network)) {
    const std::string python = python_name_of(map, name);
    used.insert(python);
    auto it = file.find(python);
    if (it == file.end()) {
      report.missing.push_back(python);
      missing_text.push_back("missing key '" + python + "' (facegan's " + name + ", shape " + shape_text(tensor) + ")");
    } else if (it->second->sizes() != tensor.sizes()) {
      mismatched.push_back("key '" + python + "' has shape " + shape_text(*it->second) + ", facegan's " + name +
                           " needs " + shape_text(tensor));
    } else {
      copies.emplace_back(tensor, *it->second);
    }
  }
  std::vector<std::string> unexpected_text;
  for (const auto& [key, tensor] : state_dict) {
    if (used.count(key) == 0) {
      report.unused.push_back(key);
      unexpected_text.push_back("unexpected key '" + key + "' (shape " + shape_text(tensor) + ")");
    }
  }
  std::vector<std::string> errors = mismatched;
  if (strict) {
    errors.insert(errors.end(), missing_text.begin(), missing_text.end());
    errors.insert(errors.end(), unexpected_text.begin(), unexpected_text.end());
  }
  if (!errors.empty()) {
    const bool tolerable = mismatched.empty();
    throw CheckpointError("state dict " + source + " does not fit the network: " + join_limited(errors) +
                          (tolerable ? " (a non-strict load, `--strict false`, skips missing and unexpected keys)" : ""));
  }
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return report;
}

StateDict export_state_dict(const torch::nn::Module& network, const KeyMap& map) {
  StateDict out;
  std::set<std::string> names;
  for (const auto& [name, tensor] : network_tensors(network)) {
    std::string python = python_name_of(map, name);
    if (!names.insert(python).second) throw ConfigError("key map: two facegan tensors map to '" + python + "'");
    out.emplace_back(std::move(python), tensor.detach().to(torch::kCPU).clone());
  }
  return out;
}

}  // namespace facegan::models
