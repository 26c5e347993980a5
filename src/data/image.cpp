#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

namespace facegan::data {

torch::Tensor image_to_tensor(const cv::Mat& image) {
  TORCH_CHECK(!image.empty(), "image_to_tensor: empty image");
  TORCH_CHECK(image.depth() == CV_8U, "image_to_tensor: expected an 8-bit image, got OpenCV depth ", image.depth());
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      TORCH_CHECK(false, "image_to_tensor: expected 1, 3 or 4 channels, got ", image.channels());
  }
  auto hwc = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
}

cv::Mat tensor_to_image(const torch::Tensor& tensor) {
  torch::Tensor t = tensor.dim() == 4 && tensor.size(0) == 1 ? tensor[0] : tensor;
  TORCH_CHECK(t.dim() == 3 && t.size(0) == 3, "tensor_to_image: expected [3, H, W], got ", tensor.sizes());
  torch::Tensor hwc = t.detach()
                          .to(torch::kCPU, torch::kFloat32)
                          .add(1.0)
                          .mul(127.5)
                          .round()
                          .clamp(0, 255)
                          .to(torch::kUInt8)
                          .permute({1, 2, 0})
                          .contiguous();
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);  // copies, so the tensor's memory may go
  return bgr;
}

torch::Tensor read_image(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError("image file not found: " + path);
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw DataError("cannot decode image file: " + path);
  return image_to_tensor(image);
}

void write_image(const std::string& path, const torch::Tensor& tensor) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw DataError("cannot create folder " + parent.string() + " for " + path + ": " + ec.message());
  bool ok = false;
  try {
    ok = cv::imwrite(path, tensor_to_image(tensor));
  } catch (const cv::Exception& e) {
    throw DataError("cannot write image file " + path + ": " + e.what());
  }
  if (!ok) throw DataError("cannot write image file " + path + " (unknown extension or unwritable)");
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "make_grid: expected [N, 3, H, W], got ", images.sizes());
  TORCH_CHECK(columns > 0 && padding >= 0, "make_grid: need columns > 0 and padding >= 0, got ", columns, " and ",
              padding);
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const int64_t cols = std::min(columns, std::max<int64_t>(n, 1));
  const int64_t rows = (n + cols - 1) / cols;
  torch::Tensor grid = torch::ones({3, rows * (h + padding) + padding, cols * (w + padding) + padding},
                                   images.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = padding + (i / cols) * (h + padding), x = padding + (i % cols) * (w + padding);
    grid.narrow(1, y, h).narrow(2, x, w).copy_(images[i]);
  }
  return grid;
}

}  // namespace facegan::data
