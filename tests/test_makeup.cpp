// PairedCycleGAN (issue 6): the landmark warp, the makeup areas, the colour metrics, the makeup
// pair data sets, the networks, each loss term, the inference API and a short training.
#include <facegan/core/error.hpp>
#include <facegan/data/face_areas.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/makeup_pairs.hpp>
#include <facegan/data/warp.hpp>
#include <facegan/losses/histogram.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/makeup/makeup.hpp>
#include <facegan/models/makeup/makeup_task.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "test_util.hpp"

using namespace facegan;
namespace fs = std::filesystem;

namespace {

data::SyntheticFacesOptions renderer(int64_t size = 64) {
  return data::SyntheticFacesOptions().size(size).num_identities(40).held_out_identities(10).expression_probability(0.0);
}

std::shared_ptr<data::Dataset> pairs(int64_t n, data::Split split = data::Split::kTrain, int64_t size = 64) {
  return data::make_synthetic_makeup_dataset(data::SyntheticMakeupOptions().renderer(renderer(size)).num_samples(n).split(split));
}

data::Batch batch_of(const data::Dataset& d, size_t first, size_t n) {
  std::vector<data::Sample> s;
  for (size_t i = first; i < first + n; ++i) s.push_back(d.get(i));
  return data::collate(s);
}

/// Small networks for 32-pixel faces (fast tests).
models::MakeupTaskOptions tiny_options() {
  models::MakeupTaskOptions o;
  o.generator.global.depth(4).base_channels(8);
  o.generator.region.depth(3).base_channels(8);
  o.generator.crop_size = 16;
  o.remover.depth(4).base_channels(8);
  o.discriminator.base_channels(8).num_layers(2);
  o.style_discriminator.base_channels(8).num_layers(2);
  o.generator.zero_init = false;  // random deltas from the start: the tests look at non-trivial outputs
  return o;
}

std::vector<cv::Point2f> face_landmarks(int64_t size = 64) {
  const data::SyntheticFaces r(renderer(size));
  return r.render(r.sample_factors(3)).landmarks;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Warp

TEST_CASE("piecewise-affine warp with equal landmarks gives the image back", "[makeup]") {
  const data::SyntheticFaces r(renderer());
  const data::RenderedFace f = r.render(r.sample_factors(5));
  const cv::Mat out = data::warp_piecewise_affine(f.image, f.landmarks, f.landmarks);
  CHECK(cv::norm(out, f.image, cv::NORM_INF) == 0);
  const cv::Mat mask = data::warp_piecewise_affine(f.regions, f.landmarks, f.landmarks, cv::INTER_NEAREST);
  CHECK(cv::norm(mask, f.regions, cv::NORM_INF) == 0);
}

TEST_CASE("piecewise-affine warp by a global affine map equals cv::warpAffine inside the hull", "[makeup]") {
  const data::SyntheticFaces r(renderer());
  const data::RenderedFace f = r.render(r.sample_factors(2));
  // A rotation by 8 degrees about the image centre, scale 1.05 and a shift.
  cv::Mat a = cv::getRotationMatrix2D(cv::Point2f(31.5f, 31.5f), 8.0, 1.05);
  a.at<double>(0, 2) += 1.5;
  a.at<double>(1, 2) -= 2.0;
  std::vector<cv::Point2f> moved;
  cv::transform(f.landmarks, moved, a);
  const cv::Mat out = data::warp_piecewise_affine(f.image, f.landmarks, moved);
  cv::Mat ref;
  cv::warpAffine(f.image, ref, a, f.image.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  // Inside the moved landmarks' hull, shrunk by 2 pixels off the edges.
  std::vector<cv::Point> hull;
  std::vector<cv::Point> pts;
  for (const auto& p : moved) pts.emplace_back(cvRound(p.x), cvRound(p.y));
  cv::convexHull(pts, hull);
  cv::Mat inside = cv::Mat::zeros(f.image.size(), CV_8U);
  cv::fillConvexPoly(inside, hull, cv::Scalar(255));
  cv::erode(inside, inside, cv::Mat(), cv::Point(-1, -1), 2);
  REQUIRE(cv::countNonZero(inside) > 500);
  cv::Mat diff;
  cv::absdiff(out, ref, diff);
  std::vector<cv::Mat> ch;
  cv::split(diff, ch);
  double worst = 0;
  for (const auto& c : ch) {
    double m = 0;
    cv::minMaxLoc(c, nullptr, &m, nullptr, nullptr, inside);
    worst = std::max(worst, m);
  }
  const double mean = cv::mean(diff, inside)[0];
  INFO("max |warp - warpAffine| inside the hull: " << worst << ", mean " << mean);
  // remap and warpAffine round coordinates to 1/32 pixel differently: a few levels at sharp edges.
  CHECK(worst <= 4);
  CHECK(mean < 0.25);
}

TEST_CASE("piecewise-affine warp rejects bad input naming it", "[makeup]") {
  const auto lm = face_landmarks();
  const cv::Mat img(64, 64, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<cv::Point2f> short_lm(lm.begin(), lm.begin() + 60);
  CHECK_THROWS_WITH(data::warp_piecewise_affine(img, short_lm, lm), Catch::Contains("src_landmarks has 60 points") &&
                                                                      Catch::Contains("dst_landmarks has 68"));
  CHECK_THROWS_WITH(data::warp_piecewise_affine(cv::Mat(), lm, lm), Catch::Contains("image is empty"));
  auto bad = lm;
  bad[7].x = std::nanf("");
  CHECK_THROWS_WITH(data::warp_piecewise_affine(img, lm, bad), Catch::Contains("dst_landmarks[7] is not finite"));
  CHECK_THROWS_AS(data::warp_piecewise_affine(img, {}, {}), DataError);
}

TEST_CASE("warp grid and cv::remap agree, the triangulation uses every landmark", "[makeup]") {
  const data::SyntheticFaces r(renderer());
  const data::RenderedFace x = r.render(r.sample_factors(0)), y = r.render(r.sample_factors(1));
  const data::WarpMap m = data::piecewise_affine_map(y.landmarks, x.landmarks, x.image.size());
  cv::Mat warped;
  cv::remap(y.image, warped, m.map_x, m.map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  const torch::Tensor g = data::warp_map_to_grid(m).unsqueeze(0);
  const torch::Tensor t = torch::nn::functional::grid_sample(
      data::image_to_tensor(y.image).unsqueeze(0), g,
      torch::nn::functional::GridSampleFuncOptions().padding_mode(torch::kBorder).align_corners(false));
  // 8-bit rounding plus remap's 1/32-pixel fixed point: a few levels of 255.
  CHECK((t[0] - data::image_to_tensor(warped)).abs().max().item<float>() < 8.0f / 127.5f);
  // The source's landmarks land on the destination's: y's lip corner pixel appears at x's.
  auto tris = data::delaunay_triangles(x.landmarks);
  std::set<int> used;
  for (const auto& t3 : tris) used.insert(t3.begin(), t3.end());
  CHECK(used.size() >= 60);  // inner-mouth points may coincide when the mouth is closed
}

// ---------------------------------------------------------------------------------------------
// Areas and colour metrics

TEST_CASE("face areas are disjoint and cover the lips and eye makeup", "[makeup]") {
  const data::SyntheticFaces r(renderer());
  data::FaceFactors f = r.sample_factors(4);
  const data::RenderedFace face = r.render(f);
  const auto a = data::face_area_masks(face.landmarks, face.image.size(), face.regions);
  CHECK(cv::countNonZero(a[0] & a[1]) == 0);
  CHECK(cv::countNonZero(a[0] & a[2]) == 0);
  CHECK(cv::countNonZero(a[1] & a[2]) == 0);
  cv::Mat lips = face.regions == static_cast<int>(data::Region::kLips);
  const int lips_px = cv::countNonZero(lips);
  REQUIRE(lips_px > 10);
  CHECK(cv::countNonZero(lips & (a[1] * 255)) >= 0.9 * lips_px);
  // Hair and background are never in an area.
  cv::Mat bg = (face.regions == 0) | (face.regions == static_cast<int>(data::Region::kHair));
  for (const auto& m : a) CHECK(cv::countNonZero(bg & (m * 255)) == 0);
  // The union of the areas covers nearly all of the makeup mask.
  const cv::Mat any = (a[0] | a[1] | a[2]) * 255;
  const int mm = cv::countNonZero(face.makeup_mask);
  CHECK(cv::countNonZero(face.makeup_mask & any) >= 0.95 * mm);
  CHECK_THROWS_WITH(data::face_area_masks(std::vector<cv::Point2f>(5), face.image.size()), Catch::Contains("68 points"));
}

TEST_CASE("rgb_to_lab matches cv::cvtColor, lab_to_rgb inverts it, Delta E is CIE76", "[makeup]") {
  torch::manual_seed(1);
  const torch::Tensor rgb = torch::rand({1, 3, 8, 8}) * 2 - 1;
  const torch::Tensor lab = metrics::rgb_to_lab(rgb);
  cv::Mat m(8, 8, CV_32FC3);
  const torch::Tensor hwc = ((rgb[0] + 1) / 2).permute({1, 2, 0}).contiguous();
  std::memcpy(m.data, hwc.data_ptr<float>(), sizeof(float) * 8 * 8 * 3);
  cv::Mat cv_lab;
  cv::cvtColor(m, cv_lab, cv::COLOR_RGB2Lab);
  const torch::Tensor ref = torch::from_blob(cv_lab.data, {8, 8, 3}, torch::kFloat32).permute({2, 0, 1});
  // OpenCV interpolates the sRGB curve and the cube root from tables: a few tenths of a unit apart.
  CHECK((lab[0] - ref).abs().max().item<float>() < 0.3f);
  CHECK((lab[0] - ref).abs().mean().item<float>() < 0.1f);
  CHECK((metrics::lab_to_rgb(lab) - rgb).abs().max().item<float>() < 1e-3f);
  // Delta E of pure red vs pure green (CIE76, known value ~170.6 for L*a*b* D65).
  torch::Tensor red = torch::full({1, 3, 2, 2}, -1.0), green = torch::full({1, 3, 2, 2}, -1.0);
  red.select(1, 0).fill_(1.0);
  green.select(1, 1).fill_(1.0);
  const torch::Tensor mask = torch::ones({1, 2, 2});
  const double de = metrics::delta_e_per_image(red, green, mask)[0].item<double>();
  const torch::Tensor lr = metrics::rgb_to_lab(red)[0].select(1, 0).select(1, 0), lg = metrics::rgb_to_lab(green)[0].select(1, 0).select(1, 0);
  CHECK(de == Approx((lr - lg).pow(2).sum().sqrt().item<double>()).epsilon(1e-5));
  CHECK(de == Approx(170.6).margin(1.0));
  CHECK(std::isnan(metrics::delta_e_per_image(red, green, torch::zeros({1, 2, 2}))[0].item<double>()));
  // Masked PSNR only sees the mask: differences outside it do not count.
  torch::Tensor b = red.clone();
  b[0][1][0][0] = 0.0;
  torch::Tensor m2 = torch::ones({1, 2, 2});
  m2[0][0][0] = 0;
  CHECK(std::isinf(metrics::masked_psnr_per_image(red, b, m2)[0].item<double>()));
  CHECK(metrics::masked_psnr_per_image(red, b, torch::ones({1, 2, 2}))[0].item<double>() ==
        Approx(-10 * std::log10(0.25 / 12)).epsilon(1e-9));
}

TEST_CASE("Reinhard transfer moves the region's Lab statistics onto the reference's", "[makeup]") {
  torch::manual_seed(2);
  const torch::Tensor src = torch::rand({3, 16, 16}) * 0.6 - 0.5, ref = torch::rand({3, 16, 16}) * 0.5 + 0.2;
  torch::Tensor sm = torch::zeros({16, 16}, torch::kUInt8), rm = torch::zeros({16, 16}, torch::kUInt8);
  sm.narrow(0, 2, 6).fill_(1);
  rm.narrow(1, 5, 8).fill_(1);
  const torch::Tensor out = metrics::reinhard_transfer(src, ref, sm, rm);
  const torch::Tensor lo = metrics::rgb_to_lab(out).masked_select(sm.to(torch::kBool)).view({3, -1});
  const torch::Tensor lr = metrics::rgb_to_lab(ref).masked_select(rm.to(torch::kBool)).view({3, -1});
  CHECK((lo.mean(1) - lr.mean(1)).abs().max().item<float>() < 1.0f);
  CHECK(torch::equal(out.masked_select(~sm.to(torch::kBool)), src.masked_select(~sm.to(torch::kBool))));
  CHECK(torch::equal(metrics::reinhard_transfer(src, ref, torch::zeros({16, 16}), rm), src));
}

TEST_CASE("histogram_matched gives the reference's values in the source's rank order", "[makeup]") {
  torch::Tensor img = torch::tensor({0.5f, -0.2f, 0.9f, 0.1f}).view({1, 1, 2, 2});
  torch::Tensor ref = torch::tensor({-1.0f, 0.3f, 0.0f, 7.0f}).view({1, 1, 2, 2});
  torch::Tensor mask = torch::tensor({1, 1, 1, 0}).view({1, 2, 2});
  torch::Tensor rmask = torch::tensor({1, 1, 1, 0}).view({1, 2, 2});
  const torch::Tensor out = losses::histogram_matched(img, mask, ref, rmask);
  // Source ranks: -0.2 (0), 0.5 (1), 0.9 (2) -> reference sorted -1, 0, 0.3; 0.1 is outside the mask.
  CHECK(torch::allclose(out.flatten(), torch::tensor({0.0f, -1.0f, 0.3f, 0.1f})));
}

// ---------------------------------------------------------------------------------------------
// Data

TEST_CASE("synthetic_makeup pairs: keys, shapes, ground truth and determinism", "[makeup]") {
  auto ds = data::create_dataset(json{{"type", "synthetic_makeup"},
                                      {"size", 64},
                                      {"num_identities", 40},
                                      {"held_out_identities", 10},
                                      {"expression_probability", 0.0},
                                      {"num_samples", 6},
                                      {"split", "held_out"}});
  REQUIRE(ds->size() == 6);
  const data::Sample s = ds->get(2);
  for (const char* k : {"source", "reference", "warped", "target", "reference_bare"}) {
    INFO(k);
    CHECK(s.at(k).sizes() == torch::IntArrayRef({3, 64, 64}));
  }
  CHECK(s.at("source_landmarks").sizes() == torch::IntArrayRef({68, 2}));
  CHECK(s.at("reference_landmarks").sizes() == torch::IntArrayRef({68, 2}));
  CHECK(s.at("source_areas").sizes() == torch::IntArrayRef({3, 64, 64}));
  CHECK(s.at("warp_grid").sizes() == torch::IntArrayRef({64, 64, 2}));
  CHECK(s.at("source_mask").scalar_type() == torch::kUInt8);
  const int64_t xi = s.at("source_identity").item<int64_t>(), yi = s.at("reference_identity").item<int64_t>();
  CHECK(xi != yi);
  CHECK(xi >= 30);
  CHECK(yi >= 30);
  const json& mk = s.meta.at("reference").at("makeup");
  const bool worn = mk.at("lipstick").at("enabled").get<bool>() || mk.at("eyeshadow").at("enabled").get<bool>() ||
                    mk.at("blush").at("enabled").get<bool>() || mk.at("eyeliner").at("enabled").get<bool>();
  CHECK(worn);
  // Makeup changes the source only inside its makeup mask.
  const torch::Tensor outside = (s.at("source_makeup_mask") == 0).unsqueeze(0).expand({3, 64, 64});
  CHECK(torch::equal(s.at("target").masked_select(outside), s.at("source").masked_select(outside)));
  CHECK_FALSE(torch::equal(s.at("target"), s.at("source")));
  // Deterministic.
  const data::Sample again = ds->get(2);
  CHECK(torch::equal(again.at("warped"), s.at("warped")));
  CHECK(torch::equal(again.at("target"), s.at("target")));
  CHECK_THROWS_WITH(data::create_dataset(json{{"type", "synthetic_makeup"}, {"num_sampels", 3}}), Catch::Contains("num_sampels"));
}

TEST_CASE("mt_makeup_pairs reads landmarks beside images/ and names a missing file", "[makeup]") {
  const fs::path root = testing::fresh_dir("mt_pairs");
  const data::SyntheticFaces r(renderer(32));
  auto write = [&](const std::string& half, const std::string& name, uint64_t index, bool pts) {
    const data::RenderedFace f = r.render(r.sample_factors(index));
    fs::create_directories(root / "images" / half);
    fs::create_directories(root / "segs" / half);
    fs::create_directories(root / "landmarks" / half);
    REQUIRE(cv::imwrite((root / "images" / half / (name + ".png")).string(), f.image));
    REQUIRE(cv::imwrite((root / "segs" / half / (name + ".png")).string(), cv::Mat(32, 32, CV_8U, cv::Scalar(4))));
    std::ofstream out(root / "landmarks" / half / (name + (pts ? ".pts" : ".txt")));
    if (pts) out << "version: 1\nn_points: 68\n{\n";
    for (const auto& p : f.landmarks) out << p.x << " " << p.y << "\n";
    if (pts) out << "}\n";
  };
  write("makeup", "m1", 1, true);
  write("makeup", "m2", 2, false);
  write("non-makeup", "n1", 3, true);
  auto ds = data::create_dataset(json{{"type", "mt_makeup_pairs"}, {"root", root.string()}, {"num_samples", 4}});
  REQUIRE(ds->size() == 4);
  const data::Sample s = ds->get(1);
  CHECK(s.at("warped").sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(s.at("source_areas").sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(s.tensors.count("target") == 0);
  fs::remove(root / "landmarks" / "makeup" / "m2.txt");
  CHECK_THROWS_WITH(data::create_dataset(json{{"type", "mt_makeup_pairs"}, {"root", root.string()}}),
                    Catch::Contains("landmark file not found") && Catch::Contains("m2"));
  {
    std::ofstream bad(root / "landmarks" / "makeup" / "m2.txt");
    bad << "1 2\n3 x\n";
  }
  CHECK_THROWS_WITH(data::create_dataset(json{{"type", "mt_makeup_pairs"}, {"root", root.string()}}),
                    Catch::Contains("m2.txt line 2"));
  fs::remove_all(root);
}

// ---------------------------------------------------------------------------------------------
// Networks

TEST_CASE("crop_boxes and paste_boxes invert each other inside the box", "[makeup]") {
  torch::manual_seed(3);
  const torch::Tensor img = torch::rand({2, 3, 32, 32});
  // Boxes in edge coordinates; an 8x8 box cropped at 8x8 is an exact copy.
  const torch::Tensor boxes = torch::tensor({{4.0f, 6.0f, 12.0f, 14.0f}, {20.0f, 0.0f, 28.0f, 8.0f}});
  const torch::Tensor crops = models::crop_boxes(img, boxes, 8);
  CHECK(torch::allclose(crops[0], img[0].narrow(1, 6, 8).narrow(2, 4, 8), 1e-5, 1e-5));
  const torch::Tensor back = models::paste_boxes(crops, boxes, 32, 32);
  CHECK(torch::allclose(back[1].narrow(1, 0, 8).narrow(2, 20, 8), img[1].narrow(1, 0, 8).narrow(2, 20, 8), 1e-5, 1e-5));
  CHECK(back[0][0][20][20].item<float>() == 0.0f);
  // Boxes from landmarks are square and contain their landmarks.
  const torch::Tensor lm = torch::from_blob(face_landmarks().data(), {1, 68, 2}, torch::kFloat32).clone();
  const torch::Tensor lips = models::area_boxes(lm, data::FaceArea::kLips, 0.1)[0];
  CHECK((lips[2] - lips[0]).item<float>() == Approx((lips[3] - lips[1]).item<float>()));
  CHECK(lips[0].item<float>() < lm[0][48][0].item<float>());
  CHECK(lips[2].item<float>() > lm[0][54][0].item<float>());
}

TEST_CASE("MakeupGenerator: shapes, state-dict keys, pixels outside the areas stay x", "[makeup]") {
  torch::manual_seed(4);
  auto o = tiny_options();
  models::MakeupGenerator g(o.generator);
  std::set<std::string> prefixes;
  for (const auto& p : g->named_parameters()) prefixes.insert(p.key().substr(0, p.key().find('.')));
  CHECK((prefixes == std::set<std::string>{"global_path", "region_eyes", "region_lips", "region_skin"}));
  auto ds = pairs(2, data::Split::kTrain, 32);
  const data::Batch b = batch_of(*ds, 0, 2);
  const torch::Tensor x = b.at("source");
  const torch::Tensor out = g->forward(x, b.at("warped"), b.at("source_areas"), b.at("source_landmarks"));
  CHECK(out.sizes() == x.sizes());
  const torch::Tensor outside = (b.at("source_areas").sum(1, true) == 0).expand_as(x);
  CHECK(torch::equal(out.masked_select(outside), x.masked_select(outside)));
  CHECK_FALSE(torch::equal(out, x));
  const torch::Tensor d = g->deltas(x, b.at("warped"), b.at("source_areas"), b.at("source_landmarks"));
  CHECK(d.sizes() == torch::IntArrayRef({2, 3, 3, 32, 32}));
  CHECK(torch::allclose(models::compose_makeup(x, d, {0, 1, 2}, 1.0), out));
  // Regions subset and the ablations change the children.
  o.generator.regions = {"lips"};
  o.generator.per_region = false;
  models::MakeupGenerator g2(o.generator);
  for (const auto& p : g2->named_parameters()) CHECK(p.key().rfind("global_path.", 0) == 0);
  const torch::Tensor d2 = g2->deltas(x, b.at("warped"), b.at("source_areas"), b.at("source_landmarks"));
  CHECK(d2.select(1, 0).abs().sum().item<float>() == 0.0f);
  CHECK(d2.select(1, 2).abs().sum().item<float>() == 0.0f);
  CHECK(d2.select(1, 1).abs().sum().item<float>() > 0.0f);
}

TEST_CASE("makeup options: bad values throw naming the key", "[makeup]") {
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"generator", {{"regions", {"eyes", "nose"}}}}}),
                    Catch::Contains("regions") && Catch::Contains("nose"));
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"generator", {{"per_region", false}, {"use_global", false}}}}),
                    Catch::Contains("per_region"));
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"generator", {{"crop_size", 20}}}}), Catch::Contains("crop_size"));
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"identity", {{"type", "hinge"}}}}),
                    Catch::Contains("makeup.identity") && Catch::Contains("not a reconstruction loss"));
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"style", {{"type", "l1"}, {"weight", -1.0}}}}),
                    Catch::Contains("weight"));
  CHECK_THROWS_WITH(train::create_task(json{{"type", "makeup"}, {"use_style_discriminater", false}}),
                    Catch::Contains("use_style_discriminater"));
}

// ---------------------------------------------------------------------------------------------
// Losses: zeroing a weight (or a switch) removes exactly that term.

TEST_CASE("makeup loss terms: each weight and switch removes exactly its term", "[makeup]") {
  auto ds = pairs(2, data::Split::kTrain, 32);
  const data::Batch b = batch_of(*ds, 0, 2);
  auto terms = [&](const models::MakeupTaskOptions& o) {
    torch::manual_seed(5);
    models::MakeupTask task(o);
    torch::manual_seed(6);
    return task.generator_losses(b);
  };
  auto base_opts = tiny_options();
  base_opts.histogram = json{{"type", "l1"}, {"weight", 1.0}};
  const auto base = terms(base_opts);
  for (const char* k : {"g_adv_y", "f_adv_x", "g_adv_s", "identity", "style", "histogram"}) {
    INFO(k);
    REQUIRE(base.count(k) == 1);
    CHECK(base.at(k).item<float>() > 0.0f);
  }
  auto check_only = [&](const std::map<std::string, torch::Tensor>& t, const std::string& removed) {
    for (const auto& [k, v] : base) {
      INFO(k << " with '" << removed << "' removed");
      if (k == removed) {
        CHECK((t.count(k) == 0 || t.at(k).item<float>() == 0.0f));
      } else {
        REQUIRE(t.count(k) == 1);
        CHECK(t.at(k).item<float>() == Approx(v.item<float>()).epsilon(1e-5));
      }
    }
  };
  {
    auto o = base_opts;
    o.identity = json{{"type", "l1"}, {"weight", 0.0}};
    check_only(terms(o), "identity");
    o.identity = json{{"type", "l1"}, {"weight", 20.0}};
    CHECK(terms(o).at("identity").item<float>() == Approx(2 * base.at("identity").item<float>()).epsilon(1e-5));
  }
  {
    auto o = base_opts;
    o.style = json{{"type", "l1"}, {"weight", 0.0}};
    check_only(terms(o), "style");
    o = base_opts;
    o.use_style_loss = false;
    check_only(terms(o), "style");
  }
  {
    auto o = base_opts;
    o.histogram = json{{"type", "l1"}, {"weight", 0.0}};
    check_only(terms(o), "histogram");
    CHECK(terms(tiny_options()).count("histogram") == 0);  // off by default
  }
  {
    auto o = base_opts;
    o.use_style_discriminator = false;
    check_only(terms(o), "g_adv_s");
    o = base_opts;
    o.style_adversarial = json{{"type", "lsgan"}, {"weight", 0.0}};
    check_only(terms(o), "g_adv_s");
  }
  {
    // F's adversarial term has its own spec; null (the default) means the shared `adversarial`.
    auto o = base_opts;
    o.removal_adversarial = json{{"type", "lsgan"}, {"weight", 0.0}};
    check_only(terms(o), "f_adv_x");
    o.removal_adversarial = json{{"type", "lsgan"}, {"weight", 3.0}};
    CHECK(terms(o).at("f_adv_x").item<float>() == Approx(3 * base.at("f_adv_x").item<float>()).epsilon(1e-5));
    o.removal_adversarial = json{{"type", "no_such_loss"}};
    CHECK_THROWS_WITH(models::MakeupTask(o), Catch::Contains("makeup.removal_adversarial"));
  }
  {
    // The supervised diagnostics are off by default and, when on, are exactly weight * mean |out - truth|
    // of G against "target" and of F against "reference_bare", leaving every paper term as it was.
    CHECK(base.count("supervised_transfer") == 0);
    CHECK(base.count("supervised_removal") == 0);
    auto o = base_opts;
    o.diagnostics.supervised_transfer = json{{"type", "l1"}, {"weight", 4.0}};
    o.diagnostics.supervised_removal = json{{"type", "l1"}, {"weight", 0.5}};
    torch::manual_seed(5);
    models::MakeupTask task(o);
    torch::manual_seed(6);
    const auto t = task.generator_losses(b);
    const models::MakeupForward fw = task.forward(b, false);
    CHECK(t.at("supervised_transfer").item<double>() ==
          Approx(4.0 * (fw.transfer - b.at("target")).abs().mean().item<double>()).epsilon(1e-5));
    CHECK(t.at("supervised_removal").item<double>() ==
          Approx(0.5 * (fw.removal - b.at("reference_bare")).abs().mean().item<double>()).epsilon(1e-5));
    for (const auto& [k, v] : base) {
      INFO(k);
      CHECK(t.at(k).item<float>() == Approx(v.item<float>()).epsilon(1e-5));
    }
    // Without the synthetic ground truth (real data) the error names the missing key.
    data::Batch no_truth = b;
    no_truth.tensors.erase("target");
    CHECK_THROWS_WITH(task.generator_losses(no_truth), Catch::Contains("'target'"));
    o.diagnostics.supervised_removal = json{{"type", "no_such_loss"}};
    CHECK_THROWS_WITH(models::MakeupTask(o), Catch::Contains("makeup.diagnostics.supervised_removal"));
  }
  // The identity term's gradient reaches F (its path is F(G(x, y))), the style term's reaches G.
  {
    torch::manual_seed(5);
    auto o = base_opts;
    models::MakeupTask task(o);
    auto t = task.generator_losses(b);
    t.at("style").backward();
    double g_grad = 0;
    for (auto& p : task.generator()->parameters()) {
      if (p.grad().defined()) g_grad += p.grad().abs().sum().item<double>();
    }
    CHECK(g_grad > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Inference API and training

TEST_CASE("Makeup inference: intensity 0 is the source, regions limit the change, cv::Mat path", "[makeup]") {
  torch::manual_seed(7);
  models::MakeupTask task(tiny_options());
  models::Makeup model = models::Makeup::from_task(task);
  auto ds = pairs(2, data::Split::kHeldOut, 32);
  const data::Batch b = batch_of(*ds, 0, 2);
  const torch::Tensor x = b.at("source");
  CHECK(torch::equal(model.transfer(b, 0.0), x));
  const torch::Tensor full = model.transfer(b, 1.0);
  const torch::Tensor half = model.transfer(b, 0.5);
  CHECK_FALSE(torch::equal(full, x));
  // Half intensity lies between (before clamping, exactly halfway).
  CHECK((half - x).abs().sum().item<float>() < (full - x).abs().sum().item<float>());
  const torch::Tensor lips = model.transfer(b, 1.0, {"lips"});
  const torch::Tensor not_lips = (b.at("source_areas").select(1, 1) == 0).unsqueeze(1).expand_as(x);
  CHECK(torch::equal(lips.masked_select(not_lips), x.masked_select(not_lips)));
  CHECK_THROWS_WITH(model.transfer(b, 1.5), Catch::Contains("intensity"));
  CHECK_THROWS_WITH(model.transfer(b, 1.0, {"hair"}), Catch::Contains("hair"));
  // Tensors with landmarks only (warp and areas computed inside).
  const torch::Tensor t = model.transfer(x, b.at("source_landmarks"), b.at("reference"), b.at("reference_landmarks"), 0.0);
  CHECK(torch::equal(t, x));
  const torch::Tensor t1 = model.transfer(x[0], b.at("source_landmarks")[0], b.at("reference")[0], b.at("reference_landmarks")[0]);
  CHECK(t1.sizes() == torch::IntArrayRef({1, 3, 32, 32}));
  // cv::Mat: intensity 0 returns the source image.
  const cv::Mat xs = data::tensor_to_image(x[0]), ys = data::tensor_to_image(b.at("reference")[0]);
  const auto xl = data::landmarks_from_tensor(b.at("source_landmarks")[0]), yl = data::landmarks_from_tensor(b.at("reference_landmarks")[0]);
  CHECK(cv::norm(model.transfer(xs, xl, ys, yl, 0.0), xs, cv::NORM_INF) == 0);
  const cv::Mat out = model.transfer(xs, xl, ys, yl, 1.0);
  CHECK(out.size() == xs.size());
  CHECK(out.type() == CV_8UC3);
  const cv::Mat removed = model.remove(ys, yl);
  CHECK(removed.size() == ys.size());
  CHECK(model.remove(b.at("reference"), b.at("reference_areas")).sizes() == x.sizes());
}

TEST_CASE("makeup: a short CPU training lowers the transfer error on held-out pairs, checkpoint loads", "[makeup]") {
  const fs::path dir = testing::fresh_dir("makeup_short");
  auto train_data = pairs(48, data::Split::kTrain, 32);
  auto eval_data = pairs(8, data::Split::kHeldOut, 32);
  torch::manual_seed(8);
  auto o = tiny_options();
  o.optimizer_g.lr = 1e-3;
  auto task = std::make_shared<models::MakeupTask>(o);
  train::Trainer trainer(train::TrainerOptions()
                             .steps(30)
                             .seed(3)
                             .device("cpu")
                             .threads(at::get_num_threads())
                             .progress(train::ProgressMode::kNone)
                             .sample_every(0)
                             .checkpoint_every(0)
                             .log_every(1000)
                             .out_dir(dir.string())
                             .resume("none"),
                         task, train_data, data::LoaderOptions(4).prefetch_threads(0), nullptr, eval_data);
  std::ostringstream sink;
  trainer.set_progress_stream(sink);
  const json before = trainer.evaluate();
  const train::TrainResult result = trainer.fit();
  const json after = trainer.evaluate();
  INFO("before " << before.dump() << "\nafter " << after.dump());
  CHECK(after.at("face_psnr").get<double>() > before.at("face_psnr").get<double>() + 1.0);
  // The checkpoint loads into the inference API and gives the task's outputs.
  REQUIRE(fs::exists(result.checkpoint));
  models::Makeup loaded = models::Makeup::load(result.checkpoint);
  models::Makeup live = models::Makeup::from_task(*task);
  const data::Batch b = batch_of(*eval_data, 0, 2);
  CHECK(torch::allclose(loaded.transfer(b), live.transfer(b), 1e-5, 1e-5));
  fs::remove_all(dir);
}
