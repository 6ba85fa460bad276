#include "lsp/rewrite.hpp"

#include <algorithm>
#include <cctype>

#include "lsp/document.hpp"

namespace glm::lsp {

const char* const kRewriteSystemPrompt =
    "You are an expert programmer editing code inside the user's editor. You get a selection from a file "
    "and an instruction. Reply with the code that replaces the selection, in one fenced code block, and "
    "nothing else: no explanation before or after. Keep the selection's indentation, style and language; "
    "change only what the instruction asks for. The code around the selection is context: do not repeat it.";

namespace {

std::string fence_for(std::string_view code) {
  size_t longest = 0, run = 0;
  for (char c : code) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

void append_block(std::string& out, std::string_view label, std::string_view code, const std::string& lang) {
  const std::string fence = fence_for(code);
  out += label;
  out += ":\n";
  out += fence + lang + "\n";
  out += code;
  if (code.empty() || code.back() != '\n') out += "\n";
  out += fence + "\n\n";
}

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

nlohmann::json build_rewrite_messages(const RewriteInput& in) {
  std::string user;
  if (!in.path.empty()) user += "File: `" + in.path + "`\n";
  if (!in.language.empty()) user += "Language: " + in.language + "\n";
  if (!user.empty()) user += "\n";
  // The selection first: it is what the reply replaces; the context follows.
  append_block(user, "Selection to rewrite", in.code, in.language);
  if (!in.before.empty()) append_block(user, "Context: the code just before the selection", in.before, in.language);
  if (!in.after.empty()) append_block(user, "Context: the code just after the selection", in.after, in.language);
  user += "Instruction: " + in.instruction;
  return nlohmann::json::array(
      {{{"role", "system"}, {"content", kRewriteSystemPrompt}}, {{"role", "user"}, {"content", user}}});
}

std::string extract_code(std::string_view reply, std::string_view original) {
  std::string out;
  // Find an opening fence at the start of a line: 3+ backticks or tildes.
  size_t pos = 0;
  bool found = false;
  while (pos < reply.size()) {
    size_t eol = reply.find('\n', pos);
    std::string_view line = reply.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    size_t indent = line.find_first_not_of(' ');
    if (indent != std::string_view::npos && indent < 4 && (line[indent] == '`' || line[indent] == '~')) {
      char fc = line[indent];
      size_t n = line.find_first_not_of(fc, indent);
      n = (n == std::string_view::npos ? line.size() : n) - indent;
      if (n >= 3 && eol != std::string_view::npos) {
        // The body runs to a closing fence of the same character, at least as long, alone on its line.
        size_t body = eol + 1, scan = body;
        size_t end = reply.size();
        while (scan < reply.size()) {
          size_t e2 = reply.find('\n', scan);
          std::string_view l2 = reply.substr(scan, e2 == std::string_view::npos ? std::string_view::npos : e2 - scan);
          if (!l2.empty() && l2.back() == '\r') l2.remove_suffix(1);
          size_t i2 = l2.find_first_not_of(' ');
          if (i2 != std::string_view::npos && i2 < 4 && l2[i2] == fc) {
            size_t m = l2.find_first_not_of(fc, i2);
            size_t run = (m == std::string_view::npos ? l2.size() : m) - i2;
            bool rest_blank = m == std::string_view::npos || blank(l2.substr(m));
            if (run >= n && rest_blank) {
              end = scan;
              break;
            }
          }
          if (e2 == std::string_view::npos) break;
          scan = e2 + 1;
        }
        out.assign(reply.substr(body, end - body));
        found = true;
        break;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (!found) {
    out.assign(reply);
    // Drop leading blank lines.
    size_t start = 0;
    while (start < out.size()) {
      size_t eol = out.find('\n', start);
      if (eol == std::string::npos || !blank(std::string_view(out).substr(start, eol - start))) break;
      start = eol + 1;
    }
    out.erase(0, start);
  }
  // Trailing blank lines and the final newline go; the final newline then matches the original's.
  for (;;) {
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    size_t nl = out.find_last_of('\n');
    size_t from = nl == std::string::npos ? 0 : nl;
    std::string_view last = std::string_view(out).substr(nl == std::string::npos ? 0 : nl + 1);
    if (out.empty() || !blank(last)) break;
    out.erase(from);
  }
  if (!original.empty() && original.back() == '\n')
    out += original.size() >= 2 && original[original.size() - 2] == '\r' ? "\r\n" : "\n";
  return out;
}

std::string uri_to_path(std::string_view uri) {
  constexpr std::string_view scheme = "file://";
  if (uri.substr(0, scheme.size()) != scheme) return std::string(uri);
  std::string_view rest = uri.substr(scheme.size());
  // file://host/path: the path starts at the first '/'.
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::string(uri);
  rest = rest.substr(slash);
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && hex(rest[i + 1]) >= 0 && hex(rest[i + 2]) >= 0) {
      out += static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2]));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return out;
}

std::string path_to_uri(std::string_view path) {
  std::string out = "file://";
  static const char* const digits = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string first_line(std::string_view text, size_t max_bytes) {
  size_t eol = text.find_first_of("\r\n");
  std::string_view line = text.substr(0, eol);
  if (line.size() <= max_bytes) return std::string(line);
  return std::string(line.substr(0, utf8_floor(line, max_bytes))) + "\xE2\x80\xA6";
}

}  // namespace glm::lsp
