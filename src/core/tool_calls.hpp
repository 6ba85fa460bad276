// Tool calls (docs/protocol.md "Tool calls"): checking what a client sends and assembling what a model
// streams. Pure functions on JSON; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace glm {

// The most tool calls one reply may carry (a fragment with a larger index is a protocol error: a
// model does not call hundreds of tools at once, and the index must not size an allocation).
inline constexpr size_t kMaxToolCalls = 128;

// Merges one streamed `tool_calls` array (OpenAI `choices[0].delta.tool_calls`) into `calls`, the
// calls assembled so far. Each fragment is an object with `index` (its position in the array when
// missing) and optionally `id`, `type`, `function.name` (set when present and non-empty: vendors send
// them once, Zhipu sends whole calls) and `function.arguments` (appended in place: linear in the bytes
// however many pieces; a non-string value is serialised). Of the other members only the one named by
// the call's `type` is kept (Zhipu's web_search results); the rest are dropped. `normalised`, when given,
// receives the fragments as the client sees them in chat/delta: objects with an explicit `index`.
// Returns an error message for a malformed fragment or an index >= kMaxToolCalls.
std::optional<std::string> merge_tool_call_fragments(Json& calls, const Json& fragments, Json* normalised = nullptr);

// What fragments weigh against max_response_bytes: the bytes of their strings and keys (8 per other
// scalar). The sessions count it per fragment as they count text.
size_t tool_call_bytes(const Json& fragments);

// Checks a request's `tools` (an array of objects with a string `type`; `function` tools need
// `function.name`) and `tool_choice` ("auto" | "none" | "required" | {"type":"function",
// "function":{"name"}}). Returns an InvalidParams message naming the field, or nullopt.
std::optional<std::string> check_tools(const Json& tools, const Json& tool_choice);

}  // namespace glm
