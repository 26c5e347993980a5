#pragma once
// The experiment runner: a paper's table as data. A JSON spec names a base config (a pipeline, or a
// single run), variants as overrides of it, baselines, the data protocol (a training set with a
// selection split and a held-out split, or person-independent folds), seeds and metrics. The runner
// trains every variant for every seed (and fold) through the pipeline and the Trainer, scores each
// with its task's own score_batch (EMA weights when the run has them) on the same evaluation
// samples, scores the baselines with the same code, and writes a table of mean ± std over seeds and
// the paired 95% intervals of each variant against each comparison row. `facegan experiment` runs
// it; configs/experiments/ holds the papers' tables. Nothing below this layer includes it.
//
// Spec (every key but "base", "variants", "data", "seeds" and "metrics" is optional):
//   {"name": "derl", "description": "...",
//    "base": "configs/derl_synthetic.json" (a path: from the working folder or the spec's folders) or a config,
//    "set": {"stages.deexpression.trainer.steps": 800, ...}        overrides of the base, all variants
//    "variants": [{"name": "derl", "label": "DeRL", "set": {...}}, ...],
//    "baselines": [{"name": "chance", "label": "chance", "stage": "classify", "type": "derl_chance", ...}],
//    "data": {"protocol": "split", "train": spec, "selection": spec, "held_out": spec,
//             "train_seed_key": "sample_seed"}
//         or {"protocol": "folds", "pool": spec, "folds": 5, "split_seed": 0, "identity_key": "identity"},
//    "seeds": [0, 1],
//    "score_stages": ["deexpression"],       stages scored besides the last (metrics "<stage>/<name>")
//    "metrics": [{"name": "accuracy", "label": "accuracy (%)", "scale": 100, "precision": 1,
//                 "higher_is_better": true}, ...],
//    "compare": ["accuracy"],                metrics of the paired table (default: all)
//    "compare_to": ["chance", "cnn"],        baselines or variants each variant is paired with
//                                            (default: every baseline)
//    "derived_rows": [{"label": "local head 1", "variant": "derl", "metric": "local_accuracy_1",
//                      "as": "accuracy"}],   another metric of a variant shown as a row
//    "confusion": {"variant": "derl", "class_names": ["happy", ...]},
//    "scorers": [{"type": "face_probes", ...}],
//    "eval_batch_size": 32}
// The pipeline's shared data is bound to the experiment: data.train to the training samples (a
// fold's, or the training split with the seed in train_seed_key), data.eval to the scored split.
// A stage with data of its own (open-set's identity warm start) keeps it.

#include <facegan/core/config.hpp>
#include <facegan/eval/report.hpp>
#include <facegan/experiment/stats.hpp>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace facegan::experiment {

/// A trained configuration of the table.
struct VariantSpec {
  std::string name;
  std::string label;
  /// Dotted paths of the base config -> values.
  json set = json::object();
};

/// A method without training, scored by a stage's task.
struct BaselineSpec {
  std::string name;
  std::string label;
  /// The stage whose task scores it ("" = the last stage).
  std::string stage;
  /// Its baseline-registry spec {"type", ...options}.
  json spec;
};

/// A column of the table.
struct MetricSpec {
  std::string name;
  std::string label;
  /// Values are multiplied by this in the tables (100 for percentages).
  double scale = 1.0;
  int precision = 3;
  bool higher_is_better = true;
};

/// Another metric of a variant shown as a row under a column ("local head, level 1" as accuracy).
struct DerivedRow {
  std::string label;
  std::string variant;
  std::string metric;
  std::string as;
};

/// Where the samples come from.
struct DataSpec {
  /// "split" (train / selection / held_out) or "folds" (person-independent folds of a pool).
  std::string protocol = "split";
  json train, selection, held_out, pool;
  /// A key of the training data spec that receives the seed (the samples drawn change with it;
  /// the identities stay, fixed by the spec's own seed). "" = the training samples are fixed.
  std::string train_seed_key;
  int64_t folds = 5;
  int64_t split_seed = 0;
  /// The pool's per-sample identity tensor, for the folds.
  std::string identity_key = "identity";
};

/// A parsed experiment spec.
struct ExperimentSpec {
  std::string name;
  std::string description;
  /// The base config as a pipeline (a single-run config becomes one stage named after its task type).
  json base;
  /// Where the base came from ("inline" or the path).
  std::string base_source = "inline";
  json set = json::object();
  std::vector<VariantSpec> variants;
  std::vector<BaselineSpec> baselines;
  DataSpec data;
  std::vector<int64_t> seeds;
  std::vector<std::string> score_stages;
  std::vector<MetricSpec> metrics;
  std::vector<std::string> compare;
  std::vector<std::string> compare_to;
  std::vector<DerivedRow> derived_rows;
  json confusion;
  std::vector<json> scorers;
  int64_t eval_batch_size = 32;
};

/// Parses a spec; ConfigError naming the key for an unknown key, a missing one, a wrong type, a
/// duplicate name, a reference to a variant, baseline, metric or stage that does not exist.
/// A string "base" is read with load_json_file: relative to the working folder, else to the folder
/// of `spec_file` or any folder above it.
ExperimentSpec parse_spec(const json& spec, const std::string& spec_file = "");

/// Options of run_experiment.
struct RunOptions {
  /// Tables, run folders and caches go here.
  std::string out_dir = "runs/experiment";
  /// "held_out" (the table) or "selection" (tuning: never choose settings on the held-out table).
  std::string split = "held_out";
  /// Overrides the spec's seeds when not empty.
  std::vector<int64_t> seeds;
  /// Only these variants (by name) when not empty; baselines are always scored.
  std::vector<std::string> only;
  /// Only these folds (indices, folds protocol) when not empty: tuning on part of the folds. The
  /// other folds' samples stay unscored (NaN, outside every mean and interval), and the table's note
  /// names the folds scored.
  std::vector<int64_t> folds;
  /// Overrides ("key.path=value") applied last, after the spec's and the variant's "set", so that
  /// they reach every variant's stages (a schedule for the whole table); a path into a stage that a
  /// variant does not have passes that variant by (and must reach at least one variant).
  std::vector<std::string> set;
  /// Intra-op threads of every stage (0 = leave the configs' setting).
  int64_t threads = 0;
  /// How the table was made, for its note (the command line).
  std::string command;
  /// Progress lines go here (default std::cout).
  std::ostream* progress = nullptr;
};

/// One row's metric over the seeds.
struct Cell {
  MeanStd value;
  /// The per-seed means.
  std::vector<double> per_seed;
};

/// One paired comparison: row - against, on one metric.
struct Comparison {
  std::string row;
  std::string against;
  std::string metric;
  PairedInterval interval;
  /// +1: the interval lies on the better side of zero; -1: on the worse side; 0: it holds zero.
  int verdict = 0;
};

/// What run_experiment produced.
struct ExperimentResult {
  /// Row name -> metric -> cell (rows: variants, baselines, derived rows, by name).
  std::map<std::string, std::map<std::string, Cell>> cells;
  std::vector<Comparison> comparisons;
  /// The tables as written (means, paired differences, confusion matrix when asked).
  std::vector<eval::ReportTable> tables;
  /// Files written: <out>/<name>.table.json, <name>_paired.table.json, <name>_confusion.table.json,
  /// <name>.md, <name>.results.json.
  std::vector<std::string> files;
};

/// Validates everything before any training (every variant's pipeline and task options, the
/// baselines, the data specs, the scorers): ConfigError naming the variant and the key.
void validate_experiment(const ExperimentSpec& spec, const RunOptions& options = {});

/// Runs the experiment (see the file comment). Resumable: a run folder that finished is not
/// trained again (its scores are kept in scores.json beside it; a stage interrupted half-way
/// resumes from its checkpoint). Throws facegan::Interrupted when a signal stopped a training run.
ExperimentResult run_experiment(const ExperimentSpec& spec, const RunOptions& options = {});

}  // namespace facegan::experiment
