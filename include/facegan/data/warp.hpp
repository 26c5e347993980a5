#pragma once
// Piecewise-affine warping by landmarks: the geometry PairedCycleGAN needs to lay a makeup
// reference over a source face (W(x, y)), and any task that aligns one face onto another's shape.
// The 68 landmarks plus anchor points on the image border are triangulated (Delaunay over the
// destination points, cv::Subdiv2D); each destination triangle maps affinely onto its source
// triangle. The inverse map is filled per pixel (barycentric coordinates) and applied with one
// cv::remap, which is faster than one warpAffine per triangle and leaves no seams.

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>
#include <vector>

namespace facegan::data {

/// A dense inverse map: output pixel (x, y) samples the source image at (map_x(y, x), map_y(y, x)),
/// both CV_32F of the output size (cv::remap's form).
struct WarpMap {
  cv::Mat map_x;
  cv::Mat map_y;
};

/// Delaunay triangles over `points` (indices into it), computed by cv::Subdiv2D. Duplicate points
/// are merged onto their first occurrence; degenerate (zero-area) triangles are dropped.
std::vector<std::array<int, 3>> delaunay_triangles(const std::vector<cv::Point2f>& points);

/// The inverse map of the piecewise-affine warp that moves `src_landmarks` onto `dst_landmarks`,
/// for an output of `size` (the source image is assumed to have the same size). Both landmark
/// lists must have equal non-zero length (68 for faces) and finite coordinates; the 8 anchors
/// (corners and edge midpoints of the image) map onto themselves. Pixels outside every triangle
/// (none, since the anchors span the image) would keep the identity. DataError naming the argument
/// on bad input.
WarpMap piecewise_affine_map(const std::vector<cv::Point2f>& src_landmarks, const std::vector<cv::Point2f>& dst_landmarks,
                             cv::Size size);

/// Warps `image` (any type cv::remap accepts) so that its `src_landmarks` land on `dst_landmarks`.
/// `interpolation`: cv::INTER_LINEAR for images, cv::INTER_NEAREST for label maps and masks.
/// Borders are replicated. DataError when the image is empty or the landmarks are bad.
cv::Mat warp_piecewise_affine(const cv::Mat& image, const std::vector<cv::Point2f>& src_landmarks,
                              const std::vector<cv::Point2f>& dst_landmarks, int interpolation = 1 /*cv::INTER_LINEAR*/);

/// The map as a torch::nn::functional::grid_sample grid (align_corners = false): float32 [H, W, 2]
/// of normalised (x, y) in [-1, 1]. grid_sample(image, grid) then equals cv::remap with the same
/// map up to bilinear rounding, and is differentiable in the image.
torch::Tensor warp_map_to_grid(const WarpMap& map);

/// Landmarks tensor float32 [K, 2] (x, y pixels) -> points; DataError naming `what` on a bad shape.
std::vector<cv::Point2f> landmarks_from_tensor(const torch::Tensor& landmarks, const char* what = "landmarks");

}  // namespace facegan::data
