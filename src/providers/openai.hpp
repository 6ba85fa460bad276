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

#include "providers/openai_compat.hpp"

namespace glm {

const OpenAiCompatDialect& openai_dialect();

class OpenAiProvider : public OpenAiCompatProvider {
 public:
  OpenAiProvider(const ProviderConfig& config, ProviderContext context)
      : OpenAiCompatProvider(openai_dialect(), config, std::move(context)) {}
};

std::unique_ptr<Provider> make_openai_provider(const ProviderConfig& config, ProviderContext context);
ProviderSpec openai_spec();

}  // namespace glm
