#pragma once
// Checkpoint files: written atomically (core/files.hpp), discovery of the latest one and retention
// of the last K. The content (networks, optimizers, EMA, RNG, loader, step) is assembled
// by the Trainer; see docs/training.md for the layout.

#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace facegan::train {

/// Version of the checkpoint layout, meta's "format": the Trainer refuses any other.
constexpr int kCheckpointFormat = 1;

/// File name of the checkpoint of `step`: "ckpt_000000123.pt".
std::string checkpoint_name(int64_t step);

/// One checkpoint file found in a folder.
struct CheckpointFile {
  int64_t step = 0;
  std::string path;
};

/// Complete checkpoints in `dir` (names matching checkpoint_name), by increasing step. Temporary
/// files of interrupted saves ("*.tmp") are never listed. A missing folder gives an empty list.
std::vector<CheckpointFile> list_checkpoints(const std::string& dir);

/// The checkpoint with the highest step in `dir`, if any.
std::optional<CheckpointFile> latest_checkpoint(const std::string& dir);

/// A checkpoint file opened for reading: its root archive and its "meta" object.
struct OpenedCheckpoint {
  torch::serialize::InputArchive archive;
  json meta;
};

/// Opens a checkpoint written by the Trainer, tensors mapped to `device`. CheckpointError naming
/// the file when it is missing, unreadable or has no meta.
OpenedCheckpoint open_checkpoint(const std::string& path, const torch::Device& device = torch::kCPU);

/// Loads network `name` of a trainer checkpoint into `module` (onto the device of its parameters),
/// from the EMA copy when `prefer_ema` and the checkpoint has one; returns the checkpoint's meta.
/// This is how a trained network leaves the trainer: inference APIs and later stages (DeRL's frozen
/// generator) load through it. CheckpointError naming the file and the network.
json load_checkpoint_network(const std::string& path, const std::string& name, torch::nn::Module& module,
                             bool prefer_ema = true);

/// The options JSON of the task that wrote checkpoint `path` (its meta's "task" without "type").
/// CheckpointError naming the file when it was written by a task other than `type`.
json checkpoint_task_json(const std::string& path, const std::string& type);

/// checkpoint_task_json parsed into the task's options struct, `overrides` merged first (e.g. a
/// warm-start path that must not be followed again). How an inference API rebuilds the networks a
/// checkpoint holds. CheckpointError naming the file when the options do not parse.
template <class Options>
Options checkpoint_task_options(const std::string& path, const std::string& type, const json& overrides = json::object()) {
  json options = checkpoint_task_json(path, type);
  options.merge_patch(overrides);
  try {
    return apply_json(Options(), options, type);
  } catch (const ConfigError& e) {
    throw CheckpointError("checkpoint " + path + ": " + e.what());
  }
}

/// Writes a checkpoint that holds networks only, no optimizer, EMA, loader or RNG state: the
/// "networks" archive and the meta (format, step 0, task, network names) merged with `meta`, which
/// must hold the "task" JSON the networks belong to. load_checkpoint_network and the inference APIs
/// read it like a trainer checkpoint; the Trainer cannot resume from it. What `facegan import`
/// writes. CheckpointError naming the file on failure.
void save_network_checkpoint(const std::string& path,
                             const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>& networks,
                             const json& meta);

/// Deletes all but the `keep` newest checkpoints of `dir` (keep <= 0 keeps all), and stale "*.tmp"
/// files. Returns the paths removed.
std::vector<std::string> prune_checkpoints(const std::string& dir, int64_t keep);

}  // namespace facegan::train
