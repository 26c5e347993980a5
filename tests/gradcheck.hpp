#pragma once

// Double-precision central-difference gradient checks for custom losses and layers.
//
//   auto f = [&](const std::vector<torch::Tensor>& in) { return loss(in[0], in[1]); };
//   FACEGAN_CHECK_GRADIENTS(f, {pred.requires_grad_(), target});
//
// Inputs that require grad are checked; the others are passed through as constants. The function
// must be deterministic (fix any random draw, e.g. wgan_gp's alpha) and return a one-element
// double tensor. Keep inputs away from kinks (|x| at 0, hinge at +-1): a central difference across
// a kink measures the average of the two one-sided slopes, not the gradient autograd reports.

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace facegan::testing {

/// A scalar function of a list of tensors, the shape gradcheck() checks.
using ScalarFunction = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

/// Step and tolerances: an element passes when |analytic - numeric| <= atol + rtol * |numeric|.
/// With eps = 1e-6 in double precision, truncation error is ~1e-12 and rounding ~1e-10 * |f|.
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
};

/// Outcome of gradcheck(): `message` names the worst element (input, flat and multi-dim index,
/// both gradients) whether or not it passed, so a failure says where to look.
struct GradcheckResult {
  bool ok = false;
  std::string message;
};

namespace detail {

inline std::string unravel(int64_t flat, torch::IntArrayRef sizes) {
  std::vector<int64_t> index(sizes.size(), 0);
  for (size_t d = sizes.size(); d-- > 0;) {
    index[d] = flat % std::max<int64_t>(sizes[d], 1);
    flat /= std::max<int64_t>(sizes[d], 1);
  }
  std::ostringstream out;
  out << "[";
  for (size_t d = 0; d < index.size(); ++d) out << (d ? ", " : "") << index[d];
  out << "]";
  return out.str();
}

inline double evaluate(const ScalarFunction& f, const std::vector<torch::Tensor>& inputs) {
  return f(inputs).to(torch::kCPU).item<double>();
}

}  // namespace detail

/// Compares autograd's gradient of `f` at `inputs` with central differences
/// (f(x + eps e_j) - f(x - eps e_j)) / (2 eps), element by element, for every input that requires
/// grad. Inputs must be double (float32 differences are too noisy at any useful eps).
inline GradcheckResult gradcheck(const ScalarFunction& f, const std::vector<torch::Tensor>& inputs,
                                 const GradcheckOptions& options = {}) {
  GradcheckResult result;
  std::vector<torch::Tensor> base = inputs;
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    if (inputs[i].scalar_type() != torch::kDouble) {
      result.message = "gradcheck: input " + std::to_string(i) + " is " +
                       std::string(c10::toString(inputs[i].scalar_type())) + "; gradcheck needs double inputs";
      return result;
    }
    // A fresh leaf per check, so an earlier backward() on the caller's tensor does not interfere.
    base[i] = inputs[i].detach().clone(at::MemoryFormat::Contiguous).requires_grad_(true);
    checked.push_back(i);
  }
  if (checked.empty()) {
    result.message = "gradcheck: no input requires grad; nothing to check";
    return result;
  }

  const torch::Tensor out = f(base);
  if (!out.defined() || out.numel() != 1 || out.scalar_type() != torch::kDouble) {
    result.message = "gradcheck: f must return a one-element double tensor";
    return result;
  }
  if (!out.requires_grad()) {
    result.message = "gradcheck: f's value does not depend on any input that requires grad";
    return result;
  }
  const double value = out.item<double>();
  const double again = detail::evaluate(f, base);
  if (std::abs(again - value) > 1e-12 * std::max(1.0, std::abs(value))) {
    std::ostringstream msg;
    msg << std::setprecision(17) << "gradcheck: f is not deterministic (" << value << " then " << again
        << "); fix its random draws";
    result.message = msg.str();
    return result;
  }
  std::vector<torch::Tensor> wrt;
  for (size_t i : checked) wrt.push_back(base[i]);
  const auto grads = torch::autograd::grad({out}, wrt, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                           /*allow_unused=*/true);

  double worst_ratio = -1.0;
  std::string worst;
  int64_t mismatches = 0;
  int64_t total = 0;
  for (size_t j = 0; j < checked.size(); ++j) {
    const size_t i = checked[j];
    const torch::Tensor analytic =
        (grads[j].defined() ? grads[j] : torch::zeros_like(base[i])).detach().to(torch::kCPU).contiguous().view(-1);
    const int64_t n = base[i].numel();
    for (int64_t e = 0; e < n; ++e) {
      auto shifted = [&](double delta) {
        std::vector<torch::Tensor> args = base;
        torch::Tensor moved = base[i].detach().clone(at::MemoryFormat::Contiguous);
        moved.view(-1)[e].add_(delta);
        args[i] = moved.requires_grad_(true);
        return detail::evaluate(f, args);
      };
      const double numeric = (shifted(options.eps) - shifted(-options.eps)) / (2.0 * options.eps);
      const double got = analytic[e].item<double>();
      const double allowed = options.atol + options.rtol * std::abs(numeric);
      const double error = std::abs(got - numeric);
      const double ratio = std::isfinite(error) ? error / allowed : std::numeric_limits<double>::infinity();
      ++total;
      if (!(error <= allowed)) ++mismatches;
      if (ratio > worst_ratio) {
        worst_ratio = ratio;
        std::ostringstream msg;
        msg << std::setprecision(10) << "input " << i << " element " << e << " " << detail::unravel(e, base[i].sizes())
            << ": analytic " << got << ", numeric " << numeric << ", |diff| " << error << " (allowed " << allowed
            << ")";
        worst = msg.str();
      }
    }
  }
  result.ok = mismatches == 0;
  std::ostringstream msg;
  msg << "gradcheck: " << mismatches << " of " << total << " elements out of tolerance (eps " << options.eps
      << ", atol " << options.atol << ", rtol " << options.rtol << "); worst: " << worst;
  result.message = msg.str();
  return result;
}

}  // namespace facegan::testing

/// Catch2 check that `f`'s autograd gradients at `inputs` match central differences; on failure the
/// report names the worst element. Optional third argument: GradcheckOptions.
#define FACEGAN_CHECK_GRADIENTS(f, ...)                                               \
  do {                                                                                \
    const ::facegan::testing::GradcheckResult facegan_gradcheck_result_ =             \
        ::facegan::testing::gradcheck(f, __VA_ARGS__);                                \
    INFO(facegan_gradcheck_result_.message);                                          \
    CHECK(facegan_gradcheck_result_.ok);                                              \
  } while (false)
