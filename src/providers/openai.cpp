#include "providers/openai.hpp"

namespace glm {

namespace {

constexpr std::string_view kName = "openai";

}  // namespace

OpenAiProvider::OpenAiProvider(const ProviderConfig& config, ProviderContext context)
    : config_(config), context_(std::move(context)), credentials_(config) {
  if (auto it = config.extra.find("thinking_param"); it != config.extra.end() && it->is_string())
    thinking_param_ = it->get<std::string>();
  if (auto it = config.extra.find("include_usage"); it != config.extra.end() && it->is_boolean())
    include_usage_ = it->get<bool>();
}

std::optional<std::string> OpenAiProvider::validate(const ChatRequest& request) const {
  if (auto m = validate_messages(request.messages, {"text", "image_url"})) return m;
  const ChatOptions& o = request.options;
  if (auto m = check_range("temperature", o.temperature, {0, 2}, kName)) return m;
  if (auto m = check_range("top_p", o.top_p, {0, 1}, kName)) return m;
  if (o.max_tokens) {
    if (auto m = check_min("max_tokens", static_cast<double>(*o.max_tokens), 1, kName)) return m;
  }
  if (o.thinking && thinking_param_ != "chat_template_kwargs" && thinking_param_ != "enable_thinking" &&
      thinking_param_ != "thinking") {
    return std::string(
        "options.thinking: not supported by openai unless providers.openai.thinking_param is set "
        "(chat_template_kwargs, enable_thinking or thinking)");
  }
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    if (auto m = check_extra(o.extra, key, ExtraType::number)) return m;
    if (auto m = check_range(key, extra_number(o.extra, key), {-2, 2}, kName)) return m;
  }
  if (auto m = check_extra(o.extra, "repetition_penalty", ExtraType::number)) return m;
  if (auto v = extra_number(o.extra, "repetition_penalty"); v && !(*v > 0))
    return std::string("options.repetition_penalty: must be greater than 0 for openai");
  if (auto m = check_extra(o.extra, "min_p", ExtraType::number)) return m;
  if (auto m = check_range("min_p", extra_number(o.extra, "min_p"), {0, 1}, kName)) return m;
  if (auto m = check_extra(o.extra, "user", ExtraType::string)) return m;
  if (auto m = check_extra(o.extra, "response_format", ExtraType::object)) return m;
  return std::nullopt;
}

Json OpenAiProvider::build_body(const ChatRequest& request) const {
  const ChatOptions& o = request.options;
  Json body = {{"model", request.model},
               {"messages", openai_messages(request.messages, {})},
               {"stream", request.stream}};
  if (request.stream && include_usage_) body["stream_options"] = {{"include_usage", true}};
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.top_k) body["top_k"] = *o.top_k;
  if (o.max_tokens) body["max_tokens"] = *o.max_tokens;
  if (!o.stop.empty()) body["stop"] = o.stop;
  if (o.seed) body["seed"] = *o.seed;
  if (o.thinking) {
    if (thinking_param_ == "chat_template_kwargs") {
      body["chat_template_kwargs"] = {{"enable_thinking", *o.thinking}};
    } else if (thinking_param_ == "enable_thinking") {
      body["enable_thinking"] = *o.thinking;
    } else if (thinking_param_ == "thinking") {
      body["thinking"] = {{"type", *o.thinking ? "enabled" : "disabled"}};
    }
  }
  copy_extras(o.extra, body,
              {"frequency_penalty", "presence_penalty", "repetition_penalty", "min_p", "user", "response_format"});
  return body;
}

void OpenAiProvider::prepare(const ChatRequest& request, PrepareDone done) {
  net::Request r = json_post(config_, join_url(config_.base_url, "/chat/completions"), build_body(request),
                             request.stream);
  // Local servers (vLLM, Ollama) need no key; send one only when the user configured one.
  if (credentials_.has_api_key_source()) {
    auto key = credentials_.api_key();
    if (!key) {
      done(key.error());
      return;
    }
    r.headers.emplace_back("Authorization", "Bearer " + key.value());
  }
  done(std::move(r));
}

std::unique_ptr<ChatStream> OpenAiProvider::open_stream(const ChatRequest&, ChatResult& result,
                                                        DeltaSink& sink) {
  return std::make_unique<OpenAiLikeDecoder>(OpenAiLikeDialect{std::string(kName), classify_openai_error},
                                             result, sink);
}

std::unique_ptr<Provider> make_openai_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<OpenAiProvider>(config, std::move(context));
}

}  // namespace glm
