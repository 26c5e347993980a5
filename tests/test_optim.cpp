// FusedAdam: the same update as torch::optim::Adam, sharing its state and checkpoint format.
#include <facegan/train/optim.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using facegan::train::FusedAdam;

namespace {

/// Three parameters of different shapes (one without a gradient on odd steps) and a fixed
/// sequence of gradients: the same for both optimizers.
struct Problem {
  std::vector<torch::Tensor> params;
  explicit Problem(uint64_t seed) {
    torch::manual_seed(seed);
    params = {torch::randn({4, 3}), torch::randn({5}), torch::randn({2, 2, 3})};
  }
  void set_grads(int step) {
    torch::manual_seed(1000 + step);
    for (size_t i = 0; i < params.size(); ++i) {
      if (i == 1 && step % 2 == 1) {
        params[i].mutable_grad() = torch::Tensor();
      } else {
        params[i].mutable_grad() = torch::randn_like(params[i]);
      }
    }
  }
};

torch::optim::AdamOptions options(bool amsgrad) {
  return torch::optim::AdamOptions(0.01).betas({0.5, 0.999}).eps(1e-8).weight_decay(0.1).amsgrad(amsgrad);
}

}  // namespace

TEST_CASE("FusedAdam takes torch::optim::Adam's steps", "[train][optim]") {
  for (bool amsgrad : {false, true}) {
    Problem a(1), b(1);
    torch::optim::Adam reference(a.params, options(amsgrad));
    FusedAdam fused(b.params, options(amsgrad));
    for (int step = 0; step < 6; ++step) {
      a.set_grads(step);
      b.set_grads(step);
      reference.step();
      fused.step();
    }
    for (size_t i = 0; i < a.params.size(); ++i) {
      INFO("amsgrad " << amsgrad << ", parameter " << i);
      CHECK(torch::allclose(a.params[i], b.params[i], 1e-6, 1e-7));
    }
  }
}

TEST_CASE("FusedAdam's state is Adam's: checkpoints and the reference step interchange", "[train][optim]") {
  Problem a(2), b(2);
  torch::optim::Adam reference(a.params, options(false));
  FusedAdam fused(b.params, options(false));
  for (int step = 0; step < 3; ++step) {
    a.set_grads(step);
    b.set_grads(step);
    reference.step();
    fused.step();
  }
  // A FusedAdam checkpoint loads into a plain Adam that then continues exactly like the reference.
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive archive;
    fused.save(archive);
    archive.save_to(buffer);
  }
  Problem c(2);
  for (size_t i = 0; i < c.params.size(); ++i) c.params[i].data().copy_(b.params[i]);
  torch::optim::Adam restored(c.params, options(false));
  {
    torch::serialize::InputArchive archive;
    archive.load_from(buffer);
    restored.load(archive);
  }
  const auto& state = static_cast<torch::optim::AdamParamState&>(
      *restored.state().at(c.params[0].unsafeGetTensorImpl()));
  CHECK(state.step() == 3);
  for (int step = 3; step < 5; ++step) {
    a.set_grads(step);
    c.set_grads(step);
    reference.step();
    restored.step();
  }
  for (size_t i = 0; i < a.params.size(); ++i) CHECK(torch::allclose(a.params[i], c.params[i], 1e-6, 1e-7));
}

TEST_CASE("FusedAdam falls back to Adam's path for mixed dtypes", "[train][optim]") {
  torch::manual_seed(3);
  std::vector<torch::Tensor> p = {torch::randn({3}), torch::randn({3}, torch::kDouble)};
  std::vector<torch::Tensor> q = {p[0].clone(), p[1].clone()};
  torch::optim::Adam reference(p, options(false));
  FusedAdam fused(q, options(false));
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < 2; ++i) {
      p[i].mutable_grad() = torch::full_like(p[i], 0.5 + step);
      q[i].mutable_grad() = torch::full_like(q[i], 0.5 + step);
    }
    reference.step();
    fused.step();
  }
  CHECK(torch::equal(p[0], q[0]));
  CHECK(torch::equal(p[1], q[1]));
}
