// Normalised chat types shared by every layer. Plain data: no I/O, no threads; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

using Json = nlohmann::json;

struct Message {
  std::string role;           // "system" | "user" | "assistant" | "tool"
  Json content;               // string, or parts[] ({type:"text",text} / {type:"image_url",image_url:{url}}), or
                              // null for an assistant message that only calls tools
  Json tool_calls = nullptr;  // assistant: [{id, type:"function", function:{name, arguments}}] it made
  std::string tool_call_id;   // tool: the call (tool_calls[].id) this message answers

  // The text of the message: the string itself, or the text parts joined with "\n".
  std::string text() const;
};

struct ChatOptions {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> top_k;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  std::optional<bool> thinking;
  std::optional<int64_t> seed;
  // Provider-specific pass-through options (e.g. dashscope "incremental_output"): options keys we
  // do not normalise are kept here and each provider decides what it accepts.
  Json extra = Json::object();
};

struct ChatRequest {
  std::string provider;  // "zhipu", "dashscope", ...
  std::string model;     // the provider's model name, without the "provider/" prefix
  std::vector<Message> messages;
  ChatOptions options;
  bool stream = true;          // what the client asked for; a provider may still stream upstream
  Json tools = nullptr;        // [{type:"function", function:{name, description?, parameters?}}, ...] as given
  Json tool_choice = nullptr;  // "auto" | "none" | "required" | {type:"function", function:{name}}
};

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;
};

// Error kinds of docs/protocol.md; the wire names are error_kind_name().
enum class ErrorKind {
  auth,
  rate_limit,
  quota,
  content_filter,
  context_length,
  invalid_request,
  network,
  timeout,
  server,
  protocol,
};
std::string_view error_kind_name(ErrorKind kind);

// An upstream failure, typed; converted to a JSON-RPC -32001 error at the edge.
struct UpstreamError {
  ErrorKind kind = ErrorKind::server;
  std::string message;  // a sentence a person understands
  std::optional<int> http_status;
  std::string upstream_code;  // vendor code as a string ("1301", "Throttling", "336003")
  std::string upstream_message;
  std::string request_id;
  std::optional<int64_t> retry_after_ms;
  bool retryable = false;            // safe to resend (only ever before the first streamed byte)
  bool refresh_credentials = false;  // credentials went stale (Qianfan 110/111, Zhipu 1003): refresh, resend once
};

// Either a value or an UpstreamError.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(UpstreamError error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const UpstreamError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, UpstreamError> v_;
};

// The whole outcome of one chat request, accumulated while the stream runs.
struct ChatResult {
  std::string content;
  std::string reasoning;
  std::string finish_reason;  // stop | length | tool_calls | content_filter | ... ("" until known)
  std::optional<Usage> usage;
  std::string model;
  std::string provider;
  Json extra = Json::object();      // provider facts for the client (need_clear_history, dropped_messages, ...)
  Json tool_calls = Json::array();  // assembled from the streamed fragments (core/tool_calls.hpp)
};

}  // namespace glm
