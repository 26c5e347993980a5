#pragma once
// Checking the keys of a hand-parsed JSON object (experiment specs, pipelines): an options struct
// gets this from JsonVisitor; an object parsed field by field asks for it here.

#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace facegan {

/// ConfigError naming `where` when `object` is not an object or holds a key outside `known`; the
/// message lists the known keys.
void require_known_keys(const nlohmann::json& object, const std::set<std::string>& known, const std::string& where);

}  // namespace facegan
