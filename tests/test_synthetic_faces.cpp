#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <catch2/catch.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <set>

using namespace facegan;
using namespace facegan::data;

namespace {

const std::array<Expression, 7> kAllExpressions{Expression::kNeutral,   Expression::kHappy,     Expression::kSad,
                                                Expression::kAngry,     Expression::kSurprised, Expression::kDisgusted,
                                                Expression::kFearful};

Makeup full_makeup() {
  Makeup m;
  m.lipstick = {true, 1.0, {0.8, 0.05, 0.1}};
  m.eyeshadow = {true, 1.0, {0.3, 0.2, 0.7}};
  m.blush = {true, 1.0, {1.0, 0.45, 0.5}};
  m.eyeliner = {true, 1.0, {0.02, 0.02, 0.05}};
  return m;
}

int count_nonzero(const cv::Mat& m) { return cv::countNonZero(m); }

// Pixels (any channel) where two BGR images differ, as a CV_8U 0/255 mask.
cv::Mat changed(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  cv::Mat channels[3];
  cv::split(d, channels);
  return (channels[0] | channels[1] | channels[2]) > 0;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

bool same_render(const RenderedFace& a, const RenderedFace& b) {
  if (!same(a.image, b.image) || !same(a.regions, b.regions) || !same(a.makeup_mask, b.makeup_mask)) return false;
  for (size_t i = 0; i < a.landmarks.size(); ++i) {
    if (a.landmarks[i] != b.landmarks[i]) return false;
  }
  return a.landmarks.size() == b.landmarks.size();
}

// One identity per hair style, so the hair tests see every style.
std::vector<int64_t> one_identity_per_style(const SyntheticFaces& r) {
  std::vector<int64_t> ids(kNumHairStyles, -1);
  for (int64_t i = 0; i < r.options().num_identities(); ++i) {
    auto& slot = ids[static_cast<size_t>(r.traits(i).hair_style)];
    if (slot < 0) slot = i;
  }
  return ids;
}

}  // namespace

TEST_CASE("synthetic faces: makeup changes only pixels inside the makeup mask", "[data]") {
  torch::manual_seed(0);
  for (int64_t size : {32, 64, 128}) {
    SyntheticFaces r(SyntheticFacesOptions().size(size).seed(3));
    for (uint64_t i = 0; i < 20; ++i) {
      FaceFactors bare = r.sample_factors(i);
      bare.makeup = Makeup();
      FaceFactors made = bare;
      made.makeup = i % 2 == 0 ? full_makeup() : r.sample_factors(1000 + i).makeup;
      if (!made.makeup.any()) made.makeup = full_makeup();
      const RenderedFace a = r.render(bare), b = r.render(made);
      INFO("size " << size << ", sample " << i);
      REQUIRE(same(a.makeup_mask, b.makeup_mask));  // the mask never depends on the makeup
      REQUIRE(same(a.regions, b.regions));
      const cv::Mat diff = changed(a.image, b.image);
      CHECK(count_nonzero(diff) > 0);
      CHECK(count_nonzero(diff & (a.makeup_mask == 0)) == 0);
      // Makeup is applied on the face: the mask stays off background and hair.
      CHECK(count_nonzero((a.makeup_mask > 0) & (a.regions == static_cast<int>(Region::kBackground))) <=
            count_nonzero(a.makeup_mask) / 10);
    }
  }
}

TEST_CASE("synthetic faces: removing makeup gives the bare render of the same face", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().size(64).seed(5));
  FaceFactors f = r.sample_factors(7);
  f.makeup = full_makeup();
  FaceFactors bare = f;
  bare.makeup = Makeup();
  FaceFactors disabled = f;  // products present but not enabled render bare too
  for (MakeupItem* it : {&disabled.makeup.lipstick, &disabled.makeup.eyeshadow, &disabled.makeup.blush,
                         &disabled.makeup.eyeliner}) {
    it->enabled = false;
  }
  CHECK(f.makeup.any());
  CHECK_FALSE(bare.makeup.any());
  CHECK(same_render(r.render(bare), r.render(disabled)));
  CHECK_FALSE(same(r.render(bare).image, r.render(f).image));
  // Lipstick alone changes pixels of the lips only (and their anti-aliased rim).
  FaceFactors lips = bare;
  lips.makeup.lipstick = full_makeup().lipstick;
  const RenderedFace a = r.render(bare), b = r.render(lips);
  const cv::Mat near_lips = (a.regions == static_cast<int>(Region::kLips)) | (a.regions == static_cast<int>(Region::kMouth));
  cv::Mat grown;
  cv::dilate(near_lips, grown, cv::Mat::ones(3, 3, CV_8U));
  const cv::Mat diff = changed(a.image, b.image);
  CHECK(count_nonzero(diff) > 5);
  CHECK(count_nonzero(diff & (grown == 0)) == 0);
}

TEST_CASE("synthetic faces: expression leaves background and hair pixels untouched", "[data]") {
  torch::manual_seed(0);
  for (int64_t size : {32, 64, 128}) {
    SyntheticFaces r(SyntheticFacesOptions().size(size).seed(11).num_identities(60).held_out_identities(10));
    const std::vector<int64_t> ids = one_identity_per_style(r);
    uint64_t k = 0;
    for (int64_t id : ids) {
      REQUIRE(id >= 0);
      for (int rep = 0; rep < 3; ++rep, ++k) {
        FaceFactors neutral = r.sample_factors(k);
        neutral.identity = id;
        neutral.expression = Expression::kNeutral;
        neutral.intensity = 0.0;
        const RenderedFace base = r.render(neutral);
        for (Expression e : kAllExpressions) {
          if (e == Expression::kNeutral) continue;
          FaceFactors f = neutral;
          f.expression = e;
          f.intensity = 1.0;
          const RenderedFace out = r.render(f);
          INFO("size " << size << ", identity " << id << ", expression " << enum_to_string(e) << ", sample " << k);
          auto kept = [&](const cv::Mat& regions) {
            return (regions == static_cast<int>(Region::kBackground)) | (regions == static_cast<int>(Region::kHair));
          };
          const cv::Mat both = kept(base.regions) & kept(out.regions);
          CHECK(count_nonzero(changed(base.image, out.image) & both) == 0);
          CHECK(count_nonzero(changed(base.image, out.image)) > 0);
          // The hair and background labels themselves do not move either.
          CHECK(count_nonzero(kept(base.regions) != kept(out.regions)) == 0);
        }
      }
    }
  }
}

TEST_CASE("synthetic faces: neutral ignores intensity and intensity scales the expression", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().size(64));
  FaceFactors f = r.sample_factors(3);
  f.expression = Expression::kNeutral;
  f.intensity = 0.0;
  FaceFactors g = f;
  g.intensity = 1.0;
  CHECK(same_render(r.render(f), r.render(g)));
  FaceFactors weak = f, strong = f;
  weak.expression = strong.expression = Expression::kSurprised;
  weak.intensity = 0.3;
  strong.intensity = 1.0;
  const auto n = r.render(f).landmarks, w = r.render(weak).landmarks, s = r.render(strong).landmarks;
  // Mouth opening (62 -> 66) grows with the intensity.
  CHECK(w[66].y - w[62].y > n[66].y - n[62].y + 0.1);
  CHECK(s[66].y - s[62].y > w[66].y - w[62].y + 0.5);
  // Happy lifts the mouth corners relative to the mouth centre; sad lowers them.
  FaceFactors happy = f, sad = f;
  happy.expression = Expression::kHappy;
  sad.expression = Expression::kSad;
  happy.intensity = sad.intensity = 1.0;
  const auto h = r.render(happy).landmarks, d = r.render(sad).landmarks;
  auto corner_rise = [](const std::vector<cv::Point2f>& l) { return 0.5 * (l[51].y + l[57].y) - 0.5 * (l[48].y + l[54].y); };
  CHECK(corner_rise(h) > corner_rise(n) + 0.5);
  CHECK(corner_rise(d) < corner_rise(n) - 0.3);
}

TEST_CASE("synthetic faces: the same factors render bit-identically", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces a(SyntheticFacesOptions().size(96).seed(21)), b(SyntheticFacesOptions().size(96).seed(21));
  for (uint64_t i = 0; i < 6; ++i) {
    const FaceFactors f = a.sample_factors(i, Split::kAll);
    CHECK(factors_to_json(f) == factors_to_json(b.sample_factors(i, Split::kAll)));
    CHECK(same_render(a.render(f), a.render(f)));
    CHECK(same_render(a.render(f), b.render(f)));
  }
}

TEST_CASE("synthetic faces: identities are stable and distinct", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().seed(7)), again(SyntheticFacesOptions().seed(7)),
      other(SyntheticFacesOptions().seed(8));
  std::set<std::string> seen;
  std::set<int> styles;
  for (int64_t i = 0; i < r.options().num_identities(); ++i) {
    const json t = options_to_json(r.traits(i));
    CHECK(t == options_to_json(again.traits(i)));
    CHECK(t != options_to_json(other.traits(i)));
    seen.insert(t.dump());
    styles.insert(static_cast<int>(r.traits(i).hair_style));
    CHECK(t.size() >= 8);
  }
  CHECK(seen.size() == static_cast<size_t>(r.options().num_identities()));
  CHECK(styles.size() == static_cast<size_t>(kNumHairStyles));
  // Different identities under the same attributes, expression and makeup give different faces.
  FaceFactors f = r.sample_factors(0);
  FaceFactors g = f;
  g.identity = (f.identity + 1) % r.options().num_identities();
  const RenderedFace a = r.render(f), b = r.render(g);
  CHECK(count_nonzero(changed(a.image, b.image)) > static_cast<int>(a.image.total() / 10));
  // ... and the identity of A with the attributes of B keeps B's background.
  CHECK(a.image.at<cv::Vec3b>(0, 0) == b.image.at<cv::Vec3b>(0, 0));
  CHECK_THROWS_AS(r.traits(-1), ConfigError);
  CHECK_THROWS_WITH(r.traits(200), Catch::Contains("identity 200"));
}

TEST_CASE("synthetic faces: splits draw training and held-out identities", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().num_identities(30).held_out_identities(10).seed(1));
  CHECK(r.num_train_identities() == 20);
  std::set<int64_t> train, held;
  for (uint64_t i = 0; i < 400; ++i) {
    train.insert(r.sample_factors(i, Split::kTrain).identity);
    held.insert(r.sample_factors(i, Split::kHeldOut).identity);
  }
  CHECK(*train.begin() == 0);
  CHECK(*train.rbegin() == 19);
  CHECK(train.size() == 20);
  CHECK(*held.begin() == 20);
  CHECK(*held.rbegin() == 29);
  CHECK(r.is_held_out(20));
  CHECK_FALSE(r.is_held_out(19));
  // Factor streams are independent: the split changes the identity only.
  FaceFactors a = r.sample_factors(5, Split::kTrain), b = r.sample_factors(5, Split::kHeldOut);
  CHECK(options_to_json(a.attributes) == options_to_json(b.attributes));
  CHECK(a.expression == b.expression);
  CHECK(options_to_json(a.makeup) == options_to_json(b.makeup));
  // Sampling covers all expressions and both bare and made-up faces.
  std::set<int> expressions;
  int with_makeup = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    const FaceFactors f = r.sample_factors(i);
    expressions.insert(static_cast<int>(f.expression));
    with_makeup += f.makeup.any() ? 1 : 0;
    if (f.expression == Expression::kNeutral) CHECK(f.intensity == 0.0);
    if (f.expression != Expression::kNeutral) CHECK(f.intensity > 0.0);
  }
  CHECK(expressions.size() == 7);
  CHECK(with_makeup > 90);
  CHECK(with_makeup < 210);
}

TEST_CASE("synthetic faces: landmarks follow the pose", "[data]") {
  torch::manual_seed(0);
  const int64_t size = 128;
  SyntheticFaces r(SyntheticFacesOptions().size(size));
  FaceFactors f = r.sample_factors(2);
  f.attributes.roll = 0.0;
  f.attributes.shift_x = f.attributes.shift_y = 0.0;
  f.attributes.scale = 0.9;
  f.attributes.yaw = 0.0;
  const auto base = r.render(f).landmarks;
  REQUIRE(base.size() == static_cast<size_t>(kNumLandmarks));

  FaceFactors shifted = f;
  shifted.attributes.shift_x = 0.05;
  shifted.attributes.shift_y = -0.03;
  const auto s = r.render(shifted).landmarks;
  for (int i = 0; i < kNumLandmarks; ++i) {
    CHECK(s[i].x - base[i].x == Approx(0.05 * size).margin(1e-3));
    CHECK(s[i].y - base[i].y == Approx(-0.03 * size).margin(1e-3));
  }

  const double roll = 0.2, c = (size - 1) / 2.0;
  FaceFactors rolled = f;
  rolled.attributes.roll = roll;
  const auto rl = r.render(rolled).landmarks;
  for (int i = 0; i < kNumLandmarks; ++i) {
    const double x = base[i].x - c, y = base[i].y - c;
    CHECK(rl[i].x == Approx(c + std::cos(roll) * x - std::sin(roll) * y).margin(1e-3));
    CHECK(rl[i].y == Approx(c + std::sin(roll) * x + std::cos(roll) * y).margin(1e-3));
  }

  FaceFactors scaled = f;
  scaled.attributes.scale = 0.75;
  const auto sc = r.render(scaled).landmarks;
  for (int i = 0; i < kNumLandmarks; ++i) {
    CHECK(sc[i].x - c == Approx((base[i].x - c) * 0.75 / 0.9).margin(1e-3));
    CHECK(sc[i].y - c == Approx((base[i].y - c) * 0.75 / 0.9).margin(1e-3));
  }

  // Yaw: features move towards the turn, the nose tip (it sticks out) more than the eyes, and the
  // far eye is foreshortened.
  FaceFactors turned = f;
  turned.attributes.yaw = 0.3;
  const auto y = r.render(turned).landmarks;
  CHECK(y[30].x - base[30].x > 3.0);
  CHECK(y[30].x - base[30].x > y[39].x - base[39].x);
  CHECK(y[45].x - y[42].x < 0.9 * (base[45].x - base[42].x));
  CHECK(y[39].x - y[36].x > base[39].x - base[36].x);
  for (int i = 0; i < kNumLandmarks; ++i) CHECK(y[i].y == Approx(base[i].y).margin(1e-3));

  // iBUG order on the frontal face.
  CHECK(base[0].x < base[8].x);
  CHECK(base[8].x < base[16].x);
  for (int i = 0; i <= 16; ++i) CHECK(base[8].y >= base[i].y - 1e-3);
  CHECK(base[17].x < base[21].x);
  CHECK(base[21].x < base[22].x);
  CHECK(base[22].x < base[26].x);
  CHECK(base[27].y < base[30].y);
  CHECK(base[31].x < base[33].x);
  CHECK(base[33].x < base[35].x);
  CHECK(base[36].x < base[39].x);
  CHECK(base[39].x < base[42].x);
  CHECK(base[42].x < base[45].x);
  CHECK(base[37].y < base[41].y);
  CHECK(base[48].x < base[54].x);
  CHECK(base[51].y < base[57].y);
  CHECK(base[19].y < base[37].y);
  CHECK(base[30].y < base[51].y);
  CHECK(base[57].y < base[8].y);
  // Bilateral symmetry of the frontal face about the vertical centre line.
  const double mid = base[8].x;
  CHECK(base[0].x + base[16].x == Approx(2 * mid).margin(1e-3));
  CHECK(base[36].x + base[45].x == Approx(2 * mid).margin(1e-3));
  CHECK(base[48].x + base[54].x == Approx(2 * mid).margin(1e-3));
}

TEST_CASE("synthetic faces: landmarks and regions agree", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().size(128).seed(2));
  for (uint64_t i = 0; i < 8; ++i) {
    FaceFactors f = r.sample_factors(i);
    const RenderedFace out = r.render(f);
    auto region_at = [&](cv::Point2f p) {
      return static_cast<Region>(out.regions.at<uint8_t>(cvRound(p.y), cvRound(p.x)));
    };
    INFO("sample " << i);
    // Eye centres (mean of the six lid points) lie on the eye, the nose tip on the nose, the
    // midpoint between upper and lower lip on the lips or mouth, brow midpoints on the brow.
    for (int eye : {36, 42}) {
      cv::Point2f c(0, 0);
      for (int k = 0; k < 6; ++k) c += out.landmarks[eye + k] * (1.0f / 6);
      CHECK(region_at(c) == Region::kEyes);
    }
    CHECK(region_at(out.landmarks[30]) == Region::kNose);
    const Region mouth = region_at((out.landmarks[51] + out.landmarks[62]) * 0.5f);
    CHECK((mouth == Region::kLips || mouth == Region::kMouth));
    CHECK(region_at(out.landmarks[19]) == Region::kBrows);
    CHECK(region_at(out.landmarks[24]) == Region::kBrows);
    CHECK(region_at(out.landmarks[8] + cv::Point2f(0, -3)) == Region::kSkin);
    // Every region of a face is present.
    for (Region g : {Region::kBackground, Region::kSkin, Region::kBrows, Region::kEyes, Region::kLips, Region::kHair,
                     Region::kNeck, Region::kNose}) {
      CHECK(count_nonzero(out.regions == static_cast<int>(g)) > 0);
    }
  }
}

TEST_CASE("synthetic faces: every size renders and factors round-trip through JSON", "[data]") {
  torch::manual_seed(0);
  SyntheticFaces r(SyntheticFacesOptions().seed(4));
  int64_t i = 0;
  for (int64_t size : {32, 33, 48, 64, 80, 96, 127, 128, 160, 200, 256}) {
    const FaceFactors f = r.sample_factors(static_cast<uint64_t>(i++));
    const RenderedFace out = r.render(f, size);
    INFO("size " << size);
    CHECK(out.image.type() == CV_8UC3);
    CHECK(out.image.rows == size);
    CHECK(out.image.cols == size);
    CHECK(out.regions.type() == CV_8U);
    CHECK(out.regions.size() == out.image.size());
    CHECK(out.makeup_mask.type() == CV_8U);
    CHECK(out.makeup_mask.size() == out.image.size());
    double lo, hi;
    cv::minMaxLoc(out.makeup_mask, &lo, &hi);
    CHECK(hi <= 1.0);
    cv::minMaxLoc(out.regions, &lo, &hi);
    CHECK(hi <= 9.0);
    REQUIRE(out.landmarks.size() == static_cast<size_t>(kNumLandmarks));
    for (const auto& p : out.landmarks) {
      CHECK(p.x > 0);
      CHECK(p.x < size - 1);
      CHECK(p.y > 0);
      CHECK(p.y < size - 1);
    }
    // Landmarks scale with the size.
    const RenderedFace other = r.render(f, 64);
    CHECK((out.landmarks[30].x + 0.5) / size == Approx((other.landmarks[30].x + 0.5) / 64).margin(1e-4));

    const json j = factors_to_json(f);
    const FaceFactors back = factors_from_json(json::parse(j.dump()));
    CHECK(factors_to_json(back) == j);
    CHECK(same_render(r.render(back, size), out));
  }
  CHECK_THROWS_WITH(r.render(r.sample_factors(0), 16), Catch::Contains("size"));
  CHECK_THROWS_WITH(r.render(r.sample_factors(0), 300), Catch::Contains("size"));
  // Factors JSON is strict and readable.
  json j = factors_to_json(r.sample_factors(1));
  CHECK(j.at("expression").is_string());
  CHECK(j.at("makeup").at("lipstick").contains("color"));
  j["attributes"]["tilt"] = 0.1;
  CHECK_THROWS_WITH(factors_from_json(j), Catch::Contains("factors.attributes.tilt"));
  json k = factors_to_json(r.sample_factors(1));
  k["expression"] = "smug";
  CHECK_THROWS_WITH(factors_from_json(k), Catch::Contains("expression") && Catch::Contains("surprised"));
  FaceFactors bad = r.sample_factors(1);
  bad.intensity = 1.5;
  CHECK_THROWS_WITH(r.render(bad), Catch::Contains("intensity"));
  bad = r.sample_factors(1);
  bad.identity = 999;
  CHECK_THROWS_WITH(r.render(bad), Catch::Contains("identity 999"));
}

TEST_CASE("synthetic faces: bad options name the option", "[data]") {
  torch::manual_seed(0);
  CHECK_THROWS_AS(SyntheticFaces(SyntheticFacesOptions().size(16)), ConfigError);
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().size(16)), Catch::Contains("size") && Catch::Contains("16"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().size(512)), Catch::Contains("size"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().num_identities(10).held_out_identities(12)),
                    Catch::Contains("held_out_identities"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().num_identities(10).held_out_identities(10)),
                    Catch::Contains("held_out_identities"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().num_identities(0)), Catch::Contains("num_identities"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().makeup_probability(1.5)), Catch::Contains("makeup_probability"));
  CHECK_THROWS_WITH(SyntheticFaces(SyntheticFacesOptions().min_scale(1.2).max_scale(1.0)), Catch::Contains("min_scale"));
  CHECK_THROWS_WITH(create_dataset({{"type", "synthetic_faces"}, {"size", 16}}), Catch::Contains("size"));
  CHECK_THROWS_WITH(create_dataset({{"type", "synthetic_faces"}, {"resolution", 64}}),
                    Catch::Contains("resolution") && Catch::Contains("num_samples"));
  CHECK_THROWS_WITH(create_dataset({{"type", "synthetic_faces"}, {"split", "test"}}),
                    Catch::Contains("split") && Catch::Contains("held_out"));
  CHECK_THROWS_WITH(create_dataset({{"type", "synthetic_faces"}, {"num_samples", 0}}), Catch::Contains("num_samples"));
  CHECK_THROWS_WITH(create_dataset({{"type", "synthetic_faces"}, {"size", "big"}}), Catch::Contains("size"));
}

TEST_CASE("synthetic_faces data set: samples, keys and meta", "[data]") {
  torch::manual_seed(0);
  REQUIRE(dataset_registry().contains("synthetic_faces"));
  const auto& entry = dataset_registry().entry("synthetic_faces");
  CHECK(entry.defaults.at("size") == 64);
  CHECK(entry.defaults.at("split") == "train");
  CHECK_FALSE(entry.summary.empty());

  auto ds = create_dataset({{"type", "synthetic_faces"}, {"size", 48}, {"num_samples", 20}, {"seed", 9},
                            {"num_identities", 12}, {"held_out_identities", 4}, {"split", "held_out"}});
  CHECK(ds->type() == "synthetic_faces");
  CHECK(ds->size() == 20);
  const Sample s = ds->get(3);
  CHECK(s.at("image").sizes() == torch::IntArrayRef({3, 48, 48}));
  CHECK(s.at("image").dtype() == torch::kFloat32);
  CHECK(s.at("image").min().item<float>() >= -1.0f);
  CHECK(s.at("image").max().item<float>() <= 1.0f);
  CHECK(s.at("landmarks").sizes() == torch::IntArrayRef({68, 2}));
  CHECK(s.at("mask").sizes() == torch::IntArrayRef({48, 48}));
  CHECK(s.at("mask").dtype() == torch::kUInt8);
  CHECK(s.at("makeup_mask").dtype() == torch::kUInt8);
  CHECK(s.at("identity").dim() == 0);
  CHECK(s.at("identity").item<int64_t>() >= 8);
  CHECK(s.at("expression").item<int64_t>() >= 0);
  CHECK(s.at("expression").item<int64_t>() < kNumExpressions);

  // The meta reproduces the sample exactly through the renderer.
  SyntheticFaces r(SyntheticFacesOptions().size(48).seed(9).num_identities(12).held_out_identities(4));
  const FaceFactors f = factors_from_json(s.meta);
  CHECK(f.identity == s.at("identity").item<int64_t>());
  const Sample again = r.render_sample(f);
  CHECK(torch::equal(again.at("image"), s.at("image")));
  CHECK(torch::equal(again.at("landmarks"), s.at("landmarks")));
  CHECK(torch::equal(again.at("mask"), s.at("mask")));
  CHECK(torch::equal(ds->get(3).at("image"), s.at("image")));
  CHECK_THROWS_AS(ds->get(20), DataError);

  // Samples batch.
  const Batch b = collate({ds->get(0), ds->get(1), ds->get(2)});
  CHECK(b.at("image").sizes() == torch::IntArrayRef({3, 3, 48, 48}));
  CHECK(b.at("identity").sizes() == torch::IntArrayRef({3}));
  CHECK(b.meta.size() == 3);
}

namespace {

// 64-bit FNV-1a, fed with raw bytes: a digest that changes with any bit of a render.
struct Fnv1a {
  uint64_t h = 0xcbf29ce484222325ull;
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
  void mat(const cv::Mat& m) {
    const int32_t header[3] = {m.rows, m.cols, m.type()};
    bytes(header, sizeof(header));
    const cv::Mat c = m.isContinuous() ? m : m.clone();
    bytes(c.data, c.total() * c.elemSize());
  }
  void tensor(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    for (int64_t s : c.sizes()) bytes(&s, sizeof(s));
    bytes(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
  }
  void render(const RenderedFace& r) {
    mat(r.image);
    mat(r.regions);
    mat(r.makeup_mask);
    bytes(r.landmarks.data(), r.landmarks.size() * sizeof(cv::Point2f));
  }
};

// Hand-made factors that reach what sampling rarely does: every expression at a low and a full
// intensity, each product alone and all four, strong yaw and roll, flat and hard light.
std::vector<FaceFactors> digest_factors(const SyntheticFaces& r) {
  std::vector<FaceFactors> out;
  const std::vector<int64_t> ids = one_identity_per_style(r);
  for (size_t e = 0; e < kAllExpressions.size(); ++e) {
    for (double intensity : {0.35, 1.0}) {
      FaceFactors f;
      f.identity = ids[e % ids.size()];
      f.expression = kAllExpressions[e];
      f.intensity = intensity;
      Attributes& a = f.attributes;
      const double s = (e % 2 == 0 ? 1.0 : -1.0) * intensity;
      a.yaw = 0.55 * s;
      a.roll = 0.2 * s;
      a.scale = 0.85 + 0.2 * intensity;
      a.shift_x = 0.03 * s;
      a.shift_y = -0.02 * s;
      a.light_x = 0.8 * s;
      a.light_y = -0.6 + 0.1 * static_cast<double>(e);
      a.light_strength = e == 3 ? 0.0 : (e == 5 ? 1.0 : 0.6);
      switch (e % 4) {
        case 0: break;
        case 1: f.makeup = full_makeup(); break;
        case 2: f.makeup.lipstick = {true, intensity, {0.6, 0.1, 0.3}}; break;
        default:
          f.makeup.eyeshadow = {true, 0.7, {0.25, 0.4, 0.7}};
          f.makeup.eyeliner = {true, intensity, {0.1, 0.1, 0.1}};
          break;
      }
      out.push_back(f);
    }
  }
  for (uint64_t i = 0; i < 8; ++i) out.push_back(r.sample_factors(i, Split::kAll));
  return out;
}

}  // namespace

// Pins the renderer's output bit for bit (images, regions, makeup masks, landmarks, the sampled
// factors and the Sample tensors): refactors of the renderer must leave these digests unchanged.
// Any intended change to what is drawn updates them, saying why in the commit.
TEST_CASE("synthetic faces: renders match their pinned digests", "[data][renderer]") {
  struct Case {
    int64_t seed, size, supersample;
    uint64_t digest;
  };
  const Case cases[] = {{3, 32, 0, 0x613fa0c9409240c5ull},
                        {3, 64, 0, 0x732f441410c9b842ull},
                        {11, 128, 0, 0x7cfe26618edea18bull},
                        {11, 48, 1, 0x18393319e70533c2ull},
                        {3, 64, 2, 0x715c9b614cb26e0dull}};
  for (const Case& c : cases) {
    SyntheticFaces r(SyntheticFacesOptions().size(c.size).seed(c.seed).num_identities(30).held_out_identities(5)
                         .supersample(c.supersample));
    Fnv1a d;
    for (const FaceFactors& f : digest_factors(r)) {
      const std::string j = factors_to_json(f).dump();
      d.bytes(j.data(), j.size());
      d.render(r.render(f));
    }
    const Sample s = r.render_sample(r.sample_factors(5, Split::kTrain));
    for (const char* key : {"image", "landmarks", "mask", "makeup_mask", "identity", "expression", "makeup", "intensity"}) {
      d.tensor(s.at(key));
    }
    INFO("seed " << c.seed << ", size " << c.size << ", supersample " << c.supersample << ": digest 0x" << std::hex << d.h);
    CHECK(d.h == c.digest);
  }
}
