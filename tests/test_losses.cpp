// Loss catalogue: values against hand-computed numbers, gradients against central differences,
// and the registry's config contract (round trips, error messages).
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/loss.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/losses/regularizers.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <gradcheck.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

using facegan::ConfigError;
using facegan::json;
using namespace facegan::losses;
using Catch::Contains;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

torch::Tensor t(std::vector<double> values) { return torch::tensor(values, kF64); }

double value(const torch::Tensor& x) {
  REQUIRE(x.dim() == 0);
  return x.item<double>();
}

template <class T>
std::shared_ptr<T> make(const json& spec) {
  return create_loss_as<T>(spec, "test");
}

// A tiny smooth critic x [N, 4] -> [N]: tanh(x W1^T) w2. Nonlinear, so its input gradient depends on
// where x_hat lies, which makes the penalty's dependence on alpha and the double backward real.
torch::Tensor tiny_critic(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2) {
  return torch::tanh(x.matmul(w1.t())).matmul(w2);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Values

TEST_CASE("adversarial losses match hand-computed values", "[losses]") {
  torch::manual_seed(1);
  const double ln3 = std::log(3.0);

  SECTION("vanilla") {
    auto loss = make<AdversarialLoss>({{"type", "vanilla"}});
    // BCE(x, 1) = ln(1 + e^-x), BCE(x, 0) = ln(1 + e^x).
    // real [0, ln3]: (ln 2 + ln 4/3) / 2 = ln(8/3) / 2; fake [-ln3]: ln(4/3). Sum 0.7780966990.
    CHECK(value(loss->discriminator_loss(t({0.0, ln3}), t({-ln3}))) == Approx(0.7780966990).epsilon(1e-9));
    // G, non-saturating: BCE(-ln3, 1) = ln(1 + 3) = 1.3862943611.
    CHECK(value(loss->generator_loss(t({-ln3}))) == Approx(1.3862943611).epsilon(1e-9));
  }
  SECTION("vanilla with label smoothing") {
    auto loss = make<AdversarialLoss>({{"type", "vanilla"}, {"real_label", 0.9}, {"fake_label", 0.1}});
    // BCE(x, t) = ln(1 + e^x) - t x. real [ln3], t = 0.9: ln 4 - 0.9 ln 3 = 0.3975433013;
    // fake [0], t = 0.1: ln 2 = 0.6931471806. Sum 1.0906904819.
    CHECK(value(loss->discriminator_loss(t({ln3}), t({0.0}))) == Approx(1.0906904819).epsilon(1e-9));
    // The generator still aims at 1: BCE(ln3, 1) = ln(4/3) = 0.2876820725.
    CHECK(value(loss->generator_loss(t({ln3}))) == Approx(0.2876820725).epsilon(1e-9));
  }
  SECTION("lsgan") {
    auto loss = make<AdversarialLoss>({{"type", "lsgan"}});
    // real [0.5, 1.5] -> mean(0.25, 0.25) = 0.25; fake [0.5] -> 0.25. D = 0.5; G = (0.5 - 1)^2.
    CHECK(value(loss->discriminator_loss(t({0.5, 1.5}), t({0.5}))) == Approx(0.5));
    CHECK(value(loss->generator_loss(t({0.5}))) == Approx(0.25));
  }
  SECTION("hinge") {
    auto loss = make<AdversarialLoss>({{"type", "hinge"}});
    // real [0.5, 2]: mean(relu(0.5), relu(-1)) = 0.25; fake [-0.5, 0.25]: mean(0.5, 1.25) = 0.875.
    CHECK(value(loss->discriminator_loss(t({0.5, 2.0}), t({-0.5, 0.25}))) == Approx(1.125));
    // G: -mean(-0.5, 0.25) = 0.125.
    CHECK(value(loss->generator_loss(t({-0.5, 0.25}))) == Approx(0.125));
    // Two scales average: scale 2 real [3] -> 0, fake [-3] -> 0, so (1.125 + 0) / 2.
    CHECK(value(loss->discriminator_loss(std::vector<torch::Tensor>{t({0.5, 2.0}), t({3.0})},
                                         std::vector<torch::Tensor>{t({-0.5, 0.25}), t({-3.0})})) ==
          Approx(0.5625));
    // G over scales: (0.125 + -(-3)) / 2 = 1.5625.
    CHECK(value(loss->generator_loss(std::vector<torch::Tensor>{t({-0.5, 0.25}), t({-3.0})})) == Approx(1.5625));
    CHECK_FALSE(loss->has_penalty());
    CHECK(value(loss->penalty([](const torch::Tensor& x) { return x.sum(); }, t({1.0}), t({2.0}))) == 0.0);
  }
  SECTION("wgan_gp") {
    auto loss = make<AdversarialLoss>({{"type", "wgan_gp"}});
    // D: mean fake - mean real = -0.5 - 2 = -2.5; G: -mean fake = 0.5.
    CHECK(value(loss->discriminator_loss(t({1.0, 3.0}), t({0.5, -1.5}))) == Approx(-2.5));
    CHECK(value(loss->generator_loss(t({0.5, -1.5}))) == Approx(0.5));
    CHECK(loss->has_penalty());
  }
  SECTION("multi-scale lists must pair up") {
    auto loss = make<AdversarialLoss>({{"type", "hinge"}});
    CHECK_THROWS_WITH(loss->discriminator_loss(std::vector<torch::Tensor>{t({1.0}), t({1.0})},
                                               std::vector<torch::Tensor>{t({1.0})}),
                      Contains("2 real scales but 1 fake scales"));
    CHECK_THROWS_WITH(loss->generator_loss(std::vector<torch::Tensor>{}), Contains("no discriminator scales"));
  }
}

TEST_CASE("wgan_gp penalty matches the closed form of a linear critic", "[losses]") {
  torch::manual_seed(2);
  auto loss = make<AdversarialLoss>({{"type", "wgan_gp"}});
  // critic(x) = x . w with w = [3, 4]: grad_x = w everywhere, ||w|| = 5, so for any alpha the
  // penalty is 10 * (5 - 1)^2 = 160, and d/dw = 10 * 2 (5 - 1) w / 5 = 16 w = [48, 64].
  const torch::Tensor w = t({3.0, 4.0}).requires_grad_(true);
  auto critic = [&](const torch::Tensor& x) { return x.matmul(w); };
  const torch::Tensor real = torch::randn({3, 2}, kF64);
  const torch::Tensor fake = torch::randn({3, 2}, kF64).requires_grad_(true);
  const torch::Tensor gp = loss->penalty(critic, real, fake);  // random alpha
  CHECK(value(gp) == Approx(160.0));
  gp.backward();
  REQUIRE(w.grad().defined());
  CHECK(w.grad()[0].item<double>() == Approx(48.0));
  CHECK(w.grad()[1].item<double>() == Approx(64.0));
  // The generator's output is detached inside the penalty: it trains the critic only.
  CHECK_FALSE(fake.grad().defined());

  auto weighted = make<AdversarialLoss>({{"type", "wgan_gp"}, {"gp_weight", 1.0}, {"weight", 0.5}});
  CHECK(value(weighted->penalty(critic, real, fake.detach(), t({0.2, 0.5, 0.9}))) == Approx(0.5 * 16.0));
  CHECK_THROWS_WITH(weighted->penalty(critic, real, fake.detach(), t({0.5})), Contains("one value per sample"));
  CHECK_THROWS_WITH(weighted->penalty(critic, real, torch::zeros({3, 3}, kF64)), Contains("differ in shape"));
}

TEST_CASE("reconstruction losses match hand-computed values", "[losses]") {
  torch::manual_seed(3);
  const torch::Tensor pred = torch::tensor({{1.0, 2.0}, {3.0, 5.0}}, kF64);
  const torch::Tensor zeros = torch::zeros({2, 2}, kF64);
  const torch::Tensor w = t({1.0, 0.5});

  // l1 per sample: [(1 + 2) / 2, (3 + 5) / 2] = [1.5, 4]; mean 2.75; weighted mean(1.5, 2) = 1.75.
  auto l1 = make<ReconstructionLoss>({{"type", "l1"}});
  CHECK(value((*l1)(pred, zeros)) == Approx(2.75));
  CHECK(value((*l1)(pred, zeros, w)) == Approx(1.75));
  // The same numbers for [N, C, H, W]: the per-sample mean covers every non-batch element.
  CHECK(value((*l1)(pred.reshape({2, 1, 1, 2}), zeros.reshape({2, 1, 1, 2}))) == Approx(2.75));

  // l2 per sample: [(1 + 4) / 2, (9 + 25) / 2] = [2.5, 17]; mean 9.75; weighted mean(2.5, 8.5) = 5.5.
  auto l2 = make<ReconstructionLoss>({{"type", "l2"}});
  CHECK(value((*l2)(pred, zeros)) == Approx(9.75));
  CHECK(value((*l2)(pred, zeros, w)) == Approx(5.5));

  // weighted_reconstruction, l2, weights [0, 2]: mean(0, 34) = 17.
  auto weighted = make<ReconstructionLoss>({{"type", "weighted_reconstruction"}, {"distance", "l2"}});
  CHECK(value((*weighted)(pred, zeros, t({0.0, 2.0}))) == Approx(17.0));
  CHECK_THROWS_WITH((*weighted)(pred, zeros), Contains("needs sample_weights"));

  CHECK_THROWS_WITH((*l1)(pred, torch::zeros({2, 3}, kF64)), Contains("[2, 2]") && Contains("[2, 3]"));
  CHECK_THROWS_WITH((*l1)(pred, zeros, t({1.0, 1.0, 1.0})), Contains("sample_weights must be [N] = [2]"));
}

TEST_CASE("kl_normal matches the closed form", "[losses]") {
  torch::manual_seed(4);
  auto kl = make<KLDivergenceLoss>({{"type", "kl_normal"}});
  // Row 1: mu [1, 0], logvar [0, ln 2]: 0.5 * ((1 + 1 - 1 - 0) + (0 + 2 - 1 - ln 2)) = 1 - ln(2) / 2.
  // Row 2: mu 0, logvar 0 is the prior itself: 0. Batch mean: (1 - ln(2) / 2) / 2 = 0.3267132049.
  const torch::Tensor mu = torch::tensor({{1.0, 0.0}, {0.0, 0.0}}, kF64);
  const torch::Tensor logvar = torch::tensor({{0.0, std::log(2.0)}, {0.0, 0.0}}, kF64);
  CHECK(value((*kl)(mu, logvar)) == Approx(0.3267132049).epsilon(1e-9));
  CHECK_THROWS_WITH((*kl)(mu, logvar.t().reshape({4, 1})), Contains("differ in shape"));
}

TEST_CASE("feature_matching matches hand-computed values", "[losses]") {
  torch::manual_seed(5);
  // Layer 1: fake [[1, 2]] vs 0 -> mean |.| = 1.5, mean sq = 2.5. Layer 2: fake [[[3]]] vs [[[1]]] -> 2 / 4.
  const std::vector<torch::Tensor> fake{torch::tensor({{1.0, 2.0}}, kF64), torch::full({1, 1, 1}, 3.0, kF64)};
  const std::vector<torch::Tensor> real{torch::zeros({1, 2}, kF64), torch::ones({1, 1, 1}, kF64)};

  auto l1 = make<FeatureMatchingLoss>({{"type", "feature_matching"}});
  CHECK(value((*l1)(fake, real)) == Approx(3.5));
  auto weighted = make<FeatureMatchingLoss>({{"type", "feature_matching"}, {"layer_weights", {1.0, 0.5}}});
  CHECK(value((*weighted)(fake, real)) == Approx(2.5));  // 1.5 + 0.5 * 2
  auto l2 = make<FeatureMatchingLoss>({{"type", "feature_matching"}, {"distance", "l2"}});
  CHECK(value((*l2)(fake, real)) == Approx(6.5));  // 2.5 + 4

  auto three = make<FeatureMatchingLoss>({{"type", "feature_matching"}, {"layer_weights", {1.0, 1.0, 1.0}}});
  CHECK_THROWS_WITH((*three)(fake, real), Contains("3 layer_weights for 2 feature layers"));
  CHECK_THROWS_WITH((*l1)(fake, {real[0]}), Contains("2 fake layers but 1 real layers"));
  CHECK_THROWS_WITH((*l1)(fake, {real[0], torch::ones({1, 2}, kF64)}), Contains("layer 1"));
}

TEST_CASE("feature_matching detaches the real branch only when asked", "[losses]") {
  torch::manual_seed(6);
  for (bool detach : {true, false}) {
    const torch::Tensor fake = torch::randn({2, 3}, kF64).requires_grad_(true);
    const torch::Tensor real = torch::randn({2, 3}, kF64).requires_grad_(true);
    auto loss = make<FeatureMatchingLoss>({{"type", "feature_matching"}, {"detach_target", detach}});
    (*loss)({fake}, {real}).backward();
    CHECK(fake.grad().defined());
    CHECK(real.grad().defined() == !detach);
  }
}

TEST_CASE("cross_entropy matches hand-computed values and skips ignored labels", "[losses]") {
  torch::manual_seed(7);
  const double ln3 = std::log(3.0);
  // Row 1: logits [0, 0], label 1: -ln(1/2) = ln 2. Row 2: [ln 3, 0], label 0: -ln(3/4) = ln(4/3).
  // Row 3 is unlabeled (-1) and does not count, even with huge logits. Mean ln(8/3) / 2 = 0.4904146265.
  const torch::Tensor logits = torch::tensor({{0.0, 0.0}, {ln3, 0.0}, {50.0, -50.0}}, kF64);
  const torch::Tensor labels = torch::tensor({1, 0, -1}, torch::kLong);
  auto ce = make<ClassificationLoss>({{"type", "cross_entropy"}});
  CHECK(value((*ce)(logits, labels)) == Approx(0.4904146265).epsilon(1e-9));

  // Label smoothing 0.1 on row 2: log p = [ln 3/4, ln 1/4];
  // 0.9 ln(4/3) + 0.1 * (ln(4/3) + ln 4) / 2 = 0.95 ln(4/3) + 0.05 ln 4 = 0.3426126869.
  auto smooth = make<ClassificationLoss>({{"type", "cross_entropy"}, {"label_smoothing", 0.1}});
  const torch::Tensor row2 = logits.slice(0, 1, 2);
  CHECK(value((*smooth)(row2, torch::tensor({0}, torch::kLong))) == Approx(0.3426126869).epsilon(1e-9));
  // ... and agrees with torch's own definition where no label is ignored.
  const torch::Tensor reference = torch::nn::functional::cross_entropy(
      logits.slice(0, 0, 2), labels.slice(0, 0, 2),
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.1));
  CHECK(value((*smooth)(logits.slice(0, 0, 2), labels.slice(0, 0, 2))) == Approx(reference.item<double>()));

  // A custom ignore_index: label 7 is skipped, -1 is now an (invalid) class and must not be used.
  auto ignore7 = make<ClassificationLoss>({{"type", "cross_entropy"}, {"ignore_index", 7}});
  CHECK(value((*ignore7)(logits, torch::tensor({1, 0, 7}, torch::kLong))) == Approx(0.4904146265).epsilon(1e-9));

  CHECK_THROWS_WITH((*ce)(logits, labels.to(torch::kInt)), Contains("int64"));
  CHECK_THROWS_WITH((*ce)(logits, labels.slice(0, 0, 2)), Contains("labels must be [N] = [3]"));
}

TEST_CASE("cross_entropy over a batch without labels is exactly zero", "[losses]") {
  torch::manual_seed(8);
  const torch::Tensor logits = torch::randn({4, 5}, kF64).requires_grad_(true);
  const torch::Tensor unlabeled = torch::full({4}, -1, torch::kLong);
  auto ce = make<ClassificationLoss>({{"type", "cross_entropy"}, {"label_smoothing", 0.2}});
  const torch::Tensor loss = (*ce)(logits, unlabeled);
  CHECK(value(loss) == 0.0);
  loss.backward();
  CHECK(torch::equal(logits.grad(), torch::zeros_like(logits)));
}

TEST_CASE("total_variation matches hand-computed values", "[losses]") {
  torch::manual_seed(9);
  // x = [[0, 1], [3, 7]]: vertical |3 - 0|, |7 - 1| -> mean 4.5; horizontal |1 - 0|, |7 - 3| -> 2.5.
  const torch::Tensor x = torch::tensor({0.0, 1.0, 3.0, 7.0}, kF64).reshape({1, 1, 2, 2});
  auto tv = make<TotalVariationLoss>({{"type", "total_variation"}});
  CHECK(value((*tv)(x)) == Approx(7.0));
  CHECK(value((*tv)(torch::ones({2, 3, 4, 5}, kF64))) == 0.0);
  CHECK_THROWS_WITH((*tv)(torch::ones({1, 1, 1, 4}, kF64)), Contains("H, W >= 2"));
}

TEST_CASE("weight multiplies every value a loss returns", "[losses]") {
  torch::manual_seed(10);
  const torch::Tensor a = torch::randn({3, 4}, kF64);
  const torch::Tensor b = torch::randn({3, 4}, kF64);
  const torch::Tensor w = torch::rand({3}, kF64);
  const torch::Tensor labels = torch::tensor({0, 3, -1}, torch::kLong);
  auto critic = [](const torch::Tensor& x) { return x.square().sum(1); };
  const torch::Tensor alpha = t({0.1, 0.5, 0.8});
  for (const std::string type : {"vanilla", "lsgan", "hinge", "wgan_gp"}) {
    CAPTURE(type);
    auto one = make<AdversarialLoss>({{"type", type}});
    auto three = make<AdversarialLoss>({{"type", type}, {"weight", 3.0}});
    CHECK(three->weight() == 3.0);
    CHECK(value(three->discriminator_loss(a, b)) == Approx(3.0 * value(one->discriminator_loss(a, b))));
    CHECK(value(three->generator_loss(b)) == Approx(3.0 * value(one->generator_loss(b))));
    CHECK(value(three->penalty(critic, a, b, alpha)) == Approx(3.0 * value(one->penalty(critic, a, b, alpha))));
  }
  for (const std::string type : {"l1", "l2", "weighted_reconstruction"}) {
    CAPTURE(type);
    auto one = make<ReconstructionLoss>({{"type", type}});
    auto three = make<ReconstructionLoss>({{"type", type}, {"weight", 3.0}});
    CHECK(value((*three)(a, b, w)) == Approx(3.0 * value((*one)(a, b, w))));
  }
  CHECK(value((*make<KLDivergenceLoss>({{"type", "kl_normal"}, {"weight", 3.0}}))(a, b)) ==
        Approx(3.0 * value((*make<KLDivergenceLoss>({{"type", "kl_normal"}}))(a, b))));
  CHECK(value((*make<FeatureMatchingLoss>({{"type", "feature_matching"}, {"weight", 3.0}}))({a}, {b})) ==
        Approx(3.0 * value((*make<FeatureMatchingLoss>({{"type", "feature_matching"}}))({a}, {b}))));
  CHECK(value((*make<ClassificationLoss>({{"type", "cross_entropy"}, {"weight", 3.0}}))(a, labels)) ==
        Approx(3.0 * value((*make<ClassificationLoss>({{"type", "cross_entropy"}}))(a, labels))));
  const torch::Tensor image = a.reshape({1, 1, 3, 4});
  CHECK(value((*make<TotalVariationLoss>({{"type", "total_variation"}, {"weight", 3.0}}))(image)) ==
        Approx(3.0 * value((*make<TotalVariationLoss>({{"type", "total_variation"}}))(image))));
}

// ---------------------------------------------------------------------------------------------
// Gradients

TEST_CASE("adversarial losses pass a double-precision gradient check", "[losses]") {
  torch::manual_seed(11);
  // Real logits in [1.1, 1.6], fake in [-0.6, -0.1] (and the shifted second scale): away from the
  // hinge kinks at +-1.
  const torch::Tensor real = (torch::rand({2, 1, 2, 2}, kF64) * 0.5 + 1.1).requires_grad_(true);
  const torch::Tensor fake = (torch::rand({2, 1, 2, 2}, kF64) * 0.5 - 0.6).requires_grad_(true);
  for (const json& spec : {json{{"type", "vanilla"}, {"real_label", 0.9}, {"fake_label", 0.05}},
                           json{{"type", "lsgan"}, {"real_label", 0.8}}, json{{"type", "hinge"}, {"weight", 0.7}},
                           json{{"type", "wgan_gp"}}}) {
    CAPTURE(spec.dump());
    auto loss = make<AdversarialLoss>(spec);
    auto d = [&](const std::vector<torch::Tensor>& in) { return loss->discriminator_loss(in[0], in[1]); };
    auto g = [&](const std::vector<torch::Tensor>& in) { return loss->generator_loss(in[0]); };
    auto d_multi = [&](const std::vector<torch::Tensor>& in) {
      return loss->discriminator_loss(std::vector<torch::Tensor>{in[0], in[1]}, std::vector<torch::Tensor>{in[2], in[3]});
    };
    FACEGAN_CHECK_GRADIENTS(d, {real, fake});
    FACEGAN_CHECK_GRADIENTS(g, {fake});
    FACEGAN_CHECK_GRADIENTS(d_multi, {real, real.detach() * 2.0, fake, fake.detach() - 1.0});
  }
}

TEST_CASE("wgan_gp penalty passes a gradient check wrt the critic's parameters", "[losses]") {
  torch::manual_seed(12);
  auto loss = make<AdversarialLoss>({{"type", "wgan_gp"}, {"gp_weight", 2.5}});
  const torch::Tensor real = torch::randn({3, 4}, kF64);
  const torch::Tensor fake = torch::randn({3, 4}, kF64);
  const torch::Tensor alpha = t({0.25, 0.5, 0.9});
  const torch::Tensor w1 = (torch::randn({3, 4}, kF64) * 0.5).requires_grad_(true);
  const torch::Tensor w2 = torch::randn({3}, kF64).requires_grad_(true);
  auto f = [&](const std::vector<torch::Tensor>& in) {
    auto critic = [&](const torch::Tensor& x) { return tiny_critic(x, in[0], in[1]); };
    return loss->penalty(critic, real, fake, alpha);
  };
  FACEGAN_CHECK_GRADIENTS(f, {w1, w2});
}

TEST_CASE("reconstruction losses pass a double-precision gradient check", "[losses]") {
  torch::manual_seed(13);
  // Random normal differences are nowhere near |.|'s kink at 0 (for this seed).
  const torch::Tensor pred = torch::randn({3, 2, 2}, kF64).requires_grad_(true);
  const torch::Tensor target = torch::randn({3, 2, 2}, kF64).requires_grad_(true);
  const torch::Tensor weights = (torch::rand({3}, kF64) + 0.5).requires_grad_(true);
  for (const json& spec : {json{{"type", "l1"}}, json{{"type", "l2"}, {"weight", 1.5}},
                           json{{"type", "weighted_reconstruction"}, {"distance", "l1"}},
                           json{{"type", "weighted_reconstruction"}, {"distance", "l2"}}}) {
    CAPTURE(spec.dump());
    auto loss = make<ReconstructionLoss>(spec);
    auto weighted = [&](const std::vector<torch::Tensor>& in) { return (*loss)(in[0], in[1], in[2]); };
    FACEGAN_CHECK_GRADIENTS(weighted, {pred, target, weights});
    if (spec["type"] != "weighted_reconstruction") {
      auto plain = [&](const std::vector<torch::Tensor>& in) { return (*loss)(in[0], in[1]); };
      FACEGAN_CHECK_GRADIENTS(plain, {pred, target});
    }
  }
}

TEST_CASE("regularizers pass a double-precision gradient check", "[losses]") {
  torch::manual_seed(14);
  SECTION("kl_normal") {
    auto kl = make<KLDivergenceLoss>({{"type", "kl_normal"}, {"weight", 0.5}});
    auto f = [&](const std::vector<torch::Tensor>& in) { return (*kl)(in[0], in[1]); };
    FACEGAN_CHECK_GRADIENTS(f, {torch::randn({3, 4}, kF64).requires_grad_(true),
                                (torch::randn({3, 4}, kF64) * 0.5).requires_grad_(true)});
  }
  SECTION("feature_matching") {
    for (const char* distance : {"l1", "l2"}) {
      CAPTURE(distance);
      auto fm = make<FeatureMatchingLoss>(
          {{"type", "feature_matching"}, {"distance", distance}, {"layer_weights", {0.3, 2.0}}, {"detach_target", false}});
      auto f = [&](const std::vector<torch::Tensor>& in) { return (*fm)({in[0], in[1]}, {in[2], in[3]}); };
      FACEGAN_CHECK_GRADIENTS(f, {torch::randn({2, 3}, kF64).requires_grad_(true),
                                  torch::randn({2, 2, 2}, kF64).requires_grad_(true),
                                  torch::randn({2, 3}, kF64).requires_grad_(true),
                                  torch::randn({2, 2, 2}, kF64).requires_grad_(true)});
    }
  }
  SECTION("cross_entropy") {
    auto ce = make<ClassificationLoss>({{"type", "cross_entropy"}, {"label_smoothing", 0.15}});
    const torch::Tensor labels = torch::tensor({2, -1, 0, 3}, torch::kLong);
    auto f = [&](const std::vector<torch::Tensor>& in) { return (*ce)(in[0], labels); };
    FACEGAN_CHECK_GRADIENTS(f, {torch::randn({4, 4}, kF64).requires_grad_(true)});
  }
  SECTION("total_variation") {
    auto tv = make<TotalVariationLoss>({{"type", "total_variation"}});
    auto f = [&](const std::vector<torch::Tensor>& in) { return (*tv)(in[0]); };
    FACEGAN_CHECK_GRADIENTS(f, {torch::randn({2, 2, 3, 3}, kF64).requires_grad_(true)});
  }
}

TEST_CASE("gradcheck reports a wrong gradient with its location", "[losses]") {
  torch::manual_seed(15);
  // f(x) = sum x^2 with a backward that is wrong for element 2 only: its value goes through
  // detach() there, so autograd sees no dependence on it.
  auto wrong = [](const std::vector<torch::Tensor>& in) {
    const torch::Tensor x = in[0];
    const torch::Tensor mask = torch::tensor({1.0, 1.0, 0.0, 1.0}, kF64);
    return (x * x * mask).sum() + (x.detach() * x.detach() * (1.0 - mask)).sum();
  };
  const auto result = facegan::testing::gradcheck(wrong, {t({0.5, -1.0, 2.0, 1.5}).requires_grad_(true)});
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.message, Contains("1 of 4") && Contains("element 2 [2]") && Contains("analytic 0,"));
  const auto floats = facegan::testing::gradcheck(wrong, {torch::ones({4}).requires_grad_(true)});
  CHECK_FALSE(floats.ok);
  CHECK_THAT(floats.message, Contains("needs double"));
  const auto constant = facegan::testing::gradcheck(
      [](const std::vector<torch::Tensor>& in) { return in[0].detach().sum(); }, {t({1.0}).requires_grad_(true)});
  CHECK_FALSE(constant.ok);
  CHECK_THAT(constant.message, Contains("does not depend"));
}

// ---------------------------------------------------------------------------------------------
// Registry and config

TEST_CASE("loss registry builds and round-trips every loss", "[losses]") {
  torch::manual_seed(16);
  const std::vector<std::string> names = loss_registry().names();
  const std::set<std::string> expected{"cross_entropy", "feature_matching", "hinge",
                                       "kl_normal",     "l1",               "l2",
                                       "lsgan",         "total_variation",  "vanilla",
                                       "wgan_gp",       "weighted_reconstruction"};
  CHECK(std::set<std::string>(names.begin(), names.end()) == expected);
  for (const std::string& name : names) {
    CAPTURE(name);
    const auto loss = create_loss({{"type", name}});
    REQUIRE(loss);
    CHECK(loss->type() == name);
    CHECK(loss->weight() == 1.0);
    const json j = loss->to_json();
    CHECK(j.at("type") == name);
    CHECK(create_loss(j)->to_json() == j);
    // The registry lists exactly the defaults the loss is built with.
    json without_type = j;
    without_type.erase("type");
    CHECK(loss_registry().entry(name).defaults == without_type);
    CHECK_FALSE(loss_registry().entry(name).summary.empty());
  }
  // Non-default options survive the round trip too.
  for (const json& spec :
       {json{{"type", "feature_matching"}, {"distance", "l2"}, {"layer_weights", {1.0, 0.5}}, {"detach_target", false}},
        json{{"type", "weighted_reconstruction"}, {"distance", "l2"}, {"weight", 2.0}},
        json{{"type", "cross_entropy"}, {"label_smoothing", 0.1}, {"ignore_index", 255}},
        json{{"type", "vanilla"}, {"real_label", 0.9}, {"fake_label", 0.1}},
        json{{"type", "wgan_gp"}, {"gp_weight", 5.0}}}) {
    CAPTURE(spec.dump());
    const json j = create_loss(spec)->to_json();
    for (const auto& [key, v] : spec.items()) CHECK(j.at(key) == v);
    CHECK(create_loss(j)->to_json() == j);
  }
}

TEST_CASE("loss registry errors name what is wrong", "[losses]") {
  torch::manual_seed(17);
  CHECK_THROWS_AS(create_loss({{"type", "nope"}}, "losses.rec"), ConfigError);
  CHECK_THROWS_WITH(create_loss({{"type", "nope"}}, "losses.rec"),
                    Contains("losses.rec") && Contains("'nope'") && Contains("l1") && Contains("hinge") &&
                        Contains("weighted_reconstruction"));
  CHECK_THROWS_WITH(create_loss({{"weight", 1.0}}, "losses.rec"),
                    Contains("losses.rec") && Contains("\"type\"") && Contains("l1"));
  CHECK_THROWS_WITH(create_loss({{"type", 3}}, "losses.rec"), Contains("losses.rec") && Contains("\"type\""));
  CHECK_THROWS_WITH(create_loss(json::array(), "losses.rec"), Contains("losses.rec"));

  // Unknown option: names it and the known ones.
  CHECK_THROWS_AS(create_loss({{"type", "l1"}, {"wieght", 2.0}}, "losses.rec"), ConfigError);
  CHECK_THROWS_WITH(create_loss({{"type", "l1"}, {"wieght", 2.0}}, "losses.rec"),
                    Contains("losses.rec (loss 'l1')") && Contains("'wieght'") && Contains("weight"));
  // Wrong type or value of an option: names the key.
  CHECK_THROWS_WITH(create_loss({{"type", "hinge"}, {"weight", "x"}}), Contains("weight") && Contains("number"));
  CHECK_THROWS_WITH(create_loss({{"type", "cross_entropy"}, {"ignore_index", 1.5}}), Contains("ignore_index"));
  CHECK_THROWS_WITH(create_loss({{"type", "feature_matching"}, {"distance", "l3"}}),
                    Contains("distance") && Contains("'l3'") && Contains("l1, l2"));
  CHECK_THROWS_WITH(create_loss({{"type", "feature_matching"}, {"layer_weights", {1.0, "a"}}}),
                    Contains("layer_weights[1]"));
  CHECK_THROWS_WITH(create_loss({{"type", "l2"}, {"weight", -1.0}}), Contains("weight") && Contains(">= 0"));
  CHECK_THROWS_WITH(create_loss({{"type", "wgan_gp"}, {"gp_weight", -10.0}}), Contains("gp_weight"));
  CHECK_THROWS_WITH(create_loss({{"type", "cross_entropy"}, {"label_smoothing", 1.5}}), Contains("label_smoothing"));
  CHECK_THROWS_WITH(create_loss({{"type", "vanilla"}, {"real_label", 2.0}}), Contains("real_label"));
  // lsgan's targets are regression values: the -1/1 coding of Mao et al. is allowed.
  CHECK_NOTHROW(create_loss({{"type", "lsgan"}, {"real_label", 1.0}, {"fake_label", -1.0}}));
}

TEST_CASE("create_loss_as checks the family", "[losses]") {
  torch::manual_seed(18);
  CHECK_THROWS_AS(create_loss_as<AdversarialLoss>({{"type", "l1"}}, "losses.adv"), ConfigError);
  CHECK_THROWS_WITH(create_loss_as<AdversarialLoss>({{"type", "l1"}}, "losses.adv"),
                    "losses.adv: loss 'l1' is not an adversarial loss");
  CHECK_THROWS_WITH(create_loss_as<ReconstructionLoss>({{"type", "hinge"}}, "losses.rec"),
                    "losses.rec: loss 'hinge' is not a reconstruction loss");
  CHECK_THROWS_WITH(create_loss_as<ClassificationLoss>({{"type", "kl_normal"}}), Contains("a classification loss"));

  const auto adv = create_loss_as<AdversarialLoss>({{"type", "hinge"}, {"weight", 0.5}}, "losses.adv");
  REQUIRE(adv);
  CHECK(adv->weight() == 0.5);
  CHECK(std::dynamic_pointer_cast<HingeGanLoss>(adv) != nullptr);
  CHECK(create_loss_as<ReconstructionLoss>({{"type", "weighted_reconstruction"}}));
  CHECK(create_loss_as<Loss>({{"type", "total_variation"}}));
}
