#include <facegan/core/error.hpp>
#include <facegan/core/json_keys.hpp>
#include <facegan/experiment/experiment.hpp>
#include <facegan/train/pipeline.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace facegan::experiment {
namespace {

template <class T>
T get(const json& object, const std::string& key, const std::string& where, T fallback) {
  if (!object.contains(key)) return fallback;
  T value = fallback;
  detail::read_value(object.at(key), value, where + "." + key);
  return value;
}

std::string name_of(const json& entry, const std::string& where) {
  if (!entry.is_object() || !entry.contains("name") || !entry.at("name").is_string() ||
      !is_snake_name(entry.at("name").get<std::string>())) {
    throw ConfigError(where + ".name: a lowercase snake name ([a-z][a-z0-9_]*) is required");
  }
  return entry.at("name").get<std::string>();
}

/// A single-run config {"trainer", "task", "data"} as a one-stage pipeline named after its task.
json as_pipeline(const json& config, const std::string& where) {
  if (train::is_pipeline(config)) return config;
  if (!config.is_object() || !config.contains("task") || !config.at("task").is_object() ||
      !config.at("task").contains("type") || !config.at("task").at("type").is_string()) {
    throw ConfigError(where + ": a config with \"stages\", or a single run with a \"task\" that has a \"type\"");
  }
  require_known_keys(config, {"trainer", "task", "data"}, where);
  json stage = {{"name", config.at("task").at("type")}, {"task", config.at("task")}};
  json pipeline = {{"stages", json::array({stage})}};
  if (config.contains("trainer")) pipeline["trainer"] = config.at("trainer");
  if (config.contains("data")) pipeline["data"] = config.at("data");
  return pipeline;
}

/// A relative base path is looked up from the working folder, then from the spec file's folder and
/// each folder above it (so "configs/x.json" in configs/experiments/y.json works from anywhere).
std::string resolve_base(const std::string& path, const std::string& spec_file) {
  namespace fs = std::filesystem;
  if (fs::path(path).is_absolute() || fs::exists(path) || spec_file.empty()) return path;
  for (fs::path dir = fs::absolute(spec_file).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / path)) return (dir / path).string();
    if (dir == dir.root_path()) break;
  }
  return path;  // load_json_file names it in its error
}

}  // namespace

ExperimentSpec parse_spec(const json& j, const std::string& spec_file) {
  require_known_keys(j, {"name", "description", "base", "set", "variants", "baselines", "data", "seeds", "score_stages",
                 "metrics", "compare", "compare_to", "derived_rows", "confusion", "scorers", "eval_batch_size"},
             "spec");
  ExperimentSpec s;
  for (const char* key : {"name", "base", "variants", "data", "seeds", "metrics"}) {
    if (!j.contains(key)) throw ConfigError(std::string("spec: missing '") + key + "'");
  }
  s.name = get<std::string>(j, "name", "spec", "");
  if (!is_snake_name(s.name)) throw ConfigError("spec.name: a lowercase snake name is required (file names use it)");
  s.description = get<std::string>(j, "description", "spec", "");
  if (j.at("base").is_string()) {
    s.base_source = j.at("base").get<std::string>();
    s.base = as_pipeline(load_json_file(resolve_base(s.base_source, spec_file)), "spec.base (" + s.base_source + ")");
  } else {
    s.base = as_pipeline(j.at("base"), "spec.base");
  }
  train::pipeline_stage_names(s.base);  // its structure, before anything refers to its stages
  s.set = j.value("set", json::object());
  if (!s.set.is_object()) throw ConfigError("spec.set: expected an object {dotted path: value}");

  const json& variants = j.at("variants");
  if (!variants.is_array() || variants.empty()) throw ConfigError("spec.variants: a non-empty list of {\"name\", \"set\"}");
  std::set<std::string> names;
  for (size_t i = 0; i < variants.size(); ++i) {
    const std::string where = "spec.variants[" + std::to_string(i) + "]";
    require_known_keys(variants[i], {"name", "label", "set", "description"}, where);
    VariantSpec v;
    v.name = name_of(variants[i], where);
    v.label = get<std::string>(variants[i], "label", where, v.name);
    v.set = variants[i].value("set", json::object());
    if (!v.set.is_object()) throw ConfigError(where + ".set: expected an object {dotted path: value}");
    if (!names.insert(v.name).second) throw ConfigError(where + ".name: '" + v.name + "' appears twice");
    s.variants.push_back(std::move(v));
  }
  const json baselines = j.value("baselines", json::array());
  if (!baselines.is_array()) throw ConfigError("spec.baselines: expected a list");
  for (size_t i = 0; i < baselines.size(); ++i) {
    const std::string where = "spec.baselines[" + std::to_string(i) + "]";
    BaselineSpec b;
    b.name = name_of(baselines[i], where);
    if (!names.insert(b.name).second) throw ConfigError(where + ".name: '" + b.name + "' is already a variant or baseline");
    b.label = get<std::string>(baselines[i], "label", where, b.name);
    b.stage = get<std::string>(baselines[i], "stage", where, "");
    b.spec = baselines[i];
    for (const char* key : {"name", "label", "stage"}) b.spec.erase(key);
    if (!b.spec.contains("type")) throw ConfigError(where + ": missing 'type' (a registered baseline)");
    s.baselines.push_back(std::move(b));
  }

  const json& data = j.at("data");
  require_known_keys(data, {"protocol", "train", "selection", "held_out", "pool", "train_seed_key", "folds", "split_seed",
                    "identity_key"},
             "spec.data");
  s.data.protocol = get<std::string>(data, "protocol", "spec.data", "split");
  s.data.train_seed_key = get<std::string>(data, "train_seed_key", "spec.data", "");
  s.data.folds = get<int64_t>(data, "folds", "spec.data", 5);
  s.data.split_seed = get<int64_t>(data, "split_seed", "spec.data", 0);
  s.data.identity_key = get<std::string>(data, "identity_key", "spec.data", "identity");
  if (s.data.protocol == "split") {
    for (const char* key : {"train", "held_out"}) {
      if (!data.contains(key)) throw ConfigError(std::string("spec.data.") + key + ": missing (protocol 'split' needs train and held_out)");
    }
    s.data.train = data.at("train");
    s.data.held_out = data.at("held_out");
    s.data.selection = data.value("selection", json());
  } else if (s.data.protocol == "folds") {
    if (!data.contains("pool")) throw ConfigError("spec.data.pool: missing (protocol 'folds' splits a pool by identity)");
    s.data.pool = data.at("pool");
    if (s.data.folds < 2) throw ConfigError("spec.data.folds: at least 2, got " + std::to_string(s.data.folds));
  } else {
    throw ConfigError("spec.data.protocol: expected 'split' or 'folds', got '" + s.data.protocol + "'");
  }

  s.seeds = get<std::vector<int64_t>>(j, "seeds", "spec", {});
  if (s.seeds.empty()) throw ConfigError("spec.seeds: at least one seed");
  s.score_stages = get<std::vector<std::string>>(j, "score_stages", "spec", {});
  const json& metrics = j.at("metrics");
  if (!metrics.is_array() || metrics.empty()) throw ConfigError("spec.metrics: a non-empty list of {\"name\", ...}");
  std::set<std::string> metric_names;
  for (size_t i = 0; i < metrics.size(); ++i) {
    const std::string where = "spec.metrics[" + std::to_string(i) + "]";
    require_known_keys(metrics[i], {"name", "label", "scale", "precision", "higher_is_better"}, where);
    MetricSpec m;
    if (!metrics[i].contains("name") || !metrics[i].at("name").is_string()) throw ConfigError(where + ".name: missing");
    m.name = metrics[i].at("name").get<std::string>();
    m.label = get<std::string>(metrics[i], "label", where, m.name);
    m.scale = get<double>(metrics[i], "scale", where, 1.0);
    m.precision = get<int>(metrics[i], "precision", where, 3);
    m.higher_is_better = get<bool>(metrics[i], "higher_is_better", where, true);
    if (!metric_names.insert(m.name).second) throw ConfigError(where + ".name: '" + m.name + "' appears twice");
    s.metrics.push_back(m);
  }
  s.compare = get<std::vector<std::string>>(j, "compare", "spec", {});
  for (size_t i = 0; i < s.compare.size(); ++i) {
    if (!metric_names.count(s.compare[i])) {
      throw ConfigError("spec.compare[" + std::to_string(i) + "]: '" + s.compare[i] + "' is not a metric of the spec");
    }
  }
  if (s.compare.empty()) {
    for (const auto& m : s.metrics) s.compare.push_back(m.name);
  }
  s.compare_to = get<std::vector<std::string>>(j, "compare_to", "spec", {});
  for (size_t i = 0; i < s.compare_to.size(); ++i) {
    if (!names.count(s.compare_to[i])) {
      throw ConfigError("spec.compare_to[" + std::to_string(i) + "]: '" + s.compare_to[i] +
                        "' is no variant or baseline; known: " + join_names(std::vector<std::string>(names.begin(), names.end())));
    }
  }
  if (s.compare_to.empty()) {
    for (const auto& b : s.baselines) s.compare_to.push_back(b.name);
  }
  const json derived = j.value("derived_rows", json::array());
  if (!derived.is_array()) throw ConfigError("spec.derived_rows: expected a list");
  for (size_t i = 0; i < derived.size(); ++i) {
    const std::string where = "spec.derived_rows[" + std::to_string(i) + "]";
    require_known_keys(derived[i], {"label", "variant", "metric", "as"}, where);
    DerivedRow r;
    r.label = get<std::string>(derived[i], "label", where, "");
    r.variant = get<std::string>(derived[i], "variant", where, "");
    r.metric = get<std::string>(derived[i], "metric", where, "");
    r.as = get<std::string>(derived[i], "as", where, "");
    if (r.label.empty() || r.metric.empty()) throw ConfigError(where + ": 'label' and 'metric' are required");
    if (std::none_of(s.variants.begin(), s.variants.end(), [&](const VariantSpec& v) { return v.name == r.variant; })) {
      throw ConfigError(where + ".variant: '" + r.variant + "' is not a variant of the spec");
    }
    if (!metric_names.count(r.as)) throw ConfigError(where + ".as: '" + r.as + "' is not a metric of the spec");
    s.derived_rows.push_back(r);
  }
  s.confusion = j.value("confusion", json());
  if (!s.confusion.is_null()) {
    require_known_keys(s.confusion, {"variant", "class_names"}, "spec.confusion");
    const std::string v = get<std::string>(s.confusion, "variant", "spec.confusion", "");
    if (std::none_of(s.variants.begin(), s.variants.end(), [&](const VariantSpec& x) { return x.name == v; })) {
      throw ConfigError("spec.confusion.variant: '" + v + "' is not a variant of the spec");
    }
    get<std::vector<std::string>>(s.confusion, "class_names", "spec.confusion", {});
  }
  const json scorers = j.value("scorers", json::array());
  if (!scorers.is_array()) throw ConfigError("spec.scorers: expected a list");
  for (const auto& sc : scorers) s.scorers.push_back(sc);
  s.eval_batch_size = get<int64_t>(j, "eval_batch_size", "spec", 32);
  if (s.eval_batch_size < 1) throw ConfigError("spec.eval_batch_size: must be >= 1");
  return s;
}

}  // namespace facegan::experiment
