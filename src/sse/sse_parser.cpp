#include "sse/sse_parser.hpp"

#include <cstring>
#include <limits>

namespace glm::sse {

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";
constexpr size_t kBomSize = 3;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Utf8Step {
  size_t len;  // bytes consumed: a whole character, or the maximal ill-formed subpart
  bool ok;
};

// One step of the WHATWG UTF-8 decoder: a well-formed character, or the bytes that together become
// a single U+FFFD (a bad lead byte alone; a lead plus the continuation bytes that were still valid).
Utf8Step utf8_step(const unsigned char* p, size_t n) {
  const unsigned char b = p[0];
  if (b < 0x80) return {1, true};
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;  // overlong
    if (b == 0xED) hi = 0x9F;  // surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;  // overlong
    if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {1, false};
  }
  for (size_t i = 1; i <= need; ++i) {
    if (i >= n || p[i] < lo || p[i] > hi) return {i, false};
    lo = 0x80;
    hi = 0xBF;
  }
  return {need + 1, true};
}

// Length of the longest well-formed UTF-8 prefix. ASCII (nearly all SSE framing and JSON) is skipped
// eight bytes at a time so valid lines cost one pass and no copy.
size_t valid_utf8_prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const Utf8Step step = utf8_step(p + i, n - i);
    if (!step.ok) return i;
    i += step.len;
  }
  return n;
}

// `s` itself when valid, else a copy in `scratch` with each ill-formed subpart replaced by U+FFFD.
std::string_view sanitize_utf8(std::string_view s, std::string& scratch) {
  size_t i = valid_utf8_prefix(s);
  if (i == s.size()) return s;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  scratch.assign(s.data(), i);
  while (i < s.size()) {
    const Utf8Step step = utf8_step(p + i, s.size() - i);
    if (step.ok) {
      scratch.append(s.data() + i, step.len);
    } else {
      scratch.append(kReplacement);
    }
    i += step.len;
  }
  return scratch;
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

SseParser::SseParser(size_t max_buffer) : max_buffer_(max_buffer) {}

SseParser::Status SseParser::feed(std::string_view bytes, Handler& handler) {
  if (overflow_) return Status::overflow;
  if (finished_) return Status::ok;
  // The BOM may arrive a byte at a time, so match it incrementally; bytes that turn out not to be a
  // BOM are ordinary content and are replayed before the rest.
  while (phase_ == Phase::bom && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBomSize) phase_ = Phase::sniff;
    } else {
      phase_ = Phase::sniff;
      feed_content(std::string_view(kBom, bom_matched_), handler);
    }
  }
  if (!bytes.empty() && !overflow_) feed_content(bytes, handler);
  return overflow_ ? Status::overflow : Status::ok;
}

void SseParser::feed_content(std::string_view bytes, Handler& handler) {
  if (phase_ == Phase::sniff) {
    // Leading whitespace is held back: it means nothing in either SSE (blank lines without data
    // dispatch nothing) or JSON, and the first real byte decides which one we are reading.
    size_t i = 0;
    while (i < bytes.size() && is_json_space(bytes[i])) ++i;
    if (!append_capped(raw_, bytes.substr(0, i)) || i == bytes.size()) return;
    bytes.remove_prefix(i);
    if (bytes.front() == '{' || bytes.front() == '[') {
      phase_ = Phase::raw;
    } else {
      phase_ = Phase::sse;
      feed_sse(raw_, handler);
      raw_.clear();
      if (overflow_) return;
    }
  }
  if (phase_ == Phase::raw) {
    append_capped(raw_, bytes);
  } else {
    feed_sse(bytes, handler);
  }
}

void SseParser::feed_sse(std::string_view bytes, Handler& handler) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (after_cr_ && p != end) {
    if (*p == '\n') ++p;  // second half of a CRLF split across reads: not a blank line
    after_cr_ = false;
  }
  // Next LF at or after p (or end). Cached so CR-only streams do not rescan the rest of the input
  // for an LF on every line.
  const char* next_lf = nullptr;
  while (p != end && !overflow_) {
    if (next_lf == nullptr || next_lf < p) {
      const void* lf = std::memchr(p, '\n', static_cast<size_t>(end - p));
      next_lf = lf ? static_cast<const char*>(lf) : end;
    }
    const void* cr = std::memchr(p, '\r', static_cast<size_t>(next_lf - p));
    const char* eol = cr ? static_cast<const char*>(cr) : next_lf;
    const std::string_view segment(p, static_cast<size_t>(eol - p));
    if (eol == end) {
      append_capped(pending_, segment);  // partial line: wait for the rest
      return;
    }
    std::string_view line = segment;
    if (!pending_.empty()) {
      if (!append_capped(pending_, segment)) return;
      line = pending_;
    } else if (segment.size() > max_buffer_) {
      enter_overflow();
      return;
    }
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        after_cr_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
    process_line(line, handler);
    pending_.clear();
  }
}

void SseParser::process_line(std::string_view line, Handler& handler) {
  line = sanitize_utf8(line, scratch_);
  if (line.empty()) {
    dispatch(handler);
    return;
  }
  if (line.front() == ':') {
    handler.on_comment(line.substr(1));
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_buffer_) {
      enter_overflow();
      return;
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (value.empty()) return;
    uint64_t ms = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') return;
      const uint64_t digit = static_cast<uint64_t>(c - '0');
      // A delay too large to represent means "effectively never"; saturate rather than wrap.
      ms = ms > (std::numeric_limits<uint64_t>::max() - digit) / 10 ? std::numeric_limits<uint64_t>::max()
                                                                    : ms * 10 + digit;
    }
    handler.on_retry(ms);
  }
}

void SseParser::dispatch(Handler& handler) {
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  // Swap rather than copy: event_.data and data_ trade buffers, so neither reallocates once warm.
  // State is reset before the callback so a throwing handler leaves the parser consistent.
  event_.data.swap(data_);
  data_.clear();
  if (type_.empty()) {
    event_.type.assign("message");
  } else {
    event_.type.assign(type_);
  }
  type_.clear();
  event_.id.assign(last_id_);
  handler.on_event(event_);
}

bool SseParser::append_capped(std::string& buffer, std::string_view bytes) {
  if (buffer.size() + bytes.size() <= max_buffer_) {
    buffer.append(bytes);
    return true;
  }
  enter_overflow();
  return false;
}

void SseParser::enter_overflow() {
  overflow_ = true;
  // Sticky until reset(): drop what we hold so a hostile stream cannot pin the memory.
  std::string().swap(pending_);
  std::string().swap(raw_);
  std::string().swap(data_);
  std::string().swap(scratch_);
  type_.clear();
}

SseParser::Status SseParser::finish(Handler& handler, bool lenient) {
  if (overflow_) return Status::overflow;
  if (finished_) return Status::ok;
  finished_ = true;
  if (phase_ == Phase::bom) {  // the stream ended inside what might have been a BOM: it was content
    phase_ = Phase::sniff;
    feed_content(std::string_view(kBom, bom_matched_), handler);
  }
  if (lenient && !overflow_) {
    if (phase_ == Phase::raw) {
      // The cap holds for what the handler gets, as for event data: U+FFFD for each invalid byte can
      // make the repaired body up to three times the raw one.
      std::string_view body = sanitize_utf8(raw_, scratch_);
      if (body.size() > max_buffer_)
        enter_overflow();
      else
        handler.on_non_sse_body(body);
    } else if (phase_ == Phase::sse) {
      // Servers that omit the final blank line (or the final line end) still meant that event.
      if (!pending_.empty()) {
        process_line(pending_, handler);
        pending_.clear();
      }
      if (!overflow_) dispatch(handler);
    }
  }
  pending_.clear();
  data_.clear();
  type_.clear();
  std::string().swap(raw_);  // may hold a whole body; nothing reads it after the stream ends
  std::string().swap(scratch_);
  return overflow_ ? Status::overflow : Status::ok;
}

void SseParser::reset() {
  phase_ = Phase::bom;
  bom_matched_ = 0;
  overflow_ = false;
  finished_ = false;
  after_cr_ = false;
  pending_.clear();
  raw_.clear();
  data_.clear();
  type_.clear();
  last_id_.clear();
}

const std::string& SseParser::last_event_id() const { return last_id_; }

}  // namespace glm::sse
