#pragma once
// The pix2pix inference API: translate an image with a trained generator, on cv::Mat images or
// batched tensors. Loads pix2pix checkpoints of the trainer and generators imported from
// pytorch-CycleGAN-and-pix2pix (`facegan import`, docs/python-weights.md), U-Net or ResNet.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

namespace facegan::models {

/// A trained image-to-image generator, kept in eval() mode and run under c10::InferenceMode.
class Pix2Pix {
 public:
  /// Loads network "g" of a checkpoint of the "pix2pix" task (the EMA copy when it has one): the
  /// task's U-Net, or the network its meta's "architectures" records (an imported ResNet
  /// generator). `image_size` > 0: cv::Mat inputs are resized to image_size x image_size (and
  /// outputs back to the input's size). CheckpointError naming the file when it cannot be read or
  /// was written by another task.
  static Pix2Pix load(const std::string& checkpoint, torch::Device device = torch::kCPU, int64_t image_size = 0);

  /// `generator`: a UNetGenerator or a ResnetGenerator (ConfigError for anything else).
  explicit Pix2Pix(std::shared_ptr<torch::nn::Module> generator, torch::Device device = torch::kCPU,
                   int64_t image_size = 0);

  /// images: [N, C, H, W] or [C, H, W] in [-1, 1] (C the generator's input channels, H and W
  /// multiples of what it needs: 2^depth for a U-Net) -> its outputs, same rank, on the model's device.
  torch::Tensor translate(const torch::Tensor& images) const;
  /// 8-bit BGR image -> 8-bit BGR image of the same size (3-channel generators only).
  cv::Mat translate(const cv::Mat& image) const;

  /// The generator's input and output channels.
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  torch::Device device() const { return device_; }
  std::shared_ptr<torch::nn::Module> generator() const { return generator_; }

 private:
  std::shared_ptr<torch::nn::Module> generator_;
  std::function<torch::Tensor(const torch::Tensor&)> forward_;
  int64_t in_channels_ = 0, out_channels_ = 0;
  torch::Device device_ = torch::kCPU;
  int64_t image_size_ = 0;
};

}  // namespace facegan::models
