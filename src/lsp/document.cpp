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

template <class T>
size_t offset_of_position(const T& t, Position p, Encoding e) {
  if (p.line < 0) return 0;
  if (static_cast<uint64_t>(p.line) >= t.line_count()) return t.size();
  auto [start, end] = line_span_of(t, static_cast<size_t>(p.line));
  if (p.character <= 0) return start;
  size_t i = start;
  int64_t units = 0;
  while (i < end) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(t.at(i))), end - i);
    int64_t u = units_of(len, e);
    if (units + u > p.character) break;  // the position falls inside this code point: its start
    units += u;
    i += len;
    if (units == p.character) break;
  }
  return i;
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
  size_t line_of_offset(size_t offset) const {
    size_t in_head = static_cast<size_t>(std::upper_bound(hls_.begin(), hls_.end(), offset) - hls_.begin());
    if (in_head < hls_.size() || offset < head_.size()) return in_head - 1;
    // Tail starts <= offset are those whose distance from the end is >= size - offset.
    size_t in_tail = static_cast<size_t>(tls_.end() - std::lower_bound(tls_.begin(), tls_.end(), size() - offset));
    return in_head + in_tail - 1;
  }

  void replace(size_t a, size_t b, std::string_view text) {
    move_to(b);
    size_t first = line_of_offset(a);
    if (first > 0) --first;  // "\r" + "\n" may join across the edit's start
    const size_t keep_from = hls_[first];
    head_.erase(a);
    head_.append(text);
    hls_.resize(first + 1);
    // Starts after the cursor keep their distance from the end; starts up to the new cursor are
    // scanned again (a start right after it depends on bytes that did not change).
    for (size_t p = keep_from + 1; p <= head_.size(); ++p)
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
  for (const auto& c : changes) {
    if (c.full) {
      g.reset(c.text);
      continue;
    }
    size_t a = offset_of_position(g, c.start, e), b = offset_of_position(g, c.end, e);
    if (a > b) std::swap(a, b);
    g.replace(a, b, c.text);
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
