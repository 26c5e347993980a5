// c10d from C++: there is no C++ DistributedDataParallel, so the trainer uses a process group
// directly. The process-group headers are compiled only when the build defines USE_C10D_GLOO
// (needs the gloo headers, which the torch wheel does not ship: Debian's libgloo-dev provides them;
// only pointers to gloo types appear in ProcessGroupGloo, so the header version does not change its
// layout) and USE_C10D_NCCL (CUDA builds of torch).
#include <facegan/core/error.hpp>
#include <facegan/train/distributed.hpp>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <map>
#include <string>

namespace facegan::train {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int64_t env_int(const char* name, int64_t fallback) {
  auto v = env(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    const long long x = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing characters");
    return x;
  } catch (const std::exception&) {
    throw ConfigError(std::string("environment variable ") + name + ": expected an integer, got '" + *v + "'");
  }
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1);
  if (e.world_size < 1) throw ConfigError("environment variable WORLD_SIZE: must be >= 1");
  if (e.world_size > 1 && !env("RANK")) throw ConfigError("environment variable RANK: missing while WORLD_SIZE > 1");
  e.rank = env_int("RANK", 0);
  if (e.rank < 0 || e.rank >= e.world_size) {
    throw ConfigError("environment variable RANK: " + std::to_string(e.rank) + " is not in [0, WORLD_SIZE " +
                      std::to_string(e.world_size) + ")");
  }
  e.local_rank = env_int("LOCAL_RANK", e.rank);
  if (auto a = env("MASTER_ADDR")) e.master_addr = *a;
  e.master_port = env_int("MASTER_PORT", e.master_port);
  if (e.master_port < 1 || e.master_port > 65535) throw ConfigError("environment variable MASTER_PORT: not a port");
  auto agent = env("TORCHELASTIC_USE_AGENT_STORE");
  e.agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  return e;
}

bool distributed_backend_available(c10::DeviceType device_type) {
  if (device_type == c10::DeviceType::CPU) {
#ifdef USE_C10D_GLOO
    return true;
#else
    return false;
#endif
  }
  if (device_type == c10::DeviceType::CUDA) {
#ifdef USE_C10D_NCCL
    return true;
#else
    return false;
#endif
  }
  return false;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::string name = "none";
  std::chrono::milliseconds timeout{0};
};

ProcessGroup::ProcessGroup(const DistributedEnv& env_in, const torch::Device& device, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(env_in.rank), world_size_(env_in.world_size) {
  impl_->timeout = timeout;
  if (world_size_ == 1) return;
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env_in.master_port);
  so.isServer = rank_ == 0 && !env_in.agent_store;
  so.numWorkers = static_cast<size_t>(world_size_);
  so.waitWorkers = !env_in.agent_store;
  so.timeout = timeout;
  impl_->store = c10::make_intrusive<c10d::TCPStore>(env_in.master_addr, so);
  const int r = static_cast<int>(rank_), n = static_cast<int>(world_size_);
  if (device.is_cpu()) {
#ifdef USE_C10D_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Gloo binds to the address the host name resolves to by default; honour GLOO_SOCKET_IFNAME
    // as torch.distributed does, and stay on loopback when the master is local.
    if (auto ifname = env("GLOO_SOCKET_IFNAME")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
    } else if (is_loopback(env_in.master_addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, r, n, options);
    impl_->name = "gloo";
#else
    throw Error("distributed training on CPU needs c10d's Gloo backend, but facegan was built without the gloo "
                "headers (install libgloo-dev and rebuild; the build then defines USE_C10D_GLOO)");
#endif
  } else if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : env_in.local_rank));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, r, n, options);
    impl_->name = "nccl";
#else
    throw Error("distributed training on CUDA needs c10d's NCCL backend, but facegan was built without "
                "USE_C10D_NCCL");
#endif
  } else {
    throw ConfigError("distributed training supports CPU (Gloo) and CUDA (NCCL) devices, not " + device.str());
  }
}

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::backend() const { return impl_->name; }

void ProcessGroup::all_reduce_mean(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  if (world_size_ == 1) return;
  torch::NoGradGuard no_grad;
  // Bucket by dtype in list order; each bucket is one flat tensor and one collective.
  std::map<at::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors) {
    if (t.defined()) by_dtype[t.scalar_type()].push_back(t);
  }
  for (auto& [dtype, list] : by_dtype) {
    size_t begin = 0;
    while (begin < list.size()) {
      size_t end = begin;
      int64_t bytes = 0;
      while (end < list.size() && (end == begin || bytes + static_cast<int64_t>(list[end].nbytes()) <= bucket_bytes)) {
        bytes += static_cast<int64_t>(list[end].nbytes());
        ++end;
      }
      std::vector<torch::Tensor> flat_parts;
      for (size_t i = begin; i < end; ++i) flat_parts.push_back(list[i].reshape({-1}));
      std::vector<torch::Tensor> flat{torch::cat(flat_parts)};
      c10d::AllreduceOptions opts;
      opts.reduceOp = c10d::ReduceOp::SUM;
      opts.timeout = impl_->timeout;
      impl_->backend->allreduce(flat, opts)->wait();
      flat[0].div_(static_cast<double>(world_size_));
      int64_t offset = 0;
      for (size_t i = begin; i < end; ++i) {
        const int64_t n = list[i].numel();
        list[i].copy_(flat[0].narrow(0, offset, n).view_as(list[i]));
        offset += n;
      }
      begin = end;
    }
  }
}

void ProcessGroup::all_reduce_max(torch::Tensor& tensor) {
  if (world_size_ == 1) return;
  std::vector<torch::Tensor> list{tensor};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MAX;
  opts.timeout = impl_->timeout;
  impl_->backend->allreduce(list, opts)->wait();
}

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  if (world_size_ == 1) return;
  std::vector<torch::Tensor> list{tensor};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  opts.timeout = impl_->timeout;
  impl_->backend->allreduce(list, opts)->wait();
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& tensor) {
  if (world_size_ == 1) return {tensor};
  // A sum of rows that are zero except on their own rank: exact for any dtype Gloo and NCCL sum,
  // and needs no all-gather buffers of the backend's own layout.
  torch::Tensor rows = torch::zeros({world_size_, tensor.numel()}, tensor.options());
  rows[rank_].copy_(tensor.reshape({-1}));
  all_reduce_sum(rows);
  std::vector<torch::Tensor> out;
  for (int64_t r = 0; r < world_size_; ++r) out.push_back(rows[r].view(tensor.sizes()).clone());
  return out;
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int64_t root) {
  if (world_size_ == 1) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    std::vector<torch::Tensor> list{t.is_contiguous() ? t : t.contiguous()};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = impl_->timeout;
    impl_->backend->broadcast(list, opts)->wait();
    if (!list[0].is_same(t)) t.copy_(list[0]);
  }
}

void ProcessGroup::barrier() {
  if (world_size_ == 1) return;
  impl_->backend->barrier()->wait();
}

}  // namespace facegan::train
