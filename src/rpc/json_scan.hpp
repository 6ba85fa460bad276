// Cheap byte-level scans of JSON text that run before (or instead of) a full parse. Any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace glm::rpc {

// Whether `text` nests arrays/objects deeper than `limit` levels (the outermost value is level 1).
// Brackets inside strings do not count. Runs before nlohmann parses a message: its DOM is copied,
// compared and serialised recursively, so unbounded nesting would overflow the stack. Stops at the
// first level over the limit; invalid JSON is left for the parser to report.
bool nesting_exceeds(std::string_view text, size_t limit);

// The raw text of member `key` of the object `doc` is (or of its `element`-th element, when `doc` is an
// array): e.g. `1E2` for {"id":1E2}. For text nlohmann has already accepted (well formed, nesting
// bounded); the last duplicate key wins, as in the parsed DOM. nullopt when there is no such member.
std::optional<std::string_view> member_text(std::string_view doc, std::optional<size_t> element, std::string_view key);

}  // namespace glm::rpc
