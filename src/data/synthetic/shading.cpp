#include "painter.hpp"

#include <opencv2/imgproc.hpp>

namespace facegan::data::synthetic {

void Painter::shade_face() {
  const cv::Rect roi = face_roi_;
  const int n = roi.width * roi.height;
  if (n <= 0) return;
  std::vector<float> xc(n), yc(n), nx(n), ny(n), nz(n), hx(n, 0.f), hy(n, 0.f), ao(n, 0.f);
  const double sx = factors_.attributes.shift_x, sy = factors_.attributes.shift_y;
  for (int y = 0; y < roi.height; ++y) {
    for (int x = 0; x < roi.width; ++x) {
      if (face_alpha_.at<uint8_t>(roi.y + y, roi.x + x) == 0) continue;
      const int i = y * roi.width + x;
      const double ux = (roi.x + x + 0.5) / internal_size_ - 0.5 - sx, uy = (roi.y + y + 0.5) / internal_size_ - 0.5 - sy;
      const double xp = (cos_roll_ * ux + sin_roll_ * uy) / scale_, yy = (-sin_roll_ * ux + cos_roll_ * uy) / scale_;
      double cx, a, b, c;
      head_.inverse(xp, yy, cx, a, b, c);
      xc[i] = static_cast<float>(cx), yc[i] = static_cast<float>(yy);
      nx[i] = static_cast<float>(a), ny[i] = static_cast<float>(b), nz[i] = static_cast<float>(c);
    }
  }
  auto splat = [&](const Bump& k, bool occl) {
    Poly box{surf(k.cx - k.rx, k.cy - k.ry), surf(k.cx + k.rx, k.cy - k.ry), surf(k.cx + k.rx, k.cy + k.ry),
             surf(k.cx - k.rx, k.cy + k.ry), surf(k.cx, k.cy - k.ry), surf(k.cx, k.cy + k.ry)};
    const cv::Rect r = bounds(box, 2 + len(0.02) * supersample_) & roi;
    const float icx = static_cast<float>(k.cx), icy = static_cast<float>(k.cy);
    const float irx = static_cast<float>(1.0 / k.rx), iry = static_cast<float>(1.0 / k.ry), amp = static_cast<float>(k.amp);
    for (int y = r.y; y < r.y + r.height; ++y) {
      const uint8_t* prot = protected_.ptr<uint8_t>(y);
      for (int x = r.x; x < r.x + r.width; ++x) {
        const int i = (y - roi.y) * roi.width + (x - roi.x);
        if (k.expressive && prot[x]) continue;
        const float u = (xc[i] - icx) * irx, v = (yc[i] - icy) * iry;
        const float r2 = u * u + v * v;
        if (r2 >= 1.f) continue;
        const float w = 1.f - r2;
        if (occl) {
          ao[i] += amp * w * w;
        } else {
          hx[i] += -4.f * amp * u * w * irx;
          hy[i] += -4.f * amp * v * w * iry;
        }
      }
    }
  };
  for (const Bump& k : relief_bumps_) splat(k, false);
  for (const Bump& k : occlusion_blobs_) splat(k, true);

  const double ct = head_.cos_yaw(), st = head_.sin_yaw();
  // Blinn half vector between the light and the viewer (0, 0, 1).
  const double hn = 1.0 / std::sqrt(light_x_ * light_x_ + light_y_ * light_y_ + sq(light_z_ + 1.0));
  const double Hx = light_x_ * hn, Hy = light_y_ * hn, Hz = (light_z_ + 1.0) * hn;
  for (int y = 0; y < roi.height; ++y) {
    uint8_t* d = image_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* s = face_layer_.ptr<uint8_t>(roi.y + y) + 3 * roi.x;
    const uint8_t* al = face_alpha_.ptr<uint8_t>(roi.y + y) + roi.x;
    for (int x = 0; x < roi.width; ++x) {
      const int w = al[x];
      if (w == 0) continue;
      const int i = y * roi.width + x;
      double mx = nx[i] - nz[i] * hx[i], my = ny[i] - nz[i] * hy[i], mz = nz[i];
      const double inv = 1.0 / std::sqrt(mx * mx + my * my + mz * mz);
      mx *= inv, my *= inv, mz *= inv;
      const double x1 = mx * ct + mz * st, z1 = -mx * st + mz * ct;
      const double x2 = cos_roll_ * x1 - sin_roll_ * my, y2 = sin_roll_ * x1 + cos_roll_ * my;
      const double ndl = std::max(0.0, x2 * light_x_ + y2 * light_y_ + z1 * light_z_);
      double sp = std::max(0.0, x2 * Hx + y2 * Hy + z1 * Hz);
      sp *= sp, sp *= sp, sp *= sp, sp *= sp;  // ^16
      const double occ = 1.0 - std::min(0.6, static_cast<double>(ao[i]));
      const double shade = (ambient_ + diffuse_ * ndl) * occ;
      const double spec = specular_ * 255.0 * sp * occ;
      for (int c = 0; c < 3; ++c) {
        const int v = u8(s[3 * x + c] * shade + spec);
        d[3 * x + c] = static_cast<uint8_t>((d[3 * x + c] * (255 - w) + v * w + 127) / 255);
      }
    }
  }
}

}  // namespace facegan::data::synthetic
