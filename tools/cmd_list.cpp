// `facegan list`: the registered data sets, tasks and losses with their default options.
#include "commands.hpp"

#include <facegan/facegan.hpp>

#include <cstdio>

namespace facegan::cli {
namespace {

template <class T>
void print_registry(const char* heading, Registry<T>& registry) {
  std::printf("%s\n", heading);
  for (const auto& name : registry.names()) {
    const auto& entry = registry.entry(name);
    std::printf("  %-24s %s\n", name.c_str(), entry.summary.c_str());
    if (!entry.defaults.empty()) std::printf("  %-24s options: %s\n", "", entry.defaults.dump().c_str());
  }
}

int run_list(const std::string& what) {
  if (what == "all" || what == "datasets") {
    print_registry("data sets (\"dataset\": {\"type\": name, ...options}):", data::dataset_registry());
  }
  if (what == "all" || what == "tasks") {
    print_registry("tasks (\"task\": {\"type\": name, ...options}):", train::task_registry());
  }
  if (what == "all" || what == "losses") {
    print_registry("losses ({\"type\": name, ...options}):", losses::loss_registry());
  }
  return 0;
}

}  // namespace

void add_list_command(CLI::App& app, Invocation& invocation) {
  auto what = std::make_shared<std::string>("all");
  auto* list = app.add_subcommand("list", "List the registered tasks, data sets and losses with their default options");
  list->add_option("what", *what, "all, tasks, datasets or losses")
      ->check(CLI::IsMember({"all", "tasks", "datasets", "losses"}));
  on_run(list, invocation, what, run_list);
}

}  // namespace facegan::cli
