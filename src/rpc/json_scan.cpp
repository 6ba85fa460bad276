#include "rpc/json_scan.hpp"

#include <cstring>

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

}  // namespace glm::rpc
