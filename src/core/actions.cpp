#include "core/actions.hpp"

#include <algorithm>

namespace glm {

std::vector<Action> builtin_actions() {
  return {
      {"explain", "Explain the code", "explain", "Explain what this code does, how, and anything surprising in it.",
       "code", false, "replace"},
      {"review", "Review: bugs, edge cases, risks, readability", "ask",
       "Review this code. List concrete problems (bugs, unhandled edge cases, security, performance, readability), "
       "each with the line it is on and a suggested fix. Say so plainly if you find none.",
       "code", false, "replace"},
      {"fix", "Fix the bugs (and the diagnostics) in the code", "edit",
       "Fix the bugs in this code, including the problems in the diagnostics listed. Keep everything else "
       "(behaviour, names, style) as it is.",
       "code", true, "replace"},
      {"tests", "Write unit tests for the code", "ask",
       "Write unit tests for this code with the test framework a project in this language most likely uses. Cover "
       "normal cases, edge cases and errors. Answer with one code block holding the tests.",
       "code", false, "insert"},
      {"document", "Add documentation comments", "edit",
       "Add documentation comments to this code in the usual style of the language (docstrings, LuaLS, JSDoc, "
       "Doxygen, ...). Do not change the code itself.",
       "code", false, "replace"},
      {"commit", "Commit message for the staged changes (git diff --cached)", "ask",
       "Write a git commit message for the staged changes below. First line: an imperative summary of at most 72 "
       "characters. Then a blank line and a short body wrapped at 72 columns saying what changed and why, when "
       "that is not obvious. Answer with the message only, in one ```gitcommit fenced block.",
       "staged", false, "replace"},
  };
}

namespace {

std::optional<std::string> one_of(const nlohmann::json& v, const std::string& path,
                                  std::initializer_list<const char*> allowed, std::string& out) {
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  if (!v.is_string()) return path + ": expected one of " + list;
  for (const char* a : allowed) {
    if (v.get<std::string>() == a) {
      out = a;
      return std::nullopt;
    }
  }
  return path + ": expected one of " + list + ", got '" + v.get<std::string>() + "'";
}

}  // namespace

std::optional<std::string> apply_actions_config(std::vector<Action>& actions, const nlohmann::json& section) {
  if (!section.is_object()) return std::string("actions: expected an object of name → action or false");
  std::vector<Action> out = actions;
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string& name = it.key();
    const std::string path = "actions." + name;
    if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        }))
      return path + ": a name is 1 to 64 letters, digits, '_' or '-'";
    auto found = std::find_if(out.begin(), out.end(), [&](const Action& a) { return a.name == name; });
    if (it.value().is_boolean() && !it.value().get<bool>()) {
      if (found != out.end()) out.erase(found);
      continue;
    }
    if (!it.value().is_object()) return path + ": expected an object or false";
    Action a = found != out.end() ? *found : Action{name, "", "ask", "", "code", false, "replace"};
    for (auto f = it.value().begin(); f != it.value().end(); ++f) {
      const std::string fp = path + "." + f.key();
      const auto& v = f.value();
      if (f.key() == "description" || f.key() == "prompt") {
        if (!v.is_string() || v.get<std::string>().size() > 65536) return fp + ": expected a string of at most 64 KiB";
        (f.key() == "description" ? a.description : a.prompt) = v.get<std::string>();
      } else if (f.key() == "kind") {
        if (auto e = one_of(v, fp, {"ask", "explain", "edit"}, a.kind)) return e;
      } else if (f.key() == "context") {
        if (auto e = one_of(v, fp, {"code", "staged", "none"}, a.context)) return e;
      } else if (f.key() == "apply") {
        if (auto e = one_of(v, fp, {"replace", "insert"}, a.apply)) return e;
      } else if (f.key() == "diagnostics") {
        if (!v.is_boolean()) return fp + ": expected true or false";
        a.diagnostics = v.get<bool>();
      } else {
        return fp + ": unknown field (known: description, kind, prompt, context, diagnostics, apply)";
      }
    }
    if (a.prompt.empty()) return path + ".prompt: an action needs a prompt";
    if (found != out.end()) {
      *found = std::move(a);
    } else {
      out.push_back(std::move(a));
    }
  }
  actions = std::move(out);
  return std::nullopt;
}

nlohmann::json actions_json(const std::vector<Action>& actions) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : actions) {
    out.push_back({{"name", a.name},
                   {"description", a.description},
                   {"kind", a.kind},
                   {"prompt", a.prompt},
                   {"context", a.context},
                   {"diagnostics", a.diagnostics},
                   {"apply", a.apply}});
  }
  return out;
}

std::string with_diagnostics(const std::string& prompt, const std::vector<std::string>& lines) {
  if (lines.empty()) return prompt;
  std::string out = prompt + "\n\nDiagnostics:";
  for (const auto& l : lines) out += "\n" + l;
  return out;
}

}  // namespace glm
