#include <facegan/experiment/stats.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace facegan::experiment {

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  double sum = 0.0;
  for (double v : values) {
    if (!std::isnan(v)) sum += v, ++r.count;
  }
  if (r.count == 0) {
    r.mean = std::nan("");
    return r;
  }
  r.mean = sum / static_cast<double>(r.count);
  if (r.count > 1) {
    double ss = 0.0;
    for (double v : values) {
      if (!std::isnan(v)) ss += (v - r.mean) * (v - r.mean);
    }
    r.std = std::sqrt(ss / static_cast<double>(r.count - 1));
  }
  return r;
}

double nan_mean(const torch::Tensor& values) {
  const torch::Tensor v = values.to(torch::kFloat64).flatten();
  const torch::Tensor ok = ~torch::isnan(v);
  const int64_t n = ok.sum().item<int64_t>();
  return n == 0 ? std::nan("") : v.masked_select(ok).sum().item<double>() / static_cast<double>(n);
}

PairedInterval paired_interval(const torch::Tensor& a, const torch::Tensor& b, const IntervalOptions& options) {
  if (a.dim() != 2 || a.sizes() != b.sizes()) {
    throw std::invalid_argument("paired_interval: expected two [seeds, samples] tensors of equal shape");
  }
  if (!(options.level > 0 && options.level < 1) || options.replicates < 1) {
    throw std::invalid_argument("paired_interval: level must be in (0, 1) and replicates >= 1");
  }
  const torch::Tensor d = a.to(torch::kFloat64) - b.to(torch::kFloat64);
  const torch::Tensor defined = ~torch::isnan(d);
  const torch::Tensor value = torch::where(defined, d, torch::zeros_like(d));
  const torch::Tensor weight = defined.to(torch::kFloat64);
  PairedInterval r;
  r.pairs = defined.sum().item<int64_t>();
  if (r.pairs == 0) throw std::invalid_argument("paired_interval: no sample is defined for both methods");
  r.mean = value.sum().item<double>() / static_cast<double>(r.pairs);
  for (int64_t s = 0; s < d.size(0); ++s) r.per_seed.push_back(nan_mean(d[s]));

  const int64_t seeds = d.size(0), samples = d.size(1);
  torch::Generator gen = at::detail::createCPUGenerator(options.seed);
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(options.replicates));
  // Replicates in chunks: the counts of each drawn sample are a multinomial, so one replicate is two
  // weighted sums; chunks keep memory at about 64 MB whatever the sizes.
  const int64_t chunk = std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(1, samples + seeds));
  for (int64_t done = 0; done < options.replicates; done += chunk) {
    const int64_t m = std::min(chunk, options.replicates - done);
    const torch::Tensor si = torch::randint(samples, {m, samples}, gen, torch::kLong);
    const torch::Tensor ss = torch::randint(seeds, {m, seeds}, gen, torch::kLong);
    // counts[r, n]: how often sample n was drawn; seed_counts[r, s]: how often seed s.
    const torch::Tensor counts = torch::zeros({m, samples}, torch::kFloat64).scatter_add_(1, si, torch::ones({m, samples}, torch::kFloat64));
    const torch::Tensor seed_counts = torch::zeros({m, seeds}, torch::kFloat64).scatter_add_(1, ss, torch::ones({m, seeds}, torch::kFloat64));
    // sum over s, n of seed_counts[r, s] * counts[r, n] * value[s, n] (and the same for weights).
    const torch::Tensor num = (seed_counts.matmul(value) * counts).sum(1);
    const torch::Tensor den = (seed_counts.matmul(weight) * counts).sum(1);
    const torch::Tensor mean = num / den;  // NaN when a replicate drew no defined pair
    const double* p = mean.contiguous().data_ptr<double>();
    for (int64_t i = 0; i < m; ++i) {
      if (!std::isnan(p[i])) stats.push_back(p[i]);
    }
  }
  std::sort(stats.begin(), stats.end());
  const double tail = (1.0 - options.level) / 2.0;
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(stats.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, stats.size() - 1);
    return stats[lo] + (pos - static_cast<double>(lo)) * (stats[hi] - stats[lo]);
  };
  r.low = quantile(tail);
  r.high = quantile(1.0 - tail);
  return r;
}

int verdict(const PairedInterval& interval, bool higher_is_better) {
  const bool above = interval.low > 0, below = interval.high < 0;
  if (!above && !below) return 0;
  return above == higher_is_better ? 1 : -1;
}

}  // namespace facegan::experiment
