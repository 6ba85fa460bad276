#include "core/extract.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"

namespace glm::extract {

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

std::string_view leading_ws(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return line.substr(0, n);
}

// The smallest indentation of the non-blank lines ("" when none).
std::string_view min_indent(const std::vector<std::string_view>& lines) {
  std::optional<std::string_view> best;
  for (auto l : lines) {
    if (is_blank(l)) continue;
    std::string_view ws = leading_ws(l);
    if (!best || ws.size() < best->size()) best = ws;
  }
  return best.value_or(std::string_view());
}

// A line that opens a fence: its character, length and info string.
struct FenceLine {
  char ch = 0;
  size_t len = 0;
  std::string_view info;
};
std::optional<FenceLine> fence_line(std::string_view line) {
  size_t indent = 0;
  while (indent < line.size() && line[indent] == ' ') ++indent;
  if (indent > 3 || indent >= line.size()) return std::nullopt;
  const char ch = line[indent];
  if (ch != '`' && ch != '~') return std::nullopt;
  size_t end = indent;
  while (end < line.size() && line[end] == ch) ++end;
  if (end - indent < 3) return std::nullopt;
  return FenceLine{ch, end - indent, line.substr(end)};
}

bool ends_sentence(std::string_view l) {
  return ends_with(l, ":") || ends_with(l, ".") || ends_with(l, "!") || ends_with(l, "：") || ends_with(l, "。") ||
         ends_with(l, "！");
}

bool has_code_chars(std::string_view l) { return l.find_first_of("=(){}[];") != std::string_view::npos; }

// A half-written closing fence at the very end of a streaming answer ("`", "``", "~~").
bool is_partial_fence(std::string_view line) {
  std::string_view t = trim(line);
  return !t.empty() &&
         (t.find_first_not_of('`') == std::string_view::npos || t.find_first_not_of('~') == std::string_view::npos);
}

// Drops lines of `lines` (at its start when `at_start`, else at its end) that repeat context: the last
// lines of `before` (at the start) or the first lines of `after` (at the end), compared without
// surrounding whitespace. At least one repeated line must have some substance, so a lone "}" or blank
// line that merely looks like the context is kept.
void drop_repeated_context(std::vector<std::string_view>& lines, std::string_view context, bool at_start) {
  if (context.empty() || lines.empty()) return;
  std::vector<std::string_view> ctx = split_lines(rtrim(context));
  while (!ctx.empty() && is_blank(ctx.front())) ctx.erase(ctx.begin());
  const size_t max_k = std::min(ctx.size(), lines.size() - 1);  // never drop the whole answer
  for (size_t k = max_k; k >= 1; --k) {
    bool match = true;
    bool substance = false;
    for (size_t j = 0; j < k && match; ++j) {
      std::string_view a = at_start ? lines[j] : lines[lines.size() - k + j];
      std::string_view c = at_start ? ctx[ctx.size() - k + j] : ctx[j];
      match = trim(a) == trim(c);
      substance |= trim(c).size() >= 4;
    }
    if (match && substance) {
      if (at_start) {
        lines.erase(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        lines.resize(lines.size() - k);
      }
      return;
    }
  }
}

}  // namespace

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

std::string strip_think(std::string_view text) {
  std::string s(text);
  for (;;) {
    size_t open = s.find("<think>");
    size_t close = s.find("</think>");
    if (open == std::string::npos && close == std::string::npos) return s;
    size_t at;
    if (open == std::string::npos || close < open) {
      s.erase(0, close + 8);  // the opening tag was eaten upstream: everything before is thought
      at = 0;
    } else if (close == std::string::npos) {
      s.resize(open);  // still thinking when it stopped
      return s;
    } else {
      s.erase(open, close + 8 - open);
      at = open;
    }
    // The line break that separated the thought from the answer.
    while (at < s.size() && (s[at] == '\n' || s[at] == '\r')) s.erase(at, 1);
  }
}

std::vector<Block> fenced_blocks(std::string_view markdown) {
  std::vector<Block> out;
  const std::vector<std::string_view> lines = split_lines(markdown);
  std::optional<FenceLine> open;
  size_t open_at = 0;
  auto close = [&](size_t close_at, bool closed) {
    Block b;
    std::string_view info = trim(open->info);
    b.lang = std::string(info.substr(0, info.find_first_of(" \t{")));
    b.code = join_lines(lines, open_at + 1, std::min(close_at, lines.size()));
    b.open_line = open_at;
    b.close_line = close_at;
    b.closed = closed;
    out.push_back(std::move(b));
    open.reset();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    auto f = fence_line(lines[i]);
    if (open) {
      if (f && f->ch == open->ch && f->len >= open->len && is_blank(f->info)) close(i, true);
    } else if (f && !(f->ch == '`' && f->info.find('`') != std::string_view::npos)) {
      open = f;
      open_at = i;
    }
  }
  if (open) close(lines.size(), false);
  return out;
}

bool is_prose_opener(std::string_view line) {
  const std::string l = lower(trim(line));
  if (l.empty()) return false;
  static constexpr std::string_view kOpeners[] = {
      "here is",       "here's",    "here are",       "sure",        "certainly", "okay",        "ok,",
      "of course",     "below",     "the completion", "the missing", "the code",  "the text to", "the updated",
      "the rewritten", "the fixed", "the modified",   "the new",     "updated",   "rewritten",   "i've",
      "i have",        "i will",    "i'll",           "completion:", "output:",   "answer:",     "insert:",
      "以下",          "这是",      "下面",           "补全",        "好的",      "修改后",      "当然"};
  for (auto o : kOpeners) {
    if (starts_with(l, o)) {
      // A sentence that introduces what follows: code rarely starts with these words and ends so, or
      // has none of the characters code is made of.
      return ends_sentence(l) || !has_code_chars(l);
    }
  }
  return false;
}

bool is_prose_closer(std::string_view line) {
  const std::string l = lower(trim(line));
  static constexpr std::string_view kClosers[] = {"this ",      "these ",   "explanation", "note:",   "note that",
                                                  "the above",  "in this ", "i've ",       "i have ", "this completes",
                                                  "the change", "changes:", "it now",      "这段",    "说明",
                                                  "解释",       "注意",     "修改说明",    "上述",    "这样"};
  for (auto c : kClosers) {
    if (starts_with(l, c)) return true;
  }
  return false;
}

std::string strip_prose(std::string_view text) {
  std::vector<std::string_view> lines = split_lines(text);
  size_t from = 0;
  while (from < lines.size() && (is_blank(lines[from]) || is_prose_opener(lines[from]))) ++from;
  if (from == lines.size()) return std::string(text);  // all of it reads as prose: leave it to the caller
  size_t to = lines.size();
  // The explaining paragraph after the code: a blank line, then a closing sentence, to the end.
  for (size_t i = from + 1; i + 1 < lines.size(); ++i) {
    if (is_blank(lines[i]) && is_prose_closer(lines[i + 1])) {
      to = i;
      break;
    }
  }
  // A last line that is a sentence on its own ("This keeps the original order.").
  while (to > from + 1 &&
         (is_blank(lines[to - 1]) ||
          (is_prose_closer(lines[to - 1]) && ends_sentence(trim(lines[to - 1])) && !has_code_chars(lines[to - 1]))))
    --to;
  return join_lines(lines, from, to);
}

std::optional<std::string> diff_new_side(std::string_view text) {
  std::vector<std::string_view> lines = split_lines(rtrim(text));
  bool hunk = false;
  std::vector<std::string_view> kept;
  for (auto l : lines) {
    if (starts_with(l, "@@")) {
      hunk = true;
      continue;
    }
    if (!hunk) {
      // Headers before the first hunk.
      if (starts_with(l, "--- ") || starts_with(l, "+++ ") || starts_with(l, "diff ") || starts_with(l, "index ") ||
          is_blank(l))
        continue;
      return std::nullopt;
    }
    if (l.empty()) {
      kept.push_back(l);  // a context line whose space was trimmed
    } else if (l[0] == ' ' || l[0] == '+') {
      kept.push_back(l.substr(1));
    } else if (l[0] == '-' || starts_with(l, "\\ No newline")) {
      continue;
    } else {
      return std::nullopt;
    }
  }
  if (!hunk) return std::nullopt;
  return join_lines(kept, 0, kept.size());
}

std::string code_from_answer(std::string_view answer, const CodeOptions& options) {
  std::string text = normalize_newlines(answer);
  if (options.partial) {
    size_t nl = text.rfind('\n');
    text.resize(nl == std::string::npos ? 0 : nl);
  }
  text = strip_think(text);

  std::string code;
  std::vector<Block> blocks = fenced_blocks(text);
  if (!blocks.empty()) {
    const Block* best = &blocks.front();
    for (const Block& b : blocks) {
      if (b.code.size() > best->code.size()) best = &b;
    }
    code = best->code;
    if (!best->closed) {
      // Streaming (or cut off): a closing fence half written is not code.
      std::vector<std::string_view> lines = split_lines(code);
      while (!lines.empty() && is_partial_fence(lines.back())) lines.pop_back();
      code = join_lines(lines, 0, lines.size());
    }
    if (best->lang == "diff" || best->lang == "patch") {
      if (auto d = diff_new_side(code)) code = *d;
    }
  } else if (std::string_view t = trim(text);
             t.size() > 6 && starts_with(t, "```") && ends_with(t, "```") && t.find('\n') == std::string_view::npos) {
    code = std::string(t.substr(3, t.size() - 6));  // one line: ```code```
  } else if (auto d = diff_new_side(text)) {
    code = *d;
  } else {
    std::vector<std::string_view> lines = split_lines(text);
    while (!lines.empty() && is_partial_fence(lines.back())) lines.pop_back();
    // Streaming and only introducing sentences so far: the code has not started (a finished answer
    // that is all prose, e.g. a refusal, is shown as it is).
    const bool only_intro =
        std::all_of(lines.begin(), lines.end(), [](std::string_view l) { return is_blank(l) || is_prose_opener(l); });
    code = options.partial && only_intro ? std::string() : strip_prose(join_lines(lines, 0, lines.size()));
  }

  std::vector<std::string_view> lines = split_lines(code);
  auto drop_blank_ends = [&lines] {
    while (!lines.empty() && is_blank(lines.front())) lines.erase(lines.begin());
    while (!lines.empty() && is_blank(lines.back())) lines.pop_back();
  };
  drop_blank_ends();
  drop_repeated_context(lines, options.before, true);
  drop_repeated_context(lines, options.after, false);
  drop_blank_ends();
  if (lines.empty()) return {};

  // The model dropped the indentation the original has: give it back.
  std::string_view want = min_indent(split_lines(options.original.empty() ? options.indent_like : options.original));
  std::string out;
  const bool reindent = !want.empty() && min_indent(lines).empty();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    if (reindent && !is_blank(lines[i])) out.append(want);
    out.append(lines[i]);
  }
  if (ends_with(options.original, "\n")) out += '\n';
  if (options.original.find("\r\n") != std::string_view::npos) {
    // A CRLF file gets CRLF lines back.
    std::string crlf;
    crlf.reserve(out.size() + out.size() / 16);
    for (char c : out) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    out = std::move(crlf);
  }
  return out;
}

}  // namespace glm::extract
