#include <facegan/core/error.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/models/makeup/makeup_task.hpp>
#include <facegan/models/open_set/open_set_task.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/task.hpp>

#include <algorithm>

namespace facegan::train {
namespace {

/// The builtin list of tasks: the one place that names every paper's task.
void register_builtin_tasks(Registry<Task>& registry) {
  models::register_pix2pix_task(registry);
  models::register_derl_task(registry);
  models::register_makeup_task(registry);
  models::register_open_set_tasks(registry);
}

std::string prefix(const std::string& where) { return where.empty() ? std::string() : where + ": "; }

}  // namespace

Registry<Task>& task_registry() {
  static Registry<Task> registry = [] {
    Registry<Task> r("task");
    register_builtin_tasks(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<Task> create_task(const json& spec, const std::string& where) {
  const Registry<Task>& registry = task_registry();
  if (!spec.is_object()) {
    throw ConfigError(prefix(where) + "a task is an object {\"type\": name, ...options}, got " + spec.dump());
  }
  auto type_it = spec.find("type");
  if (type_it == spec.end() || !type_it->is_string()) {
    throw ConfigError(prefix(where) + "a task needs a string \"type\"; known: " + join_names(registry.names()));
  }
  const std::string type = type_it->get<std::string>();
  json options = spec;
  options.erase("type");
  const Registry<Task>::Entry* entry = nullptr;
  try {
    entry = &registry.entry(type);
  } catch (const ConfigError& e) {
    throw ConfigError(prefix(where) + e.what());
  }
  try {
    return entry->factory(options);
  } catch (const ConfigError& e) {
    throw ConfigError(prefix(where + " (task '" + type + "')") + e.what());
  }
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
