// Baidu Qianfan wenxinworkshop v1 (docs/providers.md, "qianfan"): POST
// {base_url}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/<model>?access_token=<token>, or signed with
// bce-auth-v1 when the provider's `auth` is "bce". Responses: `data: {result,is_end,sentence_id,usage}`
// events (no [DONE]), one JSON body, or a bare `{"error_code","error_msg"}` body (often HTTP 200, even
// for a stream request).
//
// Access token (auth "oauth", the default): QIANFAN_ACCESS_TOKEN (config extra `access_token_env`)
// when set; else fetched from {base_url}/oauth/2.0/token with the API key / secret key, cached until
// 10 s before it expires, and fetched by ONE request however many chat requests wait for it.
//
// Ownership: QianfanProvider is owned by the provider registry and must outlive nothing but its own
// token fetch: its destructor cancels the fetch and fails the waiting requests (posted to the loop).
// QianfanStream is owned by the chat driver for one response. Loop thread only.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.hpp"
#include "providers/credentials.hpp"
#include "providers/provider.hpp"
#include "providers/provider_common.hpp"
#include "providers/registry.hpp"
#include "providers/sse_chat_stream.hpp"

namespace glm {

// The request body: messages normalised to user/assistant alternation (system folded into the first
// user turn, same-role runs merged, oldest turns dropped to meet max_chars). `dropped` (optional)
// receives how many messages normalisation removed.
Result<Json> qianfan_body(const ChatRequest& request, std::optional<int64_t> max_chars, size_t* dropped = nullptr);

// The error for a Qianfan `error_code`: 4/18/336501/336502 → rate_limit (retryable), 17/19 → quota,
// 110/111 → auth with refresh_credentials, 336103/336007 → context_length, 336003 (and the other
// argument errors) → invalid_request, 2/336100/15 → server (retryable), 14/13/6/336004 → auth.
UpstreamError qianfan_error(std::optional<int> http_status, const Json& body);

struct QianfanToken {
  std::string access_token;
  int64_t expires_in_s = 2592000;
};
// Parses a /oauth/2.0/token response. Failure → auth error such as
// "qianfan: token request failed: unknown client id" (upstream_code "invalid_client").
Result<QianfanToken> parse_qianfan_token(int status, std::string_view body);

class QianfanStream : public SseChatStream {
 public:
  QianfanStream(ChatResult& result, DeltaSink& sink);

 protected:
  void on_stream_event(const sse::Event& event) override;
  void on_json_body(const Json& body, std::string_view raw) override;
  void on_end() override;
  UpstreamError map_error(int status, const Json* body, std::string_view raw) override;
  void on_unframed_line(std::string_view line) override;

 private:
  void handle(const Json& body, bool whole);

  bool events_seen_ = false;
  bool is_end_field_seen_ = false;
};

class QianfanProvider : public Provider {
 public:
  QianfanProvider(const ProviderConfig& config, ProviderContext context);
  ~QianfanProvider() override;
  QianfanProvider(const QianfanProvider&) = delete;
  QianfanProvider& operator=(const QianfanProvider&) = delete;

  std::string_view name() const override { return "qianfan"; }
  std::optional<std::string> validate(const ChatRequest& request) const override;
  void prepare(const ChatRequest& request, PrepareDone done) override;
  std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result, DeltaSink& sink) override;
  void invalidate_credentials() override;
  std::vector<std::string> secrets() const override;

  // Token requests started so far (observability for tests and logs).
  size_t token_requests() const { return token_requests_; }

 private:
  struct Waiter {
    ChatRequest request;
    PrepareDone done;
  };
  struct TokenFetch;  // the response of one token request, being collected

  void prepare_ready(const ChatRequest& request, PrepareDone done);  // credentials resolved
  std::optional<int64_t> max_chars(const std::string& model) const;
  Result<net::Request> build_request(const ChatRequest& request, const std::string* access_token);
  void start_token_fetch();
  void finish_token_fetch(Result<QianfanToken> token);

  ProviderConfig config_;
  ProviderContext context_;
  Credentials credentials_;
  std::optional<std::string> token_;
  std::chrono::steady_clock::time_point token_refresh_at_{};
  std::vector<Waiter> waiters_;
  bool fetching_ = false;
  net::Transfer token_transfer_;
  size_t token_requests_ = 0;
};

std::unique_ptr<Provider> make_qianfan_provider(const ProviderConfig& config, ProviderContext context);
// Registry entry: kind qianfan (v1).
ProviderSpec qianfan_spec();

}  // namespace glm
