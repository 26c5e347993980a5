#pragma once
// Evaluation metrics shared by every paper: image fidelity (PSNR, SSIM), classification
// (accuracy, confusion matrix) and the person-independent k-fold split of facial-expression studies.
// A leaf of the lowest layer (beside core/): it depends on torch alone, so that papers' tasks, the
// probes of eval/ and the experiment runner can all score with it.

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace facegan::metrics {

/// Peak signal-to-noise ratio per image, in dB, of images in [-1, 1] measured on the [0, 1] range
/// (the convention of image-translation papers): PSNR = 10 log10(1 / MSE), MSE over C, H, W.
/// a, b: [N, C, H, W] or [C, H, W] (equal shapes, any float dtype) -> float64 [N] ([1] for 3-d
/// inputs); +inf where the images are identical.
torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b);

/// Mean of psnr_per_image (+inf when any pair is identical).
double psnr(const torch::Tensor& a, const torch::Tensor& b);

/// Per-sample evaluation caps PSNR here (an MSE of 1e-10): identical images, which psnr_per_image
/// scores +inf, would otherwise make every mean and paired difference that includes them infinite.
constexpr double kPsnrCap = 100.0;

/// Structural similarity (Wang et al. 2004) per image of images in [-1, 1], measured on the [0, 1]
/// range: 11x11 Gaussian window with sigma 1.5 applied without padding ("valid", as the reference
/// MATLAB ssim_index), K1 = 0.01, K2 = 0.03, dynamic range 1; the SSIM map is averaged over
/// positions and channels. a, b: [N, C, H, W] or [C, H, W] with H, W >= 11 -> float64 [N] in
/// [-1, 1] (1 for identical images). Computed in float64.
torch::Tensor ssim_per_image(const torch::Tensor& a, const torch::Tensor& b);

/// Mean of ssim_per_image.
double ssim(const torch::Tensor& a, const torch::Tensor& b);

/// The per-sample fidelity of image translation: {"l1": mean |a - b| over C, H, W on [-1, 1],
/// "psnr": psnr_per_image capped at kPsnrCap, "ssim": ssim_per_image}, each float64 [N].
/// a, b: [N, C, H, W] in [-1, 1] (H, W >= 11).
std::map<std::string, torch::Tensor> fidelity_per_image(const torch::Tensor& a, const torch::Tensor& b);

/// Fraction of pred == labels. pred, labels: integer [N] (N >= 1).
double accuracy(const torch::Tensor& pred, const torch::Tensor& labels);

/// Confusion matrix of K classes: int64 [K, K], entry (t, p) counts samples of true class t
/// predicted as p (rows: truth, columns: prediction). pred, labels: integer [N] in [0, K).
torch::Tensor confusion_matrix(const torch::Tensor& pred, const torch::Tensor& labels, int64_t num_classes);

/// Person-independent k-fold split (as CK+ and Oulu-CASIA studies do): the distinct identities
/// are shuffled with `seed` and dealt round-robin into k folds, so every identity lies in exactly
/// one fold and fold sizes (in identities) differ by at most one. identities: one per sample ->
/// the fold (0..k-1) of each sample. Throws std::invalid_argument unless 2 <= k <= #identities.
std::vector<int64_t> identity_folds(const std::vector<int64_t>& identities, int64_t k, uint64_t seed);

/// Sample indices of one fold of identity_folds: `test` holds the samples whose fold is `fold`,
/// `train` all others, both in increasing order.
struct FoldSplit {
  std::vector<size_t> train;
  std::vector<size_t> test;
};

/// Splits sample indices by their fold (from identity_folds) into train and test of `fold`.
FoldSplit fold_split(const std::vector<int64_t>& folds, int64_t fold);


// ---------------------------------------------------------------------------------------------
// Colour: CIE Lab, colour difference, masked fidelity, Reinhard colour transfer.

/// sRGB images in [-1, 1] -> CIE L*a*b* (D65 white, the sRGB transfer curve undone first), the
/// conversion cv::cvtColor(COLOR_RGB2Lab) applies to float images in [0, 1]: L in [0, 100], a and b
/// roughly in [-128, 127]. images: [N, 3, H, W] or [3, H, W] (any float dtype) -> float32 of that
/// shape; differentiable.
torch::Tensor rgb_to_lab(const torch::Tensor& images);
/// Inverse of rgb_to_lab: Lab [N, 3, H, W] or [3, H, W] -> sRGB in [-1, 1] (clamped), float32.
torch::Tensor lab_to_rgb(const torch::Tensor& lab);
/// Mean CIE76 colour difference Delta E*ab = ||Lab(a) - Lab(b)||_2 per pixel, averaged over the
/// pixels where `mask` is non-zero. a, b: [N, 3, H, W] in [-1, 1]; mask: [N, H, W] or
/// [N, 1, H, W] (any dtype) -> float64 [N]; NaN for an image whose mask is empty.
torch::Tensor delta_e_per_image(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask);
/// psnr_per_image restricted to the pixels where `mask` is non-zero (MSE over those pixels and the 3
/// channels, on the [0, 1] range). a, b: [N, C, H, W] in [-1, 1]; mask [N, H, W] or [N, 1, H, W]
/// -> float64 [N]; NaN where the mask is empty, +inf where the masked pixels are equal.
torch::Tensor masked_psnr_per_image(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask);
/// Reinhard et al. 2001 colour transfer inside a region, in CIE Lab (not the paper's l-alpha-beta):
/// the source's pixels in `source_mask` get the per-channel mean and standard deviation of the
/// reference's pixels in `reference_mask`; other pixels are returned unchanged. source, reference:
/// [3, H, W] in [-1, 1]; masks [H, W] (non-zero = inside). An empty mask returns the source.
torch::Tensor reinhard_transfer(const torch::Tensor& source, const torch::Tensor& reference,
                                const torch::Tensor& source_mask, const torch::Tensor& reference_mask);

}  // namespace facegan::metrics
