#include <facegan/eval/metrics.hpp>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace facegan::eval {
namespace {

/// Both images as float64 [N, C, H, W] on the [0, 1] range.
std::pair<torch::Tensor, torch::Tensor> unit_range_pair(const torch::Tensor& a, const torch::Tensor& b,
                                                        const char* who) {
  TORCH_CHECK(a.sizes() == b.sizes(), who, ": images must have equal shapes, got ", a.sizes(), " and ", b.sizes());
  TORCH_CHECK(a.dim() == 3 || a.dim() == 4, who, ": expected [N, C, H, W] or [C, H, W], got ", a.sizes());
  TORCH_CHECK(a.is_floating_point() && b.is_floating_point(), who, ": images must be floating point");
  auto prep = [](const torch::Tensor& t) {
    torch::Tensor x = t.detach().to(torch::kFloat64);
    if (x.dim() == 3) x = x.unsqueeze(0);
    return (x + 1.0) * 0.5;
  };
  return {prep(a), prep(b)};
}

/// Normalised 1-d Gaussian of `size` taps, float64.
torch::Tensor gaussian_1d(int64_t size, double sigma, const torch::Device& device) {
  torch::Tensor x = torch::arange(size, torch::TensorOptions().dtype(torch::kFloat64).device(device)) -
                    static_cast<double>(size - 1) / 2.0;
  torch::Tensor g = torch::exp(-(x * x) / (2.0 * sigma * sigma));
  return g / g.sum();
}

}  // namespace

torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  auto [x, y] = unit_range_pair(a, b, "psnr");
  const torch::Tensor mse = (x - y).square().flatten(1).mean(1);
  // mse == 0 gives log10(0) = -inf and so +inf dB, the conventional value for identical images.
  return -10.0 * torch::log10(mse);
}

double psnr(const torch::Tensor& a, const torch::Tensor& b) { return psnr_per_image(a, b).mean().item<double>(); }

torch::Tensor ssim_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  constexpr int64_t kWindow = 11;
  constexpr double kSigma = 1.5, kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;
  auto [x, y] = unit_range_pair(a, b, "ssim");
  TORCH_CHECK(x.size(2) >= kWindow && x.size(3) >= kWindow, "ssim: images must be at least ", kWindow, "x", kWindow,
              ", got ", x.size(2), "x", x.size(3));
  const int64_t n = x.size(0), c = x.size(1);
  // Separable Gaussian, applied per channel (groups = C) without padding.
  const torch::Tensor g = gaussian_1d(kWindow, kSigma, x.device());
  const torch::Tensor wh = g.view({1, 1, 1, kWindow}).expand({c, 1, 1, kWindow}).contiguous();
  const torch::Tensor wv = g.view({1, 1, kWindow, 1}).expand({c, 1, kWindow, 1}).contiguous();
  const std::vector<int64_t> ones{1, 1}, zeros{0, 0};
  auto conv = [&](const torch::Tensor& t, const torch::Tensor& w) {
    return at::conv2d(t, w, torch::Tensor(), at::IntArrayRef(ones), at::IntArrayRef(zeros), at::IntArrayRef(ones), c);
  };
  auto blur = [&](const torch::Tensor& t) { return conv(conv(t, wh), wv); };
  const torch::Tensor mu_x = blur(x), mu_y = blur(y);
  const torch::Tensor sxx = blur(x * x) - mu_x * mu_x;
  const torch::Tensor syy = blur(y * y) - mu_y * mu_y;
  const torch::Tensor sxy = blur(x * y) - mu_x * mu_y;
  const torch::Tensor map = ((2.0 * mu_x * mu_y + kC1) * (2.0 * sxy + kC2)) /
                            ((mu_x * mu_x + mu_y * mu_y + kC1) * (sxx + syy + kC2));
  return map.reshape({n, -1}).mean(1);
}

double ssim(const torch::Tensor& a, const torch::Tensor& b) { return ssim_per_image(a, b).mean().item<double>(); }

double accuracy(const torch::Tensor& pred, const torch::Tensor& labels) {
  TORCH_CHECK(pred.dim() == 1 && pred.sizes() == labels.sizes() && pred.numel() > 0,
              "accuracy: expected two non-empty [N] tensors, got ", pred.sizes(), " and ", labels.sizes());
  return pred.to(torch::kLong).eq(labels.to(torch::kLong)).to(torch::kFloat64).mean().item<double>();
}

torch::Tensor confusion_matrix(const torch::Tensor& pred, const torch::Tensor& labels, int64_t num_classes) {
  TORCH_CHECK(num_classes > 0, "confusion_matrix: num_classes must be positive, got ", num_classes);
  TORCH_CHECK(pred.dim() == 1 && pred.sizes() == labels.sizes(), "confusion_matrix: expected two [N] tensors, got ",
              pred.sizes(), " and ", labels.sizes());
  const torch::Tensor p = pred.to(torch::kCPU, torch::kLong), t = labels.to(torch::kCPU, torch::kLong);
  if (p.numel() > 0) {
    TORCH_CHECK(p.min().item<int64_t>() >= 0 && p.max().item<int64_t>() < num_classes &&
                    t.min().item<int64_t>() >= 0 && t.max().item<int64_t>() < num_classes,
                "confusion_matrix: labels and predictions must lie in [0, ", num_classes, ")");
  }
  return torch::bincount(t * num_classes + p, {}, num_classes * num_classes).view({num_classes, num_classes});
}

std::vector<int64_t> identity_folds(const std::vector<int64_t>& identities, int64_t k, uint64_t seed) {
  std::vector<int64_t> ids = identities;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (k < 2 || k > static_cast<int64_t>(ids.size())) {
    throw std::invalid_argument("identity_folds: k must be in [2, " + std::to_string(ids.size()) +
                                "] (the number of distinct identities), got " + std::to_string(k));
  }
  // Fisher-Yates with an explicitly specified generator: std::shuffle's algorithm is
  // implementation-defined, and the split must be the same on every platform.
  std::mt19937_64 rng(seed);
  for (size_t i = ids.size() - 1; i > 0; --i) {
    const size_t j = static_cast<size_t>(rng() % (i + 1));
    std::swap(ids[i], ids[j]);
  }
  std::vector<int64_t> sorted_ids = ids;
  std::vector<int64_t> fold_of_sorted(ids.size());
  std::sort(sorted_ids.begin(), sorted_ids.end());
  for (size_t r = 0; r < ids.size(); ++r) {
    const size_t pos = static_cast<size_t>(std::lower_bound(sorted_ids.begin(), sorted_ids.end(), ids[r]) - sorted_ids.begin());
    fold_of_sorted[pos] = static_cast<int64_t>(r) % k;
  }
  std::vector<int64_t> folds(identities.size());
  for (size_t i = 0; i < identities.size(); ++i) {
    const size_t pos = static_cast<size_t>(
        std::lower_bound(sorted_ids.begin(), sorted_ids.end(), identities[i]) - sorted_ids.begin());
    folds[i] = fold_of_sorted[pos];
  }
  return folds;
}

FoldSplit fold_split(const std::vector<int64_t>& folds, int64_t fold) {
  FoldSplit split;
  for (size_t i = 0; i < folds.size(); ++i) (folds[i] == fold ? split.test : split.train).push_back(i);
  return split;
}

}  // namespace facegan::eval
