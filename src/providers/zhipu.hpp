// Zhipu AI open platform, API v4 (PROVIDERS.md §1): POST {base_url}/chat/completions, OpenAI-style
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

#include "providers/credentials.hpp"
#include "providers/jwt.hpp"
#include "providers/openai_like.hpp"
#include "providers/provider.hpp"

namespace glm {

// Zhipu business codes (a string in {"error":{"code":"1301",...}}) → kind/retryable
// (PROVIDERS.md §1.6). `jwt`: 1003 (token expired) then means "make a new token".
void classify_zhipu_error(UpstreamError& error, const ErrorInfo& info, bool jwt);

class ZhipuProvider : public Provider {
 public:
  // `clock` (unix ms) is for the JWT; tests inject one.
  ZhipuProvider(const ProviderConfig& config, ProviderContext context, ZhipuJwtCache::Clock clock = {});

  std::string_view name() const override { return "zhipu"; }
  std::optional<std::string> validate(const ChatRequest& request) const override;
  void prepare(const ChatRequest& request, PrepareDone done) override;
  std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result,
                                          DeltaSink& sink) override;
  void invalidate_credentials() override;

  // The JSON body prepare() sends.
  Json build_body(const ChatRequest& request) const;

 private:
  ProviderConfig config_;
  ProviderContext context_;
  Credentials credentials_;
  ZhipuJwtCache jwt_;
};

std::unique_ptr<Provider> make_zhipu_provider(const ProviderConfig& config, ProviderContext context);

}  // namespace glm
