#pragma once
// Statistics of experiment tables: means over seeds and the paired confidence interval of a
// difference between two methods scored on the same samples (DESIGN.md, "How we experiment": a
// claim holds when the interval lies on the right side of zero).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace facegan::experiment {

/// Mean and sample standard deviation (0 for fewer than two values).
struct MeanStd {
  double mean = 0.0;
  double std = 0.0;
  int64_t count = 0;
};

/// Of `values` (NaN entries skipped; count 0 and mean NaN when none is left).
MeanStd mean_std(const std::vector<double>& values);

/// Mean of a float64 tensor over its non-NaN entries (NaN when there is none).
double nan_mean(const torch::Tensor& values);

/// A paired difference A - B with its percentile interval.
struct PairedInterval {
  /// Mean of the per-sample differences over all seeds.
  double mean = 0.0;
  double low = 0.0;
  double high = 0.0;
  /// Mean difference of each seed (to see whether seeds agree).
  std::vector<double> per_seed;
  /// Sample-seed pairs with both values defined.
  int64_t pairs = 0;
};

/// Options of paired_interval.
struct IntervalOptions {
  /// Bootstrap replicates.
  int64_t replicates = 2000;
  /// Coverage of the interval.
  double level = 0.95;
  /// Seeds the resampling, so that a table is reproducible.
  uint64_t seed = 20180618;
};

/// The paired difference of two methods scored on the same samples over several seeds.
/// a, b: float64 [S, N] (seed s, sample n; NaN = undefined, and a pair counts only where both are
/// defined). A two-level percentile bootstrap: each replicate draws S seeds and N samples with
/// replacement (the same samples for every drawn seed, since all seeds score the same samples)
/// and takes the mean difference over the defined pairs; the interval is that mean's central
/// `level` range. Both the variation between trained models (seeds) and between evaluation
/// samples are in it. Throws std::invalid_argument when the shapes differ or no pair is defined.
PairedInterval paired_interval(const torch::Tensor& a, const torch::Tensor& b, const IntervalOptions& options = {});

/// Whether an interval of A - B settles the comparison: +1 when it lies wholly on the better
/// side of zero (above it when higher is better, below it otherwise), -1 wholly on the worse
/// side, 0 when it contains zero.
int verdict(const PairedInterval& interval, bool higher_is_better);

}  // namespace facegan::experiment
