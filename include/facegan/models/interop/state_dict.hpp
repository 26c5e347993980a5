#pragma once
// PyTorch state dict files without Python: what `torch.save(net.state_dict(), path)` writes and
// what `torch.load(path)` reads. LibTorch's own torch::pickle_load cannot read them (torch 2.13: the
// OrderedDict of state_dict() comes back as None, pytorch/pytorch#100741), and the files of
// torch::pickle_save need a global that torch.load refuses under weights_only=True (its default
// since PyTorch 2.6). So facegan reads and writes the format itself: the zip archive through
// caffe2's PyTorchStreamReader/Writer, the pickle by a small interpreter of the opcodes that
// torch.save emits.

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace facegan::models {

/// Named tensors in file order: a Python state dict.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads a state dict written by `torch.save(obj, path)` in the zip format (the default since
/// PyTorch 1.6), where obj is a dict or OrderedDict of str -> tensor (`net.state_dict()`). Tensors
/// come back contiguous, on the CPU, in the file's dtypes; views of one storage become separate
/// tensors. CheckpointError naming the file when it is missing, is not a torch.save zip archive
/// (a TorchScript archive such as a facegan checkpoint, the pre-1.6 format, any other file), or
/// holds something other than a state dict (the message says what it holds).
StateDict read_state_dict(const std::string& path);

/// Writes `tensors` as `torch.save(OrderedDict(tensors), path)` would (zip format, pickle protocol
/// 2, storages in the file), so that `torch.load(path)` returns them, with weights_only=True too.
/// Tensors may live on any device and have any strides; they are written from CPU copies. Names must
/// be unique. The file is replaced atomically. CheckpointError naming the file on failure.
void write_state_dict(const std::string& path, const StateDict& tensors);

}  // namespace facegan::models
