#pragma once
// The DeRL inference API: neutralize an expressive face (stage 1) and classify its expression from
// the de-expression residue (stage 2), on cv::Mat images or batched tensors.

#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/derl/residue_classifier.hpp>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace facegan::models {

class DeRLTask;

/// A trained DeRL model. Networks are kept in eval() mode and run under c10::InferenceMode.
class DeRL {
 public:
  /// Loads a trainer checkpoint written by a "derl" task: stage "deexpression" gives a model that
  /// can only neutralize, stage "classify" a complete one (its file holds the frozen generator
  /// too). EMA weights are used when the checkpoint has them. `image_size` > 0: cv::Mat inputs are
  /// resized to image_size x image_size (and outputs back to the input's size). On CPU the
  /// networks are laid out channels-last (models::to_channels_last: 6-10 % faster inference).
  /// CheckpointError naming the file when it cannot be read or was written by another task or
  /// stage.
  static DeRL load(const std::string& checkpoint, torch::Device device = torch::kCPU, int64_t image_size = 0);
  /// Shares the task's networks (no copy); they are switched to eval() mode.
  static DeRL from_task(DeRLTask& task, int64_t image_size = 0);

  /// The networks of a model; classifier may be null (neutralize only). `classes`: expression ids
  /// of the classifier's outputs, in order.
  DeRL(UNetGenerator generator, ResidueClassifier classifier, std::vector<int64_t> classes,
       torch::Device device = torch::kCPU, int64_t image_size = 0);

  /// faces: [N, 3, H, W] or [3, H, W] in [-1, 1] (any device) -> neutral faces of the same shape,
  /// on the model's device.
  torch::Tensor neutralize(const torch::Tensor& faces) const;
  /// 8-bit BGR face -> 8-bit BGR neutral face of the same size.
  cv::Mat neutralize(const cv::Mat& face) const;
  /// faces: [N, 3, H, W] or [3, H, W] in [-1, 1] -> [N, K] class probabilities (softmax of the
  /// final head), classes in classes() order. Error when the model has no classifier.
  torch::Tensor classify(const torch::Tensor& faces) const;
  /// 8-bit BGR face -> K probabilities in classes() order.
  std::vector<double> classify(const cv::Mat& face) const;

  /// Whether classify() is available (a stage-2 model).
  bool can_classify() const { return !classifier_.is_empty(); }
  /// Expression ids of the K outputs (data::kExpressionClassNames indices).
  const std::vector<int64_t>& classes() const { return classes_; }
  /// Names of the K outputs ("happy", ...).
  std::vector<std::string> class_names() const;
  torch::Device device() const { return device_; }
  UNetGenerator& generator() { return generator_; }
  ResidueClassifier& classifier() { return classifier_; }

 private:
  torch::Tensor prepare(const torch::Tensor& faces) const;
  torch::Tensor mat_to_batch(const cv::Mat& face) const;

  // Inference runs in const methods; the modules themselves are not changed by a forward pass in
  // eval mode, but torch's forward() is non-const.
  mutable UNetGenerator generator_{nullptr};
  mutable ResidueClassifier classifier_{nullptr};
  std::vector<int64_t> classes_;
  torch::Device device_ = torch::kCPU;
  int64_t image_size_ = 0;
};

}  // namespace facegan::models
