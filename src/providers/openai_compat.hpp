// One implementation for every OpenAI-style `/chat/completions` kind (zhipu, dashscope-compat,
// openai, qianfan-v2, and any vendor added by the recipe in docs/providers.md). A kind is a
// dialect: a table of its path, option ranges, thinking mapping, pass-through extras, auth and error
// classifier. The response side is OpenAiLikeDecoder (openai_like.hpp).
// Loop thread only.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/credentials.hpp"
#include "providers/jwt.hpp"
#include "providers/openai_like.hpp"
#include "providers/provider.hpp"
#include "providers/provider_common.hpp"
#include "providers/registry.hpp"

namespace glm {

struct OpenAiCompatDialect {
  std::string kind;
  std::string path = "/chat/completions";  // appended to the instance's base_url

  // ---- options (ranges are checked in validate(), and reported by providers/list) ----
  std::optional<Range> temperature;  // nullopt: any number is sent as given
  std::optional<Range> top_p;
  std::optional<int64_t> max_tokens_max;  // [1, max]; nullopt: at least 1
  bool top_k = false;                     // sent as `top_k`; false: rejected
  std::optional<int64_t> top_k_min;       // when top_k is allowed
  std::optional<Range> seed;              // nullopt: any integer
  size_t max_stop = std::numeric_limits<size_t>::max();
  size_t max_stop_chars = 0;  // characters per stop string; 0: no limit
  std::vector<std::string_view> part_types = {"text", "image_url"};
  bool strip_image_data_prefix = false;  // Zhipu wants bare base64

  enum class Thinking {
    none,             // rejected
    type_object,      // {"thinking":{"type":"enabled"|"disabled"}} (Zhipu)
    enable_thinking,  // top-level bool (Qwen-style, DashScope compatible mode)
    configurable,     // from the instance's `thinking_param` (openai); rejected when unset
  };
  Thinking thinking = Thinking::none;

  // Pass-through options (ChatOptions::extra): copied into the body when present and valid.
  struct Extra {
    std::string_view name;
    ExtraType type;
    std::optional<Range> range;       // numbers
    bool positive = false;            // numbers: > 0
    std::optional<double> min;        // numbers: >= min
    size_t min_len = 0, max_len = 0;  // strings: length bounds when max_len > 0
  };
  std::vector<Extra> extras;

  // ---- tools ----
  std::vector<std::string_view> tool_types;  // accepted `tools[].type`s; empty: tools are rejected
  bool tool_choice_auto_only = false;        // Zhipu takes only "auto"

  // ---- request shape ----
  bool always_stream = false;               // stream upstream whatever the client asked (stream-only deployments)
  bool include_usage = false;               // stream_options.include_usage on streamed requests
  bool include_usage_configurable = false;  // the instance's `include_usage: false` turns it off
  bool system_first = false;                // system messages are moved to the front, joined into one
  // Headers taken from the instance's config: {config key, header name}, e.g. {"appid", "appid"}.
  // A configured value must be a single-line string (checked at prepare()).
  std::vector<std::pair<std::string_view, std::string_view>> config_headers;

  // ---- auth ----
  enum class Auth {
    bearer,           // Authorization: Bearer <key>; the key is required
    bearer_optional,  // only when a key source is configured (local servers need none)
    zhipu,            // the instance's `auth`: "key" (raw key, default) or "jwt" (self-signed, cached)
  };
  Auth auth = Auth::bearer;

  // Per-model stop limit (e.g. Zhipu's codegeex-4 takes 4); null or 0: `max_stop`.
  size_t (*max_stop_for)(std::string_view model) = nullptr;
  // Vendor rules beyond the table (may be null): an InvalidParams message naming `instance`, or nullopt.
  std::optional<std::string> (*validate_more)(const ChatRequest& request, const std::string& instance) = nullptr;
  // Last touch on the body (may be null): e.g. Zhipu's SDK clamping of sampling edges.
  void (*adjust_body)(Json& body, const ChatRequest& request) = nullptr;

  // Refines an error's kind/retryability from vendor codes (may be null). `config` is the instance.
  void (*classify)(UpstreamError& error, const ErrorInfo& info, const ProviderConfig& config) = nullptr;

  // The documented ranges as text, for ProviderSpec::options (providers/list, docs).
  Json describe_options() const;
};

class OpenAiCompatProvider : public Provider {
 public:
  OpenAiCompatProvider(OpenAiCompatDialect dialect, const ProviderConfig& config, ProviderContext context,
                       ZhipuJwtCache::Clock clock = {});

  std::string_view name() const override { return name_; }
  std::optional<std::string> validate(const ChatRequest& request) const override;
  void prepare(const ChatRequest& request, PrepareDone done) override;
  // `complete`: a body built elsewhere (CodeGeeX FIM, `/completions`) with this instance's auth and headers.
  void prepare_json(const std::string& path, const Json& body, bool stream, PrepareDone done) override;
  std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result, DeltaSink& sink) override;
  void invalidate_credentials() override;
  std::vector<std::string> secrets() const override;

  // The JSON body prepare() sends.
  Json build_body(const ChatRequest& request) const;
  const OpenAiCompatDialect& dialect() const { return dialect_; }

 private:
  Result<std::string> bearer();
  void prepare_ready(const ChatRequest& request, PrepareDone done);                          // credentials resolved
  void post_json(const std::string& path, const Json& body, bool stream, PrepareDone done);  // likewise

  OpenAiCompatDialect dialect_;
  ProviderConfig config_;
  ProviderContext context_;
  std::string name_;  // the instance name, for messages
  Credentials credentials_;
  ZhipuJwtCache jwt_;
  std::string thinking_param_;  // Thinking::configurable
  bool include_usage_ = true;
};

// A ProviderSpec for an OpenAI-compatible kind: the dialect's options table, the factory, and the
// rest as given. `make` must build an OpenAiCompatProvider with the same dialect.
ProviderSpec openai_compat_spec(const OpenAiCompatDialect& dialect, std::string summary, Json defaults,
                                Json credentials, std::vector<ModelInfo> models, ProviderSpec::Factory make);

}  // namespace glm
