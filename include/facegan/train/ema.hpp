#pragma once
// Exponential moving averages of network weights (Polyak averaging; Karras et al. 2018 for GANs),
// used instead of the live weights for samples and evaluation.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace facegan::train {

/// An EMA copy of one network. After each update(), for every parameter:
///   ema = decay * ema + (1 - decay) * live,
/// and every buffer (batch-norm running statistics) is copied from the live network.
class Ema {
 public:
  /// Clones `network` (it must be a torch::nn::Cloneable) as the initial average.
  Ema(std::shared_ptr<torch::nn::Module> network, double decay);

  /// One averaging step from the live network's current weights.
  void update();
  /// Sets the average to the live weights (before the averaging starts).
  void reset_to_live();
  /// The averaged copy (same structure, keys and device as the live network).
  const std::shared_ptr<torch::nn::Module>& average() const { return average_; }
  double decay() const { return decay_; }

  /// RAII: the live network holds the averaged weights for this scope, its own afterwards.
  class Swap {
   public:
    explicit Swap(Ema& ema);
    ~Swap();
    Swap(const Swap&) = delete;
    Swap& operator=(const Swap&) = delete;

   private:
    Ema& ema_;
    std::vector<torch::Tensor> saved_;
  };

 private:
  std::shared_ptr<torch::nn::Module> live_;
  std::shared_ptr<torch::nn::Module> average_;
  double decay_;
};

}  // namespace facegan::train
