#include "core/types.hpp"

namespace glm {

std::string Message::text() const {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        if (!out.empty()) out += '\n';
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::auth:
      return "auth";
    case ErrorKind::rate_limit:
      return "rate_limit";
    case ErrorKind::quota:
      return "quota";
    case ErrorKind::content_filter:
      return "content_filter";
    case ErrorKind::context_length:
      return "context_length";
    case ErrorKind::invalid_request:
      return "invalid_request";
    case ErrorKind::network:
      return "network";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::server:
      return "server";
    case ErrorKind::protocol:
      return "protocol";
  }
  return "server";
}

}  // namespace glm
