#pragma once
// The PairedCycleGAN inference API: apply a reference face's makeup to a source face at a chosen
// intensity and on chosen areas, and remove makeup from a face; on cv::Mat images or tensors.
//
// The networks need geometry the pixels alone do not give: 68 landmarks (iBUG order) of each face,
// for the warp W(x, y) and the region crops. cv::Mat calls take them as arguments (from any
// detector: dlib, face-alignment); an optional Region map (a face parser's) trims the makeup areas
// to face pixels, else the areas come from the landmarks alone (data/face_areas.hpp). Tensor calls
// take a batch in data/makeup_pairs.hpp's layout. Image sides must be divisible by 2^depth of the
// global U-Net (64 for the default depth 6) and equal the training size for best results.

#include <facegan/data/dataset.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/makeup/makeup_generator.hpp>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace facegan::models {

class MakeupTask;

/// A trained makeup model (G and F). Networks are kept in eval() mode; calls run without gradients.
class Makeup {
 public:
  /// Loads G ("g") and F ("f") of a trainer checkpoint written by a "makeup" task (EMA weights when
  /// present). CheckpointError naming the file when it cannot be read or is another task's.
  static Makeup load(const std::string& checkpoint, torch::Device device = torch::kCPU);
  /// Shares the task's networks (no copy); they are switched to eval() mode.
  static Makeup from_task(MakeupTask& task);
  Makeup(MakeupGenerator generator, UNetGenerator remover, torch::Device device = torch::kCPU);

  /// Transfer on a batch with the keys "source", "warped", "source_areas", "source_landmarks"
  /// (data/makeup_pairs.hpp) -> [N, 3, H, W] on the model's device: x + intensity * (the chosen
  /// areas' deltas). regions: names among "eyes", "lips", "skin" (empty = every area the generator
  /// handles); intensity in [0, 1]: 0 returns the source exactly.
  torch::Tensor transfer(const data::Batch& pair, double intensity = 1.0, const std::vector<std::string>& regions = {}) const;
  /// Transfer on tensors: source, reference [N, 3, H, W] (or [3, H, W]) in [-1, 1] and their
  /// landmarks [N, 68, 2] (or [68, 2]); warp and areas are computed here (areas from landmarks).
  torch::Tensor transfer(const torch::Tensor& source, const torch::Tensor& source_landmarks, const torch::Tensor& reference,
                         const torch::Tensor& reference_landmarks, double intensity = 1.0,
                         const std::vector<std::string>& regions = {}) const;
  /// Transfer on 8-bit BGR images of equal size with their landmarks -> 8-bit BGR image.
  /// source_regions: optional CV_8U Region map of the source.
  cv::Mat transfer(const cv::Mat& source, const std::vector<cv::Point2f>& source_landmarks, const cv::Mat& reference,
                   const std::vector<cv::Point2f>& reference_landmarks, double intensity = 1.0,
                   const std::vector<std::string>& regions = {}, const cv::Mat& source_regions = cv::Mat()) const;

  /// Removal: faces [N, 3, H, W] in [-1, 1] with their makeup areas [N, 3, H, W] -> F(faces).
  torch::Tensor remove(const torch::Tensor& faces, const torch::Tensor& areas) const;
  /// Removal on an 8-bit BGR image with its landmarks (and optional Region map) -> 8-bit BGR.
  cv::Mat remove(const cv::Mat& face, const std::vector<cv::Point2f>& landmarks, const cv::Mat& regions = cv::Mat()) const;

  torch::Device device() const { return device_; }
  MakeupGenerator& generator() { return generator_; }
  UNetGenerator& remover() { return remover_; }

 private:
  mutable MakeupGenerator generator_{nullptr};
  mutable UNetGenerator remover_{nullptr};
  torch::Device device_ = torch::kCPU;
};

}  // namespace facegan::models
