// Lights the face layer: per pixel, the head surface's normal (inverted from the projection) is
// tilted by the relief bumps, lit by Lambert plus a Blinn highlight, darkened by the occlusion
// blobs, and composited over the image through the outline's alpha.
#include "painter.hpp"

namespace facegan::data::synthetic {

void Painter::shade_face() {
  const cv::Rect roi = face_roi_;
  const int n = roi.width * roi.height;
  if (n <= 0) return;
  std::vector<float> surface_x(n), surface_y(n), normal_x(n), normal_y(n), normal_z(n), slope_x(n, 0.f), slope_y(n, 0.f), occlusion(n, 0.f);
  const double shift_x = factors_.attributes.shift_x, shift_y = factors_.attributes.shift_y;
  for (int y = 0; y < roi.height; ++y) {
    for (int x = 0; x < roi.width; ++x) {
      if (face_alpha_.at<uint8_t>(roi.y + y, roi.x + x) == 0) continue;
      const int i = y * roi.width + x;
      const double centred_x = (roi.x + x + 0.5) / internal_size_ - 0.5 - shift_x, centred_y = (roi.y + y + 0.5) / internal_size_ - 0.5 - shift_y;
      const double unrolled_x = (cos_roll_ * centred_x + sin_roll_ * centred_y) / scale_, unrolled_y = (-sin_roll_ * centred_x + cos_roll_ * centred_y) / scale_;
      double x_on_surface, nx, ny, nz;
      head_.inverse(unrolled_x, unrolled_y, x_on_surface, nx, ny, nz);
      surface_x[i] = static_cast<float>(x_on_surface), surface_y[i] = static_cast<float>(unrolled_y);
      normal_x[i] = static_cast<float>(nx), normal_y[i] = static_cast<float>(ny), normal_z[i] = static_cast<float>(nz);
    }
  }
  auto splat = [&](const Bump& bump, bool is_occlusion) {
    Poly box{surf(bump.cx - bump.rx, bump.cy - bump.ry), surf(bump.cx + bump.rx, bump.cy - bump.ry), surf(bump.cx + bump.rx, bump.cy + bump.ry),
             surf(bump.cx - bump.rx, bump.cy + bump.ry), surf(bump.cx, bump.cy - bump.ry), surf(bump.cx, bump.cy + bump.ry)};
    const cv::Rect r = bounds(box, 2 + len(0.02) * supersample_) & roi;
    const float centre_x = static_cast<float>(bump.cx), centre_y = static_cast<float>(bump.cy);
    const float inv_rx = static_cast<float>(1.0 / bump.rx), inv_ry = static_cast<float>(1.0 / bump.ry), amp = static_cast<float>(bump.amp);
    for (int y = r.y; y < r.y + r.height; ++y) {
      const uint8_t* protect_row = protected_.ptr<uint8_t>(y);
      for (int x = r.x; x < r.x + r.width; ++x) {
        const int i = (y - roi.y) * roi.width + (x - roi.x);
        if (bump.expressive && protect_row[x]) continue;
        const float u = (surface_x[i] - centre_x) * inv_rx, v = (surface_y[i] - centre_y) * inv_ry;
        const float r2 = u * u + v * v;
        if (r2 >= 1.f) continue;
        const float w = 1.f - r2;
        if (is_occlusion) {
          occlusion[i] += amp * w * w;
        } else {
          slope_x[i] += -4.f * amp * u * w * inv_rx;
          slope_y[i] += -4.f * amp * v * w * inv_ry;
        }
      }
    }
  };
  for (const Bump& bump : relief_bumps_) splat(bump, false);
  for (const Bump& blob : occlusion_blobs_) splat(blob, true);

  const double cos_yaw = head_.cos_yaw(), sin_yaw = head_.sin_yaw();
  // Blinn half vector between the light and the viewer (0, 0, 1).
  const double half_norm = 1.0 / std::sqrt(light_x_ * light_x_ + light_y_ * light_y_ + sq(light_z_ + 1.0));
  const double half_x = light_x_ * half_norm, half_y = light_y_ * half_norm, half_z = (light_z_ + 1.0) * half_norm;
  for (int y = 0; y < roi.height; ++y) {
    uint8_t* d = image_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* s = face_layer_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* alpha = face_alpha_.ptr<uint8_t>(roi.y + y) + roi.x;
    for (int x = 0; x < roi.width; ++x) {
      const int w = alpha[x];
      if (w == 0) continue;
      const int i = y * roi.width + x;
      double lit_x = normal_x[i] - normal_z[i] * slope_x[i], lit_y = normal_y[i] - normal_z[i] * slope_y[i], lit_z = normal_z[i];
      const double inv = 1.0 / std::sqrt(lit_x * lit_x + lit_y * lit_y + lit_z * lit_z);
      lit_x *= inv, lit_y *= inv, lit_z *= inv;
      const double x1 = lit_x * cos_yaw + lit_z * sin_yaw, z1 = -lit_x * sin_yaw + lit_z * cos_yaw;
      const double x2 = cos_roll_ * x1 - sin_roll_ * lit_y, y2 = sin_roll_ * x1 + cos_roll_ * lit_y;
      const double ndl = std::max(0.0, x2 * light_x_ + y2 * light_y_ + z1 * light_z_);
      double highlight = std::max(0.0, x2 * half_x + y2 * half_y + z1 * half_z);
      highlight *= highlight, highlight *= highlight, highlight *= highlight, highlight *= highlight;  // ^16
      const double light_left = 1.0 - std::min(0.6, static_cast<double>(occlusion[i]));
      const double shade = (ambient_ + diffuse_ * ndl) * light_left;
      const double spec = specular_ * 255.0 * highlight * light_left;
      for (int c = 0; c < 3; ++c) {
        const int v = u8(s[3 * x + c] * shade + spec);
        d[3 * x + c] = static_cast<uint8_t>((d[3 * x + c] * (255 - w) + v * w + 127) / 255);
      }
    }
  }
}

}  // namespace facegan::data::synthetic
