#pragma once

#include <facegan/core/error.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace facegan {

/// True when `name` is a lowercase snake name (`[a-z][a-z0-9_]*`), the only form registries accept.
bool is_snake_name(const std::string& name);

/// Joins names as "a, b, c" for error messages that list what is known.
std::string join_names(const std::vector<std::string>& names);

/// A named catalogue of factories: tasks, losses and datasets are built from JSON by name.
///
/// Registries are filled by explicit `register_*()` calls from one builtin list, never by static
/// self-registering objects (a static archive's linker would drop those). Adding entries is not
/// thread-safe; do it at start-up.
template <class Product>
class Registry {
 public:
  using Factory = std::function<std::shared_ptr<Product>(const nlohmann::json& options)>;

  /// One registered product: its factory, a one-line summary and its default options (for `list`).
  struct Entry {
    Factory factory;
    std::string summary;
    nlohmann::json defaults;
  };

  /// `kind` names the catalogue in error messages ("loss", "task", "dataset").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Adds a product; the name must be snake case and new.
  void add(const std::string& name, Factory factory, std::string summary,
           nlohmann::json defaults = nlohmann::json::object()) {
    if (!is_snake_name(name)) {
      throw Error(kind_ + " name '" + name + "' is not a lowercase snake name ([a-z][a-z0-9_]*)");
    }
    if (entries_.count(name) != 0) {
      throw Error(kind_ + " '" + name + "' is registered twice");
    }
    entries_.emplace(name, Entry{std::move(factory), std::move(summary), std::move(defaults)});
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  /// The entry of `name`; throws ConfigError listing the known names when there is none.
  const Entry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw ConfigError("unknown " + kind_ + " '" + name + "'; known: " + join_names(names()));
    }
    return it->second;
  }

  /// Builds `name` from its options (the JSON object without the "type" key).
  std::shared_ptr<Product> create(const std::string& name, const nlohmann::json& options) const {
    return entry(name).factory(options);
  }

  /// Builds a product from its spec `{"type": name, ...options}`. Every ConfigError is prefixed by
  /// `where` (the config key, e.g. "data.train"): a spec that is not an object, a missing or
  /// non-string "type", an unknown type (listing the known names) and the factory's own errors
  /// (naming the type as well).
  std::shared_ptr<Product> create_from_spec(const nlohmann::json& spec, const std::string& where) const {
    const std::string at = where.empty() ? std::string() : where + ": ";
    if (!spec.is_object()) {
      throw ConfigError(at + "a " + kind_ + " is an object {\"type\": name, ...options}, got " + spec.dump());
    }
    auto type_it = spec.find("type");
    if (type_it == spec.end() || !type_it->is_string()) {
      throw ConfigError(at + "a " + kind_ + " needs a string \"type\"" +
                        (type_it == spec.end() ? std::string() : ", got " + type_it->dump()) +
                        "; known: " + join_names(names()));
    }
    const std::string type = type_it->template get<std::string>();
    const Entry* found = nullptr;
    try {
      found = &entry(type);
    } catch (const ConfigError& e) {
      throw ConfigError(at + e.what());
    }
    nlohmann::json options = spec;
    options.erase("type");
    try {
      return found->factory(options);
    } catch (const ConfigError& e) {
      // Factories apply options without a path: name the config key and the type here.
      throw ConfigError((where.empty() ? kind_ + " '" + type + "'" : where + " (" + kind_ + " '" + type + "')") +
                        ": " + e.what());
    }
  }

  /// Registered names in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace facegan
