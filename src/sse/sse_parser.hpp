// Server-sent events parser (WHATWG HTML, "Parsing an event stream":
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
// A pure state machine: no I/O, no allocation beyond its bounded buffers, not thread-safe (one per stream).
// Owned by whoever reads the stream; all calls (and the Handler callbacks they make) happen on that
// caller's thread. Handlers must not call back into the parser that is calling them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glm::sse {

struct Event {
  std::string type = "message";  // `event:` field, exactly as sent; "message" by default
  std::string data;              // `data:` lines joined with '\n'
  std::string id;                // last event id (persists across events)
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_event(const Event& event) = 0;
  // A comment line's text after the ':' (e.g. "HTTP_STATUS/200" from DashScope).
  virtual void on_comment(std::string_view) {}
  virtual void on_retry(uint64_t /*ms*/) {}
  // A body that was not SSE at all (see SseParser::finish()), whole. Not an event: an upstream
  // `event: raw` is an ordinary Event with type "raw" and never arrives here.
  virtual void on_non_sse_body(std::string_view /*body*/) {}
};

// Everything handed to a Handler (event type, data, id, comment text) is valid UTF-8: invalid
// sequences are replaced by U+FFFD per complete line, so multi-byte characters split across feed()
// calls survive intact.
class SseParser {
 public:
  enum class Status { ok, overflow };

  // max_buffer bounds a single line / event's data; past it feed() returns overflow and the parser
  // stays in overflow until reset().
  explicit SseParser(size_t max_buffer = 8u << 20);

  Status feed(std::string_view bytes, Handler& handler);
  // End of stream. With lenient = true an unterminated final event is dispatched, and a body that
  // was not SSE at all (its first non-BOM, non-space byte is '{' or '[', e.g. a JSON error body)
  // is delivered whole to Handler::on_non_sse_body().
  // With lenient = false (the spec) both are discarded. After finish(), feed() and finish() deliver
  // nothing until reset().
  Status finish(Handler& handler, bool lenient = true);
  void reset();

  const std::string& last_event_id() const;

 private:
  // Where the stream is: matching a leading BOM, holding leading whitespace until the first real byte
  // says SSE or raw JSON, then parsing SSE lines or buffering the raw body.
  enum class Phase { bom, sniff, sse, raw };

  void feed_content(std::string_view bytes, Handler& handler);
  void feed_sse(std::string_view bytes, Handler& handler);
  void process_line(std::string_view line, Handler& handler);
  void dispatch(Handler& handler);
  bool append_capped(std::string& buffer, std::string_view bytes);  // false (and overflow) past the cap
  void enter_overflow();

  size_t max_buffer_;
  Phase phase_ = Phase::bom;
  size_t bom_matched_ = 0;  // bytes of EF BB BF seen so far at stream start
  bool overflow_ = false;
  bool finished_ = false;
  bool after_cr_ = false;  // the last line ended in CR: an LF first in the next feed() is its partner
  std::string pending_;    // a partial line (only when a line straddles feed() calls)
  std::string raw_;        // leading whitespace while sniffing; the whole body in raw mode
  std::string data_;       // data buffer: value + '\n' per data line
  std::string type_;       // event type buffer; empty means "message"
  std::string last_id_;
  std::string scratch_;  // a line with invalid UTF-8 replaced, reused across lines
  Event event_;          // reused for dispatch so steady-state streaming does not allocate
};

}  // namespace glm::sse
