#include "core/fim_clean.hpp"

#include "core/extract.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace glm::fim {

namespace {

using text::ends_with;
using text::is_blank;
using text::join_lines;
using text::lower;
using text::ltrim;
using text::rtrim;
using text::split_lines;
using text::starts_with;
using text::trim;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Byte offset after the first `n` characters.
size_t offset_after(std::string_view s, size_t n) {
  size_t i = 0;
  while (n > 0 && i < s.size()) {
    ++i;
    while (i < s.size() && is_continuation(s[i])) ++i;
    --n;
  }
  return i;
}

// Byte offset where the last `n` characters start.
size_t offset_of_last(std::string_view s, size_t n) {
  size_t i = s.size();
  while (n > 0 && i > 0) {
    --i;
    while (i > 0 && is_continuation(s[i])) --i;
    --n;
  }
  return i;
}

// Leading whitespace width (a tab counts as one: only comparisons within one file matter).
size_t indent_of(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

// ---- step 1: special tokens -------------------------------------------------------------------

// Tokens after which nothing belongs to the completion (end-of-text and role markers of GLM/CodeGeeX
// and of common local FIM models).
constexpr std::array<std::string_view, 12> kEndTokens = {
    "<|endoftext|>", "<|user|>",   "<|assistant|>",      "<|observation|>", "<|system|>", "<|im_end|>",
    "<|end|>",       "<|eot_id|>", "<|file_separator|>", "<|fim_pad|>",     "<EOT>",      "</s>"};
// FIM control tokens a model may echo; removed wherever they appear.
constexpr std::array<std::string_view, 9> kFimTokens = {"<|code_suffix|>", "<|code_prefix|>", "<|code_middle|>",
                                                        "<|fim_prefix|>",  "<|fim_suffix|>",  "<|fim_middle|>",
                                                        "<fim_prefix>",    "<fim_suffix>",    "<fim_middle>"};

void cut_special_tokens(std::string& s) {
  size_t cut = s.size();
  for (auto t : kEndTokens) cut = std::min(cut, s.find(t));
  s.resize(cut);
  for (auto t : kFimTokens) {
    for (size_t at; (at = s.find(t)) != std::string::npos;) s.erase(at, t.size());
  }
}

// ---- step 2: chat-model wrapping ----------------------------------------------------------------

// The prompt's own tags (core/prompts.cpp), echoed back.
void strip_prompt_tags(std::string& s) {
  if (size_t at = s.find("</code_before_cursor>"); at != std::string::npos) s.erase(0, at + 21);
  if (size_t at = s.find("<code_after_cursor>"); at != std::string::npos) s.resize(at);
  for (std::string_view t : {"<code_before_cursor>", "</code_after_cursor>", "<cursor>", "<CURSOR>", "<|cursor|>",
                             "<missing_code>", "</missing_code>"}) {
    for (size_t at; (at = s.find(t)) != std::string::npos;) s.erase(at, t.size());
  }
}

// The first fenced block's content when the output has one (prose around it is dropped), or the
// one-line form ```code```.
bool extract_fence(std::string& s) {
  std::string_view t = trim(s);
  if (t.find('\n') == std::string_view::npos) {
    if (t.size() > 6 && starts_with(t, "```") && ends_with(t, "```")) {
      s = std::string(t.substr(3, t.size() - 6));
      return true;
    }
    return false;
  }
  std::vector<extract::Block> blocks = extract::fenced_blocks(s);
  if (blocks.empty()) return false;
  s = blocks.front().code;
  return true;
}

// ---- step 3: text that repeats the prefix --------------------------------------------------------

// The model restarted from earlier text: the first lines of `s` are the prefix's last whole lines
// (compared without surrounding whitespace) and then the cursor's line so far, or just the cursor's
// line so far. Drops the repeated part.
void strip_prefix_repeat(std::string& s, std::string_view prefix) {
  std::vector<std::string_view> plines = split_lines(prefix);
  const std::string_view cur = plines.back();
  const std::string_view cur_text = ltrim(cur);
  std::vector<std::string_view> slines = split_lines(s);
  const size_t max_m = std::min<size_t>({plines.size(), slines.size(), 16});
  for (size_t m = max_m; m >= 1; --m) {
    // Lines 0..m-2 of s against the prefix's m-1 whole lines before the cursor's line.
    bool match = true;
    bool content = !cur_text.empty();
    for (size_t j = 0; j + 1 < m && match; ++j) {
      std::string_view p = trim(plines[plines.size() - m + j]);
      match = trim(slines[j]) == p;
      content |= !p.empty();
    }
    if (!match || !content) continue;
    std::string_view last = ltrim(slines[m - 1]);
    if (!starts_with(last, cur_text)) continue;
    if (m == 1 && cur_text.empty()) continue;
    // Keep what follows the repeated text on that line, and the lines after it.
    size_t line_start = 0;
    for (size_t j = 0; j + 1 < m; ++j) line_start += slines[j].size() + 1;
    size_t cut = line_start + (slines[m - 1].size() - last.size()) + cur_text.size();
    s.erase(0, cut);
    return;
  }
}

// ---- step 4: text that overlaps the suffix --------------------------------------------------------

int bracket_value(char c, char open, char close) { return c == open ? 1 : c == close ? -1 : 0; }

// |net open-minus-close| for each bracket pair, and the count of each quote character.
struct Balance {
  int paren = 0, square = 0, curly = 0;
  int dq = 0, sq = 0, bt = 0;
};
Balance balance_of(std::string_view s) {
  Balance b;
  for (char c : s) {
    b.paren += bracket_value(c, '(', ')');
    b.square += bracket_value(c, '[', ']');
    b.curly += bracket_value(c, '{', '}');
    b.dq += c == '"';
    b.sq += c == '\'';
    b.bt += c == '`';
  }
  return b;
}

// True when removing `overlap` from the end of `s` makes the completion more balanced, or at least
// not less (closers the suffix already has; quotes that were left odd); plain text always qualifies.
bool overlap_is_duplicate(std::string_view s, std::string_view overlap) {
  Balance before = balance_of(s);
  Balance after = balance_of(s.substr(0, s.size() - overlap.size()));
  if (std::abs(after.paren) > std::abs(before.paren) || std::abs(after.square) > std::abs(before.square) ||
      std::abs(after.curly) > std::abs(before.curly))
    return false;
  bool brackets = overlap.find_first_of("()[]{}") != std::string_view::npos;
  if (brackets && after.paren == before.paren && after.square == before.square && after.curly == before.curly)
    return false;
  for (char q : {'"', '\'', '`'}) {
    if (overlap.find(q) == std::string_view::npos) continue;
    int n = q == '"' ? before.dq : q == '\'' ? before.sq : before.bt;
    if (n % 2 == 0) return false;  // the completion's quotes were balanced: the overlap is its own
  }
  return true;
}

void strip_suffix_overlap(std::string& s, std::string_view suffix) {
  std::vector<std::string_view> suffix_lines = split_lines(suffix);
  // Line-wise: the completion went on to write the suffix's next line (e.g. the closing brace).
  std::string_view next_line;
  for (auto l : suffix_lines) {
    if (!is_blank(l)) {
      next_line = trim(l);
      break;
    }
  }
  if (!next_line.empty()) {
    std::vector<std::string_view> lines = split_lines(s);
    for (size_t i = 1; i < lines.size(); ++i) {
      if (trim(lines[i]) == next_line) {
        s = join_lines(lines, 0, i);
        break;
      }
    }
  }
  // Within the cursor's line: the completion ends with what already follows the cursor (")", "];").
  std::string_view rest = rtrim(suffix_lines.front());
  std::string_view body = rtrim(s);
  for (size_t k = std::min(rest.size(), body.size()); k >= 1; --k) {
    std::string_view overlap = rest.substr(0, k);
    if (is_blank(overlap) || !ends_with(body, overlap)) continue;
    if (overlap_is_duplicate(body, overlap)) s.resize(body.size() - k);
    break;
  }
}

// ---- step 5: a sensible end -----------------------------------------------------------------------

// When code follows the cursor, stop where the completion, having closed every bracket it opened,
// goes back to a shallower indentation than the cursor's line: it has left the block being written.
void cut_at_block_end(std::string& s, std::string_view prefix) {
  std::string_view cur = prefix.substr(prefix.rfind('\n') == std::string_view::npos ? 0 : prefix.rfind('\n') + 1);
  const size_t cursor_indent = indent_of(cur);
  if (cursor_indent == 0) return;
  std::vector<std::string_view> lines = split_lines(s);
  int depth = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0 && depth <= 0 && !is_blank(lines[i]) && indent_of(lines[i]) < cursor_indent) {
      s = join_lines(lines, 0, i);
      return;
    }
    for (char c : lines[i])
      depth += bracket_value(c, '(', ')') + bracket_value(c, '[', ']') + bracket_value(c, '{', '}');
  }
}

void cut_lines(std::string& s, int max_lines) {
  if (max_lines <= 0) return;
  size_t pos = 0;
  for (int i = 0; i < max_lines; ++i) {
    pos = s.find('\n', pos);
    if (pos == std::string::npos) return;
    ++pos;
  }
  s.resize(pos - 1);
}

}  // namespace

size_t char_count(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += !is_continuation(c);
  return n;
}

std::string_view trim_prefix(std::string_view prefix, size_t max_chars) {
  if (char_count(prefix) <= max_chars) return prefix;
  if (max_chars == 0) return {};
  size_t start = offset_of_last(prefix, max_chars);
  if (start > 0 && prefix[start - 1] == '\n') return prefix.substr(start);
  size_t nl = prefix.find('\n', start);
  if (nl == std::string_view::npos) return prefix.substr(start);  // the cursor's line alone is longer
  return prefix.substr(nl + 1);
}

std::string_view trim_suffix(std::string_view suffix, size_t max_chars) {
  if (char_count(suffix) <= max_chars) return suffix;
  if (max_chars == 0) return {};
  size_t end = offset_after(suffix, max_chars);
  if (suffix[end - 1] == '\n') return suffix.substr(0, end);
  size_t nl = suffix.rfind('\n', end - 1);
  if (nl == std::string_view::npos) return suffix.substr(0, end);  // the rest of the cursor's line is longer
  return suffix.substr(0, nl + 1);
}

std::vector<Context> trim_contexts(std::vector<Context> contexts, size_t max_chars) {
  std::vector<Context> out;
  size_t left = max_chars;
  for (auto& c : contexts) {
    size_t n = char_count(c.code);
    if (n <= left) {
      left -= n;
      if (!c.code.empty()) out.push_back(std::move(c));
      continue;
    }
    size_t end = offset_after(c.code, left);
    size_t nl = end == 0 ? std::string::npos : c.code.rfind('\n', end - 1);
    if (nl != std::string::npos) {
      c.code.resize(nl + 1);
      out.push_back(std::move(c));
    }
    break;
  }
  return out;
}

std::string codegeex_language(std::string_view language, std::string_view path) {
  // Neovim filetypes (and a few common spellings) whose CodeGeeX name differs.
  static constexpr std::pair<std::string_view, std::string_view> kAlias[] = {
      {"sh", "shell"},
      {"bash", "shell"},
      {"zsh", "shell"},
      {"fish", "shell"},
      {"csh", "tcsh"},
      {"cs", "csharp"},
      {"c#", "csharp"},
      {"objc", "objective-c"},
      {"objcpp", "objective-c++"},
      {"javascriptreact", "jsx"},
      {"typescriptreact", "tsx"},
      {"fsharp", "f-sharp"},
      {"make", "makefile"},
      {"proto", "protocol-buffer"},
      {"rst", "restructuredtext"},
      {"plaintex", "tex"},
      {"sml", "standard-ml"},
      {"coffee", "coffeescript"},
      {"asm", "assembly"},
      {"nasm", "assembly"},
      {"ps1", "powershell"},
      {"rmd", "rmarkdown"},
      {"elisp", "emacs-lisp"},
      {"jsp", "java-server-pages"},
      {"gdscript3", "gdscript"},
      {"yml", "yaml"},
      {"golang", "go"},
      {"py", "python"},
      {"rs", "rust"},
      {"ts", "typescript"},
      {"rb", "ruby"},
      {"kt", "kotlin"},
  };
  std::string l = lower(trim(language));
  if (l.empty()) {
    // From the path's extension.
    static constexpr std::pair<std::string_view, std::string_view> kExt[] = {{"py", "python"},
                                                                             {"c", "c"},
                                                                             {"h", "c"},
                                                                             {"cc", "c++"},
                                                                             {"cpp", "c++"},
                                                                             {"cxx", "c++"},
                                                                             {"hpp", "c++"},
                                                                             {"hh", "c++"},
                                                                             {"cu", "cuda"},
                                                                             {"cs", "csharp"},
                                                                             {"java", "java"},
                                                                             {"kt", "kotlin"},
                                                                             {"go", "go"},
                                                                             {"rs", "rust"},
                                                                             {"js", "javascript"},
                                                                             {"mjs", "javascript"},
                                                                             {"cjs", "javascript"},
                                                                             {"jsx", "jsx"},
                                                                             {"ts", "typescript"},
                                                                             {"tsx", "tsx"},
                                                                             {"vue", "vue"},
                                                                             {"lua", "lua"},
                                                                             {"rb", "ruby"},
                                                                             {"php", "php"},
                                                                             {"swift", "swift"},
                                                                             {"scala", "scala"},
                                                                             {"sh", "shell"},
                                                                             {"bash", "shell"},
                                                                             {"zsh", "shell"},
                                                                             {"sql", "sql"},
                                                                             {"html", "html"},
                                                                             {"htm", "html"},
                                                                             {"css", "css"},
                                                                             {"md", "markdown"},
                                                                             {"tex", "tex"},
                                                                             {"r", "r"},
                                                                             {"dart", "dart"},
                                                                             {"hs", "haskell"},
                                                                             {"ex", "elixir"},
                                                                             {"exs", "elixir"},
                                                                             {"erl", "erlang"},
                                                                             {"clj", "clojure"},
                                                                             {"ml", "ocaml"},
                                                                             {"zig", "zig"},
                                                                             {"jl", "julia"},
                                                                             {"pl", "perl"},
                                                                             {"m", "objective-c"},
                                                                             {"mm", "objective-c++"},
                                                                             {"yaml", "yaml"},
                                                                             {"yml", "yaml"},
                                                                             {"ps1", "powershell"},
                                                                             {"f90", "fortran"},
                                                                             {"v", "verilog"},
                                                                             {"sv", "systemverilog"},
                                                                             {"vhd", "vhdl"},
                                                                             {"el", "emacs-lisp"},
                                                                             {"proto", "protocol-buffer"},
                                                                             {"cmake", "cmake"},
                                                                             {"sol", "solidity"},
                                                                             {"groovy", "groovy"},
                                                                             {"tcl", "tcl"},
                                                                             {"elm", "elm"}};
    std::string_view base =
        path.substr(path.find_last_of('/') == std::string_view::npos ? 0 : path.find_last_of('/') + 1);
    std::string name = lower(base);
    if (name == "makefile" || name == "gnumakefile") return "makefile";
    if (name == "dockerfile") return "dockerfile";
    if (name == "cmakelists.txt") return "cmake";
    size_t dot = name.rfind('.');
    if (dot != std::string::npos && dot > 0) {
      std::string ext = name.substr(dot + 1);
      for (auto [e, lang] : kExt) {
        if (e == ext) return std::string(lang);
      }
    }
    return "text";
  }
  for (auto [from, to] : kAlias) {
    if (from == l) return std::string(to);
  }
  return l;
}

std::string clean_completion(std::string_view raw, std::string_view prefix, std::string_view suffix,
                             const CleanOptions& options) {
  std::string s(raw);
  cut_special_tokens(s);
  if (options.chat) {
    s = extract::strip_think(s);
    strip_prompt_tags(s);
    if (!extract_fence(s)) s = extract::strip_prose(s);
    // The model re-typed the cursor line's indentation that is already there.
    std::string_view cur = prefix.substr(prefix.rfind('\n') == std::string_view::npos ? 0 : prefix.rfind('\n') + 1);
    if (!cur.empty() && is_blank(cur) && starts_with(s, cur)) s.erase(0, cur.size());
  }
  strip_prefix_repeat(s, prefix);
  strip_suffix_overlap(s, suffix);
  if (!is_blank(suffix)) cut_at_block_end(s, prefix);
  cut_lines(s, options.max_lines);
  s.resize(rtrim(s).size());
  return s;
}

}  // namespace glm::fim
