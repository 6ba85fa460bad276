// Prompt templates: every text the server itself puts in front of a model lives here (docs/protocol.md
// quotes them). Pure functions.
#pragma once

#include <string>
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

}  // namespace glm
