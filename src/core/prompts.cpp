#include "core/prompts.hpp"

#include <algorithm>

namespace glm {

const char* const kExplainSystemPrompt =
    "You are an expert programmer explaining code to a colleague inside their editor. "
    "Be concise and concrete: say what the code does, how, and anything surprising (bugs, edge cases, "
    "performance). Use Markdown; refer to identifiers in `backticks`. Answer in the language the question "
    "is written in.";

namespace {

// A fence that cannot be closed by backticks inside the code: one longer than its longest run.
std::string fence_for(const std::string& code) {
  size_t longest = 0, run = 0;
  for (char c : code) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

}  // namespace

std::vector<Message> build_explain_messages(const ExplainInput& in) {
  std::string user;
  if (!in.path.empty()) user += "File: `" + in.path + "`\n";
  if (!in.language.empty()) user += "Language: " + in.language + "\n";
  if (!user.empty()) user += "\n";
  const std::string fence = fence_for(in.code);
  user += fence + in.language + "\n" + in.code;
  if (in.code.empty() || in.code.back() != '\n') user += "\n";
  user += fence + "\n\n";
  user += in.question.empty() ? "Explain this code." : in.question;
  return {Message{"system", kExplainSystemPrompt}, Message{"user", user}};
}

}  // namespace glm
