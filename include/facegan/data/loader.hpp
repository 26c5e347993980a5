#pragma once
// The loader: seeded shuffle, rank/world sharding, batching, optional per-sample transforms, and
// prefetch threads that fill a bounded queue in batch order.

#include <facegan/core/config.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/transforms.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace facegan::data {

/// Options of Loader.
///
/// Epoch order: the permutation of epoch e depends only on (seed, e), so every rank computes the
/// same one. Rank r takes positions r, r + world_size, r + 2 world_size, ... of it. So that every
/// rank sees the same number of samples (and batches, which keeps collective ops in step), the
/// permutation is first cut to a multiple of world_size: with drop_last its tail is dropped
/// (floor(N / world_size) samples per rank), otherwise it is padded by repeating its head
/// (ceil(N / world_size) per rank, as PyTorch's DistributedSampler does). Then drop_last drops the
/// incomplete last batch of each rank; without it the last batch is smaller.
struct LoaderOptions {
  explicit LoaderOptions(int64_t batch_size = 16) : batch_size_(batch_size) {}
  TORCH_ARG(int64_t, batch_size);
  /// false: every epoch visits the samples in index order (still sharded).
  TORCH_ARG(bool, shuffle) = true;
  TORCH_ARG(int64_t, seed) = 0;
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
  TORCH_ARG(bool, drop_last) = true;
  /// Worker threads building batches ahead of next(); 0 = build them in next() on the calling thread.
  TORCH_ARG(int64_t, prefetch_threads) = 2;
  /// Batches built ahead at most (the bounded queue's depth).
  TORCH_ARG(int64_t, prefetch_batches) = 4;
  /// true: a sample whose get() throws DataError is skipped, counted (skipped()) and replaced by the
  /// next dataset index (index + 1, wrapping) so batches stay full; false: the error is rethrown
  /// from next() with the sample index added.
  TORCH_ARG(bool, skip_bad_samples) = false;
  /// With skip_bad_samples: more bad samples in one epoch than this fraction of the rank's samples
  /// per epoch (at least 1) is an error, so a broken data set does not train on duplicates.
  TORCH_ARG(double, max_bad_fraction) = 0.01;
  /// Pin the batches' host memory (only when CUDA is available) so Batch::to(cuda, true) is async.
  TORCH_ARG(bool, pin_memory) = false;

 public:
  template <class V>
  void visit(V& v) {
    v("batch_size", batch_size_);
    v("shuffle", shuffle_);
    v("seed", seed_);
    v("rank", rank_);
    v("world_size", world_size_);
    v("drop_last", drop_last_);
    v("prefetch_threads", prefetch_threads_);
    v("prefetch_batches", prefetch_batches_);
    v("skip_bad_samples", skip_bad_samples_);
    v("max_bad_fraction", max_bad_fraction_);
    v("pin_memory", pin_memory_);
  }
};

/// The permutation of [0, n) for (seed, epoch): a Fisher-Yates shuffle driven by std::mt19937_64
/// (portable: the same on every platform and standard library).
std::vector<int64_t> epoch_permutation(size_t n, int64_t seed, int64_t epoch);

/// The dataset indices rank `options.rank()` visits in `epoch`, in order (the sharded, cut or
/// padded permutation described at LoaderOptions).
std::vector<int64_t> shard_indices(size_t n, const LoaderOptions& options, int64_t epoch);

/// Seed of the generator handed to the transform for sample `index` in `epoch`.
uint64_t sample_seed(int64_t seed, int64_t epoch, int64_t index);

/// Iterates a Dataset in batches. Usage:
/// ```
/// Loader loader(dataset, LoaderOptions(16).seed(1));
/// for (int64_t epoch = 0; epoch < epochs; ++epoch) {
///   loader.start_epoch(epoch);
///   while (auto batch = loader.next()) train_step(*batch);
/// }
/// ```
/// The batches are identical, in the same order, whatever prefetch_threads is. Exceptions from
/// dataset.get(), the transform or collation are rethrown by next() on the calling thread. The
/// loader never changes torch's thread settings. next(), start_epoch(), state() and restore() are
/// meant for one consumer thread.
class Loader {
 public:
  /// `transform` (optional) runs on each sample with a generator seeded by
  /// sample_seed(seed, epoch, dataset index). Throws ConfigError naming a bad option.
  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, Transform transform = nullptr);
  /// Stops the workers (mid-epoch too) and joins them; batches in flight are discarded.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Starts (or restarts) epoch `epoch` (>= 0) at its first batch, discarding prefetched batches.
  void start_epoch(int64_t epoch);
  /// The next batch of the epoch, or nullopt when the epoch is done (or none was started).
  /// A DataError from a sample is rethrown with the sample's index and epoch added.
  std::optional<Batch> next();
  /// Batches per epoch on this rank (the same on every rank).
  int64_t batches_per_epoch() const;
  /// Samples per epoch on this rank, before batching.
  int64_t samples_per_epoch() const;

  /// Position for an exact resume: {"epoch", "batch" (index of the next batch), "skipped"} plus the
  /// settings that must match ("seed", "batch_size", "world_size", "rank", "dataset_size", ...).
  json state() const;
  /// Continues where state() was taken: the next batch equals the one the original loader would
  /// have returned. ConfigError naming the setting when the loader's options or data set differ.
  void restore(const json& state);

  /// Bad samples skipped so far (over all epochs; restored by restore()).
  size_t skipped() const;
  int64_t epoch() const;
  const LoaderOptions& options() const;
  const Dataset& dataset() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace facegan::data
