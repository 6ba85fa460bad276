// Text helpers of LSP mode (pure functions): file URIs and labels. (The rewrite prompt and taking code
// out of a reply are the server's `edit`: core/prompts, core/extract.)
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::lsp {

// file:///a%20b/c.lua → /a b/c.lua; other URIs are returned unchanged.
std::string uri_to_path(std::string_view uri);
std::string path_to_uri(std::string_view path);

// The first line of `text`, cut to at most `max_bytes` on a UTF-8 boundary ("…" appended when cut).
std::string first_line(std::string_view text, size_t max_bytes);

}  // namespace glm::lsp
