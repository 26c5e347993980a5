// The makeup products' alpha maps. They are built for every face, worn or not, because their
// union is the returned makeup mask, which must not depend on the makeup itself.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::build_makeup_maps() {
  // Lipstick: the lips. Eyeshadow: lid to brow. Blush: cheeks. Eyeliner: upper lid line with a wing.
  // Built whether or not makeup is worn: their union is the makeup mask.
  fill(lipstick_alpha_, lips_outline(), cv::Scalar(255));
  if (mouth_is_open()) fill(lipstick_alpha_, mouth_opening(), cv::Scalar(0));
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const Poly& up = eye_upper_[side];
    Poly shadow;
    for (const P2& p : up) shadow.push_back(surf(p.x, p.y + 0.004));
    for (int i = static_cast<int>(up.size()) - 1; i >= 0; --i) {
      const double u = static_cast<double>(i) / (up.size() - 1);  // 0 outer, 1 inner
      const P2& p = up[i];
      shadow.push_back(surf(p.x + sgn * 0.012 * (1 - u), p.y - 0.018 - 0.014 * std::sin(kPi * u) - 0.006 * (1 - u)));
    }
    cv::Rect roi = bounds(shadow, 3 + 3 * len(0.007) * supersample_);
    fill(eyeshadow_alpha_, shadow, cv::Scalar(255));
    if (!roi.empty()) soften(eyeshadow_alpha_(roi), len(0.006) * supersample_);

    Poly cheek = ellipse_points(P2(sgn * (eye_x_ + 0.012), nose_tip_y_ - 0.012 - 0.01 * expression_.cheek_raise), 0.05, 0.032, -sgn * 0.25, 20);
    for (P2& p : cheek) p = surf(p);
    roi = bounds(cheek, 3 + 3 * len(0.02) * supersample_);
    fill(blush_alpha_, cheek, cv::Scalar(255));
    if (!roi.empty()) soften(blush_alpha_(roi), len(0.018) * supersample_);

    Poly liner_c;
    for (size_t i = 0; i + 2 < up.size(); ++i) liner_c.push_back(surf(up[up.size() - 1 - i]));  // inner -> outer
    const P2 corner = up.front();
    liner_c.push_back(surf(corner.x + sgn * 0.012, corner.y - 0.006));
    liner_c.push_back(surf(corner.x + sgn * 0.022, corner.y - 0.013));
    fill(eyeliner_alpha_, stroke(liner_c, [&](double u) { return std::max(0.6, len(0.004 + 0.009 * std::sin(kPi * std::min(0.92, u) * 0.6 + 0.2))); }),
         cv::Scalar(255));
  }
}

}  // namespace facegan::data::synthetic
