// Taking code out of a model's answer: the one place that knows Markdown fences, <think> blocks, the
// prose models put around code (English and Chinese), diff-shaped answers, repeated context and lost
// indentation. Used by completion cleaning (core/fim_clean), edits and rewrites (every face: the
// protocol, the Neovim plugin, LSP Rewrite/Fix). Pure functions on UTF-8 text; no I/O (any thread).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glm::extract {

// "\r\n" → "\n".
std::string normalize_newlines(std::string_view text);

// Without <think>…</think> blocks and the line break after each. A "</think>" with no opener (the
// opener was consumed upstream) drops everything before it; an unclosed "<think>" (still thinking, or
// cut off) drops everything after it.
std::string strip_think(std::string_view text);

struct Block {
  std::string lang;       // first word of the info string ("" when none)
  std::string code;       // the lines between the fences, joined with "\n" (no final newline)
  size_t open_line = 0;   // 0-based line of the opening fence
  size_t close_line = 0;  // 0-based line of the closing fence; the line count when unclosed
  bool closed = false;
};

// Fenced code blocks, CommonMark's way: ``` or ~~~ (three or more), indented at most three spaces; a
// backtick fence's info string has no backtick; the block closes on a line of the same character, at
// least as long, with nothing after it, so a ```` block can hold ``` lines. An unclosed block runs to
// the end (an answer still streaming, or cut off).
std::vector<Block> fenced_blocks(std::string_view markdown);

// True for a sentence that introduces or closes code rather than being code ("Here is the updated
// function:", "以下是修改后的代码：", "This version avoids the copy.").
bool is_prose_opener(std::string_view line);
bool is_prose_closer(std::string_view line);

// Without the introducing sentences at the start and the explaining paragraph at the end.
std::string strip_prose(std::string_view text);

// The new side of a unified diff (context and "+" lines, without "-" lines, headers and hunk
// markers), when `text` is one: it has a hunk marker ("@@") and every other line is a diff line.
std::optional<std::string> diff_new_side(std::string_view text);

struct CodeOptions {
  // The text being replaced ("" for an insertion): the answer gets its indentation back when the model
  // dropped it, ends with a newline exactly when the original does, and has CRLF line ends when the
  // original has them.
  std::string_view original;
  // For an insertion (no original): a line whose indentation the inserted code should have.
  std::string_view indent_like;
  // The text just before and just after the range: lines the model repeated from them at the start or
  // end of its answer are dropped.
  std::string_view before;
  std::string_view after;
  // The answer is still streaming: its last, unfinished line is left out (so a sentence never flashes
  // up before it can be recognised as one), as is a closing fence half written.
  bool partial = false;
};

// The code an edit answer gives: think blocks removed; the longest fenced block when there are fences
// (a diff block becomes its new side), else the text without surrounding prose (or a bare diff's new
// side); context repeated from `before`/`after` dropped; blank lines around it removed; indentation and
// final newline as the original's.
std::string code_from_answer(std::string_view answer, const CodeOptions& options);

}  // namespace glm::extract
