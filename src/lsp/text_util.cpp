#include "lsp/text_util.hpp"

#include <algorithm>
#include <cctype>

#include "lsp/document.hpp"

namespace glm::lsp {

std::string uri_to_path(std::string_view uri) {
  constexpr std::string_view scheme = "file://";
  if (uri.substr(0, scheme.size()) != scheme) return std::string(uri);
  std::string_view rest = uri.substr(scheme.size());
  // file://host/path: the path starts at the first '/'.
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::string(uri);
  rest = rest.substr(slash);
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && hex(rest[i + 1]) >= 0 && hex(rest[i + 2]) >= 0) {
      out += static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2]));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return out;
}

std::string path_to_uri(std::string_view path) {
  std::string out = "file://";
  static const char* const digits = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string first_line(std::string_view text, size_t max_bytes) {
  size_t eol = text.find_first_of("\r\n");
  std::string_view line = text.substr(0, eol);
  if (line.size() <= max_bytes) return std::string(line);
  return std::string(line.substr(0, utf8_floor(line, max_bytes))) + "\xE2\x80\xA6";
}

}  // namespace glm::lsp
