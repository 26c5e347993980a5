#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace facegan::data {
namespace {

std::vector<cv::Point> pick(const std::vector<cv::Point2f>& lm, std::initializer_list<int> ids) {
  std::vector<cv::Point> out;
  // 4 fractional bits, so that small faces keep sub-pixel polygon corners.
  for (int i : ids) out.emplace_back(cvRound(lm[static_cast<size_t>(i)].x * 16), cvRound(lm[static_cast<size_t>(i)].y * 16));
  return out;
}

void fill(cv::Mat& m, const std::vector<cv::Point>& poly) {
  std::vector<std::vector<cv::Point>> polys{poly};
  cv::fillPoly(m, polys, cv::Scalar(1), cv::LINE_8, 4);
}

void dilate(cv::Mat& m, int r) {
  if (r <= 0) return;
  cv::dilate(m, m, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1)));
}

}  // namespace

std::array<cv::Mat, kNumFaceAreas> face_area_masks(const std::vector<cv::Point2f>& lm, cv::Size size, const cv::Mat& regions) {
  if (lm.size() != 68) throw DataError("face_area_masks: landmarks must have 68 points (iBUG order), got " + std::to_string(lm.size()));
  if (size.width < 1 || size.height < 1) throw DataError("face_area_masks: empty size");
  if (!regions.empty() && (regions.size() != size || regions.type() != CV_8U)) {
    throw DataError("face_area_masks: regions must be CV_8U of the image size");
  }
  std::array<cv::Mat, kNumFaceAreas> m;
  for (auto& a : m) a = cv::Mat::zeros(size, CV_8U);
  cv::Mat& eyes = m[0];
  cv::Mat& lips = m[1];
  cv::Mat& skin = m[2];
  fill(eyes, pick(lm, {17, 18, 19, 20, 21, 39, 40, 41, 36}));
  fill(eyes, pick(lm, {22, 23, 24, 25, 26, 45, 46, 47, 42}));
  dilate(eyes, std::max(1, static_cast<int>(std::lround(0.02 * std::min(size.width, size.height)))));
  fill(lips, pick(lm, {48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59}));
  dilate(lips, 1);
  std::vector<cv::Point> outline = pick(lm, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17});
  std::vector<cv::Point> hull;
  cv::convexHull(outline, hull);
  fill(skin, hull);
  if (!regions.empty()) {
    cv::Mat face = cv::Mat::zeros(size, CV_8U);
    for (int y = 0; y < size.height; ++y) {
      const uint8_t* r = regions.ptr<uint8_t>(y);
      uint8_t* f = face.ptr<uint8_t>(y);
      for (int x = 0; x < size.width; ++x) {
        // Region: 1 skin, 2 brows, 3 eyes, 4 lips, 8 nose, 9 mouth.
        f[x] = (r[x] >= 1 && r[x] <= 4) || r[x] == 8 || r[x] == 9;
      }
    }
    for (auto& a : m) a &= face;
  }
  // Disjoint: lips win over eyes (never overlap on a face), both win over skin.
  eyes.setTo(0, lips);
  skin.setTo(0, eyes | lips);
  return m;
}

}  // namespace facegan::data
