// SseChatStream: the common base of providers whose responses are SSE streams or JSON bodies.
//
// It owns the decisions every provider would otherwise repeat:
//  - 2xx: the body goes to an sse::SseParser, whose events reach the virtual on_event(). The parser
//    sniffs the first non-space byte: a body starting with `{`/`[` (a non-stream response, or a bare
//    JSON error even under text/event-stream) comes out at the end as the parser's non-SSE body, which
//    this class parses and hands to on_json_body(). An upstream event named `raw` is just an event. Content-Type is not
//    trusted: DashScope labels SSE bodies application/json.
//  - non-2xx: the body is collected (bounded) and at the end handed to map_error() as parsed JSON,
//    or as the JSON of its first SSE event when it is SSE-framed (DashScope compat's 400s), or raw.
//  - end of body: the parser is flushed leniently, then on_end(): without a terminator that is a
//    network error "stream ended before completion".
//  - fail(): one error per response; fills http_status, request_id (x-request-id), retry_after_ms
//    (Retry-After / retry-after-ms), honours `x-should-retry: false`, and clears `retryable` once any
//    text reached the sink (resending would repeat it).
// Exceptions thrown by a subclass while decoding become a protocol error; none leave this class.
//
// Ownership: created per attempt by Provider::open_stream; references `result` and `sink`, which the
// chat driver keeps alive for the stream's lifetime. Loop thread only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.hpp"
#include "net/http_client.hpp"
#include "providers/provider.hpp"
#include "sse/sse_parser.hpp"

namespace glm {

class SseChatStream : public ChatStream, private sse::Handler {
 public:
  struct Limits {
    size_t max_event_bytes = 8u << 20;  // one SSE line/event, or a whole non-stream JSON response
    size_t max_error_body = 1u << 20;   // a non-2xx body; the rest is dropped, not failed on
  };

  SseChatStream(std::string provider, ChatResult& result, DeltaSink& sink, Limits limits);
  SseChatStream(std::string provider, ChatResult& result, DeltaSink& sink)
      : SseChatStream(std::move(provider), result, sink, Limits{}) {}

  void on_head(int status, const net::Headers& headers) final;
  void on_body(std::string_view bytes) final;
  void on_eof() final;

 protected:
  // One dispatched event of a 2xx SSE body. Not called once finished().
  virtual void on_stream_event(const sse::Event& event) = 0;
  // A comment line of a 2xx SSE body. `:HTTP_STATUS/NNN` has already been recorded (comment_status()).
  virtual void on_stream_comment(std::string_view /*text*/) {}
  // A complete JSON body of a 2xx response.
  virtual void on_json_body(const Json& body, std::string_view raw) = 0;
  // The body ended and the parser was flushed, with neither done() nor error() set.
  // Default: UpstreamError{network, "stream ended before completion"}.
  virtual void on_end();
  // The error for a non-2xx response. `body` is the parsed JSON body, or the JSON object of the first
  // SSE event of an SSE-framed error body, or null; `raw` is the (bounded) body text.
  virtual UpstreamError map_error(int status, const Json* body, std::string_view raw) = 0;

  // A line of a 2xx SSE body that is not an SSE field line (no `data:`/`event:`/`id:`/`retry:`/`:`
  // prefix), e.g. a bare JSON error between data events (Qianfan). Only called after a subclass
  // called scan_unframed_lines(); the parser ignores such lines either way.
  virtual void on_unframed_line(std::string_view /*line*/) {}
  void scan_unframed_lines() { scan_lines_ = true; }

  // Passes new text to the sink (skipped when both are empty).
  void emit(std::string_view content, std::string_view reasoning);
  // Merges streamed tool-call fragments into result_.tool_calls and passes them on; a malformed
  // fragment fails the stream (protocol). Counts as streamed output (no resend after it).
  void emit_tool_calls(const Json& fragments);
  // Records the response's error (the first one wins) after completing it as described above;
  // an empty message becomes describe_upstream_error().
  void fail(UpstreamError error);
  void fail(ErrorKind kind, std::string message);
  void complete() { done_ = true; }
  bool finished() const { return done_ || error_.has_value(); }

  const std::string& provider() const { return provider_; }
  int status() const { return status_; }
  const net::Headers& headers() const { return headers_; }
  bool emitted_any() const { return emitted_any_; }
  // The last `:HTTP_STATUS/NNN` comment seen in the stream, if any.
  std::optional<int> comment_status() const { return comment_status_; }

  ChatResult& result_;

 private:
  // sse::Handler
  void on_event(const sse::Event& event) final;
  void on_comment(std::string_view text) final;
  void on_non_sse_body(std::string_view body) final;

  void finish_error_body();
  void check_parser(sse::SseParser::Status status);
  void feed_by_lines(std::string_view bytes);
  template <typename F>
  void guarded(F&& f);

  std::string provider_;
  DeltaSink& sink_;
  Limits limits_;
  sse::SseParser parser_;
  int status_ = 200;
  net::Headers headers_;
  std::string error_body_;  // non-2xx only
  bool emitted_any_ = false;
  std::optional<int> comment_status_;
  bool scan_lines_ = false;
  int body_kind_ = 0;  // 0 unknown, 1 SSE, 2 a JSON body (no line scanning)
  std::string line_;   // the current, unfinished line (scan_lines_ only; bounded by max_event_bytes)
};

}  // namespace glm
