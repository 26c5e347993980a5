#include <facegan/data/dataset.hpp>
#include <facegan/data/loader.hpp>
#include <facegan/data/transforms.hpp>

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

using namespace facegan;
using namespace facegan::data;

namespace {

/// Sample i: "label" = i, "x" = [i], an 8x10 image and mask that depend on i, 68 landmarks;
/// indices in `bad` throw DataError naming a file, `fatal` throws std::runtime_error.
class IndexDataset : public Dataset {
 public:
  explicit IndexDataset(size_t n, std::set<size_t> bad = {}, size_t fatal = static_cast<size_t>(-1))
      : n_(n), bad_(std::move(bad)), fatal_(fatal) {}
  size_t size() const override { return n_; }
  Sample get(size_t i) const override {
    if (bad_.count(i) != 0) throw DataError("cannot decode image file: /data/faces/img_" + std::to_string(i) + ".png");
    if (i == fatal_) throw std::runtime_error("disk on fire at " + std::to_string(i));
    Sample s;
    const auto v = static_cast<double>(i);
    s.tensors["label"] = torch::tensor(static_cast<int64_t>(i));
    s.tensors["x"] = torch::full({1}, v);
    s.tensors["image"] = torch::linspace(-1, 1, 3 * 8 * 10).reshape({3, 8, 10}).mul(0.5).add(v / static_cast<double>(n_) - 0.5);
    s.tensors["mask"] = torch::arange(80).reshape({8, 10}).add(static_cast<int64_t>(i)).remainder(10).to(torch::kUInt8);
    s.tensors["landmarks"] = torch::stack({torch::arange(68).to(torch::kFloat) * 0.1 + v * 0.01,
                                           torch::arange(68).to(torch::kFloat) * 0.05}, 1);
    s.meta = json{{"index", i}};
    return s;
  }
  std::string type() const override { return "index_test"; }

 private:
  size_t n_;
  std::set<size_t> bad_;
  size_t fatal_;
};

std::vector<int64_t> labels_of(const Batch& b) {
  torch::Tensor t = b.at("label");
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

/// All labels of one epoch, batch by batch.
std::vector<std::vector<int64_t>> run_epoch(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<int64_t>> out;
  while (auto b = loader.next()) out.push_back(labels_of(*b));
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

bool same_batch(const Batch& a, const Batch& b) {
  if (a.tensors.size() != b.tensors.size() || a.meta != b.meta) return false;
  for (const auto& [key, t] : a.tensors) {
    if (!torch::equal(t, b.at(key))) return false;
  }
  return true;
}

Transform test_augment() {
  return Compose({RandomHorizontalFlip(), RandomCrop(RandomCropOptions(6, 8)), ColorJitter()});
}

}  // namespace

TEST_CASE("epoch permutation depends only on (seed, epoch)", "[data]") {
  const auto p = epoch_permutation(50, 3, 0);
  CHECK(p == epoch_permutation(50, 3, 0));
  CHECK(p != epoch_permutation(50, 3, 1));
  CHECK(p != epoch_permutation(50, 4, 0));
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);

  auto ds = std::make_shared<IndexDataset>(24);
  Loader a(ds, LoaderOptions(4).seed(9).prefetch_threads(0));
  Loader b(ds, LoaderOptions(4).seed(9).prefetch_threads(0));
  const auto e0 = run_epoch(a, 0);
  CHECK(e0 == run_epoch(b, 0));
  CHECK(e0.size() == 6);
  const auto e1 = run_epoch(a, 1);
  CHECK(e1 != e0);
  auto all = flat(e0);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 24; ++i) CHECK(all[static_cast<size_t>(i)] == i);
  CHECK(run_epoch(a, 0) == e0);  // going back to an epoch replays it

  Loader ordered(ds, LoaderOptions(4).shuffle(false).prefetch_threads(0));
  CHECK(flat(run_epoch(ordered, 5)) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                             12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
}

TEST_CASE("loader shards of two ranks are disjoint and cover the epoch", "[data]") {
  SECTION("even size") {
    auto ds = std::make_shared<IndexDataset>(20);
    Loader r0(ds, LoaderOptions(2).seed(5).world_size(2).rank(0).prefetch_threads(1));
    Loader r1(ds, LoaderOptions(2).seed(5).world_size(2).rank(1).prefetch_threads(1));
    CHECK(r0.batches_per_epoch() == 5);
    CHECK(r1.batches_per_epoch() == 5);
    auto a = flat(run_epoch(r0, 3)), b = flat(run_epoch(r1, 3));
    std::set<int64_t> sa(a.begin(), a.end()), sb(b.begin(), b.end());
    CHECK(sa.size() == 10);
    CHECK(sb.size() == 10);
    std::vector<int64_t> both;
    std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(both));
    CHECK(both.empty());
    // Interleaved positions of the one shared permutation.
    const auto perm = epoch_permutation(20, 5, 3);
    for (size_t i = 0; i < 10; ++i) {
      CHECK(a[i] == perm[2 * i]);
      CHECK(b[i] == perm[2 * i + 1]);
    }
  }
  SECTION("odd size: padded without drop_last, cut with it") {
    auto ds = std::make_shared<IndexDataset>(11);
    Loader p0(ds, LoaderOptions(3).seed(1).world_size(2).rank(0).drop_last(false).prefetch_threads(0));
    Loader p1(ds, LoaderOptions(3).seed(1).world_size(2).rank(1).drop_last(false).prefetch_threads(0));
    CHECK(p0.samples_per_epoch() == 6);
    CHECK(p1.batches_per_epoch() == p0.batches_per_epoch());
    auto a = flat(run_epoch(p0, 0)), b = flat(run_epoch(p1, 0));
    CHECK(a.size() == 6);
    CHECK(b.size() == 6);
    std::set<int64_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(all.size() == 11);  // every sample once, one repeated as padding

    Loader c0(ds, LoaderOptions(1).seed(1).world_size(2).rank(0).prefetch_threads(0));
    Loader c1(ds, LoaderOptions(1).seed(1).world_size(2).rank(1).prefetch_threads(0));
    auto x = flat(run_epoch(c0, 0)), y = flat(run_epoch(c1, 0));
    CHECK(x.size() == 5);
    CHECK(y.size() == 5);
    std::set<int64_t> cut(x.begin(), x.end());
    cut.insert(y.begin(), y.end());
    CHECK(cut.size() == 10);
  }
}

TEST_CASE("loader drop_last drops the incomplete last batch", "[data]") {
  auto ds = std::make_shared<IndexDataset>(10);
  Loader dropped(ds, LoaderOptions(4).prefetch_threads(0));
  CHECK(dropped.batches_per_epoch() == 2);
  auto e = run_epoch(dropped, 0);
  CHECK(e.size() == 2);
  CHECK(e[1].size() == 4);
  Loader kept(ds, LoaderOptions(4).drop_last(false).prefetch_threads(2));
  CHECK(kept.batches_per_epoch() == 3);
  auto k = run_epoch(kept, 0);
  REQUIRE(k.size() == 3);
  CHECK(k[2].size() == 2);
  const auto all = flat(k);
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 10);
  CHECK_THROWS_WITH(Loader(ds, LoaderOptions(16)), Catch::Contains("no batch of 16"));
}

TEST_CASE("loader gives identical batches with 0, 1 and 2 prefetch threads", "[data]") {
  auto ds = std::make_shared<IndexDataset>(37);
  const int threads_before = at::get_num_threads();
  std::vector<std::vector<Batch>> runs;
  for (int64_t threads : {0, 1, 2}) {
    Loader loader(ds, LoaderOptions(5).seed(11).prefetch_threads(threads).prefetch_batches(2), test_augment());
    std::vector<Batch> batches;
    for (int64_t epoch : {0, 1}) {
      loader.start_epoch(epoch);
      while (auto b = loader.next()) batches.push_back(*b);
    }
    runs.push_back(std::move(batches));
  }
  REQUIRE(runs[0].size() == 14);
  CHECK(runs[0][0].at("image").sizes() == torch::IntArrayRef{5, 3, 6, 8});
  CHECK(runs[0][0].at("landmarks").sizes() == torch::IntArrayRef{5, 68, 2});
  for (size_t r = 1; r < runs.size(); ++r) {
    REQUIRE(runs[r].size() == runs[0].size());
    for (size_t i = 0; i < runs[0].size(); ++i) {
      INFO("threads run " << r << ", batch " << i);
      CHECK(same_batch(runs[0][i], runs[r][i]));
    }
  }
  CHECK_FALSE(same_batch(runs[0][0], runs[0][7]));
  CHECK(at::get_num_threads() == threads_before);
}

TEST_CASE("loader state() and restore() resume at the exact next batch", "[data]") {
  auto ds = std::make_shared<IndexDataset>(30);
  const auto options = LoaderOptions(4).seed(2).world_size(2).rank(1).prefetch_threads(2);
  Loader original(ds, options, test_augment());
  original.start_epoch(0);
  while (original.next()) {
  }
  original.start_epoch(1);
  original.next();
  original.next();
  const json saved = original.state();
  CHECK(saved.at("epoch") == 1);
  CHECK(saved.at("batch") == 2);
  std::vector<Batch> expected;
  while (auto b = original.next()) expected.push_back(*b);
  REQUIRE(expected.size() == 1);  // 15 samples per rank -> 3 batches of 4

  for (int64_t threads : {0, 2}) {
    Loader resumed(ds, LoaderOptions(options).prefetch_threads(threads), test_augment());
    resumed.restore(saved);
    std::vector<Batch> got;
    while (auto b = resumed.next()) got.push_back(*b);
    REQUIRE(got.size() == expected.size());
    CHECK(same_batch(got[0], expected[0]));
    CHECK(resumed.epoch() == 1);
  }

  Loader other_seed(ds, LoaderOptions(options).seed(3));
  CHECK_THROWS_AS(other_seed.restore(saved), ConfigError);
  CHECK_THROWS_WITH(other_seed.restore(saved), Catch::Contains("seed"));
  json bad = saved;
  bad["batch"] = 99;
  CHECK_THROWS_WITH(original.restore(bad), Catch::Contains("batch 99"));
}

TEST_CASE("loader errors in workers surface in next() with the file name", "[data]") {
  auto ds = std::make_shared<IndexDataset>(16, std::set<size_t>{6});
  for (int64_t threads : {0, 2}) {
    Loader loader(ds, LoaderOptions(4).shuffle(false).prefetch_threads(threads));
    loader.start_epoch(0);
    CHECK(loader.next());
    try {
      loader.next();
      FAIL("expected a DataError");
    } catch (const DataError& e) {
      const std::string message = e.what();
      CHECK_THAT(message, Catch::Contains("img_6.png") && Catch::Contains("sample 6") && Catch::Contains("batch 1"));
    }
    CHECK(loader.next());  // later batches are still delivered
  }
  auto fatal = std::make_shared<IndexDataset>(16, std::set<size_t>{}, 9);
  Loader loader(fatal, LoaderOptions(4).shuffle(false).prefetch_threads(2));
  loader.start_epoch(0);
  CHECK(loader.next());
  CHECK(loader.next());
  CHECK_THROWS_WITH(loader.next(), Catch::Contains("disk on fire at 9"));

  // Destroyed mid-epoch with batches in flight: joins without hanging.
  auto big = std::make_shared<IndexDataset>(400);
  for (int i = 0; i < 3; ++i) {
    Loader early(big, LoaderOptions(4).prefetch_threads(2).prefetch_batches(8));
    early.start_epoch(0);
    early.next();
  }
  Loader never_started(big, LoaderOptions(4).prefetch_threads(2));
}

TEST_CASE("loader skip_bad_samples counts, keeps batches full and labels right", "[data]") {
  auto ds = std::make_shared<IndexDataset>(20, std::set<size_t>{3, 7, 8});
  for (int64_t threads : {0, 2}) {
    Loader loader(ds, LoaderOptions(4).shuffle(false).skip_bad_samples(true).max_bad_fraction(0.25)
                          .prefetch_threads(threads));
    auto epoch = run_epoch(loader, 0);
    REQUIRE(epoch.size() == 5);
    for (const auto& b : epoch) CHECK(b.size() == 4);
    CHECK(loader.skipped() == 4);  // 3, 7 and 8 (twice: 7's replacement 8 is bad too)
    CHECK(flat(epoch) == std::vector<int64_t>{0, 1, 2, 4, 4, 5, 6, 9, 9, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  }
  // Meta and tensors stay paired: the label always matches the sample that was read.
  Loader shuffled(ds, LoaderOptions(4).seed(4).skip_bad_samples(true).max_bad_fraction(0.25));
  shuffled.start_epoch(2);
  while (auto b = shuffled.next()) {
    const auto labels = labels_of(*b);
    for (size_t i = 0; i < labels.size(); ++i) CHECK(b->meta[i].at("index") == labels[i]);
  }
  CHECK(shuffled.skipped() == 4);

  Loader strict(ds, LoaderOptions(4).shuffle(false).skip_bad_samples(true).max_bad_fraction(0.1).prefetch_threads(1));
  strict.start_epoch(0);
  CHECK(strict.next());
  CHECK_THROWS_WITH(strict.next(), Catch::Contains("bad samples") && Catch::Contains("max_bad_fraction"));
}

TEST_CASE("loader options: JSON and validation", "[data]") {
  auto options = apply_json(LoaderOptions(), json{{"batch_size", 8}, {"prefetch_threads", 0}, {"seed", 3}});
  CHECK(options.batch_size() == 8);
  CHECK(options.prefetch_threads() == 0);
  CHECK(options_to_json(options).at("seed") == 3);
  CHECK_THROWS_WITH(apply_json(LoaderOptions(), json{{"batchsize", 8}}), Catch::Contains("batchsize"));
  auto ds = std::make_shared<IndexDataset>(8);
  CHECK_THROWS_WITH(Loader(ds, LoaderOptions(0)), Catch::Contains("batch_size"));
  CHECK_THROWS_WITH(Loader(ds, LoaderOptions(2).world_size(2).rank(2)), Catch::Contains("rank"));
  CHECK_THROWS_WITH(Loader(ds, LoaderOptions(2).prefetch_batches(0)), Catch::Contains("prefetch_batches"));
}

// ---------------------------------------------------------------------------------------------
// Transforms

namespace {

Sample face_sample(int64_t num_points, int64_t h = 8, int64_t w = 10) {
  torch::manual_seed(21);
  Sample s;
  s.tensors["image"] = torch::rand({3, h, w}) * 2 - 1;
  s.tensors["mask"] = torch::randint(0, 10, {h, w}, torch::kUInt8);
  s.tensors["heat"] = torch::rand({h, w});
  s.tensors["landmarks"] = torch::rand({num_points, 2}) * static_cast<double>(w - 1);
  s.tensors["identity"] = torch::tensor(int64_t{5});
  s.tensors["code"] = torch::rand({10});
  return s;
}

}  // namespace

TEST_CASE("hflip: twice is the identity, images, masks and other maps mirror", "[data]") {
  for (int64_t k : {68, 5, 3}) {
    Sample s = face_sample(k);
    Sample twice = hflip(hflip(s));
    for (const auto& [key, t] : s.tensors) {
      INFO("K " << k << ", key " << key);
      CHECK(torch::allclose(twice.at(key), t));
    }
  }
  Sample s = face_sample(68);
  Sample f = hflip(s);
  CHECK(f.at("image")[1][2][0].item<float>() == s.at("image")[1][2][9].item<float>());
  CHECK(f.at("mask")[4][3].item<uint8_t>() == s.at("mask")[4][6].item<uint8_t>());
  CHECK(f.at("heat")[0][1].item<float>() == s.at("heat")[0][8].item<float>());
  CHECK(torch::equal(f.at("code"), s.at("code")));  // a vector is not an image
  CHECK(torch::equal(f.at("identity"), s.at("identity")));

  const auto perm = landmark_flip_permutation(68);
  for (size_t i = 0; i < perm.size(); ++i) CHECK(perm[static_cast<size_t>(perm[i])] == static_cast<int64_t>(i));
  CHECK(perm[36] == 45);
  CHECK(perm[8] == 8);
  CHECK(perm[30] == 30);
  CHECK(perm[48] == 54);
  CHECK(landmark_flip_permutation(5) == std::vector<int64_t>{1, 0, 2, 4, 3});
}

TEST_CASE("hflip of the 68-point layout: point 36 lands where 45 was mirrored", "[data]") {
  const int64_t w = 10;
  Sample s;
  s.tensors["image"] = torch::zeros({3, 8, w});
  torch::Tensor pts = torch::zeros({68, 2});
  for (int64_t i = 0; i < 68; ++i) {
    pts[i][0] = static_cast<float>(i);          // x = index, to see who moves where
    pts[i][1] = static_cast<float>(100 + i);
  }
  s.tensors["landmarks"] = pts;
  Sample f = hflip(s);
  const torch::Tensor q = f.at("landmarks");
  // The new right outer eye corner (45) is the old left one (36), mirrored; and vice versa.
  CHECK(q[45][0].item<float>() == static_cast<float>(w - 1 - 36));
  CHECK(q[45][1].item<float>() == 136.0f);
  CHECK(q[36][0].item<float>() == static_cast<float>(w - 1 - 45));
  CHECK(q[36][1].item<float>() == 145.0f);
  CHECK(q[30][0].item<float>() == static_cast<float>(w - 1 - 30));  // nose tip keeps its label

  // A face symmetric about the image centre maps onto itself.
  const auto perm = landmark_flip_permutation(68);
  torch::manual_seed(5);
  torch::Tensor sym = torch::zeros({68, 2});
  for (int64_t i = 0; i < 68; ++i) {
    const int64_t j = perm[static_cast<size_t>(i)];
    if (i == j) {
      sym[i][0] = (w - 1) / 2.0;
      sym[i][1] = torch::rand({}).item<float>() * 8;
    } else if (i < j) {
      const float x = torch::rand({}).item<float>() * (w - 1), y = torch::rand({}).item<float>() * 8;
      sym[i][0] = x;
      sym[i][1] = y;
      sym[j][0] = static_cast<float>(w - 1) - x;
      sym[j][1] = y;
    }
  }
  s.tensors["landmarks"] = sym;
  CHECK(torch::allclose(hflip(s).at("landmarks"), sym));

  // Five points: eyes and mouth corners swap.
  Sample five;
  five.tensors["image"] = torch::zeros({3, 8, w});
  five.tensors["landmarks"] = torch::tensor({2.f, 3.f, 7.f, 3.f, 4.5f, 5.f, 3.f, 7.f, 6.f, 7.f}).reshape({5, 2});
  CHECK(torch::equal(hflip(five).at("landmarks"),
                     torch::tensor({2.f, 3.f, 7.f, 3.f, 4.5f, 5.f, 3.f, 7.f, 6.f, 7.f}).reshape({5, 2})));
}

TEST_CASE("crop and random_crop shift landmarks by the offset", "[data]") {
  Sample s = face_sample(68, 12, 16);
  // Encode each pixel's coordinates in the image so the crop offset can be read off the output.
  s.tensors["image"] = torch::stack({torch::arange(12).to(torch::kFloat).view({12, 1}).expand({12, 16}),
                                     torch::arange(16).to(torch::kFloat).view({1, 16}).expand({12, 16}),
                                     torch::zeros({12, 16})}) / 100.0;
  Sample c = crop(s, 3, 5, 6, 7);
  CHECK(c.at("image").sizes() == torch::IntArrayRef{3, 6, 7});
  CHECK(c.at("mask").sizes() == torch::IntArrayRef{6, 7});
  CHECK(torch::equal(c.at("mask"), s.at("mask").narrow(0, 3, 6).narrow(1, 5, 7)));
  CHECK(torch::allclose(c.at("landmarks"), s.at("landmarks") - torch::tensor({5.f, 3.f})));
  CHECK_THROWS(crop(s, 8, 0, 6, 7));

  RandomCrop random(RandomCropOptions(5, 9));
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed), again(seed);
    Sample r = random(s, rng);
    CHECK(torch::equal(r.at("image"), random(s, again).at("image")));
    const auto top = static_cast<int64_t>(std::lround(r.at("image")[0][0][0].item<float>() * 100));
    const auto left = static_cast<int64_t>(std::lround(r.at("image")[1][0][0].item<float>() * 100));
    CHECK(top <= 12 - 5);
    CHECK(left <= 16 - 9);
    offsets.emplace(top, left);
    CHECK(torch::allclose(r.at("landmarks"),
                          s.at("landmarks") - torch::tensor({static_cast<float>(left), static_cast<float>(top)})));
  }
  CHECK(offsets.size() > 5);
}

TEST_CASE("color jitter changes only the image, stays in [-1, 1], is seeded", "[data]") {
  Sample s = face_sample(68);
  CHECK(torch::equal(adjust_color(s, 1.0, 1.0, 1.0).at("image"), s.at("image")));
  Sample grey = adjust_color(s, 1.0, 1.0, 0.0);
  CHECK(torch::allclose(grey.at("image")[0], grey.at("image")[2], 1e-5, 1e-6));
  CHECK(adjust_color(s, 3.0, 1.0, 1.0).at("image").max().item<float>() == 1.0f);

  ColorJitter jitter(ColorJitterOptions().brightness(0.5).contrast(0.5).saturation(0.5));
  std::mt19937_64 a(1), b(1), c(2);
  Sample x = jitter(s, a), y = jitter(s, b), z = jitter(s, c);
  CHECK(torch::equal(x.at("image"), y.at("image")));
  CHECK_FALSE(torch::equal(x.at("image"), z.at("image")));
  CHECK_FALSE(torch::equal(x.at("image"), s.at("image")));
  CHECK(x.at("image").abs().max().item<float>() <= 1.0f);
  CHECK(torch::equal(x.at("mask"), s.at("mask")));
  CHECK(torch::equal(x.at("landmarks"), s.at("landmarks")));
}

TEST_CASE("transforms from JSON", "[data]") {
  Transform t = transform_from_json(json::array({{{"type", "random_horizontal_flip"}, {"probability", 1.0}},
                                                 {{"type", "random_crop"}, {"height", 4}, {"width", 4}}}));
  Sample s = face_sample(68);
  std::mt19937_64 rng(0);
  CHECK(t(s, rng).at("image").sizes() == torch::IntArrayRef{3, 4, 4});
  CHECK_THROWS_WITH(transform_from_json(json{{"type", "rotate"}}), Catch::Contains("rotate"));
  CHECK_THROWS_WITH(transform_from_json(json{{"type", "random_crop"}, {"hieght", 3}}), Catch::Contains("hieght"));
  CHECK_THROWS_AS(RandomHorizontalFlip(RandomHorizontalFlipOptions().probability(2.0)), ConfigError);
}
