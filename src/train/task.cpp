#include "builtin_tasks.hpp"

#include <facegan/core/error.hpp>
#include <facegan/train/task.hpp>

#include <algorithm>

namespace facegan::train {

Registry<Task>& task_registry() {
  static Registry<Task> registry = [] {
    Registry<Task> r("task");
    register_builtin_tasks(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<Task> create_task(const json& spec, const std::string& where) {
  return task_registry().create_from_spec(spec, where);
}

Registry<Baseline>& baseline_registry() {
  static Registry<Baseline> registry = [] {
    Registry<Baseline> r("baseline");
    register_builtin_baselines(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<Baseline> create_baseline(const json& spec, const std::string& where) {
  return baseline_registry().create_from_spec(spec, where);
}

const torch::Tensor& output_at(const Outputs& outputs, const std::string& key) {
  auto it = outputs.find(key);
  if (it == outputs.end()) {
    std::vector<std::string> names;
    for (const auto& kv : outputs) names.push_back(kv.first);
    throw ConfigError("the outputs have no '" + key + "'; they have: " + join_names(names));
  }
  return it->second;
}

json Task::evaluate(const data::Dataset& dataset, const EvalContext& ctx) {
  return summarize_scores(score_dataset(*this, dataset, ctx));
}

Outputs Task::predict(const data::Batch&) {
  throw ConfigError("task '" + type() + "' has no per-sample evaluation (Task::predict)");
}

SampleScores Task::score_batch(const data::Batch&, const Outputs&) {
  throw ConfigError("task '" + type() + "' has no per-sample evaluation (Task::score_batch)");
}

SampleScores score_dataset(Task& task, const data::Dataset& dataset, const EvalContext& ctx,
                           const std::function<Outputs(const data::Batch&)>& predict,
                           const std::vector<ExtraScorer>& extra) {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::vector<torch::Tensor>> parts;
  int64_t seen = 0;
  for_each_batch(dataset, ctx, [&](const data::Batch& batch) {
    Outputs outputs;
    {
      AutocastGuard amp(ctx.amp, ctx.device);
      outputs = predict(batch);
    }
    for (auto& [name, t] : outputs) {
      if (t.is_floating_point()) t = t.to(torch::kFloat);
    }
    SampleScores scores = task.score_batch(batch, outputs);
    for (const auto& scorer : extra) {
      for (auto& [name, t] : scorer(batch, outputs)) {
        if (scores.count(name) != 0) throw ConfigError("score '" + name + "' is given twice (task and extra scorer)");
        scores.emplace(name, std::move(t));
      }
    }
    for (const auto& [name, t] : scores) {
      if (t.dim() != 1 || t.size(0) != batch.size()) {
        throw ConfigError("score '" + name + "' of task '" + task.type() + "' must hold one value per sample (" +
                          std::to_string(batch.size()) + "), got shape " + c10::str(t.sizes()));
      }
      auto& list = parts[name];
      if (seen > 0 && list.empty()) {
        // A metric that appears only from some batch on: earlier samples do not have it.
        list.push_back(torch::full({seen}, std::nan(""), torch::kFloat64));
      }
      list.push_back(t.detach().to(torch::kCPU, torch::kFloat64));
    }
    for (auto& [name, list] : parts) {
      if (scores.count(name) == 0) list.push_back(torch::full({batch.size()}, std::nan(""), torch::kFloat64));
    }
    seen += batch.size();
  });
  SampleScores out;
  for (auto& [name, list] : parts) out[name] = torch::cat(list);
  return out;
}

SampleScores score_dataset(Task& task, const data::Dataset& dataset, const EvalContext& ctx,
                           const std::vector<ExtraScorer>& extra) {
  return score_dataset(task, dataset, ctx, [&](const data::Batch& b) { return task.predict(b); }, extra);
}

json summarize_scores(const SampleScores& scores) {
  json j = json::object();
  int64_t samples = 0;
  for (const auto& [name, t] : scores) {
    samples = std::max<int64_t>(samples, t.numel());
    const torch::Tensor ok = ~torch::isnan(t);
    const int64_t n = ok.sum().item<int64_t>();
    j[name] = n > 0 ? json(t.masked_select(ok).sum().item<double>() / static_cast<double>(n)) : json(nullptr);
  }
  j["samples"] = samples;
  return j;
}

void for_each_batch(const data::Dataset& dataset, const EvalContext& ctx,
                    const std::function<void(const data::Batch&)>& fn) {
  TORCH_CHECK(ctx.batch_size > 0, "for_each_batch: batch_size must be > 0");
  size_t n = dataset.size();
  if (ctx.max_samples > 0) n = std::min(n, static_cast<size_t>(ctx.max_samples));
  for (size_t begin = 0; begin < n; begin += static_cast<size_t>(ctx.batch_size)) {
    const size_t end = std::min(n, begin + static_cast<size_t>(ctx.batch_size));
    std::vector<data::Sample> samples;
    samples.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) samples.push_back(dataset.get(i));
    fn(data::collate(samples).to(ctx.device));
  }
}

}  // namespace facegan::train
