// Prompt templates: every text the server itself puts in front of a model lives here (docs/protocol.md
// quotes them). Pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace glm {

struct ExplainInput {
  std::string code;
  std::string language;  // editor filetype ("cpp", "python"); may be empty
  std::string path;      // file path for context; may be empty
  std::string question;  // optional follow-up question about the code
};

// The system prompt used by `explain`.
extern const char* const kExplainSystemPrompt;

// [system, user] messages for `explain`: the code fenced with its language (a fence longer than any
// backtick run inside the code), the path, and the question or the default request.
std::vector<Message> build_explain_messages(const ExplainInput& input);

struct EditInput {
  std::string instruction;  // what to do
  std::string code;         // the code to rewrite; empty: write code to insert at that place
  std::string before;       // lines just before it, for reference (may be empty)
  std::string after;        // lines just after it
  std::string language;     // editor filetype or LSP languageId; may be empty
  std::string path;         // file path for context; may be empty
};

// The system prompt of `edit` (:GlmEdit, LSP Rewrite/Fix, the agent's rewrites): one, for every face.
extern const char* const kEditSystemPrompt;

// [system, user] messages for `edit`: the instruction first, the code to rewrite (or the place to
// insert at) fenced, then the context lines fenced and marked as reference only. `system` replaces
// kEditSystemPrompt when not empty (config `prompts.edit`).
std::vector<Message> build_edit_messages(const EditInput& input, const std::string& system = "");

struct FimPromptInput {
  std::string prefix;                                         // text before the cursor (already trimmed to the budget)
  std::string suffix;                                         // text after the cursor
  std::string language;                                       // editor filetype; may be empty
  std::string path;                                           // may be empty
  std::vector<std::pair<std::string, std::string>> contexts;  // related files: path, code
};

// The system prompt of `complete` with a chat model (fill-in-the-middle by instruction).
extern const char* const kCompleteSystemPrompt;

// [system, user] messages asking a chat model for the text between `prefix` and `suffix`. The code is
// wrapped in <code_before_cursor>/<code_after_cursor> tags with nothing added inside them, so the
// whitespace at the cursor is exact; related files come first in <related_file path="..."> tags.
std::vector<Message> build_fim_messages(const FimPromptInput& input);

}  // namespace glm
