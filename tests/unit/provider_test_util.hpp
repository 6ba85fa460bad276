// Helpers for provider unit tests: recorded responses, a driver-like feeder, split-invariance checks.
//
// Fixture format (tests/fixtures/<provider>/*.http): a recorded HTTP/1.1 response.
//   HTTP/1.1 <status> <reason>\n
//   <name>: <value>\n            (any number; names are lowercased on load, as net::Headers are)
//   \n
//   <body bytes, exactly as sent: CRLF, CR, no trailing newline... are all preserved>
// Header lines end in LF; the body is everything after the first blank line, byte for byte.
#pragma once

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "net/http_client.hpp"
#include "providers/provider.hpp"

namespace glm::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct RecordedResponse {
  int status = 200;
  net::Headers headers;
  std::string body;
};

// Parses the .http format above from a string.
inline RecordedResponse parse_response(const std::string& text) {
  RecordedResponse r;
  size_t eol = text.find('\n');
  if (text.compare(0, 5, "HTTP/") != 0 || eol == std::string::npos)
    throw std::runtime_error("fixture does not start with a status line");
  std::istringstream status_line(text.substr(0, eol));
  std::string version;
  status_line >> version >> r.status;
  size_t pos = eol + 1;
  for (;;) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) throw std::runtime_error("fixture has no blank line after headers");
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("bad header line: " + line);
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    r.headers.emplace(name, line.substr(v));
  }
  r.body = text.substr(pos);
  return r;
}

// Loads tests/fixtures/<relative>.
inline RecordedResponse load_response(const std::string& relative) {
  return parse_response(read_file(std::string(GLM_FIXTURES_DIR) + "/" + relative));
}

struct CollectingSink : DeltaSink {
  std::string content;
  std::string reasoning;
  std::vector<std::pair<std::string, std::string>> deltas;
  void on_delta(std::string_view c, std::string_view r) override {
    content += c;
    reasoning += r;
    deltas.emplace_back(std::string(c), std::string(r));
  }
  // Recorded as a delta whose texts are prefixed "<replace>", so summaries show it happened.
  void on_replace(std::string_view c, std::string_view r) override {
    content = std::string(c);
    reasoning = std::string(r);
    deltas.emplace_back("<replace>" + std::string(c), "<replace>" + std::string(r));
  }
  Json tool_fragments = Json::array();  // every fragment passed on, in order
  void on_tool_calls(const Json& fragments) override {
    for (const auto& f : fragments) tool_fragments.push_back(f);
  }
};

// Everything a stream produced, comparable across feeding patterns.
struct StreamOutcome {
  std::vector<std::pair<std::string, std::string>> deltas;
  std::string content;
  std::string reasoning;
  ChatResult result;
  bool done = false;
  std::optional<UpstreamError> error;
  Json tool_fragments = Json::array();

  // A one-line summary; equal summaries mean equal outcomes (used by the split checks).
  std::string summary() const {
    std::ostringstream o;
    o << "content=" << content << "|reasoning=" << reasoning << "|deltas=" << deltas.size()
      << "|finish=" << result.finish_reason << "|model=" << result.model << "|done=" << done
      << "|tool_calls=" << result.tool_calls.dump();
    if (result.usage)
      o << "|usage=" << result.usage->input_tokens << "/" << result.usage->output_tokens << "/"
        << result.usage->total_tokens;
    if (error)
      o << "|error=" << error_kind_name(error->kind) << "," << error->message << ",code=" << error->upstream_code
        << ",status=" << (error->http_status ? *error->http_status : 0) << ",retryable=" << error->retryable
        << ",refresh=" << error->refresh_credentials << ",rid=" << error->request_id
        << ",retry_after=" << (error->retry_after_ms ? *error->retry_after_ms : -1);
    return o.str();
  }
};

// Feeds one response the way the chat driver does: head, the body in pieces cut at `cuts` (ascending
// offsets), then EOF. Stops feeding once error() is set, as the driver does.
inline StreamOutcome run_stream(Provider& provider, const ChatRequest& request, const RecordedResponse& response,
                                const std::vector<size_t>& cuts = {}) {
  StreamOutcome out;
  CollectingSink sink;
  auto stream = provider.open_stream(request, out.result, sink);
  stream->on_head(response.status, response.headers);
  size_t start = 0;
  std::vector<size_t> points = cuts;
  points.push_back(response.body.size());
  for (size_t p : points) {
    if (stream->error()) break;
    p = std::min(p, response.body.size());
    if (p < start) continue;
    stream->on_body(std::string_view(response.body).substr(start, p - start));
    start = p;
  }
  if (!stream->error()) stream->on_eof();
  out.deltas = sink.deltas;
  out.content = sink.content;
  out.reasoning = sink.reasoning;
  out.tool_fragments = sink.tool_fragments;
  out.done = stream->done();
  out.error = stream->error();
  return out;
}

// Feeds one byte per on_body call.
inline StreamOutcome run_stream_bytewise(Provider& provider, const ChatRequest& request,
                                         const RecordedResponse& response) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < response.body.size(); ++i) cuts.push_back(i);
  return run_stream(provider, request, response, cuts);
}

// The outcome is the same whether the body arrives whole, split at any single byte offset, or a byte
// at a time. Returns the whole-body outcome.
inline StreamOutcome check_split_invariance(Provider& provider, const ChatRequest& request,
                                            const RecordedResponse& response) {
  StreamOutcome whole = run_stream(provider, request, response);
  const std::string expected = whole.summary();
  for (size_t cut = 0; cut <= response.body.size(); ++cut) {
    std::string got = run_stream(provider, request, response, {cut}).summary();
    if (got != expected) {
      INFO("split at byte " << cut);
      REQUIRE(got == expected);
    }
  }
  REQUIRE(run_stream_bytewise(provider, request, response).summary() == expected);
  return whole;
}

// Runs prepare() and returns its (synchronous) result; fails the test if prepare() went async.
inline Result<net::Request> prepare_now(Provider& provider, const ChatRequest& request) {
  std::optional<Result<net::Request>> got;
  provider.prepare(request, [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  REQUIRE(got.has_value());
  return std::move(*got);
}

// All values of a request header (exact name as the provider wrote it, compared case-insensitively).
inline std::vector<std::string> request_headers(const net::Request& request, std::string name) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  name = lower(name);
  std::vector<std::string> out;
  for (const auto& [n, v] : request.headers)
    if (lower(n) == name) out.push_back(v);
  return out;
}

inline ChatRequest simple_request(std::string provider, std::string model, std::string text = "你好") {
  ChatRequest r;
  r.provider = std::move(provider);
  r.model = std::move(model);
  r.messages.push_back(Message{"user", Json(std::move(text))});
  return r;
}

// A ProviderContext for tests that never touch HTTP (providers only build requests and parse bytes).
struct TestContext {
  asio::io_context io;
  ProviderContext context() { return ProviderContext{io, nullptr}; }
};

}  // namespace glm::test
