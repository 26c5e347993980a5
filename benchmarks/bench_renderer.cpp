// Throughput of the synthetic face renderer on one thread: faces per second at 64, 128 and 256
// pixels, for render() (cv::Mat out) and render_sample() (tensors out, what a data set returns).
//
//   bench_renderer [--seconds S]    (default 1 second per measurement)
#include <facegan/core/heap.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

template <class F>
double faces_per_second(double seconds, F&& render_one) {
  using clock = std::chrono::steady_clock;
  for (uint64_t i = 0; i < 20; ++i) render_one(i);  // warm up
  uint64_t n = 0;
  const auto t0 = clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int k = 0; k < 25; ++k) render_one(n++);
    elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  }
  return static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    double seconds = 1.0;
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--seconds" && i + 1 < argc) {
        seconds = std::atof(argv[++i]);
      } else {
        std::printf("usage: bench_renderer [--seconds S]\n");
        return flag == "--help" || flag == "-h" ? 0 : 2;
      }
    }
    at::set_num_threads(1);
    cv::setNumThreads(1);
    std::printf("synthetic face renderer, 1 thread (torch %d, OpenCV %d threads), %.1f s per figure\n",
                at::get_num_threads(), cv::getNumThreads(), seconds);
    std::printf("%6s %16s %22s\n", "size", "render() faces/s", "render_sample() faces/s");
    for (int64_t size : {64, 128, 256}) {
      facegan::data::SyntheticFaces renderer(facegan::data::SyntheticFacesOptions().size(size));
      volatile int sink = 0;
      const double plain = faces_per_second(seconds, [&](uint64_t i) {
        sink = sink + renderer.render(renderer.sample_factors(i)).image.at<cv::Vec3b>(0, 0)[0];
      });
      const double sample = faces_per_second(seconds, [&](uint64_t i) {
        sink = sink + static_cast<int>(renderer.render_sample(renderer.sample_factors(i)).tensors.size());
      });
      std::printf("%6lld %16.0f %22.0f\n", static_cast<long long>(size), plain, sample);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_renderer: %s\n", e.what());
    return 1;
  }
}
