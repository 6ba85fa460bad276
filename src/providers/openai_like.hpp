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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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

// stop | length | tool_calls | content_filter as docs/protocol.md names them:
//   sensitive (Zhipu) → content_filter; function_call (legacy OpenAI) → tool_calls;
//   model_context_window_exceeded (Zhipu) → length: generation stopped because the context filled
//   up; the text is usable and truncated, exactly what a client does with `length` (offer to go on);
//   max_tokens → length; anything else unchanged.
std::string normalize_finish_reason(std::string_view vendor);

// Token usage from an OpenAI-style usage object (prompt_tokens/completion_tokens/total_tokens, or
// input_tokens/output_tokens); total defaults to the sum. nullopt when `usage` is not an object.
std::optional<Usage> parse_openai_usage(const Json& usage);

// The numeric members of a usage object, each set only when present as a JSON number (a float is
// truncated toward zero). Shared by the DOM and SAX readers so both compute Usage the same way.
struct OpenAiUsageFields {
  std::optional<int64_t> prompt_tokens, input_tokens, completion_tokens, output_tokens, total_tokens;
};

class OpenAiLikeDecoder : public SseChatStream {
 public:
  OpenAiLikeDecoder(OpenAiLikeDialect dialect, ChatResult& result, DeltaSink& sink, Limits limits = Limits{});

  // TEST ONLY. Stream chunks are normally read by a SAX scan that keeps just the fields apply_choices
  // needs and falls back to the DOM parse for anything unusual (errors, malformed JSON, odd shapes,
  // repeated keys); `false` forces the DOM parse for every chunk so tests can check that both give
  // the same outcome. Process-wide; production never calls it.
  static void set_fast_path_for_testing(bool enabled) { fast_path_enabled_.store(enabled, std::memory_order_relaxed); }
  // TEST ONLY. How many stream chunks the SAX scan has decoded (process-wide), so tests can tell the
  // fast path really ran.
  static size_t fast_path_chunks_for_testing() { return fast_path_chunks_.load(std::memory_order_relaxed); }

 protected:
  void on_stream_event(const sse::Event& event) override;
  void on_json_body(const Json& body, std::string_view raw) override;
  void on_end() override;
  UpstreamError map_error(int status, const Json* body, std::string_view raw) override;

  // The UpstreamError for what an error envelope said: status defaults, then the dialect.
  UpstreamError error_from(const ErrorInfo& info) const;

 private:
  // What one chunk (or non-stream body) contributes, whichever parser read it. Strings are kept in
  // a member reused across events, so a steady stream allocates nothing here.
  struct ChunkFields {
    bool has_model = false;  // `model` is a string (possibly empty)
    std::string model;
    bool has_choice = false;  // `choices` is a non-empty array whose first element is an object
    bool has_delta = false;   // that element's delta (or message) is an object
    std::string content;      // delta.content; empty when absent, null or not a string
    std::string reasoning;    // delta.reasoning_content; likewise
    bool has_finish = false;  // choices[0].finish_reason is a string
    std::string finish_reason;
    bool has_usage = false;  // top-level `usage` is an object
    OpenAiUsageFields usage;
    Json tool_calls;  // delta.tool_calls (DOM path only: the SAX scan hands such chunks over)
    void clear();
  };
  class ChunkScanner;  // the SAX handler (openai_like.cpp)

  // One chunk (stream) or the whole response (non-stream): `delta_key` is "delta" or "message".
  void handle_choices(const Json& body, const char* delta_key);
  // The DOM half of handle_choices: fills `fields` from a parsed body.
  static void extract_choices(const Json& body, const char* delta_key, ChunkFields& fields);
  // The SAX path: true when `data` was a plain chunk and `fields` holds all it says; false means
  // "decode it the DOM way" (nothing has been applied yet).
  static bool scan_chunk(std::string_view data, ChunkFields& fields);
  // What handle_choices does once the fields are known; shared by both paths.
  void apply_choices(const ChunkFields& fields);
  void handle_finish(std::string_view reason);

  OpenAiLikeDialect dialect_;
  bool finish_seen_ = false;
  ChunkFields fields_;  // scratch for the current event

  inline static std::atomic<bool> fast_path_enabled_{true};
  inline static std::atomic<size_t> fast_path_chunks_{0};
};

}  // namespace glm
