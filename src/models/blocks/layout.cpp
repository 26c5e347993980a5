#include <facegan/models/blocks/layout.hpp>

namespace facegan::models {

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto relayout = [](torch::Tensor& t) {
    if (t.defined() && t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
  };
  for (auto& p : module.parameters()) relayout(p);
  for (auto& b : module.buffers()) relayout(b);
}

bool is_channels_last(const torch::nn::Module& module) {
  for (const auto& p : module.parameters())
    if (p.dim() == 4 && !p.is_contiguous(at::MemoryFormat::ChannelsLast)) return false;
  return true;
}

}  // namespace facegan::models
