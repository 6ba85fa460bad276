// The demo answers of `glm-mock-provider --demo` (what `./scripts/run.sh` starts when no provider key is
// set): every feature of the plugin can be tried without an account, and every answer says plainly that
// no model wrote it. No language model is involved: the answers are built from the request's own text.
//   - an edit request (the plugin's "Instruction: ..." prompt): the lines to rewrite, unchanged, under one
//     comment line naming the instruction; an insert request: that comment line alone;
//   - any other chat: a short note that this is the demo, the question echoed, and the first code block
//     of the message given back with a comment line added (so apply can be tried on it);
//   - fill-in-the-middle (ghost text): one comment line in the file's language.
#include <string>
#include <string_view>

#include "mock_server.hpp"

namespace glm::mock {

namespace {

std::string comment_leader(std::string_view lang) {
  static constexpr std::string_view hash[] = {"python", "sh",   "bash", "zsh",   "fish",       "ruby", "perl",
                                              "yaml",   "toml", "make", "cmake", "dockerfile", "r",    "elixir"};
  static constexpr std::string_view dash[] = {"lua", "sql", "haskell", "elm", "ada"};
  for (auto l : hash)
    if (lang == l) return "#";
  for (auto l : dash)
    if (lang == l) return "--";
  if (lang == "vim") return "\"";
  if (lang == "lisp" || lang == "elisp" || lang == "clojure" || lang == "scheme") return ";;";
  return "//";
}

struct Fence {
  std::string lang;
  std::string body;  // without the fence lines; ends with '\n' when non-empty
  bool found = false;
};

// The first ``` fenced block of `text` (the plugin fences code with three or more backticks).
Fence first_fence(const std::string& text, size_t from = 0) {
  Fence f;
  size_t open = text.find("```", from);
  if (open == std::string::npos) return f;
  size_t ticks_end = text.find_first_not_of('`', open);
  if (ticks_end == std::string::npos) return f;
  const std::string ticks = text.substr(open, ticks_end - open);
  size_t eol = text.find('\n', ticks_end);
  if (eol == std::string::npos) return f;
  f.lang = text.substr(ticks_end, eol - ticks_end);
  while (!f.lang.empty() && (f.lang.back() == ' ' || f.lang.back() == '\r')) f.lang.pop_back();
  size_t close = text.find("\n" + ticks, eol);
  if (close == std::string::npos) return f;
  f.body = text.substr(eol + 1, close + 1 - (eol + 1));
  f.found = true;
  return f;
}

std::string indentation_of(const std::string& body) {
  size_t end = body.find_first_not_of(" \t");
  return end == std::string::npos ? std::string() : body.substr(0, end);
}

std::string first_line(const std::string& text, size_t max_chars) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max_chars) line = line.substr(0, max_chars) + "...";
  return line;
}

}  // namespace

std::string demo_chat_reply(const std::string& user) {
  const std::string edit_tag = "Instruction: ";
  if (user.rfind(edit_tag, 0) == 0) {
    // :GlmEdit asks for code only: give the lines back with one comment line, so the diff preview,
    // accept and undo can be tried.
    const std::string instruction = first_line(user.substr(edit_tag.size()), 60);
    const size_t rewrite = user.find("Rewrite this code");
    Fence f = rewrite == std::string::npos ? Fence{} : first_fence(user, rewrite);
    std::string lang = f.lang;
    if (!f.found) {
      size_t open = user.find("` (");
      if (open != std::string::npos) lang = user.substr(open + 3, user.find(')', open) - open - 3);
    }
    std::string comment = comment_leader(lang) + " GLM demo (no model): \"" + instruction + "\" would be done here\n";
    return indentation_of(f.body) + comment + f.body;
  }
  std::string out =
      "**GLM demo mode.** glm.nvim is running on its bundled mock provider, so no model wrote this. "
      "Set `ZHIPUAI_API_KEY` (or `DASHSCOPE_API_KEY`, `QIANFAN_AK` + `QIANFAN_SK`) and run "
      "`./scripts/run.sh` again to ask GLM.\n\n";
  std::string question = user;
  Fence f = first_fence(user);
  if (f.found) question = user.substr(0, user.find("```"));
  while (!question.empty() && (question.back() == '\n' || question.back() == ' ' || question.back() == ':'))
    question.pop_back();
  if (!question.empty()) out += "You asked: " + first_line(question, 200) + "\n\n";
  if (f.found) {
    out += "Here is the code you sent back, with a comment added, so you can try applying it (`ga`):\n\n```" + f.lang +
           "\n" + indentation_of(f.body) + comment_leader(f.lang) + " edited by the GLM demo\n" + f.body + "```\n";
  } else {
    out += "In a real session the answer would stream in here, as this one did.\n";
  }
  return out;
}

std::string demo_fim_reply(const std::string& prefix, const std::string& language) {
  // Continue the cursor line when it has text, else start a comment line at the current indentation.
  const size_t line_start = prefix.rfind('\n') == std::string::npos ? 0 : prefix.rfind('\n') + 1;
  const std::string cursor_line = prefix.substr(line_start);
  const std::string leader = comment_leader(language);
  if (cursor_line.find_first_not_of(" \t") == std::string::npos)
    return leader + " GLM demo suggestion: set ZHIPUAI_API_KEY for real completions";
  return "  " + leader + " GLM demo suggestion";
}

}  // namespace glm::mock
