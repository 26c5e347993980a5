#include <facegan/core/error.hpp>
#include <facegan/data/loader.hpp>

#include <torch/cuda.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

namespace facegan::data {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t mix(uint64_t a, uint64_t b) { return splitmix64(splitmix64(a) ^ (b * 0xd1b54a32d192ed03ULL)); }

}  // namespace

std::vector<int64_t> epoch_permutation(size_t n, int64_t seed, int64_t epoch) {
  std::vector<int64_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<int64_t>(i);
  std::mt19937_64 rng(mix(static_cast<uint64_t>(seed), static_cast<uint64_t>(epoch)));
  for (size_t i = n; i > 1; --i) {
    const auto j = static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(i - 1)));
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

std::vector<int64_t> shard_indices(size_t n, const LoaderOptions& options, int64_t epoch) {
  std::vector<int64_t> order;
  if (options.shuffle()) {
    order = epoch_permutation(n, options.seed(), epoch);
  } else {
    order.resize(n);
    for (size_t i = 0; i < n; ++i) order[i] = static_cast<int64_t>(i);
  }
  const auto world = static_cast<size_t>(options.world_size());
  const auto rank = static_cast<size_t>(options.rank());
  const size_t per_rank = options.drop_last() ? n / world : (n + world - 1) / world;
  std::vector<int64_t> out;
  out.reserve(per_rank);
  for (size_t i = 0; i < per_rank && n > 0; ++i) out.push_back(order[(rank + i * world) % n]);  // wraps = pads
  return out;
}

uint64_t sample_seed(int64_t seed, int64_t epoch, int64_t index) {
  return mix(mix(static_cast<uint64_t>(seed), static_cast<uint64_t>(epoch)), static_cast<uint64_t>(index));
}

// -------------------------------------------------------------------------------------------------

namespace {

/// One built batch, or the error that stopped it, plus how many bad samples it skipped.
struct BatchResult {
  std::optional<Batch> batch;
  std::exception_ptr error;
  int64_t skipped = 0;
};

}  // namespace

struct Loader::Impl {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions options;
  Transform transform;
  size_t n = 0;
  int64_t per_rank = 0;
  int64_t batches = 0;
  int64_t bad_budget = 0;  // bad samples allowed per epoch
  bool pin = false;

  // Shared with the workers; guarded by `mutex`.
  std::mutex mutex;
  std::condition_variable work_cv;   // workers wait for claimable batches
  std::condition_variable ready_cv;  // the consumer waits for its next batch
  bool stop = false;
  bool active = false;  // an epoch has been started
  int64_t epoch = 0;
  uint64_t generation = 0;  // bumped by every (re)start; stale results are dropped
  std::shared_ptr<const std::vector<int64_t>> shard;
  int64_t next_claim = 0;    // next batch a worker may build
  int64_t next_consume = 0;  // next batch next() returns
  std::map<int64_t, BatchResult> ready;

  // Consumer-side counters (deterministic: summed in batch order).
  size_t skipped_total = 0;
  int64_t skipped_epoch = 0;

  std::vector<std::thread> workers;

  /// Builds batch `b` of `epoch` from `shard`; touches no shared state, so any thread may run it.
  BatchResult build(const std::vector<int64_t>& shard_indices, int64_t ep, int64_t b) const {
    BatchResult result;
    try {
      const int64_t begin = b * options.batch_size();
      const int64_t end = std::min(begin + options.batch_size(), per_rank);
      std::vector<Sample> samples;
      samples.reserve(static_cast<size_t>(end - begin));
      for (int64_t p = begin; p < end; ++p) {
        int64_t index = shard_indices[static_cast<size_t>(p)];
        std::optional<Sample> sample;
        while (!sample) {
          try {
            sample = dataset->get(static_cast<size_t>(index));
          } catch (const DataError& e) {
            const std::string where = "sample " + std::to_string(index) + " of data set '" + dataset->type() +
                                      "' (epoch " + std::to_string(ep) + ", batch " + std::to_string(b) + "): ";
            if (!options.skip_bad_samples()) throw DataError("loader: " + where + e.what());
            if (++result.skipped > bad_budget) {
              throw DataError("loader: more than " + std::to_string(bad_budget) + " bad samples in one epoch " +
                              "(max_bad_fraction " + std::to_string(options.max_bad_fraction()) + "); last: " + where +
                              e.what());
            }
            index = (index + 1) % static_cast<int64_t>(n);
          }
        }
        if (transform) {
          std::mt19937_64 rng(sample_seed(options.seed(), ep, index));
          sample = transform(std::move(*sample), rng);
        }
        samples.push_back(std::move(*sample));
      }
      Batch batch = collate(samples);
      if (pin) {
        for (auto& kv : batch.tensors) kv.second = kv.second.pin_memory();
      }
      result.batch = std::move(batch);
    } catch (...) {
      result.error = std::current_exception();
    }
    return result;
  }

  void worker_loop() {
    // No thread-count calls here: torch applies its current intra-op setting to this thread lazily,
    // on its first parallel op, and the trainer's setting stays the only one.
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_cv.wait(lock, [&] {
        return stop || (active && next_claim < batches && next_claim < next_consume + options.prefetch_batches());
      });
      if (stop) return;
      const int64_t b = next_claim++;
      const uint64_t gen = generation;
      const int64_t ep = epoch;
      auto indices = shard;
      lock.unlock();
      BatchResult result = build(*indices, ep, b);
      lock.lock();
      if (gen == generation) {
        ready.emplace(b, std::move(result));
        ready_cv.notify_all();
      } else {
        lock.unlock();
        result = BatchResult();  // free a stale batch outside the lock
        lock.lock();
      }
    }
  }

  /// (Re)positions the loader at batch `batch` of `ep`; the caller holds no lock.
  void begin(int64_t ep, int64_t batch) {
    auto indices = std::make_shared<const std::vector<int64_t>>(shard_indices(n, options, ep));
    std::map<int64_t, BatchResult> stale;
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++generation;
      stale.swap(ready);
      epoch = ep;
      shard = std::move(indices);
      next_claim = batch;
      next_consume = batch;
      active = true;
    }
    work_cv.notify_all();
  }
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, Transform transform)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  if (!dataset) throw ConfigError("loader: the data set is null");
  auto check = [](bool ok, const std::string& key, const std::string& expected, const std::string& value) {
    if (!ok) throw ConfigError("loader." + key + ": expected " + expected + ", got " + value);
  };
  check(options.batch_size() > 0, "batch_size", "> 0", std::to_string(options.batch_size()));
  check(options.world_size() > 0, "world_size", "> 0", std::to_string(options.world_size()));
  check(options.rank() >= 0 && options.rank() < options.world_size(), "rank",
        "in [0, world_size " + std::to_string(options.world_size()) + ")", std::to_string(options.rank()));
  check(options.prefetch_threads() >= 0, "prefetch_threads", ">= 0", std::to_string(options.prefetch_threads()));
  check(options.prefetch_batches() > 0, "prefetch_batches", "> 0", std::to_string(options.prefetch_batches()));
  check(options.max_bad_fraction() >= 0.0 && options.max_bad_fraction() <= 1.0, "max_bad_fraction", "in [0, 1]",
        std::to_string(options.max_bad_fraction()));
  d.dataset = std::move(dataset);
  d.options = options;
  d.transform = std::move(transform);
  d.n = d.dataset->size();
  const auto world = static_cast<size_t>(options.world_size());
  d.per_rank = static_cast<int64_t>(options.drop_last() ? d.n / world : (d.n + world - 1) / world);
  d.batches = options.drop_last() ? d.per_rank / options.batch_size()
                                  : (d.per_rank + options.batch_size() - 1) / options.batch_size();
  if (d.batches == 0) {
    throw ConfigError("loader: a data set of " + std::to_string(d.n) + " samples ('" + d.dataset->type() +
                      "') gives no batch of " + std::to_string(options.batch_size()) + " on each of " +
                      std::to_string(world) + " ranks" + (options.drop_last() ? " (drop_last is on)" : ""));
  }
  const double allowed = options.max_bad_fraction() * static_cast<double>(d.per_rank);
  d.bad_budget = std::max<int64_t>(1, static_cast<int64_t>(allowed));
  d.pin = options.pin_memory() && torch::cuda::is_available();
  try {
    for (int64_t i = 0; i < options.prefetch_threads(); ++i) d.workers.emplace_back([&d] { d.worker_loop(); });
  } catch (...) {  // could not start a thread: stop those that did start, or ~thread would terminate
    {
      std::lock_guard<std::mutex> lock(d.mutex);
      d.stop = true;
    }
    d.work_cv.notify_all();
    for (auto& w : d.workers) w.join();
    throw;
  }
}

Loader::~Loader() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->work_cv.notify_all();
  for (auto& w : impl_->workers) w.join();
}

void Loader::start_epoch(int64_t epoch) {
  if (epoch < 0) throw ConfigError("loader: epoch must be >= 0, got " + std::to_string(epoch));
  impl_->begin(epoch, 0);
  impl_->skipped_epoch = 0;
}

std::optional<Batch> Loader::next() {
  Impl& d = *impl_;
  if (!d.active) start_epoch(0);
  BatchResult result;
  if (d.workers.empty()) {
    if (d.next_consume >= d.batches) return std::nullopt;
    result = d.build(*d.shard, d.epoch, d.next_consume);
    ++d.next_consume;
  } else {
    std::unique_lock<std::mutex> lock(d.mutex);
    if (d.next_consume >= d.batches) return std::nullopt;
    const int64_t b = d.next_consume;
    d.ready_cv.wait(lock, [&] { return d.ready.count(b) != 0; });
    auto it = d.ready.find(b);
    result = std::move(it->second);
    d.ready.erase(it);
    ++d.next_consume;
    lock.unlock();
    d.work_cv.notify_all();
  }
  d.skipped_total += static_cast<size_t>(result.skipped);
  d.skipped_epoch += result.skipped;
  if (result.error) std::rethrow_exception(result.error);
  if (d.skipped_epoch > d.bad_budget) {
    throw DataError("loader: " + std::to_string(d.skipped_epoch) + " bad samples in epoch " + std::to_string(d.epoch) +
                    " of data set '" + d.dataset->type() + "' exceed max_bad_fraction " +
                    std::to_string(d.options.max_bad_fraction()) + " of " + std::to_string(d.per_rank) + " samples");
  }
  return std::move(result.batch);
}

int64_t Loader::batches_per_epoch() const { return impl_->batches; }

int64_t Loader::samples_per_epoch() const { return impl_->per_rank; }

json Loader::state() const {
  const Impl& d = *impl_;
  const LoaderOptions& o = d.options;
  return json{{"epoch", d.active ? d.epoch : 0},
              {"batch", d.active ? d.next_consume : 0},
              {"skipped", d.skipped_total},
              {"skipped_in_epoch", d.skipped_epoch},
              {"seed", o.seed()},
              {"shuffle", o.shuffle()},
              {"batch_size", o.batch_size()},
              {"drop_last", o.drop_last()},
              {"world_size", o.world_size()},
              {"rank", o.rank()},
              {"dataset_size", d.n}};
}

void Loader::restore(const json& state) {
  Impl& d = *impl_;
  const json current = this->state();
  if (!state.is_object()) throw ConfigError("loader state: expected an object, got " + state.dump());
  for (const char* key : {"seed", "shuffle", "batch_size", "drop_last", "world_size", "rank", "dataset_size"}) {
    if (!state.contains(key)) throw ConfigError(std::string("loader state: missing '") + key + "'");
    if (state.at(key) != current.at(key)) {
      throw ConfigError(std::string("loader state: saved with ") + key + " " + state.at(key).dump() +
                        ", but this loader has " + current.at(key).dump());
    }
  }
  int64_t epoch = 0, batch = 0, skipped_in_epoch = 0;
  size_t skipped = 0;
  try {
    epoch = state.at("epoch").get<int64_t>();
    batch = state.at("batch").get<int64_t>();
    skipped = state.at("skipped").get<size_t>();
    skipped_in_epoch = state.at("skipped_in_epoch").get<int64_t>();
  } catch (const json::exception& e) {
    throw ConfigError(std::string("loader state: ") + e.what());
  }
  if (epoch < 0 || batch < 0 || batch > d.batches) {
    throw ConfigError("loader state: position (epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) +
                      ") is outside an epoch of " + std::to_string(d.batches) + " batches");
  }
  d.begin(epoch, batch);
  d.skipped_total = skipped;
  d.skipped_epoch = skipped_in_epoch;
}

size_t Loader::skipped() const { return impl_->skipped_total; }

int64_t Loader::epoch() const { return impl_->epoch; }

const LoaderOptions& Loader::options() const { return impl_->options; }

const Dataset& Loader::dataset() const { return *impl_->dataset; }

}  // namespace facegan::data
