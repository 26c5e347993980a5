#include <facegan/metrics/metrics.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

using namespace facegan;

namespace {

/// The fixed test pattern of the reference values below: a [3, 16, 14] image in [-1, 1].
torch::Tensor pattern_a() {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor h = torch::arange(16, opts).view({1, 16, 1});
  torch::Tensor w = torch::arange(14, opts).view({1, 1, 14});
  torch::Tensor c = torch::arange(3, opts).view({3, 1, 1});
  return 0.8 * torch::sin(0.3 * h + 0.7 * w + c);
}

}  // namespace

TEST_CASE("psnr and ssim of identical images are inf and 1", "[eval]") {
  torch::manual_seed(1);
  torch::Tensor a = torch::rand({2, 3, 16, 16}) * 2 - 1;
  CHECK(std::isinf(metrics::psnr(a, a)));
  CHECK(metrics::psnr(a, a) > 0);
  CHECK(metrics::ssim(a, a) == Approx(1.0).margin(1e-12));
  torch::Tensor per = metrics::ssim_per_image(a, a);
  REQUIRE(per.sizes() == torch::IntArrayRef({2}));
  CHECK(per.dtype() == torch::kFloat64);
}

TEST_CASE("psnr of a constant offset has its closed form", "[eval]") {
  torch::manual_seed(2);
  // An offset d in [-1, 1] units is d / 2 on [0, 1]: PSNR = -20 log10(d / 2).
  torch::Tensor a = torch::rand({3, 3, 12, 12}) * 1.6 - 0.8;
  for (double d : {0.02, 0.1, 0.4}) {
    torch::Tensor per = metrics::psnr_per_image(a + d, a);
    REQUIRE(per.sizes() == torch::IntArrayRef({3}));
    const double expected = -20.0 * std::log10(d / 2.0);
    CHECK(per.min().item<double>() == Approx(expected).epsilon(1e-4));
    CHECK(per.max().item<double>() == Approx(expected).epsilon(1e-4));
    CHECK(metrics::psnr(a, a - d) == Approx(expected).epsilon(1e-4));
  }
  // 3-d inputs are one image.
  CHECK(metrics::psnr_per_image(a[0] + 0.1, a[0]).sizes() == torch::IntArrayRef({1}));
}

TEST_CASE("ssim matches a reference computed with an explicit 11x11 window", "[eval]") {
  // Reference values: torch in float64, the 2-d Gaussian window applied by explicit loops over
  // every valid position (not the separable form used here).
  torch::Tensor a = pattern_a();
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor h = torch::arange(16, opts).view({1, 16, 1});
  torch::Tensor w = torch::arange(14, opts).view({1, 1, 14});
  torch::Tensor c = torch::arange(3, opts).view({3, 1, 1});
  torch::Tensor far = 0.6 * torch::cos(0.5 * h - 0.2 * w + 2 * c) + 0.1;
  torch::Tensor near = 0.9 * a + 0.05 * torch::sin(1.3 * h * w + c);
  CHECK(metrics::ssim(a, far) == Approx(0.00966946432270871).margin(1e-10));
  CHECK(metrics::psnr(a, far) == Approx(8.883576429876797).epsilon(1e-10));
  CHECK(metrics::ssim(a, near) == Approx(0.9908011816005247).margin(1e-10));
  CHECK(metrics::psnr(a, near) == Approx(29.590213534320977).epsilon(1e-10));
  // float32 inputs give the same value to float precision; symmetric in its arguments.
  CHECK(metrics::ssim(a.to(torch::kFloat), near.to(torch::kFloat)) == Approx(0.9908011816005247).margin(1e-5));
  CHECK(metrics::ssim(near, a) == Approx(0.9908011816005247).margin(1e-10));
  // Batched: each image scored on its own.
  torch::Tensor per = metrics::ssim_per_image(torch::stack({a, a}), torch::stack({far, near}));
  CHECK(per[0].item<double>() == Approx(0.00966946432270871).margin(1e-10));
  CHECK(per[1].item<double>() == Approx(0.9908011816005247).margin(1e-10));
}

TEST_CASE("psnr and ssim reject mismatched or too small images", "[eval]") {
  torch::manual_seed(3);
  CHECK_THROWS(metrics::psnr(torch::zeros({1, 3, 8, 8}), torch::zeros({1, 3, 8, 9})));
  CHECK_THROWS(metrics::ssim(torch::zeros({1, 3, 8, 8}), torch::zeros({1, 3, 8, 8})));
  CHECK_THROWS(metrics::ssim(torch::zeros({3, 16}), torch::zeros({3, 16})));
}

TEST_CASE("accuracy and confusion matrix", "[eval]") {
  torch::manual_seed(4);
  torch::Tensor labels = torch::tensor({0, 0, 1, 1, 2, 2, 2}, torch::kLong);
  torch::Tensor pred = torch::tensor({0, 1, 1, 1, 2, 0, 2}, torch::kLong);
  CHECK(metrics::accuracy(pred, labels) == Approx(5.0 / 7.0));
  torch::Tensor cm = metrics::confusion_matrix(pred, labels, 3);
  REQUIRE(cm.sizes() == torch::IntArrayRef({3, 3}));
  CHECK(cm.dtype() == torch::kLong);
  torch::Tensor expected = torch::tensor({1, 1, 0, 0, 2, 0, 1, 0, 2}, torch::kLong).view({3, 3});
  CHECK(torch::equal(cm, expected));
  CHECK(cm.sum().item<int64_t>() == 7);
  CHECK(cm.trace().item<int64_t>() == 5);
  CHECK_THROWS(metrics::confusion_matrix(pred, labels, 2));
  CHECK_THROWS(metrics::accuracy(pred, labels.narrow(0, 0, 3)));
}

TEST_CASE("identity_folds keeps every identity in one fold and balances folds", "[eval]") {
  torch::manual_seed(5);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 200; ++i) ids.push_back((i * 7919) % 23);  // 23 identities, scattered
  for (int64_t k : {2, 3, 5}) {
    const std::vector<int64_t> folds = metrics::identity_folds(ids, k, 42);
    REQUIRE(folds.size() == ids.size());
    std::map<int64_t, int64_t> fold_of;
    std::map<int64_t, std::set<int64_t>> ids_in;
    for (size_t i = 0; i < ids.size(); ++i) {
      REQUIRE(folds[i] >= 0);
      REQUIRE(folds[i] < k);
      auto [it, inserted] = fold_of.emplace(ids[i], folds[i]);
      CHECK(it->second == folds[i]);  // person-independent: one fold per identity
      ids_in[folds[i]].insert(ids[i]);
    }
    REQUIRE(static_cast<int64_t>(ids_in.size()) == k);
    size_t lo = 1000, hi = 0;
    for (auto& [f, s] : ids_in) lo = std::min(lo, s.size()), hi = std::max(hi, s.size());
    CHECK(hi - lo <= 1);
    // Train and test of a fold never share an identity, and cover every sample once.
    const metrics::FoldSplit split = metrics::fold_split(folds, 0);
    CHECK(split.train.size() + split.test.size() == ids.size());
    std::set<int64_t> test_ids;
    for (size_t i : split.test) test_ids.insert(ids[i]);
    for (size_t i : split.train) CHECK(test_ids.count(ids[i]) == 0);
  }
  // Deterministic in the seed, different across seeds.
  CHECK(metrics::identity_folds(ids, 5, 1) == metrics::identity_folds(ids, 5, 1));
  CHECK(metrics::identity_folds(ids, 5, 1) != metrics::identity_folds(ids, 5, 2));
  CHECK_THROWS_AS(metrics::identity_folds(ids, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(metrics::identity_folds(ids, 24, 0), std::invalid_argument);
}
