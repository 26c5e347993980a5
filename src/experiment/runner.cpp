#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/experiment/experiment.hpp>
#include <facegan/experiment/scorers.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/train/pipeline.hpp>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace facegan::experiment {
namespace {

using Clock = std::chrono::steady_clock;
/// The stage an override "stages.<name>.key=value" reaches ("" for any other override).
std::string override_stage(const std::string& text) {
  const std::string prefix = "stages.";
  if (text.rfind(prefix, 0) != 0) return "";
  const size_t end = text.find_first_of(".=", prefix.size());
  return end == std::string::npos ? "" : text.substr(prefix.size(), end - prefix.size());
}

/// The data set type that a pipeline's shared data is bound to; never reaches the registry.
constexpr const char* kBound = "experiment_split";

/// Per-sample scores of one row over the seeds: metric -> one float64 [N] per seed.
using RowScores = std::map<std::string, std::vector<torch::Tensor>>;

/// One training/evaluation unit of a seed: the folds protocol has k, the split protocol one.
struct Fold {
  int64_t index = 0;
  std::shared_ptr<const data::Dataset> train, eval;
  /// Positions of the eval samples in the seed's score vectors.
  std::vector<size_t> positions;
};

std::string fmt(double v, int precision) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string signed_fmt(double v, int precision) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", precision, v);
  return buf;
}

json scores_to_json(const train::SampleScores& scores) {
  json j = json::object();
  for (const auto& [name, t] : scores) {
    json values = json::array();
    const torch::Tensor c = t.to(torch::kFloat64).contiguous();
    const double* p = c.data_ptr<double>();
    for (int64_t i = 0; i < c.numel(); ++i) values.push_back(std::isnan(p[i]) ? json(nullptr) : json(p[i]));
    j[name] = values;
  }
  return j;
}

train::SampleScores scores_from_json(const json& j) {
  train::SampleScores s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::vector<double> v;
    for (const auto& x : *it) v.push_back(x.is_null() ? std::nan("") : x.get<double>());
    s[it.key()] = torch::tensor(v, torch::kFloat64);
  }
  return s;
}

/// Scores kept beside a run, keyed by everything that made them.
struct Cached {
  train::SampleScores scores;
  /// Parameters of the scoring stage's networks (0 for a baseline).
  int64_t parameters = 0;
};

std::optional<Cached> load_cached(const fs::path& file, const std::string& key) {
  if (!fs::exists(file)) return std::nullopt;
  try {
    const json j = load_json_file(file.string());
    if (j.value("key", "") != key) return std::nullopt;
    return Cached{scores_from_json(j.at("scores")), j.value("parameters", int64_t{0})};
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged cache is recomputed
  }
}

void save_cached(const fs::path& file, const std::string& key, const Cached& c) {
  write_file_atomic(file.string(),
                           json{{"key", key}, {"parameters", c.parameters}, {"scores", scores_to_json(c.scores)}}.dump() + "\n");
}

std::string hash_key(const json& j) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(j.dump()));
  return buf;
}

int64_t count_parameters(train::Task& task) {
  int64_t n = 0;
  for (auto& [name, net] : task.networks()) {
    for (const auto& p : net->parameters()) n += p.numel();
  }
  return n;
}

class Runner {
 public:
  Runner(const ExperimentSpec& spec, const RunOptions& options)
      : spec_(spec), options_(options), out_(options.progress ? *options.progress : std::cout) {
    if (options_.split != "held_out" && options_.split != "selection") {
      throw ConfigError("split: expected 'held_out' or 'selection', got '" + options_.split + "'");
    }
    seeds_ = options_.seeds.empty() ? spec_.seeds : options_.seeds;
    if (seeds_.empty()) throw ConfigError("seeds: at least one seed");
    for (const auto& name : options_.only) {
      if (std::none_of(spec_.variants.begin(), spec_.variants.end(), [&](const VariantSpec& v) { return v.name == name; })) {
        throw ConfigError("only: '" + name + "' is not a variant of experiment '" + spec_.name + "'");
      }
    }
    for (const auto& v : spec_.variants) {
      if (options_.only.empty() || std::count(options_.only.begin(), options_.only.end(), v.name)) variants_.push_back(v);
    }
    if (spec_.data.protocol == "split" && options_.split == "selection" && spec_.data.selection.is_null()) {
      throw ConfigError("spec.data.selection: missing, but the selection split was asked for");
    }
  }

  /// The pipeline config of a variant for one seed and fold (-1: no folds), in `dir`. Each stage
  /// trains in <out>/stages/<stage>-<hash>/seed<s>[/fold<f>], the hash covering the stage's config
  /// and those of the stages it reads: variants that share a stage (DeRL's stage 1 under two
  /// classifiers) train it once.
  json variant_config(const VariantSpec& v, int64_t seed, int64_t fold, const std::string& dir) const {
    json cfg = spec_.base;
    for (auto it = spec_.set.begin(); it != spec_.set.end(); ++it) {
      set_json_path(cfg, it.key(), it.value(), "spec.set." + it.key());
    }
    for (auto it = v.set.begin(); it != v.set.end(); ++it) {
      set_json_path(cfg, it.key(), it.value(), "variant '" + v.name + "': set." + it.key());
    }
    // The command line's overrides come last, so that they reach the stages a variant brings of
    // its own; a path into a stage that this variant does not have passes it by.
    const std::vector<std::string> names = train::pipeline_stage_names(cfg);
    for (const std::string& text : options_.set) {
      const std::string stage = override_stage(text);
      if (!stage.empty() && std::find(names.begin(), names.end(), stage) == names.end()) continue;
      apply_overrides(cfg, {text});
    }
    if (!cfg.contains("trainer") || !cfg["trainer"].is_object()) cfg["trainer"] = json::object();
    cfg["trainer"]["out_dir"] = dir;
    if (!cfg.contains("data") || !cfg["data"].is_object()) cfg["data"] = json::object();
    cfg["data"]["train"] = json{{"type", kBound}, {"split", "train"}};
    cfg["data"]["eval"] = json{{"type", kBound}, {"split", "eval"}};
    for (const std::string& stage : train::pipeline_stage_names(cfg)) {
      const json trainer = train::stage_config(cfg, stage, {}).at("trainer");
      const int64_t steps = trainer.value("steps", train::TrainerOptions().steps());
      const std::string p = "stages." + stage + ".trainer.";
      // Every seed trains anew; one checkpoint at the end (and on a signal) is what scoring reads.
      set_json_path(cfg, p + "seed", seed);
      set_json_path(cfg, p + "eval_every", 0);
      set_json_path(cfg, p + "checkpoint_every", 0);
      set_json_path(cfg, p + "keep_checkpoints", 1);
      set_json_path(cfg, p + "sample_every", std::max<int64_t>(steps, 1));
      set_json_path(cfg, p + "log_every", std::max<int64_t>(1, steps / 50));
      set_json_path(cfg, p + "resume", "auto");
      if (options_.threads > 0) set_json_path(cfg, p + "threads", options_.threads);
    }
    std::string unit = "seed" + std::to_string(seed);
    if (fold >= 0) unit += "/fold" + std::to_string(fold);
    std::map<std::string, std::string> hashes;
    for (const json& stage : cfg.at("stages")) {
      const std::string name = stage.at("name").get<std::string>();
      json sc = train::stage_config(cfg, name, {});
      sc["trainer"].erase("out_dir");
      sc["trainer"].erase("threads");  // the number of threads changes no result
      json key = {{"stage", sc}, {"split", options_.split}, {"inputs", json::object()}};
      const json inputs = stage.value("inputs", json::object());
      for (auto it = inputs.begin(); it != inputs.end(); ++it) key["inputs"][it.key()] = hashes.at(it->get<std::string>());
      hashes[name] = hash_key(key);
      set_json_path(cfg, "stages." + name + ".trainer.out_dir",
                    (fs::path(options_.out_dir) / "stages" / (name + "-" + hashes[name]) / unit).string());
    }
    return cfg;
  }

  /// The stage whose task scores a baseline in a variant's pipeline ("" when it has none).
  static std::string last_stage(const json& cfg) { return train::pipeline_stage_names(cfg).back(); }
  static bool has_stage(const json& cfg, const std::string& stage) {
    const auto names = train::pipeline_stage_names(cfg);
    return std::find(names.begin(), names.end(), stage) != names.end();
  }
  std::string baseline_stage(const BaselineSpec& b) const {
    return b.stage.empty() ? last_stage(variant_config(spec_.variants.front(), seeds_.front(), -1, "validate")) : b.stage;
  }

  void validate() {
    // Data specs and scorers: built (not rendered, not trained).
    auto check_data = [&](const json& spec, const std::string& where) {
      if (!spec.is_null()) data::create_dataset(spec, where);
    };
    check_data(spec_.data.train, "spec.data.train");
    check_data(spec_.data.selection, "spec.data.selection");
    check_data(spec_.data.held_out, "spec.data.held_out");
    check_data(spec_.data.pool, "spec.data.pool");
    for (size_t i = 0; i < spec_.scorers.size(); ++i) create_scorer(spec_.scorers[i], "spec.scorers[" + std::to_string(i) + "]");
    auto empty = std::make_shared<data::InMemoryDataset>(std::vector<data::Sample>{});
    const train::DatasetResolver resolve = [&](const json& spec, const std::string& where) -> std::shared_ptr<const data::Dataset> {
      if (spec.value("type", "") == kBound) return empty;
      return data::create_dataset(spec, where);
    };
    for (const int64_t f : options_.folds) {
      if (spec_.data.protocol != "folds") {
        throw ConfigError("folds: the spec's data protocol is '" + spec_.data.protocol + "', which has no folds");
      }
      if (f < 0 || f >= spec_.data.folds) {
        throw ConfigError("folds: " + std::to_string(f) + " is not a fold of " + std::to_string(spec_.data.folds) +
                          " (0.." + std::to_string(spec_.data.folds - 1) + ")");
      }
    }
    std::set<std::string> all_stages;
    for (const auto& v : spec_.variants) {
      const json cfg = variant_config(v, seeds_.front(), -1, (fs::path(options_.out_dir) / "validate").string());
      try {
        train::validate_pipeline(cfg, resolve);
      } catch (const ConfigError& e) {
        throw ConfigError("variant '" + v.name + "': " + e.what());
      }
      for (const auto& s : train::pipeline_stage_names(cfg)) all_stages.insert(s);
    }
    for (const std::string& text : options_.set) {
      const std::string stage = override_stage(text);
      if (!stage.empty() && !all_stages.count(stage)) {
        throw ConfigError("--set '" + text + "': no variant has a stage '" + stage + "'; stages: " +
                          join_names(std::vector<std::string>(all_stages.begin(), all_stages.end())));
      }
    }
    for (const auto& s : spec_.score_stages) {
      if (!all_stages.count(s)) {
        throw ConfigError("spec.score_stages: no variant has a stage '" + s + "'; stages: " +
                          join_names(std::vector<std::string>(all_stages.begin(), all_stages.end())));
      }
    }
    for (const auto& b : spec_.baselines) {
      const std::string where = "baseline '" + b.name + "'";
      train::create_baseline(b.spec, where);
      const std::string stage = baseline_stage(b);
      if (!all_stages.count(stage)) throw ConfigError(where + ": no variant has its stage '" + stage + "'");
    }
  }

  ExperimentResult run() {
    validate();
    fs::create_directories(options_.out_dir);
    const auto t0 = Clock::now();
    prepare_data();
    ScorerContext sc;
    sc.cache_dir = (fs::path(options_.out_dir) / "probes").string();
    sc.split = options_.split;
    for (size_t i = 0; i < spec_.scorers.size(); ++i) {
      extras_.push_back(create_scorer(spec_.scorers[i], "spec.scorers[" + std::to_string(i) + "]")->prepare(sc));
    }
    const size_t total = seeds_.size() * folds_per_seed() * variants_.size();
    size_t done = 0;
    double trained_seconds = 0.0;
    size_t trained_runs = 0;
    for (size_t si = 0; si < seeds_.size(); ++si) {
      const int64_t seed = seeds_[si];
      std::map<std::string, train::SampleScores> merged;  // row -> metric -> [N] for this seed
      for (const Fold& fold : folds_for_seed(seed)) {
        std::set<std::string> baselines_done;
        for (const auto& v : variants_) {
          const auto t1 = Clock::now();
          bool trained = false;
          const train::SampleScores s = run_variant(v, seed, fold, baselines_done, merged, &trained);
          merge(merged[v.name], s, fold);
          ++done;
          const double secs = std::chrono::duration<double>(Clock::now() - t1).count();
          if (trained) trained_seconds += secs, ++trained_runs;
          const double per_run = trained_runs ? trained_seconds / static_cast<double>(trained_runs) : 0.0;
          out_ << "experiment " << spec_.name << ": [" << done << "/" << total << "] " << v.name << " seed " << seed
               << (has_folds() ? " fold " + std::to_string(fold.index) : std::string()) << ": "
               << (trained ? "trained and scored" : "scores from the cache") << " in " << static_cast<int64_t>(secs)
               << " s; " << summary_line(s) << "; about " << static_cast<int64_t>(per_run * static_cast<double>(total - done))
               << " s left" << std::endl;
        }
        for (const auto& b : spec_.baselines) {
          if (!baselines_done.count(b.name)) {
            throw ConfigError("baseline '" + b.name + "': its stage is in none of the variants run (" +
                              join_names(options_.only) + ")");
          }
        }
      }
      for (auto& [row, metrics] : merged) {
        for (auto& [metric, t] : metrics) scores_[row][metric].push_back(t);
      }
    }
    ExperimentResult result = tabulate();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    write(result, secs);
    out_ << "experiment " << spec_.name << ": done in " << static_cast<int64_t>(secs) << " s; wrote "
         << join_names(result.files) << std::endl;
    return result;
  }

 private:
  /// Whether runs are per fold (their folders, stage hashes and progress lines name the fold),
  /// also when --folds picks a single one.
  bool has_folds() const { return spec_.data.protocol == "folds"; }

  size_t folds_per_seed() const {
    if (spec_.data.protocol != "folds") return 1;
    return options_.folds.empty() ? static_cast<size_t>(spec_.data.folds) : options_.folds.size();
  }

  /// Materialises a data set once per distinct spec (the runs of a table share their data).
  std::shared_ptr<const data::Dataset> cached(const json& spec, const std::string& where) {
    auto& slot = datasets_[spec.dump()];
    if (!slot) {
      auto made = data::create_dataset(spec, where);
      if (made->size() > 0 && made->type() != "in_memory") {
        const auto t = Clock::now();
        slot = data::materialize(*made, 0, [&](size_t d, size_t n) {
          if (n >= 2048 && (d % 2048 == 0 || d == n)) out_ << "  " << where << ": " << d << "/" << n << " samples" << std::endl;
        });
        out_ << "experiment " << spec_.name << ": " << where << " (" << made->type() << "), " << made->size()
             << " samples in memory in " << static_cast<int64_t>(std::chrono::duration<double>(Clock::now() - t).count())
             << " s" << std::endl;
      } else {
        slot = made;
      }
    }
    return slot;
  }

  void prepare_data() {
    if (spec_.data.protocol == "split") {
      const json& eval_spec = options_.split == "held_out" ? spec_.data.held_out : spec_.data.selection;
      eval_ = cached(eval_spec, "spec.data." + options_.split);
      eval_size_ = eval_->size();
      data_note_ = std::to_string(eval_size_) + " " + options_.split + " samples scored";
      return;
    }
    pool_ = cached(spec_.data.pool, "spec.data.pool");
    std::vector<int64_t> ids;
    ids.reserve(pool_->size());
    for (size_t i = 0; i < pool_->size(); ++i) ids.push_back(pool_->get(i).at(spec_.data.identity_key).item<int64_t>());
    try {
      fold_of_ = metrics::identity_folds(ids, spec_.data.folds, static_cast<uint64_t>(spec_.data.split_seed));
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("spec.data.folds: ") + e.what());
    }
    eval_size_ = pool_->size();
  }

  std::vector<Fold> folds_for_seed(int64_t seed) {
    std::vector<Fold> folds;
    if (spec_.data.protocol == "split") {
      json train_spec = spec_.data.train;
      if (!spec_.data.train_seed_key.empty()) train_spec[spec_.data.train_seed_key] = seed;
      Fold f;
      f.train = cached(train_spec, "spec.data.train");
      f.eval = eval_;
      for (size_t i = 0; i < eval_size_; ++i) f.positions.push_back(i);
      if (data_note_.find("trains on") == std::string::npos) {
        data_note_ += "; each run trains on " + std::to_string(f.train->size()) + " samples";
      }
      folds.push_back(std::move(f));
      return folds;
    }
    const int64_t k = spec_.data.folds;
    std::vector<std::string> sizes;
    for (int64_t f = 0; f < k; ++f) {
      if (!options_.folds.empty() && !std::count(options_.folds.begin(), options_.folds.end(), f)) continue;
      // The selection split is the next fold, trained without it: settings are chosen without ever
      // scoring a held-out fold.
      const int64_t scored = options_.split == "held_out" ? f : (f + 1) % k;
      Fold fold;
      fold.index = f;
      std::vector<size_t> train;
      for (size_t i = 0; i < fold_of_.size(); ++i) {
        if (fold_of_[i] == scored) fold.positions.push_back(i);
        else if (fold_of_[i] != f) train.push_back(i);
      }
      sizes.push_back(std::to_string(train.size()));
      fold.train = data::subset(pool_, train);
      fold.eval = data::subset(pool_, fold.positions);
      folds.push_back(std::move(fold));
    }
    (void)seed;
    std::vector<std::string> scored_folds;
    for (const auto& f : folds) scored_folds.push_back(std::to_string(f.index));
    data_note_ = std::to_string(eval_size_) + " samples in " + std::to_string(k) + " person-independent folds" +
                 (options_.folds.empty() ? "" : " (folds " + join_names(scored_folds) + " run)") +
                 (options_.split == "selection" ? " (selection: each fold's next fold scored, trained without both)" : "") +
                 "; training samples per fold: " + join_names(sizes);
    return folds;
  }

  /// Places one fold's scores into the seed's [N] vectors (NaN where a metric is missing).
  void merge(train::SampleScores& into, const train::SampleScores& scores, const Fold& fold) const {
    const torch::Tensor pos = torch::tensor(std::vector<int64_t>(fold.positions.begin(), fold.positions.end()), torch::kLong);
    for (const auto& [name, t] : scores) {
      auto& slot = into[name];
      if (!slot.defined()) slot = torch::full({static_cast<int64_t>(eval_size_)}, std::nan(""), torch::kFloat64);
      if (t.numel() != pos.numel()) {
        throw Error("experiment: metric '" + name + "' has " + std::to_string(t.numel()) + " values for " +
                    std::to_string(pos.numel()) + " scored samples");
      }
      slot.index_put_({pos}, t.to(torch::kFloat64));
    }
  }

  std::string summary_line(const train::SampleScores& s) const {
    std::ostringstream line;
    bool first = true;
    for (const auto& m : spec_.metrics) {
      auto it = s.find(m.name);
      if (it == s.end()) continue;
      line << (first ? "" : ", ") << m.name << " " << fmt(nan_mean(it->second) * m.scale, m.precision);
      first = false;
    }
    return first ? "no metric of the table" : line.str();
  }

  fs::path run_dir(const std::string& row, int64_t seed, const Fold& fold) const {
    fs::path dir = fs::path(options_.out_dir) / "runs" / row / ("seed" + std::to_string(seed));
    if (has_folds()) dir /= "fold" + std::to_string(fold.index);
    return dir;
  }

  /// Trains (or reads the cached scores of) one variant, and scores every baseline whose stage it
  /// has and that this fold has not scored yet.
  train::SampleScores run_variant(const VariantSpec& v, int64_t seed, const Fold& fold, std::set<std::string>& baselines_done,
                                  std::map<std::string, train::SampleScores>& merged, bool* trained) {
    const fs::path dir = run_dir(v.name, seed, fold);
    const json cfg = variant_config(v, seed, has_folds() ? fold.index : -1, dir.string());
    const std::vector<std::string> stages = train::pipeline_stage_names(cfg);
    const std::string last = stages.back();
    const std::string eval_id = options_.split + "/" + std::to_string(eval_size_) + "/" + std::to_string(fold.index);
    const std::string key = hash_key(json{{"config", cfg}, {"eval", eval_id}, {"scorers", spec_.scorers}});
    std::optional<train::SampleScores> scores;
    if (auto c = load_cached(dir / "scores.json", key)) {
      scores = c->scores;
      parameters_[v.name] = c->parameters;
    }

    std::vector<const BaselineSpec*> pending;
    for (const auto& b : spec_.baselines) {
      if (!baselines_done.count(b.name) && has_stage(cfg, baseline_stage(b))) pending.push_back(&b);
    }
    std::vector<std::pair<const BaselineSpec*, train::SampleScores>> baseline_scores;
    std::vector<const BaselineSpec*> uncached;
    for (const BaselineSpec* b : pending) {
      const fs::path bdir = run_dir("_baselines/" + b->name, seed, fold);
      const std::string bkey = hash_key(json{{"baseline", b->spec}, {"stage", train::stage_config(cfg, baseline_stage(*b), {}).at("task")},
                                             {"eval", eval_id}, {"scorers", spec_.scorers}});
      if (auto c = load_cached(bdir / "scores.json", bkey)) {
        baseline_scores.emplace_back(b, c->scores);
      } else {
        uncached.push_back(b);
      }
    }

    *trained = false;
    if (!scores || !uncached.empty()) {
      train::PipelineOptions po;
      po.progress = &out_;
      po.keep_trainers = true;
      po.resolve = [&](const json& spec, const std::string& where) -> std::shared_ptr<const data::Dataset> {
        if (spec.value("type", "") == kBound) return spec.value("split", "") == "train" ? fold.train : fold.eval;
        return cached(spec, where);
      };
      train::PipelineRun run = train::run_pipeline(cfg, po);
      if (run.status == train::RunStatus::kInterrupted) {
        const auto& s = run.stages.back();
        throw Interrupted("experiment " + spec_.name + ": interrupted in variant '" + v.name + "' seed " +
                          std::to_string(seed) + ", stage '" + s.name + "'; run the same command again to resume from " +
                          (s.checkpoint.empty() ? std::string("the start of that stage") : s.checkpoint));
      }
      *trained = !scores.has_value();
      if (!scores) {
        train::SampleScores all;
        std::vector<std::string> scored = spec_.score_stages;
        scored.push_back(last);
        for (const std::string& stage : scored) {
          if (std::find(stages.begin(), stages.end(), stage) == stages.end()) continue;
          train::Trainer& trainer = *run.stage(stage).trainer;
          const bool is_last = stage == last;
          for (auto& [name, t] : trainer.score(*fold.eval, is_last ? extras_ : std::vector<train::ExtraScorer>{})) {
            all[is_last ? name : stage + "/" + name] = t;
          }
        }
        parameters_[v.name] = count_parameters(run.stage(last).trainer->task());
        save_cached(dir / "scores.json", key, Cached{all, parameters_[v.name]});
        scores = all;
      }
      for (const BaselineSpec* b : uncached) {
        const std::string stage = baseline_stage(*b);
        train::Trainer& trainer = *run.stage(stage).trainer;
        train::EvalContext ctx;
        ctx.device = trainer.device();
        ctx.batch_size = spec_.eval_batch_size;
        auto baseline = train::create_baseline(b->spec, "baseline '" + b->name + "'");
        train::SampleScores bs = train::score_dataset(
            trainer.task(), *fold.eval, ctx, [&](const data::Batch& batch) { return baseline->predict(batch); },
            stage == last ? extras_ : std::vector<train::ExtraScorer>{});
        const fs::path bdir = run_dir("_baselines/" + b->name, seed, fold);
        const std::string bkey = hash_key(json{{"baseline", b->spec}, {"stage", train::stage_config(cfg, stage, {}).at("task")},
                                               {"eval", eval_id}, {"scorers", spec_.scorers}});
        save_cached(bdir / "scores.json", bkey, Cached{bs, 0});
        baseline_scores.emplace_back(b, bs);
      }
    }
    for (auto& [b, bs] : baseline_scores) {
      // A baseline of an earlier stage is named like that stage's scores in the variants.
      const std::string stage = baseline_stage(*b);
      train::SampleScores named;
      for (auto& [name, t] : bs) named[stage == last ? name : stage + "/" + name] = t;
      merge(merged[b->name], named, fold);
      baselines_done.insert(b->name);
    }
    return *scores;
  }

  /// Rows in table order: variants, derived rows, baselines.
  struct RowInfo {
    std::string name, label;
  };
  std::vector<RowInfo> rows() const {
    std::vector<RowInfo> r;
    for (const auto& v : variants_) r.push_back({v.name, v.label});
    for (const auto& d : spec_.derived_rows) r.push_back({"derived:" + d.label, d.label});
    for (const auto& b : spec_.baselines) r.push_back({b.name, b.label});
    return r;
  }

  /// [S, N] of a row's metric (NaN rows for seeds where it is missing); undefined when it has none.
  torch::Tensor matrix(const std::string& row, const std::string& metric) const {
    std::string source_row = row, source_metric = metric;
    for (const auto& d : spec_.derived_rows) {
      if (row == "derived:" + d.label && metric == d.as) source_row = d.variant, source_metric = d.metric;
      else if (row == "derived:" + d.label) return {};
    }
    auto r = scores_.find(source_row);
    if (r == scores_.end()) return {};
    auto m = r->second.find(source_metric);
    if (m == r->second.end()) return {};
    return torch::stack(m->second);
  }

  ExperimentResult tabulate() {
    ExperimentResult result;
    for (const auto& row : rows()) {
      for (const auto& metric : spec_.metrics) {
        const torch::Tensor m = matrix(row.name, metric.name);
        if (!m.defined()) continue;
        Cell cell;
        for (int64_t s = 0; s < m.size(0); ++s) cell.per_seed.push_back(nan_mean(m[s]));
        cell.value = mean_std(cell.per_seed);
        result.cells[row.name][metric.name] = cell;
      }
    }
    for (const auto& v : variants_) {
      for (const auto& against : spec_.compare_to) {
        if (against == v.name) continue;
        if (!scores_.count(against)) continue;  // a variant not run (--only)
        for (const auto& metric_name : spec_.compare) {
          const torch::Tensor a = matrix(v.name, metric_name), b = matrix(against, metric_name);
          if (!a.defined() || !b.defined()) continue;
          Comparison c;
          c.row = v.name;
          c.against = against;
          c.metric = metric_name;
          try {
            c.interval = paired_interval(a, b);
          } catch (const std::invalid_argument&) {
            continue;  // no sample scored by both
          }
          const MetricSpec& m = metric(metric_name);
          c.verdict = verdict(c.interval, m.higher_is_better);
          result.comparisons.push_back(c);
        }
      }
    }
    return result;
  }

  const MetricSpec& metric(const std::string& name) const {
    for (const auto& m : spec_.metrics) {
      if (m.name == name) return m;
    }
    throw Error("experiment: no metric '" + name + "'");
  }

  std::string label_of(const std::string& row) const {
    for (const auto& r : rows()) {
      if (r.name == row) return r.label;
    }
    return row;
  }

  void write(ExperimentResult& result, double seconds) {
    std::ostringstream note;
    note << data_note_ << "; seeds " << join_names([&] {
      std::vector<std::string> s;
      for (int64_t x : seeds_) s.push_back(std::to_string(x));
      return s;
    }()) << "; mean ± std over seeds";
    if (!spec_.base_source.empty()) note << "; base " << spec_.base_source;
    if (!options_.command.empty()) note << "; command: " << options_.command;

    eval::ReportTable main;
    main.title = spec_.description.empty() ? "experiment " + spec_.name : spec_.description;
    if (options_.split == "selection") main.title += " (selection split: for choosing settings)";
    main.columns = {"method"};
    for (const auto& m : spec_.metrics) main.columns.push_back(m.label);
    main.columns.push_back("parameters");
    for (const auto& row : rows()) {
      std::vector<json> cells{row.label};
      bool any = false;
      for (const auto& m : spec_.metrics) {
        auto r = result.cells.find(row.name);
        if (r == result.cells.end() || !r->second.count(m.name) || std::isnan(r->second.at(m.name).value.mean)) {
          cells.push_back("");
          continue;
        }
        any = true;
        const MeanStd& v = r->second.at(m.name).value;
        cells.push_back(fmt(v.mean * m.scale, m.precision) +
                        (seeds_.size() > 1 ? " ± " + fmt(v.std * std::abs(m.scale), m.precision) : std::string()));
      }
      auto p = parameters_.find(row.name);
      cells.push_back(p == parameters_.end() ? json("") : json(p->second));
      if (any) main.rows.push_back(cells);
    }
    main.note = note.str();
    result.tables.push_back(main);

    if (!result.comparisons.empty()) {
      eval::ReportTable paired;
      paired.title = "Paired differences (method − comparison) on the same samples, with bootstrap 95% intervals over "
                     "samples and seeds; ✓ interval on the better side of zero, ✗ on the worse side";
      paired.columns = {"method", "against"};
      for (const auto& name : spec_.compare) paired.columns.push_back("Δ " + metric(name).label);
      std::map<std::pair<std::string, std::string>, std::map<std::string, const Comparison*>> by_pair;
      std::vector<std::pair<std::string, std::string>> order;
      for (const auto& c : result.comparisons) {
        const auto key = std::make_pair(c.row, c.against);
        if (!by_pair.count(key)) order.push_back(key);
        by_pair[key][c.metric] = &c;
      }
      for (const auto& key : order) {
        std::vector<json> cells{label_of(key.first), label_of(key.second)};
        for (const auto& name : spec_.compare) {
          auto it = by_pair[key].find(name);
          if (it == by_pair[key].end()) {
            cells.push_back("");
            continue;
          }
          const MetricSpec& m = metric(name);
          const PairedInterval& iv = it->second->interval;
          const double s = m.scale;
          const double lo = std::min(iv.low * s, iv.high * s), hi = std::max(iv.low * s, iv.high * s);
          cells.push_back(signed_fmt(iv.mean * s, m.precision) + " [" + signed_fmt(lo, m.precision) + ", " +
                          signed_fmt(hi, m.precision) + "]" +
                          (it->second->verdict > 0 ? " ✓" : it->second->verdict < 0 ? " ✗" : ""));
        }
        paired.rows.push_back(cells);
      }
      paired.note = note.str();
      result.tables.push_back(paired);
    }

    if (!spec_.confusion.is_null()) {
      const std::string variant = spec_.confusion.at("variant").get<std::string>();
      const torch::Tensor label = matrix(variant, "label"), pred = matrix(variant, "prediction");
      if (label.defined() && pred.defined()) {
        const torch::Tensor ok = ~torch::isnan(label) & ~torch::isnan(pred);
        const torch::Tensor y = label.masked_select(ok).to(torch::kLong), p = pred.masked_select(ok).to(torch::kLong);
        std::vector<std::string> names = spec_.confusion.value("class_names", std::vector<std::string>{});
        const int64_t k = std::max<int64_t>(static_cast<int64_t>(names.size()),
                                            y.numel() ? std::max(y.max().item<int64_t>(), p.max().item<int64_t>()) + 1 : 0);
        const torch::Tensor cm = metrics::confusion_matrix(p, y, k);
        eval::ReportTable t;
        t.title = "Confusion matrix of " + label_of(variant) + ", summed over seeds and folds (rows: truth, columns: "
                  "prediction, % of row)";
        t.columns = {"truth"};
        auto name = [&](int64_t c) { return c < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(c)] : std::to_string(c); };
        for (int64_t c = 0; c < k; ++c) t.columns.push_back(name(c));
        for (int64_t r = 0; r < k; ++r) {
          std::vector<json> cells{name(r)};
          const double n = static_cast<double>(std::max<int64_t>(cm[r].sum().item<int64_t>(), 1));
          for (int64_t c = 0; c < k; ++c) cells.push_back(100.0 * static_cast<double>(cm[r][c].item<int64_t>()) / n);
          t.rows.push_back(cells);
        }
        t.precision = 1;
        t.note = note.str();
        result.tables.push_back(t);
      }
    }

    const fs::path out(options_.out_dir);
    const std::vector<std::string> suffixes{"", "_paired", "_confusion"};
    std::ostringstream md;
    md << "# " << spec_.name << "\n\n";
    for (size_t i = 0; i < result.tables.size(); ++i) {
      const std::string file = (out / (spec_.name + suffixes[std::min(i, suffixes.size() - 1)] + ".table.json")).string();
      eval::write_table(result.tables[i], file);
      result.files.push_back(file);
      md << eval::table_to_markdown(result.tables[i]) << "\n";
    }
    const std::string md_file = (out / (spec_.name + ".md")).string();
    write_file_atomic(md_file, md.str());
    result.files.push_back(md_file);

    json cells = json::object();
    for (const auto& [row, metrics] : result.cells) {
      for (const auto& [m, c] : metrics) {
        cells[row][m] = {{"mean", c.value.mean}, {"std", c.value.std}, {"per_seed", c.per_seed}};
      }
    }
    json comparisons = json::array();
    for (const auto& c : result.comparisons) {
      comparisons.push_back({{"row", c.row}, {"against", c.against}, {"metric", c.metric}, {"mean", c.interval.mean},
                             {"low", c.interval.low}, {"high", c.interval.high}, {"per_seed", c.interval.per_seed},
                             {"pairs", c.interval.pairs}, {"verdict", c.verdict}});
    }
    const json results = {{"name", spec_.name}, {"split", options_.split}, {"seeds", seeds_}, {"samples", eval_size_},
                          {"data", data_note_}, {"cells", cells}, {"comparisons", comparisons},
                          {"parameters", parameters_}, {"seconds", seconds}, {"command", options_.command}};
    const std::string rfile = (out / (spec_.name + ".results.json")).string();
    write_file_atomic(rfile, results.dump(2) + "\n");
    result.files.push_back(rfile);
    out_ << md.str();
  }

  const ExperimentSpec& spec_;
  RunOptions options_;
  std::ostream& out_;
  std::vector<int64_t> seeds_;
  std::vector<VariantSpec> variants_;
  std::map<std::string, std::shared_ptr<const data::Dataset>> datasets_;
  std::shared_ptr<const data::Dataset> eval_, pool_;
  size_t eval_size_ = 0;
  std::vector<int64_t> fold_of_;
  std::string data_note_;
  std::vector<train::ExtraScorer> extras_;
  /// Row -> metric -> per-seed [N].
  std::map<std::string, RowScores> scores_;
  std::map<std::string, int64_t> parameters_;
};

}  // namespace

void validate_experiment(const ExperimentSpec& spec, const RunOptions& options) { Runner(spec, options).validate(); }

ExperimentResult run_experiment(const ExperimentSpec& spec, const RunOptions& options) {
  return Runner(spec, options).run();
}

}  // namespace facegan::experiment
