// Loader throughput (images/s) from memory, from PNG files and from HDF5, with 0, 1 and 2 prefetch
// threads. Usage: bench_loader [--n 512] [--size 64] [--batch 16] [--epochs 2] [--work-ms 0]
// --work-ms sleeps that long per batch on the consumer thread, standing in for a training step, to
// show how much loading the prefetch threads hide.
#include <facegan/core/heap.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/hdf5.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/loader.hpp>

#include <opencv2/imgproc.hpp>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

using namespace facegan;
using namespace facegan::data;
namespace fs = std::filesystem;

namespace {

/// A face-like 8-bit picture: smooth background, a skin ellipse, eyes, mouth, mild noise (so PNG
/// and gzip see something between a flat image and white noise).
cv::Mat face_picture(int size, int i) {
  cv::Mat img(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(40 + (x * 3 + i) % 120),
                                          static_cast<uint8_t>(60 + y % 90), static_cast<uint8_t>(90 + i % 60));
    }
  }
  const cv::Point c(size / 2 + i % 5 - 2, size / 2);
  cv::ellipse(img, c, cv::Size(size * 3 / 10, size * 4 / 10), 0, 0, 360, cv::Scalar(120, 160, 210 - i % 40), -1);
  cv::circle(img, c + cv::Point(-size / 8, -size / 10), size / 20 + 1, cv::Scalar(40, 30, 20), -1);
  cv::circle(img, c + cv::Point(size / 8, -size / 10), size / 20 + 1, cv::Scalar(40, 30, 20), -1);
  cv::ellipse(img, c + cv::Point(0, size / 6), cv::Size(size / 8, size / 24 + 1), 0, 0, 180, cv::Scalar(60, 60, 170), -1);
  cv::Mat noise(size, size, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(i) + 1);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 12);
  img += noise;
  return img;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Images per second through a Loader over `epochs` epochs (after one warm-up batch).
double measure(const std::shared_ptr<Dataset>& ds, int64_t threads, int64_t batch, int64_t epochs, int work_ms) {
  Loader loader(ds, LoaderOptions(batch).seed(1).prefetch_threads(threads).prefetch_batches(4));
  int64_t images = 0;
  const double start = now_s();
  for (int64_t e = 0; e < epochs; ++e) {
    loader.start_epoch(e);
    while (auto b = loader.next()) {
      images += b->size();
      if (work_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));
    }
  }
  return static_cast<double>(images) / (now_s() - start);
}

int64_t arg(int argc, char** argv, const std::string& name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::atoll(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) try {
  facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
  const int64_t n = arg(argc, argv, "--n", 512);
  const int64_t size = arg(argc, argv, "--size", 64);
  const int64_t batch = arg(argc, argv, "--batch", 16);
  const int64_t epochs = arg(argc, argv, "--epochs", 2);
  const int work_ms = static_cast<int>(arg(argc, argv, "--work-ms", 0));
  std::printf("bench_loader: %lld images of %lldx%lld, batch %lld, %lld epochs, %d ms work per batch, "
              "torch intra-op threads %d, hardware threads %u\n",
              static_cast<long long>(n), static_cast<long long>(size), static_cast<long long>(size),
              static_cast<long long>(batch), static_cast<long long>(epochs), work_ms, at::get_num_threads(),
              std::thread::hardware_concurrency());

  const fs::path dir = fs::temp_directory_path() / "facegan_bench_loader";
  fs::remove_all(dir);
  fs::create_directories(dir / "png");

  // Sources: in-memory samples, the same images as PNG files, and packed into HDF5.
  std::vector<Sample> samples;
  const int identities = 16;
  double t0 = now_s();
  for (int64_t i = 0; i < n; ++i) {
    cv::Mat picture = face_picture(static_cast<int>(size), static_cast<int>(i));
    const int id = static_cast<int>(i % identities);
    char name[64];
    std::snprintf(name, sizeof(name), "id_%02d/img_%05lld.png", id, static_cast<long long>(i));
    const fs::path file = dir / "png" / name;
    fs::create_directories(file.parent_path());
    Sample s;
    s.tensors["image"] = image_to_tensor(picture);
    write_image(file.string(), s.tensors["image"]);
    s.tensors["identity"] = torch::tensor(int64_t{id});
    s.tensors["landmarks"] = torch::rand({68, 2}) * static_cast<double>(size);
    s.tensors["mask"] = torch::randint(0, 10, {size, size}, torch::kUInt8);
    s.meta = json{{"file", file.string()}, {"index", i}};
    samples.push_back(std::move(s));
  }
  std::printf("wrote %lld PNGs in %.2f s\n", static_cast<long long>(n), now_s() - t0);
  auto memory = std::make_shared<InMemoryDataset>(samples, "memory");

  const auto files = create_dataset(json{{"type", "image_folder"}, {"root", (dir / "png").string()}});
  const std::string files_name = "png (image_folder)";

  std::vector<std::pair<std::string, std::shared_ptr<Dataset>>> sources{{"memory", memory}, {files_name, files}};
  for (int64_t gzip : {0, 1}) {
    const std::string path = (dir / ("faces_gzip" + std::to_string(gzip) + ".h5")).string();
    t0 = now_s();
    pack(*memory, path, PackOptions().gzip_level(gzip));
    const double seconds = now_s() - t0;
    std::printf("pack gzip %lld: %.0f samples/s, %.2f MiB\n", static_cast<long long>(gzip),
                static_cast<double>(n) / seconds, static_cast<double>(fs::file_size(path)) / (1024.0 * 1024.0));
    sources.emplace_back("hdf5 gzip " + std::to_string(gzip),
                         create_dataset(json{{"type", "hdf5"}, {"path", path}}));
  }

  std::printf("%-28s %8s %12s\n", "source", "threads", "images/s");
  for (const auto& [name, ds] : sources) {
    measure(ds, 0, batch, 1, 0);  // warm caches (page cache, allocator)
    for (int64_t threads : {0, 1, 2}) {
      std::printf("%-28s %8lld %12.0f\n", name.c_str(), static_cast<long long>(threads),
                  measure(ds, threads, batch, epochs, work_ms));
      std::fflush(stdout);
    }
  }
  fs::remove_all(dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_loader: %s\n", e.what());
  return 1;
}
