#pragma once
// Weights both ways with Python PyTorch (docs/python-weights.md): state dicts of
// pytorch-CycleGAN-and-pix2pix's networks and of the Python mirrors in benchmarks/python imported
// into facegan checkpoints, and any network of a facegan checkpoint exported as a state dict that
// its Python counterpart loads. The catalogue of counterparts lives here: which Python class each
// task's network corresponds to, and its key map.

#include <torch/torch.h>

#include <facegan/core/config.hpp>
#include <facegan/models/blocks/layers.hpp>
#include <facegan/models/interop/key_map.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace facegan::models {

/// The Python module a facegan network's state dict loads into, and the map to its names.
struct PythonCounterpart {
  /// e.g. "networks.UnetGenerator" (pytorch-CycleGAN-and-pix2pix's models/networks.py, copied by
  /// benchmarks/python/reference_nets.py) or "bench_steps.IdentityNet" (benchmarks/python).
  std::string python_class;
  KeyMap keys;
};

/// The counterpart of network `name` of a task of type `task_type`, built from `network` (as the
/// task built it): pix2pix's classes for the pix2pix networks (also DeRL's generator and stage-1
/// discriminator), the bench_steps.py mirrors for open_set, identity_classifier, makeup and DeRL's
/// classifier. ConfigError naming the task and the network when there is none.
PythonCounterpart python_counterpart(const std::string& task_type, const std::string& name,
                                     const torch::nn::Module& network);

/// The counterpart of a network built from an architecture record (blocks/architecture.hpp):
/// pix2pix's UnetGenerator, ResnetGenerator or NLayerDiscriminator.
PythonCounterpart python_counterpart(const torch::nn::Module& network);

/// The pytorch-CycleGAN-and-pix2pix architectures `import_python_weights` takes (pix2pix's
/// --netG / --netD names): unet_256, unet_128, resnet_9blocks, resnet_6blocks, patchgan.
std::vector<std::string> pix2pix_architectures();

/// The task types whose networks `import_python_weights` takes (their Python counterparts exist).
std::vector<std::string> python_task_types();

/// What to import.
struct PythonImport {
  /// One of pix2pix_architectures() or python_task_types().
  std::string arch;
  /// Norm of a pix2pix architecture (its --norm; required there, unused for task types).
  std::optional<Norm> norm;
  /// A task type's options (a task spec, with or without "type", or a training config with a
  /// "task" section); empty = the task's defaults. Unused for pix2pix architectures.
  json task = json::object();
  /// (network, state dict file) pairs. For a pix2pix architecture the network may be "" (its own:
  /// "g" for the generators, "d" for patchgan); "d" beside a generator is pix2pix's PatchGAN (3
  /// layers). For a task type every entry names one of the task's networks.
  std::vector<std::pair<std::string, std::string>> state_dicts;
  /// false: missing and unexpected keys are skipped and reported instead of failing.
  bool strict = true;
};

/// One imported network.
struct ImportedNetwork {
  std::string network;
  std::string file;
  std::string python_class;
  int64_t parameters = 0;
  ImportReport report;
};

/// Reads the state dicts, checks them key by key and shape by shape against the networks (channel
/// counts of a pix2pix architecture, and whether its ResNet blocks had dropout, are read from its
/// file), and writes checkpoint `out` holding the imported networks, with the task they belong to
/// (pix2pix for the pix2pix architectures, whose meta also records each network's architecture).
/// Its networks load with the inference APIs (Pix2Pix, OpenSet, Makeup, DeRL) and
/// train::load_checkpoint_network. ConfigError for a bad arch, norm or network name;
/// CheckpointError naming the file and key at fault.
std::vector<ImportedNetwork> import_python_weights(const PythonImport& spec, const std::string& out);

/// A network of a checkpoint, rebuilt as its task (or its architecture record) builds it and
/// loaded (the EMA copy when the checkpoint has one, as the inference APIs do), in eval() mode.
struct CheckpointNetwork {
  std::shared_ptr<torch::nn::Module> module;
  PythonCounterpart python;
};

/// Loads network `name` of checkpoint `path` with its Python counterpart. CheckpointError naming the
/// file and the network (listing the ones it has) when it cannot.
CheckpointNetwork load_python_counterpart(const std::string& path, const std::string& name);

/// Writes network `name` of checkpoint `checkpoint` as a state dict `out` for its Python
/// counterpart (`torch.load(out)` -> `net.load_state_dict(...)`); returns the counterpart.
PythonCounterpart export_python_weights(const std::string& checkpoint, const std::string& name, const std::string& out);

}  // namespace facegan::models
