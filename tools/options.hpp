#pragma once
// Option values the commands parse alike.

#include <facegan/core/error.hpp>

#include <torch/types.h>

#include <string>

namespace facegan::cli {

/// A --device value (cpu, cuda, cuda:N); ConfigError naming the option when it is not one.
inline torch::Device parse_device(const std::string& text) {
  try {
    return torch::Device(text);
  } catch (const std::exception&) {
    throw ConfigError("--device: '" + text + "' is not a device (cpu, cuda, cuda:1)");
  }
}

}  // namespace facegan::cli
