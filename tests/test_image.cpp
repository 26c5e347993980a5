#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>

#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

using namespace facegan;

TEST_CASE("image <-> tensor conversion is exact on 8-bit values", "[data]") {
  torch::manual_seed(10);
  cv::Mat bgr(5, 7, CV_8UC3);
  cv::randu(bgr, 0, 256);
  const auto t = data::image_to_tensor(bgr);
  CHECK(t.sizes() == std::vector<int64_t>{3, 5, 7});
  CHECK(t.min().item<float>() >= -1.0f);
  CHECK(t.max().item<float>() <= 1.0f);
  // Channel 0 of the tensor is red, which OpenCV stores last.
  const auto px = bgr.at<cv::Vec3b>(2, 3);
  CHECK(t[0][2][3].item<float>() == Approx(px[2] / 127.5 - 1.0));
  CHECK(t[2][2][3].item<float>() == Approx(px[0] / 127.5 - 1.0));
  const cv::Mat back = data::tensor_to_image(t);
  CHECK(cv::norm(back, bgr, cv::NORM_INF) == 0.0);
  CHECK(cv::norm(data::tensor_to_image(t.unsqueeze(0)), bgr, cv::NORM_INF) == 0.0);
  // Values outside [-1, 1] clamp instead of wrapping around.
  CHECK(data::tensor_to_image(torch::full({3, 1, 1}, 3.0)).at<cv::Vec3b>(0, 0) == cv::Vec3b(255, 255, 255));
  CHECK_THROWS_WITH(data::tensor_to_image(torch::zeros({4, 2, 2})), Catch::Contains("[3, H, W]"));
}

TEST_CASE("image files round-trip and bad files are named", "[data]") {
  const auto dir = std::filesystem::temp_directory_path() / "facegan_test_image";
  std::filesystem::remove_all(dir);
  torch::manual_seed(11);
  const auto t = torch::randint(0, 256, {3, 8, 6}).to(torch::kFloat32).div(127.5).sub(1.0);
  const std::string path = (dir / "sub" / "x.png").string();
  data::write_image(path, t);  // creates the missing folders
  CHECK(torch::allclose(data::read_image(path), t, 0.0, 1e-6));

  CHECK_THROWS_AS(data::read_image((dir / "missing.png").string()), DataError);
  CHECK_THROWS_WITH(data::read_image((dir / "missing.png").string()), Catch::Contains("missing.png"));
  std::ofstream((dir / "corrupt.png").string()) << "not a png at all";
  CHECK_THROWS_WITH(data::read_image((dir / "corrupt.png").string()),
                    Catch::Contains("corrupt.png") && Catch::Contains("decode"));
  CHECK_THROWS_WITH(data::write_image((dir / "x.unknownext").string(), t), Catch::Contains("x.unknownext"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("make_grid tiles images row-major with a white border", "[data]") {
  const auto images = torch::stack({torch::full({3, 2, 2}, -1.0), torch::full({3, 2, 2}, 0.0),
                                    torch::full({3, 2, 2}, 0.5)});
  const auto grid = data::make_grid(images, 2, 1);
  CHECK(grid.sizes() == std::vector<int64_t>{3, 1 + 2 * 3, 1 + 2 * 3});
  CHECK(grid[0][0][0].item<float>() == 1.0f);                  // border
  CHECK(grid[0][1][1].item<float>() == -1.0f);                 // image 0 at row 0, column 0
  CHECK(grid[0][1][4].item<float>() == 0.0f);                  // image 1 at row 0, column 1
  CHECK(grid[0][4][1].item<float>() == 0.5f);                  // image 2 at row 1, column 0
  CHECK(grid[0][4][4].item<float>() == 1.0f);                  // empty cell stays white
}
