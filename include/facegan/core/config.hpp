#pragma once

#include <facegan/core/error.hpp>
#include <facegan/core/registry.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace facegan {

using json = nlohmann::json;

/// Spelling of an enum's values in configs. Specialise with
/// `static constexpr std::array<std::pair<E, const char*>, N> values{...}` next to the enum.
template <class E>
struct EnumNames;

/// The config spelling of `value`.
template <class E>
std::string enum_to_string(E value) {
  for (const auto& [v, name] : EnumNames<E>::values) {
    if (v == value) return name;
  }
  throw Error("enum value " + std::to_string(static_cast<int>(value)) + " has no name");
}

/// Parses the config spelling of an enum; `key` names the setting in the error, which lists the
/// accepted spellings.
template <class E>
E enum_from_string(const std::string& text, const std::string& key) {
  std::vector<std::string> known;
  for (const auto& [v, name] : EnumNames<E>::values) {
    if (text == name) return v;
    known.emplace_back(name);
  }
  throw ConfigError(key + ": unknown value '" + text + "'; expected one of " + join_names(known));
}

namespace detail {

struct AnyField {
  template <class T>
  void operator()(const char*, T&) {}
};
template <class T, class = void>
struct HasVisit : std::false_type {};
template <class T>
struct HasVisit<T, std::void_t<decltype(std::declval<T&>().visit(std::declval<AnyField&>()))>> : std::true_type {};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

/// Reads one visited field; `where` is the dotted key path for messages.
template <class T>
void read_value(const json& j, T& out, const std::string& where);

/// Visitor that applies a JSON object onto an options struct, key by key.
class JsonApplier {
 public:
  JsonApplier(const json& in, std::string where) : in_(in), where_(std::move(where)) {}
  template <class T>
  void operator()(const char* key, T& field) {
    known_.emplace_back(key);
    auto it = in_.find(key);
    if (it != in_.end()) read_value(*it, field, where_.empty() ? key : where_ + "." + key);
  }
  /// Throws ConfigError naming the first key the options do not have, and listing those they do.
  void reject_unknown() const {
    for (auto it = in_.begin(); it != in_.end(); ++it) {
      bool found = false;
      for (const auto& k : known_) found = found || k == it.key();
      if (!found) {
        const std::string path = where_.empty() ? it.key() : where_ + "." + it.key();
        throw ConfigError("unknown option '" + path + "'; known options: " + join_names(known_));
      }
    }
  }

 private:
  const json& in_;
  std::string where_;
  std::vector<std::string> known_;
};

/// Visitor that writes every field of an options struct into a JSON object.
class JsonWriter {
 public:
  template <class T>
  void operator()(const char* key, const T& field);
  json out = json::object();
};

template <class T>
json write_value(const T& value) {
  if constexpr (HasVisit<T>::value) {
    JsonWriter w;
    const_cast<T&>(value).visit(w);
    return w.out;
  } else if constexpr (std::is_enum_v<T>) {
    return enum_to_string(value);
  } else if constexpr (IsVector<T>::value) {
    json arr = json::array();
    for (const auto& v : value) arr.push_back(write_value(v));
    return arr;
  } else {
    return json(value);
  }
}

template <class T>
void JsonWriter::operator()(const char* key, const T& field) {
  out[key] = write_value(field);
}

template <class T>
void read_value(const json& j, T& out, const std::string& where) {
  auto type_error = [&](const char* expected) {
    return ConfigError(where + ": expected " + expected + ", got " + j.dump());
  };
  if constexpr (HasVisit<T>::value) {
    if (!j.is_object()) throw type_error("an object");
    JsonApplier applier(j, where);
    out.visit(applier);
    applier.reject_unknown();
  } else if constexpr (std::is_enum_v<T>) {
    if (!j.is_string()) throw type_error("a string");
    out = enum_from_string<T>(j.get<std::string>(), where);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) throw type_error("true or false");
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (j.is_number_integer()) {
      out = j.get<T>();
    } else if (j.is_number_float() && std::floor(j.get<double>()) == j.get<double>()) {
      out = static_cast<T>(j.get<double>());
    } else {
      throw type_error("an integer");
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) throw type_error("a number");
    out = j.get<T>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) throw type_error("a string");
    out = j.get<std::string>();
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) throw type_error("an array");
    T values(j.size());
    for (size_t i = 0; i < j.size(); ++i) read_value(j[i], values[i], where + "[" + std::to_string(i) + "]");
    out = std::move(values);
  } else {
    out = j.get<T>();
  }
}

}  // namespace detail

/// Options structs list their fields once, in `template <class V> void visit(V& v)`, as
/// `v("key", key_)`; that single list drives both directions of the JSON conversion.

/// All fields of `options` as a JSON object (nested options become nested objects).
template <class Options>
json options_to_json(const Options& options) {
  return detail::write_value(options);
}

/// Overrides the fields of `options` named in `j`. An unknown key, or a value of the wrong type,
/// throws ConfigError naming the key (prefixed by `where`, e.g. "model.generator").
template <class Options>
Options apply_json(Options options, const json& j, const std::string& where = "") {
  if (j.is_null()) return options;
  detail::read_value(j, options, where);
  return options;
}

/// Reads a JSON file; ConfigError naming the file (and the parser's position) when it is missing
/// or malformed.
json load_json_file(const std::string& path);

/// Sets the value at a dotted `path` of `root` ("trainer.steps"), creating intermediate objects.
/// In a list of named objects (a pipeline's "stages") a path component selects the element whose
/// "name" it is, or the element at that index ("stages.classify.trainer.steps"). ConfigError
/// prefixed by `where` (default: the path) when the path runs through a non-object value or names
/// no element of a list.
void set_json_path(json& root, const std::string& path, json value, const std::string& where = "");

/// Applies command-line overrides `key.path=value` to `config` (`--set trainer.steps=200`). The
/// value is parsed as JSON when it is valid JSON (numbers, true, [1,2], {"a":1}) and taken as a
/// string otherwise. Paths as set_json_path's (named list elements included); a path through a
/// non-object value, or an override without '=', is a ConfigError naming it.
void apply_overrides(json& config, const std::vector<std::string>& overrides);

}  // namespace facegan
