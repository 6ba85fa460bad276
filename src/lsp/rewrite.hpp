// Text helpers of LSP mode (pure functions): the rewrite prompt, taking the code out of a model's
// reply, file URIs, and completion labels.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::lsp {

struct RewriteInput {
  std::string code;         // the selection
  std::string before;       // some lines before it, for context (may be empty)
  std::string after;        // some lines after it
  std::string language;     // languageId
  std::string path;         // file path
  std::string instruction;  // what to do
};

extern const char* const kRewriteSystemPrompt;

// `chat` messages ([system, user]) asking for the selection rewritten per the instruction.
nlohmann::json build_rewrite_messages(const RewriteInput& in);

// The replacement text in a model's reply: the content of the first fenced code block when there is
// one (``` or ~~~, any info string), else the whole reply without leading/trailing blank lines. The
// result ends with a newline exactly when `original` does, so a rewrite of whole lines stays whole lines.
std::string extract_code(std::string_view reply, std::string_view original);

// file:///a%20b/c.lua → /a b/c.lua; other URIs are returned unchanged.
std::string uri_to_path(std::string_view uri);
std::string path_to_uri(std::string_view path);

// The first line of `text`, cut to at most `max_bytes` on a UTF-8 boundary ("…" appended when cut).
std::string first_line(std::string_view text, size_t max_bytes);

}  // namespace glm::lsp
