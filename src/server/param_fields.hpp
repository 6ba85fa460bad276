// Reading request params with -32602 errors that name the field (`chat`, `explain`, `complete`).
#pragma once

#include <string>

#include "core/types.hpp"
#include "rpc/message.hpp"

namespace glm::param_fields {

// The member, or null when it is missing or JSON null.
inline const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// A string member; "" when optional and missing. `path` prefixes the field's name in errors ("options.").
inline std::string string_field(const Json& obj, const char* key, const std::string& path, bool required) {
  const Json* v = field(obj, key);
  if (!v) {
    if (required) throw rpc::invalid_params(path + key + ": required");
    return {};
  }
  if (!v->is_string()) throw rpc::invalid_params(path + key + ": expected a string");
  return v->get<std::string>();
}

}  // namespace glm::param_fields
