// The order of one render, and its outputs brought to the output size.
#include "painter.hpp"

namespace facegan::data::synthetic {

RenderedFace Painter::run() {
  image_.create(internal_size_, internal_size_, CV_8UC3);
  face_layer_.create(internal_size_, internal_size_, CV_8UC3);
  hair_layer_.create(internal_size_, internal_size_, CV_8UC3);
  for (cv::Mat* m : {&face_alpha_, &back_hair_alpha_, &front_hair_alpha_, &scratch_alpha_, &lipstick_alpha_, &eyeshadow_alpha_, &blush_alpha_, &eyeliner_alpha_}) {
    *m = cv::Mat::zeros(internal_size_, internal_size_, CV_8U);
  }
  regions_ = cv::Mat::zeros(size_, size_, CV_8U);

  layout();
  paint_background();

  // Hair: both coverage maps first, then the colour where either covers; back hair now, front
  // hair (fringe, the side part's swept lock) over the finished face.
  layout_hair();
  for (const Poly& p : hair_back_) {
    fill(back_hair_alpha_, p, cv::Scalar(255));
    label(p, RegionValue::kHair);
  }
  fill(front_hair_alpha_, hair_front_, cv::Scalar(255));
  if (!hair_lock_.empty()) fill(front_hair_alpha_, hair_lock_, cv::Scalar(255));
  paint_hair_colour();
  blend(image_, hair_layer_, back_hair_alpha_, hair_roi_, false);

  paint_neck_and_clothes();
  paint_ears();

  // The face layer: skin albedo, features, makeup; shaded and composited through the outline.
  face_outline_.clear();
  const int n = 40;
  for (int i = 0; i <= n; ++i) {
    const double y = lerp(kFaceTop, head_.bottom(), 0.5 - 0.5 * std::cos(kPi * i / n));
    face_outline_.push_back(px(head_.silhouette_x(y, -1), y));
  }
  for (int i = n - 1; i >= 1; --i) {
    const double y = lerp(kFaceTop, head_.bottom(), 0.5 - 0.5 * std::cos(kPi * i / n));
    face_outline_.push_back(px(head_.silhouette_x(y, +1), y));
  }
  fill(face_alpha_, face_outline_, cv::Scalar(255));
  label(face_outline_, RegionValue::kSkin);
  face_roi_ = bounds(face_outline_, 2);
  face_layer_(face_roi_).setTo(skin_);

  paint_flush();
  // The protected band: 1 + ss pixels around the outline's anti-aliased edge, and the front hair.
  protected_ = (face_alpha_ < 255) | (front_hair_alpha_ > 0);
  grow(protected_, 1 + supersample_);
  const cv::Mat identity_only = face_layer_(face_roi_).clone();
  build_makeup_maps();
  paint_face_features();
  identity_only.copyTo(face_layer_(face_roi_), protected_(face_roi_));
  shade_face();

  label(hair_front_, RegionValue::kHair);
  if (!hair_lock_.empty()) label(hair_lock_, RegionValue::kHair);
  blend(image_, hair_layer_, front_hair_alpha_, hair_roi_, false);
  return finish();
}

Poly Painter::landmark_curve(std::initializer_list<int> ids) const {
  Poly curve;
  for (int i : ids) curve.push_back(landmarks_[i]);
  return curve;
}

Poly Painter::lips_outline() const {
  Poly outline = spline(landmark_curve({48, 49, 50, 51, 52, 53, 54}), 5);
  const Poly lower = spline(landmark_curve({54, 55, 56, 57, 58, 59, 48}), 5);
  outline.insert(outline.end(), lower.begin() + 1, lower.end() - 1);
  return outline;
}

Poly Painter::mouth_opening() const {
  Poly opening = spline(landmark_curve({60, 61, 62, 63, 64}), 5);
  const Poly lower = spline(landmark_curve({64, 65, 66, 67, 60}), 5);
  opening.insert(opening.end(), lower.begin() + 1, lower.end() - 1);
  return opening;
}

RenderedFace Painter::finish() {
  RenderedFace out;
  // Makeup may change a pixel where some product's alpha is non-zero on the visible face layer.
  cv::Mat any = (lipstick_alpha_ | eyeshadow_alpha_ | blush_alpha_ | eyeliner_alpha_);
  cv::Mat mask_hi = (any > 0) & (face_alpha_ > 0) & (protected_ == 0);
  if (supersample_ == 1) {
    out.image = image_;
    out.makeup_mask = mask_hi / 255;
  } else {
    cv::resize(image_, out.image, cv::Size(size_, size_), 0, 0, cv::INTER_AREA);
    cv::Mat pooled;
    cv::resize(mask_hi, pooled, cv::Size(size_, size_), 0, 0, cv::INTER_AREA);  // any covered sample counts
    out.makeup_mask = pooled > 0;
    out.makeup_mask /= 255;
  }
  out.regions = regions_;
  out.landmarks.resize(kNumLandmarks);
  for (int i = 0; i < kNumLandmarks; ++i) out.landmarks[i] = cv::Point2f(static_cast<float>(landmarks_[i].x), static_cast<float>(landmarks_[i].y));
  return out;
}

}  // namespace facegan::data::synthetic
