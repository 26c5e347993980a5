// Dataset readers and five-point alignment, on tiny fixtures written in each data set's real
// on-disk layout (label files with their header lines and irregular whitespace).
#include <facegan/core/error.hpp>
#include <facegan/data/align.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/readers.hpp>

#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace facegan;
using namespace facegan::data;
namespace fs = std::filesystem;
using namespace facegan::testing;

namespace {


/// The red level (0..255) of the sample's top-left pixel: which file was read.
int red_of(const torch::Tensor& image) {
  return static_cast<int>(std::lround((image[0][0][0].item<float>() + 1.0f) * 127.5f));
}

int64_t int_of(const Sample& s, const std::string& key) { return s.at(key).item<int64_t>(); }

json spec(const std::string& type, const fs::path& root, json extra = json::object()) {
  extra["type"] = type;
  extra["root"] = root.string();
  return extra;
}

}  // namespace

// =============================================================================================
// alignment

TEST_CASE("similarity_transform recovers a known similarity", "[data]") {
  const double angle = 20.0 * CV_PI / 180.0, scale = 1.5, tx = 12.25, ty = -7.5;
  const std::vector<cv::Point2f> from{{10, 20}, {50, 22}, {31, 45}, {15, 70}, {48, 69}, {3, 5}};
  std::vector<cv::Point2f> to;
  for (const auto& p : from) {
    to.emplace_back(static_cast<float>(scale * (std::cos(angle) * p.x - std::sin(angle) * p.y) + tx),
                    static_cast<float>(scale * (std::sin(angle) * p.x + std::cos(angle) * p.y) + ty));
  }
  const cv::Mat m = similarity_transform(from, to);
  REQUIRE(m.rows == 2);
  REQUIRE(m.cols == 3);
  CHECK(m.at<double>(0, 0) == Approx(scale * std::cos(angle)).margin(1e-4));
  CHECK(m.at<double>(0, 1) == Approx(-scale * std::sin(angle)).margin(1e-4));
  CHECK(m.at<double>(1, 0) == Approx(scale * std::sin(angle)).margin(1e-4));
  CHECK(m.at<double>(1, 1) == Approx(scale * std::cos(angle)).margin(1e-4));
  CHECK(m.at<double>(0, 2) == Approx(tx).margin(1e-4));
  CHECK(m.at<double>(1, 2) == Approx(ty).margin(1e-4));
  const auto back = transform_points(m, from);
  for (size_t i = 0; i < to.size(); ++i) CHECK(cv::norm(back[i] - to[i]) < 1e-3);

  // A mirror image is not a similarity: the best fit keeps det > 0.
  std::vector<cv::Point2f> mirrored;
  for (const auto& p : from) mirrored.emplace_back(-p.x, p.y);
  const cv::Mat r = similarity_transform(from, mirrored);
  CHECK(r.at<double>(0, 0) * r.at<double>(1, 1) - r.at<double>(0, 1) * r.at<double>(1, 0) >= 0);

  CHECK_THROWS(similarity_transform({{1, 2}}, {{3, 4}}));
  CHECK_THROWS(similarity_transform(from, {{3, 4}, {5, 6}}));
}

TEST_CASE("align_face puts dots drawn at a transformed template back on the template", "[data]") {
  const int size = 64;
  const auto tmpl = five_point_template(size);
  // The template moved into a 160x160 picture by rotation 15 deg, scale 1.3, shift (40, 25).
  const double a = 15.0 * CV_PI / 180.0, s = 1.3;
  cv::Mat forward =
      (cv::Mat_<double>(2, 3) << s * std::cos(a), -s * std::sin(a), 40.0, s * std::sin(a), s * std::cos(a), 25.0);
  const auto placed = transform_points(forward, tmpl);
  const std::vector<cv::Scalar> colours{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255}};
  cv::Mat picture(160, 160, CV_8UC3, cv::Scalar(0, 0, 0));
  // Dots are drawn with 4 fractional bits so their centres are exactly the placed points.
  for (size_t i = 0; i < 5; ++i) {
    cv::circle(picture, cv::Point(cvRound(placed[i].x * 16), cvRound(placed[i].y * 16)), 3 * 16, colours[i], cv::FILLED,
               cv::LINE_AA, 4);
  }
  const AlignedFace aligned = align_face(picture, placed, size);
  REQUIRE(aligned.image.rows == size);
  REQUIRE(aligned.image.cols == size);
  for (size_t i = 0; i < 5; ++i) {
    // Colour-weighted centroid of dot i.
    double sw = 0, sx = 0, sy = 0;
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const auto px = aligned.image.at<cv::Vec3b>(y, x);
        const cv::Scalar c = colours[i];
        bool match = true;
        double w = 255.0;
        for (int ch = 0; ch < 3; ++ch) {
          if (c[ch] == 0 && px[ch] > 40) match = false;
          if (c[ch] == 255) w = std::min(w, static_cast<double>(px[ch]));
        }
        if (match && w > 20) sw += w, sx += w * x, sy += w * y;
      }
    }
    REQUIRE(sw > 0);
    CHECK(std::abs(sx / sw - tmpl[i].x) < 1.0);
    CHECK(std::abs(sy / sw - tmpl[i].y) < 1.0);
  }
  // The returned transform maps the five points onto the template.
  const auto mapped = transform_points(aligned.transform, placed);
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(mapped[i] - tmpl[i]) < 1e-3);
}

TEST_CASE("five-point template, 68-point reduction and sample alignment", "[data]") {
  const auto t112 = five_point_template(112);
  CHECK(t112[0].x == Approx(38.2946).margin(1e-3));
  CHECK(t112[4].y == Approx(92.2041).margin(1e-3));
  const auto t224 = five_point_template(224);
  CHECK(t224[2].x == Approx((56.0252 + 0.5) * 2 - 0.5).margin(1e-3));
  const auto padded = five_point_template(112, 0.25);  // face shrunk towards the centre
  CHECK(padded[1].x - padded[0].x == Approx((t112[1].x - t112[0].x) / 1.5).margin(1e-3));

  std::vector<cv::Point2f> lm(68, cv::Point2f(0, 0));
  for (int i = 36; i <= 41; ++i) lm[i] = {10.0f + static_cast<float>(i - 36), 20};
  for (int i = 42; i <= 47; ++i) lm[i] = {30.0f + static_cast<float>(i - 42), 22};
  lm[30] = {25, 30}, lm[48] = {15, 40}, lm[54] = {35, 41};
  const auto five = five_points_from_68(lm);
  CHECK(five[0].x == Approx(12.5f));
  CHECK(five[1].x == Approx(32.5f));
  CHECK(five[1].y == Approx(22.f));
  CHECK(five[2] == cv::Point2f(25, 30));
  CHECK(five[4] == cv::Point2f(35, 41));
  CHECK_THROWS_AS(five_points_from_68(std::vector<cv::Point2f>(5)), DataError);

  // align_sample moves image, landmarks and mask together; the mask keeps its label set.
  Sample sample;
  sample.tensors["image"] = torch::rand({3, 40, 50}) * 2 - 1;
  sample.tensors["landmarks"] = points_to_tensor(
      transform_points((cv::Mat_<double>(2, 3) << 0.4, 0.0, 3.0, 0.0, 0.4, 2.0), five_point_template(64)));
  torch::Tensor mask = torch::zeros({40, 50}, torch::kUInt8);
  mask.narrow(0, 10, 20).narrow(1, 10, 30).fill_(static_cast<int>(Region::kSkin));
  mask.narrow(0, 15, 5).narrow(1, 15, 5).fill_(static_cast<int>(Region::kEyes));
  sample.tensors["mask"] = mask;
  align_sample(sample, sample.at("landmarks"), 32);
  CHECK(sample.at("image").sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(sample.at("mask").sizes() == torch::IntArrayRef({32, 32}));
  CHECK(torch::allclose(sample.at("landmarks"), points_to_tensor(five_point_template(32)), 1e-3, 1e-3));
  const torch::Tensor m = sample.at("mask");
  CHECK(
      ((m == 0) | (m == static_cast<int>(Region::kSkin)) | (m == static_cast<int>(Region::kEyes))).all().item<bool>());
  CHECK((m == static_cast<int>(Region::kEyes)).any().item<bool>());
}

// =============================================================================================
// image_folder

TEST_CASE("image_folder reads root/<identity>/<image> with sorted identities", "[data]") {
  TempDir tmp("image_folder");
  const fs::path root = tmp.path;
  write_image_file(root / "bob" / "c.png", 30, 20, 24);
  write_image_file(root / "alice" / "b.jpg", 20);
  write_image_file(root / "alice" / "a.png", 10);
  write_image_file(root / "carol" / "d.PNG", 40);
  write_text(root / "alice" / "notes.txt", "not an image");
  write_text(root / "readme.txt", "ignored");
  fs::create_directories(root / "empty");

  auto ds = create_dataset(spec("image_folder", root));
  REQUIRE(ds->size() == 4);
  CHECK(ds->type() == "image_folder");
  const std::vector<int> reds{10, 20, 30, 40};
  const std::vector<int64_t> ids{0, 0, 1, 2};
  for (size_t i = 0; i < 4; ++i) {
    const Sample s = ds->get(i);
    CHECK(std::abs(red_of(s.at("image")) - reds[i]) <= 3);
    CHECK(int_of(s, "identity") == ids[i]);
    CHECK(s.at("identity").dim() == 0);
    CHECK(s.at("identity").scalar_type() == torch::kInt64);
    CHECK(s.meta.at("index") == i);
  }
  const Sample bob = ds->get(2);
  CHECK(bob.at("image").sizes() == torch::IntArrayRef({3, 24, 20}));
  CHECK(bob.meta.at("identity_name") == "bob");
  CHECK(bob.meta.at("file").get<std::string>() == (root / "bob" / "c.png").string());
  CHECK(std::dynamic_pointer_cast<ImageFolderDataset>(ds)->identity_names() ==
        std::vector<std::string>{"alice", "bob", "carol"});

  // get() is const and thread-safe: concurrent reads give the same samples.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (size_t i = 0; i < 4; ++i) {
        const Sample s = ds->get(i);
        if (red_of(s.at("image")) != red_of(ds->get(i).at("image")) || int_of(s, "identity") != ids[i]) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);

  auto two = create_dataset(spec("image_folder", root, {{"min_images_per_identity", 2}, {"image_size", 8}}));
  REQUIRE(two->size() == 2);
  CHECK(two->get(1).at("image").sizes() == torch::IntArrayRef({3, 8, 8}));
  CHECK(int_of(two->get(1), "identity") == 0);

  CHECK_THROWS_WITH(create_dataset(spec("image_folder", root, {{"extension", json::array({".png"})}})),
                    Catch::Contains("unknown option 'extension'"));
  CHECK_THROWS_AS(create_dataset(spec("image_folder", root / "nowhere")), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("image_folder", root / "nowhere")), Catch::Contains("nowhere"));
  CHECK_THROWS_AS(create_dataset(spec("image_folder", root, {{"min_images_per_identity", 9}})), DataError);

  write_text(root / "bob" / "c.png", "garbage, not a PNG");
  CHECK_THROWS_AS(ds->get(2), DataError);
  CHECK_THROWS_WITH(ds->get(2), Catch::Contains("c.png"));
}

// =============================================================================================
// celeba

TEST_CASE("celeba reads splits, identities, landmarks and attributes", "[data]") {
  TempDir tmp("celeba");
  const fs::path root = tmp.path;
  make_celeba(root);

  auto train = create_dataset(spec("celeba", root, {{"split", "train"}}));
  REQUIRE(train->size() == 3);
  CHECK(std::dynamic_pointer_cast<CelebADataset>(train)->num_identities() == 3);
  // Train identities 2880, 2937, 8692 -> 0, 1, 2.
  for (size_t i = 0; i < 3; ++i) {
    const Sample s = train->get(i);
    CHECK(std::abs(red_of(s.at("image")) - (10 + 30 * static_cast<int>(i))) <= 3);
    CHECK(s.at("image").sizes() == torch::IntArrayRef({3, 24, 20}));
    CHECK(int_of(s, "identity") == static_cast<int64_t>(i));
    CHECK(s.meta.at("celeba_identity") == kCelebAIds[i].second);
    CHECK(s.meta.at("split") == "train");
    const auto lm = celeba_landmarks(i);
    REQUIRE(s.at("landmarks").sizes() == torch::IntArrayRef({5, 2}));
    CHECK(s.at("landmarks")[0][0].item<float>() == lm[0]);
    CHECK(s.at("landmarks")[4][1].item<float>() == lm[9]);
    REQUIRE(s.at("attributes").sizes() == torch::IntArrayRef({40}));
    for (int64_t a = 0; a < 40; ++a) {
      CHECK(s.at("attributes")[a].item<float>() == (celeba_attribute(i, static_cast<size_t>(a)) > 0 ? 1.f : 0.f));
    }
  }

  // Test split: 2880 and 4153 renumbered 0, 1 within the split.
  auto test = create_dataset(spec("celeba", root, {{"split", "test"}}));
  REQUIRE(test->size() == 2);
  CHECK(int_of(test->get(0), "identity") == 0);
  CHECK(int_of(test->get(1), "identity") == 1);
  CHECK(test->get(1).meta.at("celeba_identity") == 4153);
  CHECK(create_dataset(spec("celeba", root, {{"split", "val"}}))->size() == 1);
  auto all = create_dataset(spec("celeba", root));
  CHECK(all->size() == 6);
  CHECK(std::dynamic_pointer_cast<CelebADataset>(all)->num_identities() == 5);

  // Resize scales landmarks about pixel edges.
  const Sample small = create_dataset(spec("celeba", root, {{"image_size", 12}}))->get(0);
  CHECK(small.at("image").sizes() == torch::IntArrayRef({3, 12, 12}));
  CHECK(small.at("landmarks")[0][0].item<float>() == Approx((celeba_landmarks(0)[0] + 0.5) * 12.0 / 20.0 - 0.5));
  CHECK(small.at("landmarks")[0][1].item<float>() == Approx((celeba_landmarks(0)[1] + 0.5) * 12.0 / 24.0 - 0.5));

  // Alignment: the landmarks land on the template of the crop (up to the file's integer rounding).
  const Sample aligned = create_dataset(spec("celeba", root, {{"align", true}, {"image_size", 16}}))->get(1);
  CHECK(aligned.at("image").sizes() == torch::IntArrayRef({3, 16, 16}));
  CHECK(aligned.meta.contains("align_transform"));
  const auto tmpl = points_to_tensor(five_point_template(16));
  CHECK((aligned.at("landmarks") - tmpl).abs().max().item<float>() < 1.0f);

  CHECK(CelebADataset::attribute_names().size() == 40);
  CHECK(CelebADataset::attribute_names()[31] == "Smiling");
}

TEST_CASE("celeba reports missing and malformed label files", "[data]") {
  TempDir tmp("celeba_err");
  const fs::path root = tmp.path;
  make_celeba(root);

  CHECK_THROWS_AS(create_dataset(spec("celeba", root / "missing")), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root / "missing")), Catch::Contains("missing"));
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root, {{"splits", "train"}})),
                    Catch::Contains("unknown option 'splits'"));
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root, {{"split", "training"}})),
                    Catch::Contains("train, val, test, all"));

  // Malformed identity line 3.
  write_text(root / "identity_CelebA.txt", "000001.jpg 2880\n000002.jpg 2937\n000003.jpg eight\n");
  CHECK_THROWS_AS(create_dataset(spec("celeba", root)), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root)),
                    Catch::Contains("identity_CelebA.txt") && Catch::Contains("line 3"));
  // An image without identity.
  write_text(root / "identity_CelebA.txt", "000001.jpg 2880\n000002.jpg 2937\n");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root)), Catch::Contains("000003.jpg"));
  auto partial = create_dataset(spec("celeba", root, {{"require_identity", false}}));
  CHECK(int_of(partial->get(2), "identity") == -1);
  // No identity file at all.
  fs::remove(root / "identity_CelebA.txt");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root)), Catch::Contains("identity_CelebA.txt"));
  CHECK(create_dataset(spec("celeba", root, {{"require_identity", false}}))->size() == 6);

  // Landmark line 4 (the second image) with nine numbers.
  make_celeba(root);
  write_text(root / "list_landmarks_align_celeba.txt",
             "2\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
             "rightmouth_y\n000001.jpg 69 109 106 113 77 142 73 152 108 154\n000002.jpg 69 109 106 113 77 142 73 "
             "152 108\n");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root)),
                    Catch::Contains("list_landmarks_align_celeba.txt") && Catch::Contains("line 4"));
  fs::remove(root / "list_landmarks_align_celeba.txt");
  CHECK(create_dataset(spec("celeba", root))->get(0).tensors.count("landmarks") == 0);
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root, {{"align", true}})),
                    Catch::Contains("list_landmarks_align_celeba.txt"));

  // A split needs the partition file.
  fs::remove(root / "list_eval_partition.txt");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root, {{"split", "val"}})),
                    Catch::Contains("list_eval_partition.txt"));
  write_text(root / "list_eval_partition.txt", "000001.jpg 0\n000002.jpg 5\n");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root, {{"split", "val"}})),
                    Catch::Contains("list_eval_partition.txt") && Catch::Contains("line 2"));

  // An attribute value that is neither 1 nor -1.
  make_celeba(root);
  std::string attrs = "1\n";
  for (const auto& name : CelebADataset::attribute_names()) attrs += name + " ";
  attrs += "\n000001.jpg";
  for (int a = 0; a < 40; ++a) attrs += a == 7 ? " 0" : " 1";
  write_text(root / "list_attr_celeba.txt", attrs + "\n");
  CHECK_THROWS_WITH(create_dataset(spec("celeba", root)), Catch::Contains("Big_Nose"));

  // An image that cannot be decoded.
  make_celeba(root);
  auto ds = create_dataset(spec("celeba", root));
  write_text(root / "img_align_celeba" / "000002.jpg", "\x89PNG garbage");
  CHECK_THROWS_AS(ds->get(1), DataError);
  CHECK_THROWS_WITH(ds->get(1), Catch::Contains("000002.jpg"));
}

// =============================================================================================
// mt_makeup

namespace {
void write_seg(const fs::path& path, int w, int h, int offset) {
  fs::create_directories(path.parent_path());
  cv::Mat seg(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) seg.at<uint8_t>(y, x) = static_cast<uint8_t>((x + y + offset) % 14);
  }
  REQUIRE(cv::imwrite(path.string(), seg));
}
}  // namespace

TEST_CASE("mt_makeup reads images, makeup flags and remapped parsing maps", "[data]") {
  TempDir tmp("mt");
  const fs::path root = tmp.path;
  write_image_file(root / "images" / "makeup" / "vFG2.png", 20, 16, 16);
  write_image_file(root / "images" / "makeup" / "vFG1.png", 10, 16, 16);
  write_image_file(root / "images" / "non-makeup" / "xfsy_0001.png", 30, 16, 16);
  write_seg(root / "segs" / "makeup" / "vFG1.png", 16, 16, 0);
  write_seg(root / "segs" / "makeup" / "vFG2.png", 16, 16, 1);
  write_seg(root / "segs" / "non-makeup" / "xfsy_0001.png", 16, 16, 2);

  auto ds = create_dataset(spec("mt_makeup", root));
  REQUIRE(ds->size() == 3);
  const std::vector<int> reds{10, 20, 30};
  const std::vector<int64_t> makeup{1, 1, 0};
  // BeautyGAN label -> Region.
  const std::vector<Region> expected{Region::kBackground, Region::kSkin, Region::kBrows, Region::kBrows, Region::kEyes,
                                     Region::kEyes,       Region::kNose, Region::kLips,  Region::kMouth, Region::kLips,
                                     Region::kHair,       Region::kEars, Region::kEars,  Region::kNeck};
  for (size_t i = 0; i < 3; ++i) {
    const Sample s = ds->get(i);
    CHECK(std::abs(red_of(s.at("image")) - reds[i]) <= 3);
    CHECK(int_of(s, "makeup") == makeup[i]);
    const torch::Tensor mask = s.at("mask");
    REQUIRE(mask.sizes() == torch::IntArrayRef({16, 16}));
    REQUIRE(mask.scalar_type() == torch::kUInt8);
    for (int y = 0; y < 16; y += 3) {
      for (int x = 0; x < 16; ++x) {
        CHECK(mask[y][x].item<int>() == static_cast<int>(expected[(x + y + static_cast<int>(i)) % 14]));
      }
    }
  }
  CHECK(MtMakeupDataset::region_of_label(8) == Region::kMouth);
  CHECK_THROWS_AS(MtMakeupDataset::region_of_label(14), DataError);

  CHECK(create_dataset(spec("mt_makeup", root, {{"subset", "makeup"}}))->size() == 2);
  auto non = create_dataset(spec("mt_makeup", root, {{"subset", "non_makeup"}}));
  REQUIRE(non->size() == 1);
  CHECK(int_of(non->get(0), "makeup") == 0);
  CHECK(create_dataset(spec("mt_makeup", root, {{"with_masks", false}}))->get(0).tensors.count("mask") == 0);
  const Sample small = create_dataset(spec("mt_makeup", root, {{"image_size", 8}}))->get(0);
  CHECK(small.at("image").sizes() == torch::IntArrayRef({3, 8, 8}));
  CHECK(small.at("mask").sizes() == torch::IntArrayRef({8, 8}));
  CHECK(small.at("mask").max().item<int>() <= static_cast<int>(Region::kMouth));

  // Labels replicated in a colour PNG read the same; a colour-coded map is refused.
  cv::Mat seg = cv::imread((root / "segs" / "makeup" / "vFG1.png").string(), cv::IMREAD_UNCHANGED);
  cv::Mat seg3;
  cv::cvtColor(seg, seg3, cv::COLOR_GRAY2BGR);
  REQUIRE(cv::imwrite((root / "segs" / "makeup" / "vFG1.png").string(), seg3));
  CHECK(torch::equal(ds->get(0).at("mask"), create_dataset(spec("mt_makeup", root))->get(0).at("mask")));
  CHECK(ds->get(0).at("mask")[0][1].item<int>() == static_cast<int>(Region::kSkin));
  seg3.at<cv::Vec3b>(2, 3)[1] = 7;
  REQUIRE(cv::imwrite((root / "segs" / "makeup" / "vFG1.png").string(), seg3));
  CHECK_THROWS_WITH(ds->get(0), Catch::Contains("vFG1.png") && Catch::Contains("channels that differ"));

  // Errors: unknown option, missing root, a label out of range, a missing map, a corrupt image.
  CHECK_THROWS_WITH(create_dataset(spec("mt_makeup", root, {{"masks", true}})), Catch::Contains("'masks'"));
  CHECK_THROWS_AS(create_dataset(spec("mt_makeup", root / "gone")), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("mt_makeup", root, {{"subset", "both"}})), Catch::Contains("non_makeup"));
  cv::Mat bad(16, 16, CV_8UC1, cv::Scalar(20));
  REQUIRE(cv::imwrite((root / "segs" / "makeup" / "vFG2.png").string(), bad));
  CHECK_THROWS_WITH(ds->get(1), Catch::Contains("vFG2.png") && Catch::Contains("label 20"));
  write_text(root / "images" / "non-makeup" / "xfsy_0001.png", "garbage");
  CHECK_THROWS_WITH(ds->get(2), Catch::Contains("xfsy_0001.png"));
  fs::remove(root / "segs" / "non-makeup" / "xfsy_0001.png");
  CHECK_THROWS_AS(create_dataset(spec("mt_makeup", root)), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("mt_makeup", root)), Catch::Contains("xfsy_0001.png"));
  CHECK(create_dataset(spec("mt_makeup", root, {{"with_masks", false}}))->size() == 3);
}

// =============================================================================================
// ck_plus

TEST_CASE("ck_plus pairs peak frames with the sequence's neutral frame", "[data]") {
  TempDir tmp("ck");
  const fs::path root = tmp.path;
  make_ck(root);

  // Default: contempt and unlabeled dropped; S005 neutral + 3 peaks, S011 neutral + 2 peaks.
  auto ds = create_dataset(spec("ck_plus", root));
  REQUIRE(ds->size() == 7);
  CHECK(std::dynamic_pointer_cast<CkPlusDataset>(ds)->subjects() == std::vector<std::string>{"S005", "S011"});
  const std::vector<int> reds{101, 103, 104, 105, 201, 202, 203};
  const std::vector<int64_t> expressions{0, 5, 5, 5, 0, 1, 1};
  const std::vector<int64_t> identities{0, 0, 0, 0, 1, 1, 1};
  for (size_t i = 0; i < 7; ++i) {
    const Sample s = ds->get(i);
    INFO("sample " << i);
    CHECK(std::abs(red_of(s.at("image")) - reds[i]) <= 1);
    CHECK(int_of(s, "expression") == expressions[i]);
    CHECK(int_of(s, "identity") == identities[i]);
    CHECK(std::abs(red_of(s.at("neutral_image")) - (i < 4 ? 101 : 201)) <= 1);
    CHECK(s.at("landmarks").sizes() == torch::IntArrayRef({68, 2}));
    CHECK(s.at("neutral_landmarks").sizes() == torch::IntArrayRef({68, 2}));
    CHECK(s.meta.at("peak") == (expressions[i] != 0));
  }
  const Sample peak = ds->get(1);
  CHECK(peak.meta.at("subject") == "S005");
  CHECK(peak.meta.at("sequence") == "001");
  CHECK(peak.meta.at("emotion_code") == 3);
  CHECK(peak.meta.at("expression_name") == "disgusted");
  CHECK(peak.meta.at("frame") == 2);
  CHECK(peak.meta.at("num_frames") == 5);
  CHECK(peak.meta.at("file").get<std::string>().find("S005_001_00000003.png") != std::string::npos);
  CHECK(peak.at("landmarks")[36][0].item<float>() == Approx(five_point_template(40)[0].x).margin(1e-4));

  auto contempt = create_dataset(spec("ck_plus", root, {{"keep_contempt", true}}));
  REQUIRE(contempt->size() == 11);
  CHECK(int_of(contempt->get(5), "expression") == 7);
  CHECK(int_of(contempt->get(5), "identity") == 1);
  CHECK(int_of(contempt->get(8), "identity") == 2);
  auto peaks = create_dataset(spec("ck_plus", root, {{"peak_frames", 1}, {"include_neutral", false}}));
  REQUIRE(peaks->size() == 2);
  CHECK(std::abs(red_of(peaks->get(0).at("image")) - 105) <= 1);
  auto unlabeled = create_dataset(spec("ck_plus", root, {{"keep_unlabeled", true}, {"peak_frames", 1}}));
  REQUIRE(unlabeled->size() == 6);
  CHECK(int_of(unlabeled->get(2), "expression") == 0);
  CHECK(int_of(unlabeled->get(3), "expression") == -1);
  CHECK(unlabeled->get(3).meta.at("emotion_code").is_null());

  // Aligned: both the peak and its neutral frame are warped with their own landmarks.
  const Sample aligned = create_dataset(spec("ck_plus", root, {{"align", true}, {"image_size", 24}}))->get(1);
  CHECK(aligned.at("image").sizes() == torch::IntArrayRef({3, 24, 24}));
  CHECK(aligned.at("neutral_image").sizes() == torch::IntArrayRef({3, 24, 24}));
  const auto five = five_points_from_68(aligned.at("landmarks"));
  CHECK((five - points_to_tensor(five_point_template(24))).abs().max().item<float>() < 1e-3f);
  const auto five_neutral = five_points_from_68(aligned.at("neutral_landmarks"));
  CHECK((five_neutral - points_to_tensor(five_point_template(24))).abs().max().item<float>() < 1e-3f);
}

TEST_CASE("ck_plus reports missing and malformed files", "[data]") {
  TempDir tmp("ck_err");
  const fs::path root = tmp.path;
  make_ck(root);

  CHECK_THROWS_AS(create_dataset(spec("ck_plus", root / "absent")), DataError);
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root, {{"peak_frame", 2}})), Catch::Contains("'peak_frame'"));
  CHECK_THROWS_AS(create_dataset(spec("ck_plus", root, {{"peak_frames", 0}})), ConfigError);

  const fs::path emotion = root / "Emotion" / "S011" / "001" / "S011_001_00000003_emotion.txt";
  write_text(emotion, "   happy\n");
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root)),
                    Catch::Contains("S011_001_00000003_emotion.txt") && Catch::Contains("line 1"));
  write_text(emotion, "   9.0000000e+00\n");
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root)), Catch::Contains("S011_001_00000003_emotion.txt"));
  write_text(emotion, "   5.0000000e+00   \n");

  const fs::path lm = root / "Landmarks" / "S005" / "001" / "S005_001_00000004_landmarks.txt";
  write_text(lm, "1 2\n3 4\nfive six\n");
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root)),
                    Catch::Contains("S005_001_00000004_landmarks.txt") && Catch::Contains("line 3"));
  write_text(lm, "1 2\n3 4\n");
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root)), Catch::Contains("expected 68"));
  fs::remove_all(root / "Landmarks");
  auto plain = create_dataset(spec("ck_plus", root));
  CHECK(plain->get(0).tensors.count("landmarks") == 0);
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root, {{"align", true}})), Catch::Contains("Landmarks"));

  write_text(root / "cohn-kanade-images" / "S005" / "001" / "S005_001_00000001.png", "not a png");
  CHECK_THROWS_AS(plain->get(1), DataError);  // the neutral frame of a peak sample
  CHECK_THROWS_WITH(plain->get(1), Catch::Contains("S005_001_00000001.png"));

  fs::remove_all(root / "Emotion");
  CHECK_THROWS_WITH(create_dataset(spec("ck_plus", root)), Catch::Contains("Emotion"));
}

// =============================================================================================
// oulu_casia

TEST_CASE("oulu_casia reads emotion folders with neutral and peak frames", "[data]") {
  TempDir tmp("oulu");
  const fs::path root = tmp.path;
  const fs::path strong = root / "OriginalImg" / "VL" / "Strong";
  make_oulu_sequence(strong, "P001", "Happiness", 3, 100);
  make_oulu_sequence(strong, "P001", "Anger", 5, 20);
  make_oulu_sequence(strong, "P002", "Surprise", 4, 150);
  make_oulu_sequence(root / "OriginalImg" / "VL" / "Weak", "P003", "Fear", 2, 60);
  write_text(strong / "P001" / "Anger" / "Thumbs.db", "junk");

  auto ds = create_dataset(spec("oulu_casia", root));
  REQUIRE(ds->size() == 11);
  // P001/Anger: 000 neutral + 002..004; P001/Happiness: 000 + 001..002; P002/Surprise: 000 + 001..003.
  const std::vector<int> reds{20, 40, 50, 60, 100, 110, 120, 150, 160, 170, 180};
  const std::vector<int64_t> expressions{0, 3, 3, 3, 0, 1, 1, 0, 4, 4, 4};
  const std::vector<int> neutral_reds{20, 20, 20, 20, 100, 100, 100, 150, 150, 150, 150};
  for (size_t i = 0; i < ds->size(); ++i) {
    const Sample s = ds->get(i);
    INFO("sample " << i);
    CHECK(std::abs(red_of(s.at("image")) - reds[i]) <= 4);
    CHECK(std::abs(red_of(s.at("neutral_image")) - neutral_reds[i]) <= 4);
    CHECK(int_of(s, "expression") == expressions[i]);
    CHECK(int_of(s, "identity") == (i < 7 ? 0 : 1));
    CHECK(s.at("image").sizes() == torch::IntArrayRef({3, 20, 24}));
  }
  CHECK(ds->get(2).meta.at("emotion_code") == "Anger");
  CHECK(ds->get(2).meta.at("subject") == "P001");
  CHECK(ds->get(2).meta.at("expression_name") == "angry");

  auto weak = create_dataset(spec("oulu_casia", root, {{"illumination", "Weak"}, {"peak_frames", 1}}));
  REQUIRE(weak->size() == 2);
  CHECK(int_of(weak->get(1), "expression") == 6);
  CHECK(create_dataset(spec("oulu_casia", root, {{"include_neutral", false}, {"peak_frames", 2}}))->size() == 6);
  CHECK(create_dataset(spec("oulu_casia", root, {{"image_size", 16}}))->get(3).at("neutral_image").sizes() ==
        torch::IntArrayRef({3, 16, 16}));

  CHECK_THROWS_WITH(create_dataset(spec("oulu_casia", root, {{"illumination", "Dark"}})), Catch::Contains("Dark"));
  CHECK_THROWS_WITH(create_dataset(spec("oulu_casia", root, {{"illumination", "strong"}})),
                    Catch::Contains("Strong, Weak, Dark"));
  CHECK_THROWS_WITH(create_dataset(spec("oulu_casia", root, {{"lighting", "Weak"}})), Catch::Contains("'lighting'"));
  CHECK_THROWS_AS(create_dataset(spec("oulu_casia", root / "void")), DataError);
  write_text(strong / "P001" / "Anger" / "003.jpeg", "garbage");
  CHECK_THROWS_WITH(ds->get(2), Catch::Contains("003.jpeg"));
  make_oulu_sequence(strong, "P002", "Joy", 3, 10);
  CHECK_THROWS_WITH(create_dataset(spec("oulu_casia", root)), Catch::Contains("Joy"));
}

TEST_CASE("file data sets are registered with their default options", "[data]") {
  for (const char* name : {"image_folder", "celeba", "mt_makeup", "ck_plus", "oulu_casia"}) {
    INFO(name);
    REQUIRE(dataset_registry().contains(name));
    const auto& entry = dataset_registry().entry(name);
    CHECK(entry.defaults.contains("root"));
    CHECK(!entry.summary.empty());
    CHECK_THROWS_AS(create_dataset(json{{"type", name}}), ConfigError);  // root is required
  }
  CHECK(dataset_registry().entry("celeba").defaults.at("split") == "all");
  CHECK(dataset_registry().entry("ck_plus").defaults.at("peak_frames") == 3);
}
