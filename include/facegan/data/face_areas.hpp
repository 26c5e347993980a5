#pragma once
// Makeup areas of a face from its 68 landmarks (iBUG order) and, when known, its Region map: the
// eye area (lids up to the brows, where eyeshadow and liner go), the lips and the remaining facial
// skin (cheeks, where blush goes). Landmarks alone suffice, so the areas exist for any face a
// landmark detector has seen; a Region map (a face parser's or the renderer's) trims them to face
// pixels (no hair, background, ears or neck).

#include <opencv2/core.hpp>

#include <array>
#include <vector>

namespace facegan::data {

/// The areas, in this order everywhere (mask channels, config names "eyes", "lips", "skin").
enum class FaceArea { kEyes = 0, kLips = 1, kSkin = 2 };
/// Number of FaceArea values.
constexpr int kNumFaceAreas = 3;
/// Config names of the areas, indexed by FaceArea.
inline constexpr std::array<const char*, kNumFaceAreas> kFaceAreaNames{"eyes", "lips", "skin"};

/// The three area masks (CV_8U, 0/1, `size`), disjoint: eyes = per eye the polygon brow (17-21,
/// 22-26) -> lower lid (39-41, 36 and 45-47, 42), dilated by ~2% of the side (the liner wing);
/// lips = outer mouth polygon (48-59) dilated by one pixel; skin = the face outline (jaw 0-16 and
/// brows) minus the other two. `regions` (optional, CV_8U of Region values, `size`) keeps only
/// skin, brows, eyes, lips, nose and mouth pixels. DataError unless there are 68 landmarks.
std::array<cv::Mat, kNumFaceAreas> face_area_masks(const std::vector<cv::Point2f>& landmarks, cv::Size size,
                                                   const cv::Mat& regions = cv::Mat());

}  // namespace facegan::data
