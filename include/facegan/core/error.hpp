#pragma once

#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>

namespace facegan {

/// Base of every error facegan throws on purpose. Messages say what failed, where
/// (file, key, index) and what was expected, so that `main` can print `what()` and stop.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A configuration value or key is wrong: unknown key, wrong type, value out of range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A data file is missing, corrupt or does not match its expected layout.
class DataError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint cannot be written or read back.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

/// A run stopped on SIGINT/SIGTERM (after writing its checkpoint) where the caller needed it to
/// finish: programs that chain several trainings stop instead of going on with a partial model.
class Interrupted : public Error {
 public:
  using Error::Error;
};

/// The message to show a user for `e`: LibTorch's errors (TORCH_CHECK) without their C++ stack
/// trace, everything else as `what()`. Programs print this in their catch at `main`.
inline std::string error_message(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

}  // namespace facegan
