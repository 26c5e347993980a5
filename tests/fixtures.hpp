#pragma once
// Fixtures of the public data sets' on-disk formats, written by the tests (no data set is ever
// downloaded): tiny folders laid out as CelebA, CK+, Oulu-CASIA, MT and CASIA-WebFace ship them.
// Shared by the readers' tests and the test that runs every config in configs/.

#include <facegan/data/align.hpp>
#include <facegan/data/readers.hpp>

#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace facegan::testing {

namespace fs = std::filesystem;
using data::five_point_template;
using data::CelebADataset;

/// A fresh folder under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("facegan_test_" + name + "_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// A w x h image of one BGR colour (any extension OpenCV writes).
inline void write_image_file(const fs::path& path, int red, int w = 16, int h = 16, int green = 60, int blue = 200) {
  fs::create_directories(path.parent_path());
  cv::Mat image(h, w, CV_8UC3, cv::Scalar(blue, green, red));
  REQUIRE(cv::imwrite(path.string(), image));
}

inline void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline const std::vector<std::pair<std::string, int>> kCelebAIds{{"000001.jpg", 2880}, {"000002.jpg", 2937},
                                                          {"000003.jpg", 8692}, {"000004.jpg", 5805},
                                                          {"000005.jpg", 2880}, {"000006.jpg", 4153}};
inline const std::vector<int> kCelebASplit{0, 0, 0, 1, 2, 2};

inline int celeba_attribute(size_t image, size_t attribute) { return (image + attribute) % 3 == 0 ? 1 : -1; }

/// CelebA landmarks of image i: the 20x24 template nudged by i, rounded as in the real file.
inline std::vector<int> celeba_landmarks(size_t i) {
  std::vector<int> out;
  for (const auto& p : five_point_template(20)) {
    out.push_back(static_cast<int>(std::lround(p.x)) + static_cast<int>(i % 2));
    out.push_back(static_cast<int>(std::lround(p.y)) + 2);
  }
  return out;
}

inline void make_celeba(const fs::path& root) {
  std::string ids, parts,
      lms =
          "6\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
          "leftmouth_y rightmouth_x rightmouth_y\n";
  std::string attrs = "6\n";
  for (const auto& name : CelebADataset::attribute_names()) attrs += name + " ";
  attrs += "\n";
  for (size_t i = 0; i < kCelebAIds.size(); ++i) {
    const auto& [name, id] = kCelebAIds[i];
    write_image_file(root / "img_align_celeba" / name, 10 + 30 * static_cast<int>(i), 20, 24);
    ids += name + " " + std::to_string(id) + "\n";
    parts += name + " " + std::to_string(kCelebASplit[i]) + "\r\n";
    lms += name;
    for (int v : celeba_landmarks(i)) lms += (v < 10 ? "    " : "   ") + std::to_string(v);
    lms += "\n";
    attrs += name;
    for (size_t a = 0; a < 40; ++a) attrs += (celeba_attribute(i, a) > 0 ? "  1" : " -1");
    attrs += "\n";
  }
  write_text(root / "identity_CelebA.txt", ids);
  write_text(root / "list_eval_partition.txt", parts);
  write_text(root / "list_landmarks_align_celeba.txt", lms);
  write_text(root / "list_attr_celeba.txt", attrs);
}

/// 68 landmarks whose five alignment points are the 40x40 template shifted by `shift`.
inline std::string ck_landmarks(float shift) {
  const auto t = five_point_template(40);
  std::vector<cv::Point2f> lm(68, cv::Point2f(20, 20));
  for (int i = 36; i <= 41; ++i) lm[i] = t[0] + cv::Point2f(shift, 0);
  for (int i = 42; i <= 47; ++i) lm[i] = t[1] + cv::Point2f(shift, 0);
  lm[30] = t[2] + cv::Point2f(shift, 0);
  lm[48] = t[3] + cv::Point2f(shift, 0);
  lm[54] = t[4] + cv::Point2f(shift, 0);
  std::string out;
  char buf[64];
  for (const auto& p : lm) {
    std::snprintf(buf, sizeof(buf), "   %.7e   %.7e\n", p.x, p.y);
    out += buf;
  }
  return out;
}

/// cohn-kanade-images/<subject>/<seq>/<subject>_<seq>_0000000k.png (red 10 * seq_id + k) with
/// landmarks; `code` < 0 writes no emotion file.
inline void make_ck_sequence(const fs::path& root, const std::string& subject, const std::string& seq, int frames, double code,
                      int red_base) {
  for (int k = 1; k <= frames; ++k) {
    char name[64];
    std::snprintf(name, sizeof(name), "%s_%s_%08d", subject.c_str(), seq.c_str(), k);
    write_image_file(root / "cohn-kanade-images" / subject / seq / (std::string(name) + ".png"), red_base + k, 40, 40);
    write_text(root / "Landmarks" / subject / seq / (std::string(name) + "_landmarks.txt"),
               ck_landmarks(static_cast<float>(k % 3)));
    if (k == frames && code >= 0) {
      char text[64];
      std::snprintf(text, sizeof(text), "   %.7e\n", code);
      write_text(root / "Emotion" / subject / seq / (std::string(name) + "_emotion.txt"), text);
    }
  }
  fs::create_directories(root / "Emotion" / subject / seq);
}

inline void make_ck(const fs::path& root) {
  make_ck_sequence(root, "S005", "001", 5, 3, 100);   // disgust
  make_ck_sequence(root, "S010", "002", 4, 2, 150);   // contempt
  make_ck_sequence(root, "S010", "003", 3, -1, 170);  // unlabeled
  make_ck_sequence(root, "S011", "001", 3, 5, 200);   // happy
  write_text(root / "cohn-kanade-images" / "S005" / "001" / ".DS_Store", "junk");
}

inline void make_oulu_sequence(const fs::path& base, const std::string& subject, const std::string& emotion, int frames,
                        int red_base) {
  for (int k = 0; k < frames; ++k) {
    char name[16];
    std::snprintf(name, sizeof(name), "%03d.jpeg", k);
    write_image_file(base / subject / emotion / name, red_base + 10 * k, 24, 20);
  }
}

}  // namespace facegan::testing
