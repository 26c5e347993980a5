#include <algorithm>
#include <facegan/core/error.hpp>
#include <facegan/models/blocks/architecture.hpp>
#include <facegan/models/interop/python_weights.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/task.hpp>
#include <set>
#include <type_traits>

namespace facegan::models {
namespace {

// ---------------------------------------------------------------------------------------------
// The catalogue: each task network's Python counterpart.

constexpr const char* kUnetClass = "networks.UnetGenerator";
constexpr const char* kResnetClass = "networks.ResnetGenerator";
constexpr const char* kPatchClass = "networks.NLayerDiscriminator";

using KeysFn = std::optional<KeyMap> (*)(const torch::nn::Module&);

template <class Impl>
using OptionsOf = std::remove_cv_t<decltype(Impl::options)>;

constexpr char kModelRoot[] = "model.";  // pix2pix's classes hold their layers in "model"
constexpr char kBareRoot[] = "";         // reference_nets' bare U-Net block and Sequential

/// The key map of a pix2pix class under `Root` for a network of type Impl; nullopt for another type.
template <class Impl, KeyMap (*Make)(const OptionsOf<Impl>&, const std::string&), const char* Root>
std::optional<KeyMap> pix2pix_keys(const torch::nn::Module& network) {
  const auto* m = dynamic_cast<const Impl*>(&network);
  return m == nullptr ? std::nullopt : std::optional<KeyMap>(Make(m->options, Root));
}

/// The key map of a bench_steps.py mirror for a network of type Impl; nullopt for another type.
template <class Impl, KeyMap (*Make)(const OptionsOf<Impl>&)>
std::optional<KeyMap> mirror_keys(const torch::nn::Module& network) {
  const auto* m = dynamic_cast<const Impl*>(&network);
  return m == nullptr ? std::nullopt : std::optional<KeyMap>(Make(m->options));
}

constexpr KeysFn unet_model = pix2pix_keys<UNetGeneratorImpl, pix2pix_unet_keys, kModelRoot>;
constexpr KeysFn unet_bare = pix2pix_keys<UNetGeneratorImpl, pix2pix_unet_keys, kBareRoot>;
constexpr KeysFn resnet_model = pix2pix_keys<ResnetGeneratorImpl, pix2pix_resnet_keys, kModelRoot>;
constexpr KeysFn patchgan_model = pix2pix_keys<PatchDiscriminatorImpl, pix2pix_patchgan_keys, kModelRoot>;
constexpr KeysFn patchgan_bare = pix2pix_keys<PatchDiscriminatorImpl, pix2pix_patchgan_keys, kBareRoot>;
constexpr KeysFn patch_features = mirror_keys<PatchDiscriminatorImpl, mirror_patch_features_keys>;
constexpr KeysFn identity_net = mirror_keys<IdentityNetImpl, mirror_identity_net_keys>;
constexpr KeysFn variational_encoder = mirror_keys<VariationalEncoderImpl, mirror_variational_encoder_keys>;
constexpr KeysFn conv_decoder = mirror_keys<ConvDecoderImpl, mirror_conv_decoder_keys>;
constexpr KeysFn makeup_generator = mirror_keys<MakeupGeneratorImpl, mirror_makeup_generator_keys>;
constexpr KeysFn residue_classifier = mirror_keys<ResidueClassifierImpl, mirror_residue_classifier_keys>;

struct CounterpartRule {
  const char* task;
  const char* network;
  const char* python_class;
  KeysFn keys;
};

const CounterpartRule kRules[] = {
    {"pix2pix", "g", kUnetClass, unet_model},
    {"pix2pix", "d", kPatchClass, patchgan_model},
    {"derl", "g", kUnetClass, unet_model},
    {"derl", "d", kPatchClass, patchgan_model},
    {"derl", "classifier", "bench_steps.ResidueClassifier", residue_classifier},
    {"open_set", "identity", "bench_steps.IdentityNet", identity_net},
    {"open_set", "attribute", "bench_steps.VariationalEncoder", variational_encoder},
    {"open_set", "generator", "bench_steps.ConvDecoder", conv_decoder},
    {"open_set", "discriminator", "bench_steps.PatchFeatures", patch_features},
    {"identity_classifier", "identity", "bench_steps.IdentityNet", identity_net},
    {"makeup", "g", "bench_steps.MakeupGenerator", makeup_generator},
    {"makeup", "f", "reference_nets.unet", unet_bare},
    {"makeup", "d_x", "reference_nets.patchgan", patchgan_bare},
    {"makeup", "d_y", "reference_nets.patchgan", patchgan_bare},
    {"makeup", "d_s", "reference_nets.patchgan", patchgan_bare},
};

/// Options that keep a task from reading other checkpoints while it is built (its warm starts):
/// the weights come from the file at hand.
json without_warm_start(json task) {
  const std::string type = task.value("type", "");
  if (type == "open_set") task["identity_checkpoint"] = "";
  if (type == "derl") task["generator_checkpoint"] = "";
  return task;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::string> network_names(const train::NamedModules& networks) {
  std::vector<std::string> names;
  for (const auto& [n, m] : networks) names.push_back(n);
  return names;
}

std::shared_ptr<torch::nn::Module> find_network(const train::NamedModules& networks, const std::string& name,
                                                const std::string& where) {
  for (const auto& [n, m] : networks) {
    if (n == name) return m;
  }
  throw ConfigError(where + " has no network '" + name + "'; it has: " + join(network_names(networks)));
}

// ---------------------------------------------------------------------------------------------
// pytorch-CycleGAN-and-pix2pix's architectures: the layout is the name's, the channel counts the
// file's.

enum class Pix2PixKind { kUnet, kResnet, kPatchGan };

struct Pix2PixArch {
  const char* name;
  Pix2PixKind kind;
  int64_t size;  // U-Net depth, ResNet blocks or PatchGAN layers
};

const Pix2PixArch kPix2PixArchs[] = {
    {"unet_256", Pix2PixKind::kUnet, 8},         {"unet_128", Pix2PixKind::kUnet, 7},
    {"resnet_9blocks", Pix2PixKind::kResnet, 9}, {"resnet_6blocks", Pix2PixKind::kResnet, 6},
    {"patchgan", Pix2PixKind::kPatchGan, 3},
};

const torch::Tensor* find_key(const StateDict& state_dict, const std::string& key) {
  for (const auto& [k, t] : state_dict) {
    if (k == key) return &t;
  }
  return nullptr;
}

/// Channel counts of a network as its file has them: input and base channels from the weight that
/// facegan's `first` maps to ([base, in, k, k]), output channels from dimension `out_dim` of
/// `last`'s (none without `last`). CheckpointError naming the file and the key (and the file's first
/// keys) when the file lacks one.
struct FileChannels {
  int64_t in = 0, base = 0, out = 0;
};

FileChannels file_channels(const StateDict& state_dict, const KeyMap& map, const char* first, const char* last,
                           int64_t out_dim, const std::string& file, const std::string& arch) {
  const auto weight = [&](const char* name) {
    const std::string key = map.python_name(name).value();
    const torch::Tensor* t = find_key(state_dict, key);
    if (t == nullptr || t->dim() != 4) {
      std::vector<std::string> keys;
      for (size_t i = 0; i < state_dict.size() && i < 4; ++i) keys.push_back(state_dict[i].first);
      throw CheckpointError("state dict " + file + " has no key '" + key + "' as a pytorch-CycleGAN-and-pix2pix " +
                            arch + " has" +
                            (keys.empty() ? std::string(" (the file is empty)") : "; its keys begin: " + join(keys)));
    }
    return t->sizes();
  };
  FileChannels c;
  c.in = weight(first)[1];
  c.base = weight(first)[0];
  if (last != nullptr) c.out = weight(last)[out_dim];
  return c;
}

/// The network of a pix2pix architecture that fits `state_dict`.
std::shared_ptr<torch::nn::Module> pix2pix_network(Pix2PixKind kind, int64_t size, Norm norm,
                                                   const StateDict& state_dict, const std::string& file,
                                                   const std::string& arch) {
  switch (kind) {
    case Pix2PixKind::kUnet: {
      auto o = UNetGeneratorOptions().depth(size).norm(norm).dropout(0.5);
      // A transposed convolution's weight is [in, out, k, k].
      const auto c =
          file_channels(state_dict, pix2pix_unet_keys(o), "down.0.conv.weight", "up.0.conv.weight", 1, file, arch);
      return UNetGenerator(o.in_channels(c.in).base_channels(c.base).out_channels(c.out)).ptr();
    }
    case Pix2PixKind::kResnet: {
      auto o = ResnetGeneratorOptions().num_blocks(size).norm(norm).dropout(0.5);
      // With dropout a block's second convolution sits where its norm sits without (a 4-d weight).
      const torch::Tensor* second =
          find_key(state_dict, pix2pix_resnet_keys(o).python_name("blocks.0.conv2.conv.weight").value());
      if (second == nullptr || second->dim() != 4) o.dropout(0.0);
      const auto c =
          file_channels(state_dict, pix2pix_resnet_keys(o), "stem.conv.weight", "head.conv.weight", 0, file, arch);
      return ResnetGenerator(o.in_channels(c.in).base_channels(c.base).out_channels(c.out)).ptr();
    }
    case Pix2PixKind::kPatchGan: {
      auto o = PatchDiscriminatorOptions().num_layers(size).norm(norm);
      const auto c =
          file_channels(state_dict, pix2pix_patchgan_keys(o), "stages.0.conv.weight", nullptr, 0, file, arch);
      return PatchDiscriminator(o.in_channels(c.in).base_channels(c.base)).ptr();
    }
  }
  throw ConfigError("unknown pix2pix architecture kind");
}

json task_spec(const PythonImport& spec) {
  json task = spec.task.is_object() && spec.task.contains("task") ? spec.task["task"] : spec.task;
  if (task.is_null()) task = json::object();
  if (!task.is_object()) throw ConfigError("--config: the task options must be a JSON object");
  const std::string type = task.value("type", spec.arch);
  if (type != spec.arch) {
    throw ConfigError("--config describes a task of type '" + type + "', but --arch is '" + spec.arch + "'");
  }
  task["type"] = spec.arch;
  return without_warm_start(task);
}

}  // namespace

PythonCounterpart python_counterpart(const std::string& task_type, const std::string& name,
                                     const torch::nn::Module& network) {
  std::vector<std::string> known;
  for (const auto& rule : kRules) {
    if (task_type != rule.task) continue;
    known.push_back(rule.network);
    if (name != rule.network) continue;
    auto keys = rule.keys(network);
    if (!keys) {
      throw ConfigError("network '" + name + "' of task '" + task_type + "' is a " + network.name() +
                        ", which has no Python counterpart");
    }
    return {rule.python_class, std::move(*keys)};
  }
  throw ConfigError("network '" + name + "' of task '" + task_type + "' has no Python counterpart" +
                    (known.empty() ? std::string(" (nor has any network of that task)")
                                   : "; networks that have one: " + join(known)));
}

PythonCounterpart python_counterpart(const torch::nn::Module& network) {
  if (auto keys = unet_model(network)) return {kUnetClass, std::move(*keys)};
  if (auto keys = resnet_model(network)) return {kResnetClass, std::move(*keys)};
  if (auto keys = patchgan_model(network)) return {kPatchClass, std::move(*keys)};
  throw ConfigError("a " + network.name() + " has no pytorch-CycleGAN-and-pix2pix counterpart");
}

std::vector<std::string> pix2pix_architectures() {
  std::vector<std::string> out;
  for (const auto& a : kPix2PixArchs) out.push_back(a.name);
  return out;
}

std::vector<std::string> python_task_types() {
  std::vector<std::string> out;
  for (const auto& rule : kRules) {
    if (std::find(out.begin(), out.end(), rule.task) == out.end()) out.push_back(rule.task);
  }
  return out;
}

std::vector<ImportedNetwork> import_python_weights(const PythonImport& spec, const std::string& out) {
  const Pix2PixArch* arch = nullptr;
  for (const auto& a : kPix2PixArchs) {
    if (spec.arch == a.name) arch = &a;
  }
  const auto tasks = python_task_types();
  if (arch == nullptr && std::find(tasks.begin(), tasks.end(), spec.arch) == tasks.end()) {
    throw ConfigError("--arch: unknown architecture '" + spec.arch + "'; known: " + join(pix2pix_architectures()) +
                      ", and the task types " + join(tasks));
  }
  if (spec.state_dicts.empty()) throw ConfigError("--state-dict: no state dict to import");
  if (arch != nullptr && !spec.norm) {
    throw ConfigError("--norm: required for --arch " + spec.arch + " (batch: pix2pix's default; instance: CycleGAN's)");
  }
  if (arch == nullptr && spec.norm) {
    throw ConfigError("--norm: applies to the pix2pix architectures; a task's norms come from its options (--config)");
  }
  if (arch != nullptr && !(spec.task.is_null() || spec.task.empty())) {
    throw ConfigError("--config: applies to task types, not to --arch " + spec.arch);
  }

  std::vector<ImportedNetwork> imported;
  train::NamedModules networks;
  json meta;
  std::set<std::string> seen;
  std::unique_ptr<Pix2PixTaskOptions> pix2pix_options;
  std::shared_ptr<train::Task> task;
  if (arch != nullptr) {
    pix2pix_options = std::make_unique<Pix2PixTaskOptions>();
    meta["architectures"] = json::object();
  } else {
    task = train::create_task(task_spec(spec), "--config task");
  }
  for (const auto& [given, file] : spec.state_dicts) {
    std::string name = given;
    if (arch != nullptr && name.empty()) name = arch->kind == Pix2PixKind::kPatchGan ? "d" : "g";
    if (name.empty()) {
      throw ConfigError("--state-dict " + file + ": name the network (NETWORK=FILE); task '" + spec.arch +
                        "' has: " + join(network_names(task->networks())));
    }
    if (!seen.insert(name).second) throw ConfigError("--state-dict: network '" + name + "' given twice");
    const StateDict state_dict = read_state_dict(file);
    std::shared_ptr<torch::nn::Module> network;
    PythonCounterpart python;
    if (arch != nullptr) {
      const bool generator = arch->kind != Pix2PixKind::kPatchGan;
      if (name != "d" && !(generator && name == "g")) {
        throw ConfigError("--state-dict " + name + "=" + file + ": --arch " + spec.arch + " takes " +
                          (generator ? "g (the generator) and d (its PatchGAN)" : "d"));
      }
      const Pix2PixKind kind = name == "d" ? Pix2PixKind::kPatchGan : arch->kind;
      const int64_t size = name == "d" ? 3 : arch->size;
      network = pix2pix_network(kind, size, *spec.norm, state_dict, file, name == "d" ? "patchgan" : spec.arch);
      python = python_counterpart(*network);
      if (auto* unet = dynamic_cast<UNetGeneratorImpl*>(network.get())) pix2pix_options->generator = unet->options;
      if (auto* patch = dynamic_cast<PatchDiscriminatorImpl*>(network.get()))
        pix2pix_options->discriminator = patch->options;
      meta["architectures"][name] = architecture_json(*network);
    } else {
      network = find_network(task->networks(), name, "task '" + spec.arch + "'");
      python = python_counterpart(spec.arch, name, *network);
    }
    ImportedNetwork result;
    result.report = load_state_dict(*network, python.keys, state_dict, file, spec.strict);
    result.network = name;
    result.file = file;
    result.python_class = python.python_class;
    result.parameters = count_parameters(*network);
    imported.push_back(std::move(result));
    networks.emplace_back(name, network);
  }
  if (arch != nullptr) {
    meta["task"] = options_to_json(*pix2pix_options);
    meta["task"]["type"] = Pix2PixTask::kType;
  } else {
    meta["task"] = task->to_json();
  }
  json files = json::object();
  for (const auto& n : imported) files[n.network] = n.file;
  meta["imported"] = {{"arch", spec.arch}, {"files", files}};
  if (spec.norm) meta["imported"]["norm"] = enum_to_string(*spec.norm);
  train::save_network_checkpoint(out, networks, meta);
  return imported;
}

CheckpointNetwork load_python_counterpart(const std::string& path, const std::string& name) {
  const json meta = train::open_checkpoint(path).meta;
  CheckpointNetwork out;
  const json records = meta.value("architectures", json::object());
  if (records.contains(name)) {
    out.module = build_architecture(records[name], "checkpoint " + path + ": architectures." + name);
    out.python = python_counterpart(*out.module);
  } else {
    const json task_json = without_warm_start(meta.value("task", json::object()));
    const std::string type = task_json.value("type", "");
    std::shared_ptr<train::Task> task;
    try {
      task = train::create_task(task_json, "checkpoint " + path + ": task");
    } catch (const ConfigError& e) {
      throw CheckpointError(e.what());
    }
    const auto networks = task->networks();
    const std::vector<std::string> saved = meta.value("networks", std::vector<std::string>{});
    if (std::find(saved.begin(), saved.end(), name) == saved.end()) {
      throw CheckpointError("checkpoint " + path + " has no network '" + name + "'; it has: " + join(saved));
    }
    out.module = find_network(networks, name, "task '" + type + "'");
    out.python = python_counterpart(type, name, *out.module);
  }
  train::load_checkpoint_network(path, name, *out.module);
  out.module->eval();
  return out;
}

PythonCounterpart export_python_weights(const std::string& checkpoint, const std::string& name,
                                        const std::string& out) {
  CheckpointNetwork network = load_python_counterpart(checkpoint, name);
  write_state_dict(out, export_state_dict(*network.module, network.python.keys));
  return network.python;
}

}  // namespace facegan::models
