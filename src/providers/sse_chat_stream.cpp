#include "providers/sse_chat_stream.hpp"

#include <charconv>
#include <chrono>
#include <exception>

#include "core/tool_calls.hpp"
#include "providers/provider_common.hpp"

namespace glm {

namespace {

bool is_success(int status) { return status >= 200 && status < 300; }

// A blank line, a comment, or a line of one of the SSE fields.
bool sse_field_line(std::string_view line) {
  auto starts = [&](std::string_view p) { return line.substr(0, p.size()) == p; };
  return line.empty() || line[0] == ':' || starts("data") || starts("event") || starts("id") || starts("retry");
}

// Collects the first JSON object out of an error body, whichever way it was framed: a bare JSON body
// (the parser's non-SSE body) or SSE `data:` events (DashScope compat's 400s).
class FirstJsonObject : public sse::Handler {
 public:
  void on_event(const sse::Event& event) override { take(event.data); }
  void on_non_sse_body(std::string_view body) override { take(body); }
  void take(std::string_view text) {
    if (found) return;
    Json j = Json::parse(text, nullptr, false);
    if (j.is_object()) {
      value = std::move(j);
      found = true;
    }
  }
  Json value;
  bool found = false;
};

}  // namespace

SseChatStream::SseChatStream(std::string provider, ChatResult& result, DeltaSink& sink, Limits limits)
    : result_(result), provider_(std::move(provider)), sink_(sink), limits_(limits), parser_(limits.max_event_bytes) {}

void SseChatStream::on_head(int status, const net::Headers& headers) {
  status_ = status;
  headers_ = headers;
}

void SseChatStream::on_body(std::string_view bytes) {
  if (finished()) return;
  if (!is_success(status_)) {
    size_t room = limits_.max_error_body - std::min(limits_.max_error_body, error_body_.size());
    error_body_.append(bytes.substr(0, room));
    return;
  }
  if (scan_lines_) {
    feed_by_lines(bytes);
    return;
  }
  check_parser(parser_.feed(bytes, *this));
}

void SseChatStream::feed_by_lines(std::string_view bytes) {
  // The parser sees exactly the same bytes, one line at a time, so every event before an unframed
  // line is dispatched before it and nothing after it once it failed the stream: the outcome does
  // not depend on how the body was split.
  while (!bytes.empty() && !finished()) {
    if (body_kind_ == 0) {
      size_t first = bytes.find_first_not_of(" \t\r\n");
      if (first == std::string_view::npos) {
        check_parser(parser_.feed(bytes, *this));
        return;
      }
      body_kind_ = bytes[first] == '{' || bytes[first] == '[' ? 2 : 1;
    }
    if (body_kind_ == 2) {
      check_parser(parser_.feed(bytes, *this));
      return;
    }
    size_t nl = bytes.find_first_of("\r\n");
    std::string_view segment = nl == std::string_view::npos ? bytes : bytes.substr(0, nl + 1);
    bytes.remove_prefix(segment.size());
    std::string_view content = segment;
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.remove_suffix(1);
    if (line_.size() + content.size() <= limits_.max_event_bytes) line_.append(content);
    if (nl == std::string_view::npos) {
      check_parser(parser_.feed(segment, *this));
      return;
    }
    if (!sse_field_line(line_)) guarded([&] { on_unframed_line(line_); });
    line_.clear();
    if (finished()) return;
    check_parser(parser_.feed(segment, *this));
  }
}

void SseChatStream::on_eof() {
  if (finished()) return;
  if (!is_success(status_)) {
    finish_error_body();
    return;
  }
  check_parser(parser_.finish(*this, /*lenient=*/true));
  if (!finished()) guarded([this] { on_end(); });
  if (!finished()) fail(ErrorKind::protocol, provider_ + ": response ended without a result");
}

void SseChatStream::on_end() {
  UpstreamError e;
  e.kind = ErrorKind::network;
  e.message = provider_ + ": stream ended before completion";
  // Not retried: the response had started (issue rule: retry only before a response's first byte).
  e.retryable = false;
  fail(std::move(e));
}

void SseChatStream::on_event(const sse::Event& event) {
  if (finished()) return;
  guarded([&] { on_stream_event(event); });
}

void SseChatStream::on_comment(std::string_view text) {
  // DashScope puts the status of each event in a comment: `:HTTP_STATUS/429` before an error frame.
  constexpr std::string_view kPrefix = "HTTP_STATUS/";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view digits = text.substr(kPrefix.size());
    int value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && value >= 100 && value <= 999) comment_status_ = value;
  }
  if (finished()) return;
  guarded([&] { on_stream_comment(text); });
}

void SseChatStream::on_non_sse_body(std::string_view text) {
  if (finished()) return;
  Json body = Json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    fail(ErrorKind::protocol, provider_ + ": malformed JSON response body");
    return;
  }
  guarded([&] { on_json_body(body, text); });
}

void SseChatStream::check_parser(sse::SseParser::Status status) {
  if (status == sse::SseParser::Status::overflow && !error_) {
    fail(ErrorKind::protocol,
         provider_ + ": stream event larger than " + std::to_string(limits_.max_event_bytes) + " bytes");
  }
}

void SseChatStream::finish_error_body() {
  FirstJsonObject first;
  sse::SseParser parser(limits_.max_error_body + 1);
  parser.feed(error_body_, first);
  parser.finish(first, /*lenient=*/true);
  UpstreamError e;
  try {
    e = map_error(status_, first.found ? &first.value : nullptr, error_body_);
  } catch (const std::exception&) {
    e = UpstreamError{};
    e.kind = error_kind_for_status(status_);
    e.retryable = status_retryable(status_);
  }
  if (!e.http_status) e.http_status = status_;
  fail(std::move(e));
}

template <typename F>
void SseChatStream::guarded(F&& f) {
  // Vendor JSON of an unexpected shape makes nlohmann throw (type_error, out_of_range...): that is the
  // upstream's protocol fault, reported as such, never an exception out of the stream.
  try {
    f();
  } catch (const std::exception& ex) {
    fail(ErrorKind::protocol, provider_ + ": could not decode the response: " + ex.what());
  }
}

void SseChatStream::emit(std::string_view content, std::string_view reasoning) {
  if (content.empty() && reasoning.empty()) return;
  emitted_any_ = true;
  sink_.on_delta(content, reasoning);
}

void SseChatStream::emit_tool_calls(const Json& fragments) {
  Json normalised = Json::array();
  if (auto bad = merge_tool_call_fragments(result_.tool_calls, fragments, &normalised)) {
    fail(ErrorKind::protocol, provider_ + ": " + *bad);
    return;
  }
  if (normalised.empty()) return;
  emitted_any_ = true;
  sink_.on_tool_calls(normalised);
}

void SseChatStream::fail(ErrorKind kind, std::string message) {
  UpstreamError e;
  e.kind = kind;
  e.message = std::move(message);
  fail(std::move(e));
}

void SseChatStream::fail(UpstreamError e) {
  if (error_) return;
  if (e.request_id.empty()) {
    e.request_id = header_value(headers_, "x-request-id");
    if (e.request_id.empty()) e.request_id = header_value(headers_, "request-id");
  }
  if (!e.retry_after_ms) {
    if (auto ms = header_value(headers_, "retry-after-ms"); !ms.empty()) {
      double v = 0;
      auto [ptr, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), v);
      if (ec == std::errc() && ptr == ms.data() + ms.size() && v >= 0 && v < 7 * 86400e3)
        e.retry_after_ms = static_cast<int64_t>(v);
    }
    if (!e.retry_after_ms) {
      if (auto ra = header_value(headers_, "retry-after"); !ra.empty())
        e.retry_after_ms = parse_retry_after(ra, std::chrono::system_clock::now());
    }
  }
  // Zhipu (and OpenAI) say explicitly when a resend is pointless.
  if (header_value(headers_, "x-should-retry") == "false") e.retryable = false;
  // Text already reached the client: a resend would repeat it.
  if (emitted_any_) e.retryable = false;
  if (e.message.empty()) e.message = describe_upstream_error(provider_, e);
  error_ = std::move(e);
}

}  // namespace glm
