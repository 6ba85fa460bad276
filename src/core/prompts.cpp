#include "core/prompts.hpp"

#include <algorithm>

namespace glm {

const char* const kExplainSystemPrompt =
    "You are an expert programmer explaining code to a colleague inside their editor. "
    "Be concise and concrete: say what the code does, how, and anything surprising (bugs, edge cases, "
    "performance). Use Markdown; refer to identifiers in `backticks`. Answer in the language the question "
    "is written in.";

const char* const kCompleteSystemPrompt =
    "You are a code completion engine inside a code editor. The user sends the code before the cursor in "
    "<code_before_cursor> and the code after the cursor in <code_after_cursor>. Reply with exactly the text to "
    "insert at the cursor, so that the code before, your text and the code after form correct, idiomatic code. "
    "Reply with that text only: no explanation, no Markdown fences, no tags, and do not repeat code that is "
    "already before or after the cursor. Keep indentation consistent with the surrounding code. Prefer short "
    "completions: finish the current line, statement or block. If nothing should be inserted, reply with "
    "nothing.";

const char* const kEditSystemPrompt =
    "You are a code editing engine inside a text editor. You get part of a file and an instruction. Answer with "
    "exactly the code that replaces the given code (or, when asked to insert, the code to insert) in one fenced "
    "code block, with the same indentation as the surrounding code. No explanation before or after the block, no "
    "comments about the change. Never repeat the surrounding lines you were given for reference.";

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

std::vector<Message> build_edit_messages(const EditInput& in, const std::string& system) {
  auto fenced = [&in](const std::string& code) {
    const std::string fence = fence_for(code);
    std::string out = fence + in.language + "\n" + code;
    if (code.empty() || code.back() != '\n') out += "\n";
    return out + fence + "\n";
  };
  std::string where = in.path.empty() ? std::string("The code") : "File `" + in.path + "`";
  if (!in.language.empty()) where += " (" + in.language + ")";
  std::string user = "Instruction: " + in.instruction + "\n\n";
  if (in.code.empty()) {
    user += where + ". Write the code to insert between the lines before and after (answer with the new lines only).\n";
  } else {
    user += where + ". Rewrite this code:\n" + fenced(in.code);
  }
  // Context that is only blank lines says nothing: left out.
  auto blank = [](const std::string& t) { return t.find_first_not_of(" \t\r\n") == std::string::npos; };
  if (!blank(in.before)) user += "\nFor reference only (do not repeat), the lines before:\n" + fenced(in.before);
  if (!blank(in.after)) user += "\nand the lines after:\n" + fenced(in.after);
  return {Message{"system", system.empty() ? kEditSystemPrompt : system}, Message{"user", user}};
}

std::vector<Message> build_fim_messages(const FimPromptInput& in) {
  std::string user;
  if (!in.path.empty()) user += "File: " + in.path + "\n";
  if (!in.language.empty()) user += "Language: " + in.language + "\n";
  if (!user.empty()) user += "\n";
  for (const auto& [path, code] : in.contexts) {
    user += "<related_file path=\"" + path + "\">\n" + code;
    if (code.empty() || code.back() != '\n') user += "\n";
    user += "</related_file>\n\n";
  }
  user += "<code_before_cursor>" + in.prefix + "</code_before_cursor>\n";
  user += "<code_after_cursor>" + in.suffix + "</code_after_cursor>\n\n";
  user += "Reply with the text to insert at the cursor only.";
  return {Message{"system", kCompleteSystemPrompt}, Message{"user", user}};
}

}  // namespace glm
