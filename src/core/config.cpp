#include <facegan/core/config.hpp>

#include <fstream>
#include <sstream>

namespace facegan {

json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open config file " + path);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError("malformed JSON in " + path + ": " + e.what());
  }
}

void apply_overrides(json& config, const std::vector<std::string>& overrides) {
  for (const auto& text : overrides) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("override '" + text + "' is not of the form key.path=value");
    }
    const std::string path = text.substr(0, eq), raw = text.substr(eq + 1);
    json value = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = raw;

    json* node = &config;
    std::string walked;
    std::istringstream parts(path);
    std::string key;
    std::vector<std::string> keys;
    while (std::getline(parts, key, '.')) {
      if (key.empty()) throw ConfigError("override '" + text + "' has an empty key in its path");
      keys.push_back(key);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!node->is_object()) {
        if (!node->is_null()) {
          throw ConfigError("override '" + text + "': '" + walked + "' is " + node->dump() + ", not an object");
        }
        *node = json::object();
      }
      walked += (walked.empty() ? "" : ".") + keys[i];
      node = &(*node)[keys[i]];
    }
    *node = std::move(value);
  }
}

}  // namespace facegan
