#pragma once

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

}  // namespace facegan
