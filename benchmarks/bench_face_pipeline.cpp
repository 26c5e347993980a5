// Time per face of the photo pipeline at 1 and 4 megapixels, stage by stage: HOG detection (on the
// copy scaled to --detect-max-side), 68 landmarks, alignment, the model (DeRL's neutralize with a
// pix2pix U-Net of random weights: only its cost matters here) and the paste-back. The photo is
// scikit-image's astronaut portrait scaled to the photo's height on a wider canvas (4:3), so the
// face grows with the photo as it would in a real picture.
//
//   bench_face_pipeline [--photo FILE] [--repeats N] [--crop S] [--depth D] [--threads T]
//                       [--detect-max-side L]
// Defaults: $FACEGAN_HOME/photos/astronaut.png (else ~/.cache/facegan/photos), 5 repeats (the
// median is printed), crop 256 with a depth-8 U-Net (configs/derl_ck_plus.json's generator),
// torch on every hardware thread, detect-max-side 1600.
#include <facegan/core/heap.hpp>
#include <facegan/data/face_detector.hpp>
#include <facegan/data/face_pipeline.hpp>
#include <facegan/models/derl/derl.hpp>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string default_photo() {
  if (const char* h = std::getenv("FACEGAN_HOME")) return (std::filesystem::path(h) / "photos" / "astronaut.png").string();
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home != nullptr ? home : "/root") / ".cache/facegan/photos/astronaut.png").string();
}

/// The portrait scaled to `height` on a 4:3 canvas.
cv::Mat make_photo(const cv::Mat& portrait, int height) {
  const int width = height * 4 / 3;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(120, 110, 100));
  cv::Mat scaled;
  cv::resize(portrait, scaled, {height, height}, 0, 0, height > portrait.rows ? cv::INTER_CUBIC : cv::INTER_AREA);
  scaled.copyTo(canvas(cv::Rect((width - height) / 2, 0, height, height)));
  return canvas;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();
    std::string photo_path = default_photo();
    int repeats = 5, crop = 256, depth = 8, threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int64_t detect_max_side = 1600;
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      const bool has_value = i + 1 < argc;
      if (flag == "--photo" && has_value) {
        photo_path = argv[++i];
      } else if (flag == "--repeats" && has_value) {
        repeats = std::max(1, std::atoi(argv[++i]));
      } else if (flag == "--crop" && has_value) {
        crop = std::atoi(argv[++i]);
      } else if (flag == "--depth" && has_value) {
        depth = std::atoi(argv[++i]);
      } else if (flag == "--threads" && has_value) {
        threads = std::max(1, std::atoi(argv[++i]));
      } else if (flag == "--detect-max-side" && has_value) {
        detect_max_side = std::atoll(argv[++i]);
      } else {
        std::printf("usage: bench_face_pipeline [--photo FILE] [--repeats N] [--crop S] [--depth D] [--threads T] "
                    "[--detect-max-side L]\n");
        return flag == "--help" || flag == "-h" ? 0 : 2;
      }
    }
    at::set_num_threads(threads);
    torch::manual_seed(0);
    const cv::Mat portrait = facegan::data::read_photo(photo_path);
    const auto detector = std::make_shared<const facegan::data::FaceDetector>(
        facegan::data::FaceDetectorOptions().detect_max_side(detect_max_side));
    const facegan::data::FacePipeline pipeline(facegan::data::FacePipelineOptions(), detector);
    const facegan::models::DeRL model(
        facegan::models::UNetGenerator(facegan::models::UNetGeneratorOptions(3, 3).depth(depth).base_channels(64)),
        facegan::models::ResidueClassifier(nullptr), {});
    const auto tmpl = facegan::data::FaceTemplate::arcface(crop, 0.1);
    std::printf("photo pipeline per face: torch %d threads, OpenCV %d threads; model: DeRL neutralize, U-Net depth %d "
                "x 64 channels at %d px (random weights); detection on a copy <= %lld px; median of %d\n",
                at::get_num_threads(), cv::getNumThreads(), depth, crop, static_cast<long long>(detect_max_side), repeats);
    std::printf("%-12s %8s %12s %12s %10s %10s %12s %10s\n", "photo", "face px", "detect ms", "landmarks ms", "align ms",
                "model ms", "paste ms", "total ms");
    for (int height : {866, 1732}) {
      const cv::Mat photo = make_photo(portrait, height);
      std::vector<double> t_detect, t_landmarks, t_align, t_model, t_paste;
      float face_px = 0.f;
      for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up
        auto t0 = clock_type::now();
        const auto boxes = detector->detect_boxes(photo);
        const double detect = ms_since(t0);
        if (boxes.size() != 1) throw facegan::Error("expected one face, found " + std::to_string(boxes.size()));
        face_px = boxes[0].box.width;
        t0 = clock_type::now();
        facegan::data::DetectedFace face{boxes[0].box, boxes[0].score, detector->landmarks(photo, boxes[0].box)};
        const double landmarks = ms_since(t0);
        t0 = clock_type::now();
        const auto aligned = pipeline.select(photo, {face}, facegan::data::FaceChoice(), tmpl, "photo");
        const double align = ms_since(t0);
        t0 = clock_type::now();
        const cv::Mat edited = model.neutralize(aligned[0].crop);
        const double infer = ms_since(t0);
        cv::Mat out = photo.clone();
        t0 = clock_type::now();
        facegan::data::paste_face(out, aligned[0], edited, pipeline.options());
        const double paste = ms_since(t0);
        if (r == 0) continue;
        t_detect.push_back(detect), t_landmarks.push_back(landmarks), t_align.push_back(align);
        t_model.push_back(infer), t_paste.push_back(paste);
      }
      const double total = median(t_detect) + median(t_landmarks) + median(t_align) + median(t_model) + median(t_paste);
      char name[32];
      std::snprintf(name, sizeof(name), "%dx%d", photo.cols, photo.rows);
      std::printf("%-12s %8.0f %12.1f %12.1f %10.1f %10.1f %12.1f %10.1f\n", name, face_px, median(t_detect),
                  median(t_landmarks), median(t_align), median(t_model), median(t_paste), total);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_face_pipeline: %s\n", e.what());
    return 1;
  }
}
