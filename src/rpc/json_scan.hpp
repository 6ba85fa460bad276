// Cheap byte-level scans of JSON text that run before (or instead of) a full parse. Any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace glm::rpc {

// Whether `text` nests arrays/objects deeper than `limit` levels (the outermost value is level 1).
// Brackets inside strings do not count. Runs before nlohmann parses a message: its DOM is copied,
// compared and serialised recursively, so unbounded nesting would overflow the stack. Stops at the
// first level over the limit; invalid JSON is left for the parser to report.
bool nesting_exceeds(std::string_view text, size_t limit);

}  // namespace glm::rpc
