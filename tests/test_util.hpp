#pragma once
// Helpers shared by test files.

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

}  // namespace facegan::testing
