#pragma once
// One-file packing of any Dataset into HDF5, and the "hdf5" Dataset that reads it back.
// The file layout is documented in docs/hdf5-layout.md (readable from h5py). HDF5 itself stays
// private to src/data/hdf5.cpp: nothing here needs its headers.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace facegan::data {

/// Version written to the root attribute "facegan_layout_version"; readers refuse other versions.
constexpr int64_t kHdf5LayoutVersion = 1;

/// Options of pack().
struct PackOptions {
  /// Tensor keys to store; empty = every key present in all samples (a key missing from some
  /// sample is then left out). A key named here that a sample lacks is an error.
  TORCH_ARG(std::vector<std::string>, keys) = {};
  /// Keys stored as 8-bit images ([N, H, W, 3] uint8, RGB): each must be float [3, H, W] in [-1, 1],
  /// written as round((v + 1) * 127.5) like tensor_to_image. Empty = auto: every floating key
  /// shaped [3, H, W]. Set `encode_images` false to keep such keys as lossless float32.
  TORCH_ARG(std::vector<std::string>, image_keys) = {};
  /// false: store images as float32 [N, 3, H, W] like any other tensor (lossless, 4x the size).
  TORCH_ARG(bool, encode_images) = true;
  /// gzip (deflate) level 0-9 for every tensor data set; 0 = no compression. Level 1 shrinks
  /// photos ~10-30% at ~2x the read cost (see docs/hdf5-layout.md).
  TORCH_ARG(int64_t, gzip_level) = 0;

 public:
  /// Called as progress(done, total) every `progress_every` samples and at the end; not in JSON.
  std::function<void(size_t done, size_t total)> progress;
  TORCH_ARG(int64_t, progress_every) = 1000;

 public:
  template <class V>
  void visit(V& v) {
    v("keys", keys_);
    v("image_keys", image_keys_);
    v("encode_images", encode_images_);
    v("gzip_level", gzip_level_);
    v("progress_every", progress_every_);
  }
};

/// Writes every sample of `dataset` into one HDF5 file at `path`: one data set [N, ...] per tensor
/// key (chunked by sample), a variable-length string data set "meta" holding each sample's meta
/// JSON, and root attributes describing the layout. The file is written as `path + ".tmp"` and
/// renamed at the end, so an interrupted run never leaves a half-written file under `path`.
/// Throws DataError naming the file (and key, sample index) on any failure; an existing `path` is
/// replaced only on success.
void pack(const Dataset& dataset, const std::string& path, const PackOptions& options = {});

/// Options of the "hdf5" data set type.
struct Hdf5DatasetOptions {
  /// File written by pack().
  TORCH_ARG(std::string, path) = "";
  /// Tensor keys to load; empty = every key in the file.
  TORCH_ARG(std::vector<std::string>, keys) = {};

 public:
  template <class V>
  void visit(V& v) {
    v("path", path_);
    v("keys", keys_);
  }
};

/// Random access to a file written by pack(). The file stays open for the object's lifetime;
/// get() reads one sample by hyperslab and is safe to call from several threads (HDF5 calls are
/// serialised by one process-wide mutex; decoding runs outside it). Encoded images come back as
/// float32 [3, H, W] computed exactly as image_to_tensor does, so samples that came from 8-bit
/// images read back bit-identical.
class Hdf5Dataset : public Dataset {
 public:
  /// Opens and validates the file; DataError naming the file when it is missing, not HDF5, not a
  /// facegan file, of another layout version, or lacks a requested key (the message names the key
  /// and lists those present).
  explicit Hdf5Dataset(Hdf5DatasetOptions options);
  ~Hdf5Dataset() override;
  Hdf5Dataset(const Hdf5Dataset&) = delete;
  Hdf5Dataset& operator=(const Hdf5Dataset&) = delete;

  size_t size() const override;
  Sample get(size_t index) const override;
  std::string type() const override { return "hdf5"; }

  /// The keys this object loads, sorted.
  const std::vector<std::string>& keys() const;
  /// The root attributes as JSON: "facegan_layout_version", "source_type", "count", "keys" and
  /// "key_info" ({key: {"dtype", "encoding", "shape"}}).
  const json& info() const;

  const Hdf5DatasetOptions options;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace facegan::data
