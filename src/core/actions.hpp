// The action library (explain, review, fix, tests, document, commit, and the user's own): one prompt per
// task, defined here once and listed by the server (`actions/list`, and in `initialize`'s result). The
// Neovim plugin's :GlmAction, LSP mode's code actions and ACP's slash commands all read it. Pure data
// and validation; no I/O (any thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

struct Action {
  std::string name;
  std::string description;   // shown in pickers and code-action menus
  std::string kind;          // "ask" (answer shown as text) | "explain" | "edit" (a rewrite of the code)
  std::string prompt;        // the question (ask, explain) or the instruction (edit)
  std::string context;       // what it runs on: "code" (the range or file) | "staged" (git diff --cached) | "none"
  bool diagnostics = false;  // the client adds the range's diagnostics (fix_prompt)
  std::string apply;         // ask: what applying the answer's code does: "replace" the range | "insert" below it
};

// The built-in library, in display order.
std::vector<Action> builtin_actions();

// Applies the config's `actions` section: name → {description?, kind?, prompt?, context?, diagnostics?,
// apply?} (fields of a built-in action changed, or a new action: kind defaults to "ask", context to
// "code"; a new one needs a prompt) or false (removed). Returns the error naming the bad field.
std::optional<std::string> apply_actions_config(std::vector<Action>& actions, const nlohmann::json& section);

nlohmann::json actions_json(const std::vector<Action>& actions);

// The prompt of a `diagnostics` action with the diagnostics appended, one "line N: message" each.
std::string with_diagnostics(const std::string& prompt, const std::vector<std::string>& lines);

}  // namespace glm
