#pragma once
// Data parallelism on PyTorch's own distributed engine, c10d: a TCPStore rendezvous and a Gloo
// (CPU) or NCCL (CUDA) process group, configured the way torchrun configures its workers.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace facegan::train {

/// The torchrun environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
struct DistributedEnv {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  /// TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent already serves the store at the master port.
  bool agent_store = false;

  /// Read from the environment; WORLD_SIZE unset means a single process. ConfigError naming the
  /// variable when one is malformed or RANK is missing while WORLD_SIZE > 1.
  static DistributedEnv from_environment();
};

/// Whether this build can create a process group for `device_type` (Gloo for CPU needs the gloo
/// headers at build time, NCCL for CUDA a CUDA build with NCCL).
bool distributed_backend_available(c10::DeviceType device_type);

/// A process group of world_size processes. Collectives must be called in the same order on every
/// rank. With world_size 1 every call is a no-op and no network is touched.
class ProcessGroup {
 public:
  /// Joins the group described by `env` (blocks until all ranks arrive or `timeout` passes).
  /// `device` picks the backend: Gloo for CPU tensors, NCCL for CUDA. Error when the backend is not
  /// built in.
  ProcessGroup(const DistributedEnv& env, const torch::Device& device,
               std::chrono::milliseconds timeout = std::chrono::minutes(5));
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  /// "gloo", "nccl" or "none".
  std::string backend() const;

  /// Replaces every tensor by the mean over ranks. Tensors are flattened into buckets of at most
  /// `bucket_bytes` per dtype (one collective per bucket), then copied back. Undefined tensors are
  /// skipped: every rank must pass the same list of defined tensors.
  void all_reduce_mean(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 25 << 20);
  /// Elementwise maximum over ranks, in place.
  void all_reduce_max(torch::Tensor& tensor);
  /// Elementwise sum over ranks, in place.
  void all_reduce_sum(torch::Tensor& tensor);
  /// Every rank's `tensor` (same shape and dtype on all ranks), in rank order, on every rank.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  /// Copies rank `root`'s values into every rank's tensors (in place).
  void broadcast(const std::vector<torch::Tensor>& tensors, int64_t root = 0);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0;
  int64_t world_size_ = 1;
};

}  // namespace facegan::train
