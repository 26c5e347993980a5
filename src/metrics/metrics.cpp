#include <facegan/metrics/metrics.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace facegan::metrics {
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

std::map<std::string, torch::Tensor> fidelity_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.dim() == 4 && a.sizes() == b.sizes(), "fidelity_per_image: expected two [N, C, H, W] of equal shape, got ",
              a.sizes(), " and ", b.sizes());
  const torch::Tensor af = a.to(torch::kFloat), bf = b.to(torch::kFloat);
  return {{"l1", (af - bf).abs().flatten(1).mean(1).to(torch::kFloat64)},
          {"psnr", psnr_per_image(af, bf).clamp_max(kPsnrCap)},
          {"ssim", ssim_per_image(af, bf)}};
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

// ---------------------------------------------------------------------------------------------
// Colour.

namespace {

// sRGB (linear) -> XYZ, D65: the matrix cv::cvtColor uses, and the D65 white point.
constexpr double kRgbToXyz[3][3] = {{0.412453, 0.357580, 0.180423}, {0.212671, 0.715160, 0.072169}, {0.019334, 0.119193, 0.950227}};
constexpr double kWhite[3] = {0.950456, 1.0, 1.088754};
constexpr double kEpsilon = 0.008856;  // (6/29)^3
constexpr double kKappa = 7.787;       // (29/6)^2 / 3

torch::Tensor channels_first(const torch::Tensor& t, const char* who) {
  TORCH_CHECK(t.dim() == 3 || t.dim() == 4, who, ": expected [N, 3, H, W] or [3, H, W], got ", t.sizes());
  const torch::Tensor b = t.dim() == 3 ? t.unsqueeze(0) : t;
  TORCH_CHECK(b.size(1) == 3, who, ": expected 3 channels, got ", b.size(1));
  return b;
}

torch::Tensor mix(const torch::Tensor& c, const double m[3][3]) {
  std::vector<torch::Tensor> out;
  for (int i = 0; i < 3; ++i) out.push_back(m[i][0] * c.select(1, 0) + m[i][1] * c.select(1, 1) + m[i][2] * c.select(1, 2));
  return torch::stack(out, 1);
}

/// Mask [N, H, W] or [N, 1, H, W] -> float [N, 1, H, W] of 0/1.
torch::Tensor mask4(const torch::Tensor& mask, const torch::Tensor& like, const char* who) {
  torch::Tensor m = mask.dim() == 3 ? mask.unsqueeze(1) : mask;
  TORCH_CHECK(m.dim() == 4 && m.size(1) == 1 && m.size(0) == like.size(0) && m.size(2) == like.size(2) && m.size(3) == like.size(3),
              who, ": mask must be [N, H, W] or [N, 1, H, W] matching the images ", like.sizes(), ", got ", mask.sizes());
  return (m != 0).to(torch::kFloat64);
}

}  // namespace

torch::Tensor rgb_to_lab(const torch::Tensor& images) {
  const torch::Tensor x = channels_first(images, "rgb_to_lab").to(torch::kFloat32);
  const torch::Tensor c = ((x + 1) / 2).clamp(0, 1);
  const torch::Tensor lin = torch::where(c <= 0.04045, c / 12.92, torch::pow((c + 0.055) / 1.055, 2.4));
  torch::Tensor xyz = mix(lin, kRgbToXyz);
  std::vector<torch::Tensor> f;
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor t = xyz.select(1, i) / kWhite[i];
    // The clamp keeps the cube root's gradient finite at 0 (where the linear branch is used anyway).
    f.push_back(torch::where(t > kEpsilon, torch::pow(t.clamp_min(kEpsilon), 1.0 / 3.0), kKappa * t + 16.0 / 116.0));
  }
  torch::Tensor lab = torch::stack({116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])}, 1);
  return images.dim() == 3 ? lab.squeeze(0) : lab;
}

torch::Tensor lab_to_rgb(const torch::Tensor& lab_in) {
  const torch::Tensor lab = channels_first(lab_in, "lab_to_rgb").to(torch::kFloat32);
  const torch::Tensor fy = (lab.select(1, 0) + 16) / 116;
  const torch::Tensor fx = fy + lab.select(1, 1) / 500, fz = fy - lab.select(1, 2) / 200;
  auto inv = [](const torch::Tensor& f) {
    return torch::where(f > 6.0 / 29.0, f * f * f, (f - 16.0 / 116.0) / kKappa);
  };
  torch::Tensor xyz = torch::stack({inv(fx) * kWhite[0], inv(fy) * kWhite[1], inv(fz) * kWhite[2]}, 1);
  // The inverse of kRgbToXyz, computed once in double.
  static const auto inverse = [] {
    torch::Tensor m = torch::empty({3, 3}, torch::kFloat64);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m[i][j] = kRgbToXyz[i][j];
    torch::Tensor im = torch::inverse(m);
    std::array<std::array<double, 3>, 3> out{};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) out[i][j] = im[i][j].item<double>();
    return out;
  }();
  double m[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] = inverse[static_cast<size_t>(i)][static_cast<size_t>(j)];
  const torch::Tensor lin = mix(xyz, m).clamp(0, 1);
  const torch::Tensor c = torch::where(lin <= 0.0031308, lin * 12.92, 1.055 * torch::pow(lin, 1.0 / 2.4) - 0.055);
  torch::Tensor rgb = c.clamp(0, 1) * 2 - 1;
  return lab_in.dim() == 3 ? rgb.squeeze(0) : rgb;
}

torch::Tensor delta_e_per_image(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.dim() == 4, "delta_e_per_image: a and b must be equal [N, 3, H, W], got ", a.sizes(),
              " and ", b.sizes());
  const torch::Tensor m = mask4(mask, a, "delta_e_per_image").to(a.device());
  const torch::Tensor de = (rgb_to_lab(a).to(torch::kFloat64) - rgb_to_lab(b).to(torch::kFloat64)).pow(2).sum(1, true).sqrt();
  const torch::Tensor count = m.flatten(1).sum(1);
  return ((de * m).flatten(1).sum(1) / count).cpu();  // 0 / 0 = NaN for an empty mask
}

torch::Tensor masked_psnr_per_image(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.dim() == 4, "masked_psnr_per_image: a and b must be equal [N, C, H, W], got ",
              a.sizes(), " and ", b.sizes());
  const torch::Tensor m = mask4(mask, a, "masked_psnr_per_image").to(a.device());
  const torch::Tensor d = ((a.to(torch::kFloat64) - b.to(torch::kFloat64)) / 2).pow(2) * m;
  const torch::Tensor mse = d.flatten(1).sum(1) / (m.flatten(1).sum(1) * static_cast<double>(a.size(1)));
  return (-10.0 * torch::log10(mse)).cpu();
}

torch::Tensor reinhard_transfer(const torch::Tensor& source, const torch::Tensor& reference, const torch::Tensor& source_mask,
                                const torch::Tensor& reference_mask) {
  TORCH_CHECK(source.dim() == 3 && reference.dim() == 3 && source.size(0) == 3 && reference.size(0) == 3,
              "reinhard_transfer: source and reference must be [3, H, W], got ", source.sizes(), " and ", reference.sizes());
  TORCH_CHECK(source_mask.dim() == 2 && source_mask.size(0) == source.size(1) && source_mask.size(1) == source.size(2),
              "reinhard_transfer: source_mask must be [H, W] of the source, got ", source_mask.sizes());
  TORCH_CHECK(reference_mask.dim() == 2 && reference_mask.size(0) == reference.size(1) && reference_mask.size(1) == reference.size(2),
              "reinhard_transfer: reference_mask must be [H, W] of the reference, got ", reference_mask.sizes());
  const torch::Tensor sm = source_mask != 0, rm = reference_mask != 0;
  if (sm.sum().item<int64_t>() == 0 || rm.sum().item<int64_t>() == 0) return source.clone();
  const torch::Tensor ls = rgb_to_lab(source).to(torch::kFloat64), lr = rgb_to_lab(reference).to(torch::kFloat64);
  const torch::Tensor ps = ls.masked_select(sm.unsqueeze(0)).view({3, -1});
  const torch::Tensor pr = lr.masked_select(rm.unsqueeze(0)).view({3, -1});
  const torch::Tensor mu_s = ps.mean(1).view({3, 1, 1}), mu_r = pr.mean(1).view({3, 1, 1});
  const torch::Tensor sd_s = ps.std(1, /*unbiased=*/false).clamp_min(1e-6).view({3, 1, 1});
  const torch::Tensor sd_r = pr.std(1, /*unbiased=*/false).view({3, 1, 1});
  const torch::Tensor moved = lab_to_rgb(((ls - mu_s) / sd_s * sd_r + mu_r).to(torch::kFloat32)).to(source.scalar_type());
  return torch::where(sm.unsqueeze(0), moved, source);
}

}  // namespace facegan::metrics
