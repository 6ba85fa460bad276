// The OpenAI-style response decoder shared by zhipu, dashscope-compat and openai (and any other
// `/chat/completions` lookalike): stream chunks, non-stream bodies, the error envelopes they use.
//
// What a vendor adds is a dialect: its name and a classifier that refines an error's kind and
// retryability from the vendor's own codes. Everything else is common:
//  - `choices[0].delta.{content, reasoning_content}` (either may be null/absent; `choices` may be
//    empty or missing) → sink deltas; `model` → result.model; `usage` (on the finish chunk or on a
//    separate `choices:[]` chunk) → result.usage.
//  - `finish_reason` → normalize_finish_reason(); Zhipu's `network_error` is an error instead
//    (kind server; the text so far stays with the driver as the partial result).
//  - `data: [DONE]` (prefix match, as the vendors' SDKs do) ends the stream. A stream that ends after
//    a finish_reason but without [DONE] is complete too (DashScope compat does not promise [DONE]; the
//    text is whole once the model said why it stopped). Without either: network error.
//  - errors: `data: {"error":{..}}` frames, `event: error` frames (DashScope-native framing with a
//    `:HTTP_STATUS/NNN` comment, which compat mode sends mid-stream), non-2xx bodies (bare JSON or
//    SSE-framed), a 2xx JSON body carrying `error`.
//  - events of types other than `message`, `result` and `error` (pings, keep-alives) are ignored;
//    empty `data:` events too (Zhipu's SDK yields them; they carry nothing).
// Loop thread only; one instance per response.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "providers/provider_common.hpp"
#include "providers/sse_chat_stream.hpp"

namespace glm {

struct OpenAiLikeDialect {
  std::string provider;
  // Refines `error`, which already carries the HTTP-status defaults (kind, retryable) and the
  // upstream code/message/request_id from `info`. May be empty.
  std::function<void(UpstreamError& error, const ErrorInfo& info)> classify;
};

// OpenAI's documented codes and types: invalid_api_key → auth, insufficient_quota → quota,
// context_length_exceeded → context_length, rate_limit_exceeded → rate_limit, content_filter /
// content_policy_violation → content_filter, model_not_found → invalid_request. Other codes keep the
// status defaults.
void classify_openai_error(UpstreamError& error, const ErrorInfo& info);

// stop | length | tool_calls | content_filter as DESIGN.md §2 names them:
//   sensitive (Zhipu) → content_filter; function_call (legacy OpenAI) → tool_calls;
//   model_context_window_exceeded (Zhipu) → length: generation stopped because the context filled
//   up; the text is usable and truncated, exactly what a client does with `length` (offer to go on);
//   max_tokens → length; anything else unchanged.
std::string normalize_finish_reason(std::string_view vendor);

// Token usage from an OpenAI-style usage object (prompt_tokens/completion_tokens/total_tokens, or
// input_tokens/output_tokens); total defaults to the sum. nullopt when `usage` is not an object.
std::optional<Usage> parse_openai_usage(const Json& usage);

class OpenAiLikeDecoder : public SseChatStream {
 public:
  OpenAiLikeDecoder(OpenAiLikeDialect dialect, ChatResult& result, DeltaSink& sink,
                    Limits limits = Limits{});

 protected:
  void on_stream_event(const sse::Event& event) override;
  void on_json_body(const Json& body, std::string_view raw) override;
  void on_end() override;
  UpstreamError map_error(int status, const Json* body, std::string_view raw) override;

  // The UpstreamError for what an error envelope said: status defaults, then the dialect.
  UpstreamError error_from(const ErrorInfo& info) const;

 private:
  // One chunk (stream) or the whole response (non-stream): `delta_key` is "delta" or "message".
  void handle_choices(const Json& body, const char* delta_key);
  void handle_finish(std::string_view reason);

  OpenAiLikeDialect dialect_;
  bool finish_seen_ = false;
};

}  // namespace glm
