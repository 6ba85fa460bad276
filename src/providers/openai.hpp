// Any OpenAI-compatible `/chat/completions` endpoint: vLLM, Ollama, llama.cpp, the ChatGLM API demo,
// Qianfan v2, OpenAI itself. POST {base_url}/chat/completions; the key is optional: without a
// configured source (has_api_key_source() false) no Authorization header is sent, as local servers
// expect.
//
// Options: temperature [0, 2], top_p [0, 1], max_tokens >= 1, top_k (sent as is; vLLM honours it),
// stop, seed. `thinking` has no standard field, so it is sent only when the provider config names
// how (`"thinking_param"`): "chat_template_kwargs" → {"chat_template_kwargs":{"enable_thinking":b}}
// (vLLM/SGLang serving GLM-4.5+), "enable_thinking" → top-level bool (Qwen-style servers),
// "thinking" → {"thinking":{"type":"enabled"|"disabled"}} (Zhipu-style); otherwise it is rejected.
// Provider config `"include_usage": false` drops `stream_options` for servers that reject it.
// Pass-through extras: frequency_penalty [-2, 2], presence_penalty [-2, 2], repetition_penalty (> 0),
// min_p [0, 1], user (string), response_format (object). Message parts: text, image_url.
// Loop thread only.
#pragma once

#include <memory>

#include "providers/credentials.hpp"
#include "providers/openai_like.hpp"
#include "providers/provider.hpp"

namespace glm {

class OpenAiProvider : public Provider {
 public:
  OpenAiProvider(const ProviderConfig& config, ProviderContext context);

  std::string_view name() const override { return "openai"; }
  std::optional<std::string> validate(const ChatRequest& request) const override;
  void prepare(const ChatRequest& request, PrepareDone done) override;
  std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result,
                                          DeltaSink& sink) override;
  void invalidate_credentials() override { credentials_.invalidate(); }

  Json build_body(const ChatRequest& request) const;

 private:
  ProviderConfig config_;
  ProviderContext context_;
  Credentials credentials_;
  std::string thinking_param_;
  bool include_usage_ = true;
};

std::unique_ptr<Provider> make_openai_provider(const ProviderConfig& config, ProviderContext context);

}  // namespace glm
