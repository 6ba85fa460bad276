// Fill-in-the-middle text handling for `complete`: trimming the context around the cursor to a budget,
// and turning a model's raw output into the text to insert. Pure functions on UTF-8 strings; no I/O,
// no threads (any thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace glm::fim {

// Number of characters (UTF-8 code points; invalid bytes count one each) in `text`.
size_t char_count(std::string_view text);

// The end of the prefix, at most `max_chars` characters, starting on a line boundary: the partial
// first line is dropped. When the cursor's own line is longer than the budget, its last `max_chars`
// characters are kept (cut on a character boundary). 0 = keep nothing.
std::string_view trim_prefix(std::string_view prefix, size_t max_chars);

// The start of the suffix, at most `max_chars` characters, ending on a line boundary (the partial last
// line is dropped, its newline kept). When the rest of the cursor's line alone is longer than the
// budget, its first `max_chars` characters are kept.
std::string_view trim_suffix(std::string_view suffix, size_t max_chars);

struct Context {
  std::string path;
  std::string code;
};

// Related files sent with the request, within `max_chars` characters in total: contexts are taken in
// order; the one that crosses the budget is cut after its last whole line that fits; later ones are
// dropped (as are contexts left empty by the cut).
std::vector<Context> trim_contexts(std::vector<Context> contexts, size_t max_chars);

// The language name CodeGeeX expects: the lower-case spelling of its SDK enum, from a Neovim filetype
// or a language name ("cpp" → "c++" is not needed: both are in the enum; "sh" → "shell",
// "typescriptreact" → "tsx", "cs" → "csharp", "Python" → "python"). Empty `language`: guessed from the
// path's extension, else "text".
std::string codegeex_language(std::string_view language, std::string_view path);

struct CleanOptions {
  // The output came from a chat model told to fill the middle: it may wrap the answer in Markdown
  // fences, add prose before or after it, think aloud in <think> tags, or echo the prompt's markers.
  bool chat = false;
  // Keep at most this many lines (0 = no limit).
  int max_lines = 0;
};

// The text to insert at the cursor, from a model's raw output (docs/protocol.md "complete" lists the
// rules): special tokens cut; for chat models fences, prose and <think> removed; text that repeats the
// end of the prefix (the cursor's line, or whole lines before it) dropped from the start; text that
// overlaps the start of the suffix dropped from the end; cut at a sensible end (options.max_lines, or,
// when there is code after the cursor, where the completion has closed what it opened and leaves the
// cursor's block); trailing whitespace removed.
std::string clean_completion(std::string_view raw, std::string_view prefix, std::string_view suffix,
                             const CleanOptions& options);

}  // namespace glm::fim
