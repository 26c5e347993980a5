#pragma once
// Five-point face alignment: a least-squares similarity from detected points to a canonical
// template, and the warps that apply it to images, landmarks and label maps.
//
// Coordinates follow OpenCV's pixel-centre convention: pixel (i, j) covers [j - 0.5, j + 0.5] x
// [i - 0.5, i + 0.5] and its centre is (x = j, y = i), the same convention as cv::warpAffine and the
// landmark files of CelebA and CK+.

#include <facegan/data/dataset.hpp>

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace facegan::data {

/// The least-squares similarity (rotation, uniform scale, translation; no reflection) taking
/// `from` onto `to` (Umeyama 1991, "Least-squares estimation of transformation parameters between
/// two point patterns", Eq. 40-42 restricted to det R = +1; in 2-D this is the closed form
/// c = sum conj(p_i) q_i / sum |p_i|^2 over centred points seen as complex numbers).
/// Returns a 2x3 CV_64F matrix M with to ~= M * [from; 1]. TORCH_CHECK fails on fewer than two
/// points, on counts that differ, and on `from` points that all coincide.
cv::Mat similarity_transform(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to);

/// Applies a 2x3 affine `transform` (CV_64F or CV_32F) to points.
std::vector<cv::Point2f> transform_points(const cv::Mat& transform, const std::vector<cv::Point2f>& points);
/// Applies a 2x3 affine to a float tensor of points [K, 2] (x, y); returns float32 [K, 2].
torch::Tensor transform_points(const cv::Mat& transform, const torch::Tensor& points);

/// The canonical five points, in the order left eye, right eye, nose tip, left mouth corner, right
/// mouth corner ("left" = the image's left, i.e. the subject's right eye: CelebA's order), for a
/// `size` x `size` crop.
///
/// The numbers are InsightFace's ArcFace template for 112 x 112 crops (`arcface_dst` in
/// insightface/utils/face_align.py): (38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
/// (41.5493, 92.3655), (70.7299, 92.2041), scaled to `size` about pixel edges
/// (p' = (p + 0.5) * size / 112 - 0.5). That crop is tight (chin and forehead cut); `padding` adds
/// a margin of that fraction of the crop on every side (0.25 shows the whole head), shrinking the
/// face towards the centre: u' = (u + padding) / (1 + 2 * padding) in unit crop coordinates.
std::vector<cv::Point2f> five_point_template(int size, double padding = 0.0);

/// The five alignment points from iBUG 68 landmarks: eye centres (means of 36-41 and 42-47),
/// nose tip (30), mouth corners (48, 54). DataError when there are not 68 points.
std::vector<cv::Point2f> five_points_from_68(const std::vector<cv::Point2f>& landmarks);
/// Tensor form: [68, 2] -> float32 [5, 2].
torch::Tensor five_points_from_68(const torch::Tensor& landmarks);

/// Points [K, 2] (any float type) to OpenCV points.
std::vector<cv::Point2f> points_from_tensor(const torch::Tensor& points);
/// OpenCV points to float32 [K, 2].
torch::Tensor points_to_tensor(const std::vector<cv::Point2f>& points);

/// An aligned crop and the 2x3 CV_64F transform that maps source pixels to crop pixels.
struct AlignedFace {
  cv::Mat image;
  cv::Mat transform;
};

/// Warps `image` (any OpenCV type warpAffine takes) so that `five_points` land on
/// five_point_template(size, padding): bilinear, border replicated.
AlignedFace align_face(const cv::Mat& image, const std::vector<cv::Point2f>& five_points, int size,
                       double padding = 0.0);

/// Warps an image tensor [C, H, W] (floating point) into [C, size, size]: bilinear, border replicated.
torch::Tensor warp_image(const torch::Tensor& image, const cv::Mat& transform, int64_t size);
/// Warps a label map [H, W] (uint8) into [size, size]: nearest neighbour (labels never blend),
/// outside the source = Region::kBackground.
torch::Tensor warp_mask(const torch::Tensor& mask, const cv::Mat& transform, int64_t size);

/// The sample keys align_sample() moves together.
struct AlignKeys {
  std::string image = "image";
  std::string landmarks = "landmarks";
  std::string mask = "mask";
};

/// Aligns a sample in place: its image becomes the size x size crop that puts `five_points`
/// ([5, 2], pixels of the current image) on the template; its landmarks (if present) are transformed
/// with it and its mask (if present) is warped with nearest neighbour. Returns the transform.
cv::Mat align_sample(Sample& sample, const torch::Tensor& five_points, int64_t size, double padding = 0.0,
                     const AlignKeys& keys = {});

}  // namespace facegan::data
