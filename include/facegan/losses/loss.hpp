#pragma once

#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>
#include <facegan/core/registry.hpp>

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <utility>

namespace facegan::losses {

/// A configurable loss term. Every loss is built by name from JSON through `loss_registry()`,
/// writes itself back with `to_json()`, and multiplies every value it returns by `weight()`, so a
/// task's recipe can simply sum the terms it builds from config.
class Loss {
 public:
  virtual ~Loss() = default;

  /// The family as it reads in error messages ("a loss"); each interface below overrides it.
  static constexpr const char* kKind = "a loss";

  /// The registry name this loss is built under ("l1", "hinge", ...).
  virtual std::string type() const = 0;
  /// All options including "type": `create_loss(to_json())` rebuilds an equal loss.
  virtual json to_json() const = 0;
  /// The factor applied to every value this loss returns (option "weight", default 1).
  virtual double weight() const = 0;
};

/// Options of the losses whose only setting is their weight (l1, l2, hinge, kl_normal, ...).
struct WeightOptions {
  double weight = 1.0;
  template <class V>
  void visit(V& v) {
    v("weight", weight);
  }
};

/// Elementwise distance shared by reconstruction and feature-matching losses; spelled "l1"/"l2".
enum class Distance { kL1, kL2 };

}  // namespace facegan::losses

namespace facegan {
/// Config spellings of losses::Distance.
template <>
struct EnumNames<losses::Distance> {
  static constexpr std::array<std::pair<losses::Distance, const char*>, 2> values{
      {{losses::Distance::kL1, "l1"}, {losses::Distance::kL2, "l2"}}};
};
}  // namespace facegan

namespace facegan::losses {

/// Elementwise |a - b| (kL1) or (a - b)^2 (kL2); a and b broadcast as in torch.
torch::Tensor elementwise_distance(Distance distance, const torch::Tensor& a, const torch::Tensor& b);

/// Throws ConfigError when `value` is negative or not finite: a negative weight would silently
/// turn a minimised term into a maximised one.
void check_non_negative(double value, const char* key);

/// Implements the bookkeeping every concrete loss shares (type, JSON, weight) from its options
/// struct, the way torch::nn::Cloneable implements clone() for modules.
///
/// `Derived` declares `static constexpr const char* kType`; `Interface` is the family it belongs
/// to (AdversarialLoss, ReconstructionLoss, ... or Loss itself); `OptionsT` has a `weight` field and
/// a `visit()` listing all its fields.
template <class Derived, class Interface, class OptionsT>
class LossImpl : public Interface {
 public:
  using Options = OptionsT;

  explicit LossImpl(Options options) : options(std::move(options)) {
    check_non_negative(this->options.weight, "weight");
  }

  std::string type() const override { return Derived::kType; }
  json to_json() const override {
    json j = options_to_json(options);
    j["type"] = Derived::kType;
    return j;
  }
  double weight() const override { return options.weight; }

  /// The options this loss was built with (read-only in spirit: the constructor validated them).
  Options options;
};

/// The catalogue of losses, filled on first use by the builtin list (every `register_*_losses`).
Registry<Loss>& loss_registry();

/// Adds the concrete loss `T` to `registry` under `T::kType`: its factory applies the JSON options
/// onto `T::Options{}` (rejecting unknown keys) and its listed defaults are those options.
template <class T>
void add_loss(Registry<Loss>& registry, std::string summary) {
  registry.add(
      T::kType,
      [](const json& options) -> std::shared_ptr<Loss> {
        return std::make_shared<T>(apply_json(typename T::Options{}, options));
      },
      std::move(summary), options_to_json(typename T::Options{}));
}

/// Builds a loss from `{"type": name, ...options}`. `where` is the config path used as the prefix
/// of every ConfigError (missing or non-string "type", unknown type with the known names listed,
/// unknown option, wrong option type, invalid value).
std::shared_ptr<Loss> create_loss(const json& spec, const std::string& where = "");

/// `create_loss`, then a check that the loss belongs to family `T` (e.g. AdversarialLoss): a recipe
/// that needs an adversarial loss gets "losses.adv: loss 'l1' is not an adversarial loss" instead
/// of a null pointer.
template <class T>
std::shared_ptr<T> create_loss_as(const json& spec, const std::string& where = "") {
  std::shared_ptr<Loss> loss = create_loss(spec, where);
  std::shared_ptr<T> typed = std::dynamic_pointer_cast<T>(loss);
  if (!typed) {
    throw ConfigError((where.empty() ? std::string() : where + ": ") + "loss '" + loss->type() +
                      "' is not " + T::kKind);
  }
  return typed;
}

}  // namespace facegan::losses
