// Alibaba DashScope (Bailian) in OpenAI-compatible mode (docs/providers.md, "dashscope-compat"):
// POST {base_url}/chat/completions, `Authorization: Bearer <key>`, OpenAI-style body plus top-level
// `enable_thinking`. Always streams upstream, whatever the client asked: GLM models on Bailian are
// stream-only, and the driver assembles the same result either way. `stream_options.include_usage`
// makes the final `choices:[]` chunk carry usage.
//
// Quirks handled by the shared decoder: SSE-framed bodies on HTTP 400 labelled application/json, and
// DashScope-native `event:error` frames (`:HTTP_STATUS/429` + `data:{code,message,request_id}`) after a
// 200; [DONE] is not required once a finish_reason arrived.
//
// Options: temperature [0, 2), top_p (0, 1], top_k >= 0, max_tokens >= 1, seed [0, 2147483647],
// stop, thinking → enable_thinking. Pass-through extras: thinking_budget (integer >= 1),
// enable_search (bool), search_options (object), repetition_penalty (> 0), presence_penalty [-2, 2],
// response_format (object). Message parts: text, image_url (sent as given).
// Loop thread only.
#pragma once

#include <memory>

#include "providers/openai_compat.hpp"

namespace glm {

// DashScope codes, in compat (`invalid_api_key`, `data_inspection_failed`, `model_not_found`) and
// native spelling (`Throttling.*`, `Arrearage`, `DataInspectionFailed`, `InvalidApiKey`).
void classify_dashscope_compat_error(UpstreamError& error, const ErrorInfo& info);

const OpenAiCompatDialect& dashscope_compat_dialect();

class DashScopeCompatProvider : public OpenAiCompatProvider {
 public:
  DashScopeCompatProvider(const ProviderConfig& config, ProviderContext context)
      : OpenAiCompatProvider(dashscope_compat_dialect(), config, std::move(context)) {}
};

std::unique_ptr<Provider> make_dashscope_compat_provider(const ProviderConfig& config, ProviderContext context);
ProviderSpec dashscope_compat_spec();

}  // namespace glm
