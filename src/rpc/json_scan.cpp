#include "rpc/json_scan.hpp"

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

namespace glm::rpc {

bool nesting_exceeds(std::string_view text, size_t limit) {
  const char* p = text.data();
  const char* const end = p + text.size();
  size_t depth = 0;
  while (p < end) {
    switch (*p++) {
      case '"':
        // Jump from quote to quote (memchr is vectorised: a chat message is mostly string bytes); a
        // quote preceded by an odd run of backslashes is escaped and does not end the string.
        for (;;) {
          const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
          if (q == nullptr) return false;  // unterminated string: the parser reports it
          const char* b = q;
          while (b > p && b[-1] == '\\') --b;
          p = q + 1;
          if (((q - b) & 1) == 0) break;
        }
        break;
      case '[':
      case '{':
        if (++depth > limit) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

namespace {

// A cursor over JSON text that nlohmann has already accepted (so it is well formed and its nesting is
// bounded): it only skips values and reports spans.
struct Cursor {
  const char* p;
  const char* end;

  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  }
  bool eat(char c) {
    ws();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  // At an opening quote: moves past the closing one.
  void skip_string() {
    ++p;
    while (p < end) {
      if (*p == '\\') {
        p += 2;
        continue;
      }
      if (*p++ == '"') return;
    }
  }
  // Skips one value; returns its text.
  std::string_view value() {
    ws();
    const char* start = p;
    if (p >= end) return {};
    if (*p == '"') {
      skip_string();
    } else if (*p == '[' || *p == '{') {
      size_t depth = 0;
      while (p < end) {
        char c = *p;
        if (c == '"') {
          skip_string();
          continue;
        }
        ++p;
        if (c == '[' || c == '{') ++depth;
        if ((c == ']' || c == '}') && --depth == 0) break;
      }
    } else {
      while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') ++p;
    }
    return std::string_view(start, static_cast<size_t>(p - start));
  }
};

bool key_equals(std::string_view quoted, std::string_view key) {
  std::string_view inner = quoted.substr(1, quoted.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == key;
  // An escaped key ("\u0069d"): decode it the way the parser did.
  auto decoded = nlohmann::json::parse(quoted, nullptr, false);
  return decoded.is_string() && decoded.get_ref<const std::string&>() == key;
}

}  // namespace

std::optional<std::string_view> member_text(std::string_view doc, std::optional<size_t> element, std::string_view key) {
  Cursor c{doc.data(), doc.data() + doc.size()};
  c.ws();
  if (c.end - c.p >= 3 && std::string_view(c.p, 3) == "\xEF\xBB\xBF") c.p += 3;  // nlohmann skips a BOM
  if (element) {
    if (!c.eat('[')) return std::nullopt;
    for (size_t i = 0; i < *element; ++i) {
      if (c.value().empty() || !c.eat(',')) return std::nullopt;
    }
  }
  if (!c.eat('{')) return std::nullopt;
  std::optional<std::string_view> found;  // the last duplicate wins, as in nlohmann's DOM
  c.ws();
  if (c.p < c.end && *c.p == '}') return std::nullopt;
  for (;;) {
    c.ws();
    if (c.p >= c.end || *c.p != '"') return std::nullopt;
    std::string_view name = c.value();
    if (!c.eat(':')) return std::nullopt;
    std::string_view v = c.value();
    if (key_equals(name, key)) found = v;
    if (!c.eat(',')) break;
  }
  return found;
}

}  // namespace glm::rpc
