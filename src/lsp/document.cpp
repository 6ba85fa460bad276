#include "lsp/document.hpp"

#include <algorithm>
#include <cstdint>

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

// Text with its line index, read through `at`/`line_start`: a Document's plain string (FlatText) or
// the gap buffer that applies a batch of edits (GapText). The position conversions below are written
// once over either.
struct FlatText {
  const std::string& text;
  const std::vector<size_t>& starts;
  size_t size() const { return text.size(); }
  char at(size_t i) const { return text[i]; }
  size_t line_count() const { return starts.size(); }
  size_t line_start(size_t line) const { return starts[line]; }
  size_t line_of_offset(size_t offset) const {
    return static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin()) - 1;
  }
};

// Whether a line starts at byte `p` (0 < p <= size): after "\n", or after a "\r" not followed by "\n".
template <class T>
bool starts_line(const T& t, size_t p) {
  char prev = t.at(p - 1);
  if (prev == '\n') return true;
  return prev == '\r' && (p >= t.size() || t.at(p) != '\n');
}

template <class T>
size_t floor_code_point(const T& t, size_t offset) {
  offset = std::min(offset, t.size());
  size_t back = 0;
  while (offset > 0 && offset < t.size() && back < 3 && (static_cast<unsigned char>(t.at(offset)) & 0xC0) == 0x80) {
    --offset;
    ++back;
  }
  return offset;
}

template <class T>
std::pair<size_t, size_t> line_span_of(const T& t, size_t line) {
  if (line >= t.line_count()) return {t.size(), t.size()};
  size_t start = t.line_start(line);
  size_t end = line + 1 < t.line_count() ? t.line_start(line + 1) : t.size();
  // Drop the terminator ("\n", "\r\n" or "\r"); the last line has none.
  if (end > start && t.at(end - 1) == '\n') --end;
  if (end > start && t.at(end - 1) == '\r') --end;
  return {start, end};
}

// A resolved position: its line, byte offset and code units from the line's start. A batch of edits
// keeps the last edit's end as an anchor, so that the next position on the same line is found by
// scanning from there (forward or back) instead of from the line's start: consecutive edits on one
// long line cost their distance, not the line's length.
struct Resolved {
  size_t line = SIZE_MAX;  // SIZE_MAX: not on a line (the end of the text past the last line)
  size_t offset = 0;
  int64_t units = 0;
};

template <class T>
Resolved resolve_position(const T& t, Position p, Encoding e, const Resolved* anchor = nullptr) {
  if (p.line < 0) return {0, 0, 0};
  if (static_cast<uint64_t>(p.line) >= t.line_count()) return {SIZE_MAX, t.size(), 0};
  const size_t line = static_cast<size_t>(p.line);
  auto [start, end] = line_span_of(t, line);
  if (p.character <= 0) return {line, start, 0};
  auto lead = [&](size_t i) { return static_cast<unsigned char>(t.at(i)); };
  if (e == Encoding::utf8) {
    // A unit is a byte: no scan, only the step back to the start of the code point it falls in.
    size_t i = static_cast<uint64_t>(p.character) >= end - start ? end : start + static_cast<size_t>(p.character);
    for (size_t back = 0; i > start && i < end && back < 3 && (lead(i) & 0xC0) == 0x80; ++back) --i;
    return {line, i, static_cast<int64_t>(i - start)};
  }
  size_t i = start;
  int64_t units = 0;
  if (anchor && anchor->line == line && anchor->offset >= start && anchor->offset <= end) {
    i = anchor->offset;
    units = anchor->units;
    // Back over whole code points while past the target; landing before it means the target is inside
    // the code point just stepped over: its start, as going forward would give.
    if (units > p.character) {
      while (units > p.character && i > start) {
        size_t j = i - 1;
        for (size_t back = 0; j > start && back < 3 && (lead(j) & 0xC0) == 0x80; ++back) --j;
        units -= units_of(i - j, e);
        i = j;
      }
      return {line, i, units};
    }
  }
  while (i < end) {
    size_t len = std::min(utf8_sequence_length(lead(i)), end - i);
    int64_t u = units_of(len, e);
    if (units + u > p.character) break;  // the position falls inside this code point: its start
    units += u;
    i += len;
    if (units == p.character) break;
  }
  return {line, i, units};
}

template <class T>
size_t offset_of_position(const T& t, Position p, Encoding e) {
  return resolve_position(t, p, e).offset;
}

int64_t units_in(std::string_view text, Encoding e) {
  if (e == Encoding::utf8) return static_cast<int64_t>(text.size());
  int64_t n = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text[i])), text.size() - i);
    n += units_of(len, e);
    i += len;
  }
  return n;
}

// A batch of edits: the text is split at a cursor into `head_` (before it) and `tail_` (after it,
// stored reversed), and the line starts into `hls_` (starts <= cursor, absolute) and `tls_` (starts
// after the cursor, as their distance from the end of the text, nearest the cursor last). An edit
// moves the cursor to its end (cost: the distance moved), replaces the bytes before it, and rescans
// only the lines it touched; nothing after the cursor is copied or renumbered.
class GapText {
 public:
  GapText(std::string&& text, std::vector<size_t>&& starts) : head_(std::move(text)), hls_(std::move(starts)) {}

  size_t size() const { return head_.size() + tail_.size(); }
  char at(size_t i) const { return i < head_.size() ? head_[i] : tail_[tail_.size() - 1 - (i - head_.size())]; }
  size_t line_count() const { return hls_.size() + tls_.size(); }
  size_t line_start(size_t line) const {
    return line < hls_.size() ? hls_[line] : size() - tls_[tls_.size() - 1 - (line - hls_.size())];
  }
  void replace(size_t a, size_t b, std::string_view text) {
    move_to(b);
    // Whether a line starts at p depends on bytes p-1 and p: starts before `a` are unchanged, starts
    // after the cursor keep their distance from the end (the bytes that define them did not change),
    // and only [a, a + size] is scanned again ("\r" + "\n" may join or split at either end).
    const size_t from = std::max<size_t>(a, 1);
    hls_.erase(std::lower_bound(hls_.begin(), hls_.end(), from), hls_.end());
    head_.erase(a);
    head_.append(text);
    for (size_t p = from; p <= head_.size(); ++p)
      if (starts_line(*this, p)) hls_.push_back(p);
  }

  void reset(std::string_view text) {
    head_.assign(text);
    tail_.clear();
    tls_.clear();
    hls_.assign(1, 0);
    for (size_t p = 1; p <= head_.size(); ++p)
      if (starts_line(*this, p)) hls_.push_back(p);
  }

  void finish(std::string& text, std::vector<size_t>& starts) {
    move_to(size());
    text = std::move(head_);
    starts = std::move(hls_);
  }

 private:
  void move_to(size_t x) {
    const size_t h = head_.size(), n = size();
    if (x < h) {
      tail_.append(head_.rbegin(), head_.rbegin() + static_cast<std::ptrdiff_t>(h - x));
      head_.erase(x);
      while (hls_.size() > 1 && hls_.back() > x) {
        tls_.push_back(n - hls_.back());
        hls_.pop_back();
      }
    } else if (x > h) {
      const size_t k = x - h;
      head_.append(tail_.rbegin(), tail_.rbegin() + static_cast<std::ptrdiff_t>(k));
      tail_.erase(tail_.size() - k);
      while (!tls_.empty() && n - tls_.back() <= x) {
        hls_.push_back(n - tls_.back());
        tls_.pop_back();
      }
    }
  }

  std::string head_, tail_;
  std::vector<size_t> hls_, tls_;
};

}  // namespace

Document::Document(std::string text, int64_t version, std::string language_id)
    : text_(std::move(text)), version_(version), language_id_(std::move(language_id)) {
  index_all();
}

void Document::index_all() {
  line_starts_.assign(1, 0);
  FlatText t{text_, line_starts_};
  for (size_t p = 1; p <= text_.size(); ++p)
    if (starts_line(t, p)) line_starts_.push_back(p);
}

std::pair<size_t, size_t> Document::line_span(size_t line) const {
  return line_span_of(FlatText{text_, line_starts_}, line);
}

size_t Document::offset_of(Position p, Encoding e) const {
  return offset_of_position(FlatText{text_, line_starts_}, p, e);
}

Position Document::position_of(size_t offset, Encoding e) const {
  FlatText t{text_, line_starts_};
  offset = floor_code_point(t, offset);
  size_t line = t.line_of_offset(offset);
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

void Document::apply_changes(const std::vector<Change>& changes, Encoding e) {
  if (changes.empty()) return;
  GapText g(std::move(text_), std::move(line_starts_));
  Resolved anchor;  // the previous edit's end, when still valid
  for (const auto& c : changes) {
    if (c.full) {
      g.reset(c.text);
      anchor = {};
      continue;
    }
    Resolved ra = resolve_position(g, c.start, e, &anchor);
    Resolved rb = resolve_position(g, c.end, e, ra.line != SIZE_MAX ? &ra : &anchor);
    if (ra.offset > rb.offset) std::swap(ra, rb);
    const size_t line_start = ra.line != SIZE_MAX ? g.line_start(ra.line) : 0;
    g.replace(ra.offset, rb.offset, c.text);
    // The edit's end is on the same line, `units(text)` further, when the text has no line break and
    // the line still starts where it did (a "\r" before it may have joined a "\n" after it).
    anchor = {};
    if (ra.line != SIZE_MAX && c.text.find_first_of("\r\n") == std::string_view::npos && ra.line < g.line_count() &&
        g.line_start(ra.line) == line_start)
      anchor = {ra.line, ra.offset + c.text.size(), ra.units + units_in(c.text, e)};
  }
  g.finish(text_, line_starts_);
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
