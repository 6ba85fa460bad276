#include "lsp/document.hpp"

#include <algorithm>

namespace glm::lsp {

const char* encoding_name(Encoding e) {
  switch (e) {
    case Encoding::utf8:
      return "utf-8";
    case Encoding::utf16:
      return "utf-16";
    case Encoding::utf32:
      return "utf-32";
  }
  return "utf-16";
}

std::optional<Encoding> parse_encoding(std::string_view name) {
  if (name == "utf-8") return Encoding::utf8;
  if (name == "utf-16") return Encoding::utf16;
  if (name == "utf-32") return Encoding::utf32;
  return std::nullopt;
}

size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // a continuation byte or an invalid lead: one unit on its own
}

size_t utf8_floor(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  // At most 3 continuation bytes back; text from JSON is valid UTF-8, but stay bounded regardless.
  size_t back = 0;
  while (offset > 0 && offset < text.size() && back < 3 && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
    --offset;
    ++back;
  }
  return offset;
}

namespace {

// Code units of one code point of `len` UTF-8 bytes in encoding `e`.
int64_t units_of(size_t len, Encoding e) {
  switch (e) {
    case Encoding::utf8:
      return static_cast<int64_t>(len);
    case Encoding::utf16:
      return len == 4 ? 2 : 1;
    case Encoding::utf32:
      return 1;
  }
  return 1;
}

// Whether a line starts at byte `p` of `t` (p > 0): after "\n", or after a "\r" not followed by "\n".
bool starts_line(std::string_view t, size_t p) {
  char prev = t[p - 1];
  if (prev == '\n') return true;
  return prev == '\r' && (p >= t.size() || t[p] != '\n');
}

}  // namespace

Document::Document(std::string text, int64_t version, std::string language_id)
    : text_(std::move(text)), version_(version), language_id_(std::move(language_id)) {
  index_all();
}

void Document::index_all() {
  line_starts_.assign(1, 0);
  for (size_t p = 1; p <= text_.size(); ++p)
    if (starts_line(text_, p)) line_starts_.push_back(p);
}

size_t Document::line_of_offset(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<size_t>(it - line_starts_.begin()) - 1;
}

std::pair<size_t, size_t> Document::line_span(size_t line) const {
  if (line >= line_starts_.size()) return {text_.size(), text_.size()};
  size_t start = line_starts_[line];
  size_t end = line + 1 < line_starts_.size() ? line_starts_[line + 1] : text_.size();
  // Drop the terminator ("\n", "\r\n" or "\r"); the last line has none.
  if (end > start && text_[end - 1] == '\n') --end;
  if (end > start && text_[end - 1] == '\r') --end;
  return {start, end};
}

size_t Document::offset_of(Position p, Encoding e) const {
  if (p.line < 0) return 0;
  if (static_cast<uint64_t>(p.line) >= line_starts_.size()) return text_.size();
  auto [start, end] = line_span(static_cast<size_t>(p.line));
  if (p.character <= 0) return start;
  size_t i = start;
  int64_t units = 0;
  while (i < end) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text_[i])), end - i);
    int64_t u = units_of(len, e);
    if (units + u > p.character) break;  // the position falls inside this code point: its start
    units += u;
    i += len;
    if (units == p.character) break;
  }
  return i;
}

Position Document::position_of(size_t offset, Encoding e) const {
  offset = utf8_floor(text_, std::min(offset, text_.size()));
  size_t line = line_of_offset(offset);
  auto [start, end] = line_span(line);
  size_t stop = std::min(offset, end);
  int64_t units = 0;
  for (size_t i = start; i < stop;) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text_[i])), stop - i);
    units += units_of(len, e);
    i += len;
  }
  return {static_cast<int64_t>(line), units};
}

void Document::apply_change(Position start, Position end, std::string_view text, Encoding e) {
  size_t a = offset_of(start, e), b = offset_of(end, e);
  if (a > b) std::swap(a, b);
  text_.replace(a, b - a, text);
  // Starts at or before the line before the edit's line are unchanged; starts whose two defining
  // bytes (p-1, p) both lie after the old range are the same bytes, shifted. Only the bytes in
  // between are scanned again ("\r" + "\n" may join or split across the edit's ends).
  size_t first = line_of_offset(a);
  if (first > 0) --first;
  const size_t keep_from = line_starts_[first];
  std::vector<size_t> tail;
  const int64_t delta = static_cast<int64_t>(text.size()) - static_cast<int64_t>(b - a);
  for (auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), b); it != line_starts_.end(); ++it)
    tail.push_back(static_cast<size_t>(static_cast<int64_t>(*it) + delta));
  line_starts_.resize(first + 1);
  const size_t scan_end = std::min(a + text.size(), text_.size());
  for (size_t p = keep_from + 1; p <= scan_end; ++p)
    if (starts_line(text_, p)) line_starts_.push_back(p);
  for (size_t s : tail)
    if (s > scan_end) line_starts_.push_back(s);
}

void Document::replace_all(std::string text) {
  text_ = std::move(text);
  index_all();
}

Document& DocumentStore::open(const std::string& uri, std::string text, int64_t version, std::string language_id) {
  return docs_[uri] = Document(std::move(text), version, std::move(language_id));
}

Document* DocumentStore::find(const std::string& uri) {
  auto it = docs_.find(uri);
  return it == docs_.end() ? nullptr : &it->second;
}

size_t DocumentStore::total_bytes() const {
  size_t n = 0;
  for (const auto& [uri, d] : docs_) n += d.text().size();
  return n;
}

}  // namespace glm::lsp
