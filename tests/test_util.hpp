#pragma once
// Helpers shared by test files.

#include <facegan/train/trainer.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

namespace facegan::testing {

/// An empty scratch folder under the system temp folder, unique per test process.
inline std::string fresh_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("facegan_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

/// Trainer options for short runs inside tests: CPU, seeded, quiet, no samples, checkpoints only
/// at the end, starting afresh in `dir`.
inline train::TrainerOptions quiet_trainer(const std::string& dir, int64_t steps) {
  return train::TrainerOptions()
      .steps(steps)
      .seed(3)
      .device("cpu")
      .threads(at::get_num_threads())
      .progress(train::ProgressMode::kNone)
      .sample_every(0)
      .checkpoint_every(0)
      .log_every(1000)
      .out_dir(dir)
      .resume("none");
}

}  // namespace facegan::testing
