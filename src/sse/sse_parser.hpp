// Server-sent events parser (WHATWG "Parsing an event stream"; PROVIDERS.md §5).
// A pure state machine: no I/O, no allocation beyond its bounded buffers, not thread-safe (one per stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glm::sse {

struct Event {
  std::string type = "message";  // `event:` field; "message" by default; "raw" for a non-SSE body (see finish())
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
};

class SseParser {
 public:
  enum class Status { ok, overflow };

  // max_buffer bounds a single line / event's data; past it feed() returns overflow and the parser
  // stays in overflow until reset().
  explicit SseParser(size_t max_buffer = 8u << 20);

  Status feed(std::string_view bytes, Handler& handler);
  // End of stream. With lenient = true an unterminated final event is dispatched, and a body that
  // was not SSE at all (its first non-BOM, non-space byte is '{' or '[', e.g. a JSON error body)
  // is delivered as one Event{type = "raw", data = the whole body}.
  Status finish(Handler& handler, bool lenient = true);
  void reset();

  const std::string& last_event_id() const;
};

}  // namespace glm::sse
