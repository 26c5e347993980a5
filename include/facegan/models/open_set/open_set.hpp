#pragma once
// The inference API of open-set identity-preserving synthesis (Bao et al. 2018): mix an identity
// with the attributes of another face, sample random attributes for an identity, and interpolate
// between two identities, on cv::Mat images or batched tensors.

#include <facegan/models/blocks/decoder.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/resnet.hpp>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace facegan::models {

class OpenSetTask;

/// A trained open-set model: I (f_I), A (z_a) and G. Networks are kept in eval() mode (z_a = mu)
/// and run under c10::InferenceMode. Tensor inputs: [N, 3, S, S] or [3, S, S] in [-1, 1] at the
/// model's image size S, on any device; outputs on the model's device with the inputs' rank.
/// cv::Mat inputs: 8-bit BGR of any size, resized to S and the result back to the identity
/// image's size.
class OpenSet {
 public:
  /// Loads a trainer checkpoint written by the "open_set" task (EMA weights when it has them).
  /// CheckpointError naming the file when it cannot be read or another task wrote it.
  static OpenSet load(const std::string& checkpoint, torch::Device device = torch::kCPU);
  /// Shares the task's I, A and G (no copy); they are switched to eval() mode.
  static OpenSet from_task(OpenSetTask& task);

  OpenSet(IdentityNet identity, VariationalEncoder attribute, ConvDecoder generator,
          torch::Device device = torch::kCPU);

  /// x' = G([f_I(identity), mu_A(attribute)]): identity [N, 3, S, S], attribute [N, 3, S, S]
  /// (or one of them [1, ...] / [3, S, S], broadcast over the other's N) -> [N, 3, S, S].
  torch::Tensor mix(const torch::Tensor& identity, const torch::Tensor& attribute) const;
  /// 8-bit BGR identity face and attribute face -> 8-bit BGR mix of the identity image's size.
  cv::Mat mix(const cv::Mat& identity, const cv::Mat& attribute) const;
  /// Random attributes z ~ N(0, I) (Bao et al. Sec. 3.3): identity [N, 3, S, S] -> [N * n, 3, S, S],
  /// identity-major (rows i * n .. i * n + n - 1 show identity i). Deterministic in `seed`.
  torch::Tensor sample(const torch::Tensor& identity, int64_t n = 1, uint64_t seed = 0) const;
  /// sample() on one 8-bit BGR face -> n faces.
  std::vector<cv::Mat> sample(const cv::Mat& identity, int64_t n = 1, uint64_t seed = 0) const;
  /// Linear interpolation of f_I between two identities with fixed attributes: faces a, b and
  /// attribute [3, S, S] (or [1, 3, S, S]) -> [steps, 3, S, S]; row k uses
  /// f = (1 - t) f_I(a) + t f_I(b), t = k / (steps - 1) (steps >= 2).
  torch::Tensor interpolate(const torch::Tensor& identity_a, const torch::Tensor& identity_b,
                            const torch::Tensor& attribute, int64_t steps) const;
  /// interpolate() on 8-bit BGR faces -> steps faces of identity_a's size.
  std::vector<cv::Mat> interpolate(const cv::Mat& identity_a, const cv::Mat& identity_b, const cv::Mat& attribute,
                                   int64_t steps) const;
  /// f_I: [N, 3, S, S] -> [N, embedding_dim].
  torch::Tensor identity_features(const torch::Tensor& faces) const;

  /// The side S of the model's images.
  int64_t image_size() const { return generator_->options.image_size(); }
  torch::Device device() const { return device_; }
  IdentityNet& identity() { return identity_; }
  VariationalEncoder& attribute() { return attribute_; }
  ConvDecoder& generator() { return generator_; }

 private:
  torch::Tensor prepare(const torch::Tensor& faces, const char* what) const;
  torch::Tensor mat_to_batch(const cv::Mat& face, const char* what) const;
  cv::Mat batch_to_mat(const torch::Tensor& image, const cv::Size& size) const;

  mutable IdentityNet identity_{nullptr};
  mutable VariationalEncoder attribute_{nullptr};
  mutable ConvDecoder generator_{nullptr};
  torch::Device device_ = torch::kCPU;
};

}  // namespace facegan::models
