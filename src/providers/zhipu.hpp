// Zhipu AI open platform, API v4: POST {base_url}/chat/completions, OpenAI-style
// body and stream. Auth: `Authorization: Bearer <key>` with the raw key (default, `"auth": "key"`),
// or a self-signed JWT (`"auth": "jwt"`, cached, remade every 180 s; a 1003 "token expired" asks the
// driver to refresh credentials and resend once).
//
// Options: temperature [0, 1], top_p [0.01, 1], max_tokens [1, 131072], stop (at most 1), seed,
// thinking → {"thinking":{"type":"enabled"|"disabled"}}; top_k is rejected. Pass-through extras:
// do_sample (bool), user_id (string, 6..128 chars), request_id (string), response_format (object).
// Message parts: text, image_url (a data: URL's prefix is dropped: the API wants bare base64),
// video_url, file_url.
// Loop thread only.
#pragma once

#include <memory>

#include "providers/openai_compat.hpp"

namespace glm {

// Zhipu business codes (a string in {"error":{"code":"1301",...}}) → kind/retryable
// (the table in docs/providers.md, "zhipu"). `jwt`: 1003 (token expired) then means "make a new token".
void classify_zhipu_error(UpstreamError& error, const ErrorInfo& info, bool jwt);

// The zhipu kind's dialect (also used by instances such as `zai`).
const OpenAiCompatDialect& zhipu_dialect();

class ZhipuProvider : public OpenAiCompatProvider {
 public:
  // `clock` (unix ms) is for the JWT; tests inject one.
  ZhipuProvider(const ProviderConfig& config, ProviderContext context, ZhipuJwtCache::Clock clock = {})
      : OpenAiCompatProvider(zhipu_dialect(), config, std::move(context), std::move(clock)) {}
};

std::unique_ptr<Provider> make_zhipu_provider(const ProviderConfig& config, ProviderContext context);
// Registry entry: kinds zhipu (open.bigmodel.cn) with the built-in instance zai (api.z.ai).
ProviderSpec zhipu_spec();

}  // namespace glm
