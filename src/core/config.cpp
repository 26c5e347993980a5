#include <facegan/core/config.hpp>
#include <facegan/core/json_keys.hpp>
#include <facegan/core/registry.hpp>

#include <fstream>
#include <sstream>

namespace facegan {

void require_known_keys(const json& object, const std::set<std::string>& known, const std::string& where) {
  if (!object.is_object()) throw ConfigError(where + ": expected an object, got " + object.dump());
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (known.count(it.key()) == 0) {
      throw ConfigError(where + ": unknown key '" + it.key() + "'; known: " +
                        join_names(std::vector<std::string>(known.begin(), known.end())));
    }
  }
}

json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open config file " + path);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError("malformed JSON in " + path + ": " + e.what());
  }
}

void set_json_path(json& root, const std::string& path, json value, const std::string& where) {
  const std::string at = where.empty() ? "'" + path + "'" : where;
  std::vector<std::string> keys;
  {
    std::istringstream parts(path);
    std::string key;
    while (std::getline(parts, key, '.')) {
      if (key.empty()) throw ConfigError(at + ": empty key in the path '" + path + "'");
      keys.push_back(key);
    }
    if (keys.empty()) throw ConfigError(at + ": empty path");
  }
  json* node = &root;
  std::string walked;
  for (const auto& key : keys) {
    if (node->is_array()) {
      // A list of named objects (a pipeline's stages): the element whose "name" is `key`, or an index.
      json* found = nullptr;
      for (auto& element : *node) {
        if (element.is_object() && element.value("name", json()) == key) found = &element;
      }
      if (!found && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos) {
        const size_t index = std::stoul(key);
        if (index < node->size()) found = &(*node)[index];
      }
      if (!found) {
        std::vector<std::string> names;
        for (const auto& element : *node) {
          if (element.is_object() && element.contains("name")) names.push_back(element.at("name").dump());
        }
        throw ConfigError(at + ": '" + (walked.empty() ? std::string("(root)") : walked) + "' is a list with no element named '" +
                          key + "'" + (names.empty() ? std::string() : "; its names: " + join_names(names)));
      }
      node = found;
    } else {
      if (!node->is_object()) {
        if (!node->is_null()) {
          throw ConfigError(at + ": '" + walked + "' is " + node->dump() + ", not an object");
        }
        *node = json::object();
      }
      node = &(*node)[key];
    }
    walked += (walked.empty() ? "" : ".") + key;
  }
  *node = std::move(value);
}

void apply_overrides(json& config, const std::vector<std::string>& overrides) {
  for (const auto& text : overrides) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("override '" + text + "' is not of the form key.path=value");
    }
    const std::string raw = text.substr(eq + 1);
    json value = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = raw;
    set_json_path(config, text.substr(0, eq), std::move(value), "override '" + text + "'");
  }
}

}  // namespace facegan
