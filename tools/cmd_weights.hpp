#pragma once
// The `facegan` commands of docs/python-weights.md: `import` (a PyTorch state dict into a
// checkpoint), `export` (a checkpoint's network as a state dict) and `infer translate` (a pix2pix
// generator on an image).

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

/// Registers the three commands on `app` and on its `infer` command; run() runs the one chosen.
class WeightsCommands {
 public:
  WeightsCommands(CLI::App& app, CLI::App& infer);
  /// The exit code of the chosen command; nullopt when none of these was chosen.
  std::optional<int> run() const;

 private:
  struct Args;
  std::shared_ptr<Args> args_;
  CLI::App* import_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* translate_ = nullptr;
};
