#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>

namespace facegan::data {

/// 8-bit BGR (OpenCV's layout, [H, W, 3]) to a float RGB tensor [3, H, W] in [-1, 1], the range
/// of every generator's tanh output. Grey and BGRA images are converted to BGR first.
torch::Tensor image_to_tensor(const cv::Mat& image);

/// Inverse of image_to_tensor: [3, H, W] (or [1, 3, H, W]) in [-1, 1] to 8-bit BGR, values clamped.
cv::Mat tensor_to_image(const torch::Tensor& tensor);

/// Reads an image file as image_to_tensor does; DataError naming the file when it is missing or
/// cannot be decoded.
torch::Tensor read_image(const std::string& path);

/// Writes [3, H, W] in [-1, 1] to an image file (format from the extension), creating parent
/// folders; DataError naming the file on failure.
void write_image(const std::string& path, const torch::Tensor& tensor);

/// Tiles images [N, 3, H, W] into a grid [3, rows * (H + pad) + pad, columns * (W + pad) + pad]
/// with `columns` per row and a white border of `padding` pixels, for sample sheets.
torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding = 2);

}  // namespace facegan::data
