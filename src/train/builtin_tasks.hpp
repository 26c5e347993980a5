#pragma once
// The built-in lists of tasks and baselines, declared here for task_registry() and
// baseline_registry() and defined by the built-in registration (src/builtin/builtins.cpp), the one
// file above the papers that names them all: train/ includes no paper, it only links to that list.

#include <facegan/train/task.hpp>

namespace facegan::train {

/// Fills `registry` with every built-in task (called once, by task_registry()).
void register_builtin_tasks(Registry<Task>& registry);

/// Fills `registry` with every built-in baseline (called once, by baseline_registry()).
void register_builtin_baselines(Registry<Baseline>& registry);

}  // namespace facegan::train
