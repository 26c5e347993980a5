#pragma once
// Colour-histogram matching targets (BeautyGAN, Li et al. 2018, uses them for makeup): the pixels of
// an image inside a region are re-coloured, channel by channel, to the values of the same quantile
// among a reference's pixels inside its region. A reconstruction loss between the image and this
// (detached) target then pulls the region's colour distribution towards the reference's without a
// pixel correspondence between the two.

#include <torch/torch.h>

namespace facegan::losses {

/// The histogram-matched target of `image` inside `mask`: image, reference [N, C, H, W]; masks
/// [N, 1, H, W] or [N, H, W] (non-zero = inside) -> [N, C, H, W], equal to the image outside the
/// mask (and where either mask is empty), detached (no gradient). Per sample and channel, the pixel
/// of rank k among n gets the reference value of rank floor(k m / n) among m (exact quantile
/// matching; no binning).
torch::Tensor histogram_matched(const torch::Tensor& image, const torch::Tensor& mask, const torch::Tensor& reference,
                                const torch::Tensor& reference_mask);

}  // namespace facegan::losses
