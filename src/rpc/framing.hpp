// Splits the client's byte stream into messages. Two framings, chosen per message by its first byte:
//  - LSP base protocol: headers (Content-Length required, Content-Type optional, any order, names
//    case-insensitive) then "\r\n\r\n" then exactly Content-Length bytes of JSON;
//  - NDJSON: a message starting with '{' or '[' is one JSON value terminated by '\n'.
// Bad framing is reported and the reader resynchronises on the next header or JSON line; nothing is
// allocated beyond `max_message` bytes. Pure state machine; owned by the stdin reader thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace glm::rpc {

enum class Framing { lsp, ndjson };

struct Frame {
  Framing framing = Framing::lsp;
  std::string body;
};

struct FrameError {
  Framing framing = Framing::lsp;
  std::string message;
};

class FrameReader {
 public:
  using OnFrame = std::function<void(Frame&&)>;
  using OnError = std::function<void(FrameError&&)>;

  FrameReader(OnFrame on_frame, OnError on_error, size_t max_message = 64u << 20);

  void feed(std::string_view bytes);
  // End of input. Returns false (and reports an error) when a message was cut short.
  bool finish();

 private:
  enum class State { idle, headers, body, ndjson, skip_bytes, skip_line, resync };

  // feed() dispatches on state_ to one of these; each consumes from the front of `in`.
  bool feed_idle(std::string_view& in);
  void feed_headers(std::string_view& in);
  void feed_body(std::string_view& in);
  void feed_ndjson(std::string_view& in);
  void feed_skip_bytes(std::string_view& in);
  bool feed_skip_line(std::string_view& in);
  bool feed_resync(std::string_view& in);
  void emit(Framing framing);  // buf_ is a whole message: hand it over, back to idle
  void on_header_block(std::string_view block);
  void fail(Framing framing, std::string message, State next);

  OnFrame on_frame_;
  OnError on_error_;
  size_t max_message_;
  State state_ = State::idle;
  std::string buf_;            // partial header block, partial NDJSON line, or the body being read
  size_t body_len_ = 0;        // expected body bytes (State::body)
  uint64_t skip_left_ = 0;     // bytes still to discard (State::skip_bytes)
  bool at_line_start_ = true;  // resync: whether the next byte begins a line
};

}  // namespace glm::rpc
