// Provider interface: turns a normalised ChatRequest into an HTTP request, and an upstream response
// into normalised deltas, a finish reason, usage, or a typed UpstreamError. Providers know vendor JSON;
// nothing else does. All methods run on the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/types.hpp"
#include "net/http_client.hpp"

namespace glm {

class Credentials;

// Receives what the stream produced, in order. `content`/`reasoning` are appended text (either may be empty).
class DeltaSink {
 public:
  virtual ~DeltaSink() = default;
  virtual void on_delta(std::string_view content, std::string_view reasoning) = 0;
  // The upstream rewrote text it had already sent (DashScope cumulative output whose new text is not an
  // extension of the old): everything so far is replaced by these full texts. Clients get a delta with
  // `replace: true` (docs/protocol.md).
  virtual void on_replace(std::string_view content, std::string_view reasoning) = 0;
  // Tool-call fragments as they streamed (each with an explicit `index`; the assembled calls are in
  // ChatResult::tool_calls). Clients get them in chat/delta's `tool_calls` (docs/protocol.md).
  virtual void on_tool_calls(const Json& /*fragments*/) {}
};

// Parses one HTTP response (one attempt). The chat driver feeds it the head, the body bytes and the end;
// it writes into `result` (finish_reason, usage, model, extra) and calls sink.on_delta for new text.
// content/reasoning accumulation is the driver's job (it sees every delta).
class ChatStream {
 public:
  virtual ~ChatStream() = default;
  virtual void on_head(int status, const net::Headers& headers) = 0;
  virtual void on_body(std::string_view bytes) = 0;
  // The body ended cleanly (connection closed or transfer complete).
  virtual void on_eof() = 0;

  // The stream reached its logical end ([DONE], is_end, final finish_reason, or a complete JSON body).
  bool done() const { return done_; }
  // Set when the response is (or turned into) an error; the driver stops feeding then.
  const std::optional<UpstreamError>& error() const { return error_; }

 protected:
  bool done_ = false;
  std::optional<UpstreamError> error_;
};

// Everything a provider needs from the server, handed over at construction.
struct ProviderContext {
  asio::io_context& io;
  std::shared_ptr<net::HttpClient> http;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;

  // Checks the request against what this provider accepts (option ranges, message shapes).
  // Returns an InvalidParams message naming the field and the range, e.g.
  // "options.temperature: must be in [0, 1] for zhipu".
  virtual std::optional<std::string> validate(const ChatRequest& request) const = 0;

  // Builds the upstream request. Asynchronous because credentials may need fetching (Qianfan's OAuth
  // token, api_key_cmd); simple providers call `done` before returning. `done` is called exactly once.
  using PrepareDone = std::function<void(Result<net::Request>)>;
  virtual void prepare(const ChatRequest& request, PrepareDone done) = 0;

  // A POST of a JSON body the caller built, to {base_url}{path}, with this provider's credentials and
  // transfer settings (`complete` uses it for CodeGeeX FIM bodies and OpenAI-style `/completions`).
  // The response is read with open_stream(). Default: an invalid_request error (no such endpoint).
  virtual void prepare_json(const std::string& path, const Json& /*body*/, bool /*stream*/, PrepareDone done) {
    UpstreamError e;
    e.kind = ErrorKind::invalid_request;
    e.message = std::string(name()) + ": no JSON endpoint " + path + " for fill-in-the-middle completion";
    done(std::move(e));
  }

  // A parser for one response to the request `prepare` built.
  virtual std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result, DeltaSink& sink) = 0;

  // Credentials were rejected as stale (UpstreamError::refresh_credentials); drop caches so the next
  // prepare() fetches fresh ones.
  virtual void invalidate_credentials() {}

  // The secrets this provider holds now (keys, secret keys, tokens), so that upstream text echoing
  // them (an error page that repeats the request) is redacted before it is logged or returned
  // (redact_secrets in provider_common.hpp; server/upstream_error.hpp applies it to every error).
  virtual std::vector<std::string> secrets() const { return {}; }
};

// make_provider(): in registry.hpp, with the table of provider kinds.

}  // namespace glm
