// Fill-in-the-middle requests for `complete`, in the three styles the providers offer
// (docs/providers.md, "Completion"):
//  - codegeex:    Zhipu `codegeex-4`: POST {base}/chat/completions with `"messages":[]` and
//                 `extra.target` {path, language, code_prefix, code_suffix} + `extra.contexts`.
//  - chat:        any chat model: an instruction prompt (core/prompts.cpp) through the provider's own
//                 chat request path; the output is cleaned afterwards (core/fim_clean.hpp).
//  - completions: OpenAI-compatible servers with a FIM endpoint: POST {base}/completions with
//                 `prompt` (the prefix) and `suffix`; reply `choices[].text`.
// Request building and response decoding only; the driver is server/complete_session. Loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/fim_clean.hpp"
#include "core/types.hpp"
#include "providers/openai_like.hpp"
#include "providers/provider.hpp"

namespace glm::fim {

enum class Style { codegeex, chat, completions };
std::string_view style_name(Style style);

// CodeGeeX's stop list (the official page's example): its end-of-text and role tokens.
extern const std::vector<std::string> kCodeGeexStop;

// The style for a model: CodeGeeX models on a zhipu provider use CodeGeeX FIM; otherwise the provider
// config's `fim` ("completions" or the default "chat").
Style style_for(std::string_view provider_type, std::string_view model, const ProviderConfig& config);

// One completion request, already trimmed to the budgets and with every option resolved.
struct Request {
  std::string provider;  // provider (instance) name
  std::string model;     // the provider's model name
  std::string prefix;
  std::string suffix;
  std::string language;  // as the client sent it (an editor filetype); may be empty
  std::string path;      // may be empty
  std::vector<Context> contexts;
  int max_tokens = 256;
  double temperature = 0.2;
  double top_p = 0.95;
  std::vector<std::string> stop;  // the client's extra stop strings
  int n = 1;
  bool stream = false;
};

// temperature/top_p for CodeGeeX: an open interval (0, 1); 0 → 0.01 and 1 or more → 0.99, as Zhipu's
// SDKs do.
double open_unit(double value);

// The temperature of candidate `index` (0-based) of `count` when the style answers one candidate per
// request (CodeGeeX, chat) and `complete` sends `count` requests: spread evenly from the configured
// temperature towards 1, never reaching it: base + (1 - base) * index / count. Index 0 keeps `base`
// (the answer a single request gives). A base of 1 or more (chat models only) is kept for every
// request. CodeGeeX bodies still go through open_unit().
double candidate_temperature(double base, int index, int count);

// The CodeGeeX FIM body: model, "messages": [], extra.target (every field, language in the SDK's
// lower-case spelling), extra.contexts, stream, temperature, top_p, max_tokens, stop.
Json codegeex_body(const Request& request);

// The `/completions` body: model, prompt, suffix, max_tokens, temperature, top_p, stream, n (> 1
// only), stop (when given).
Json completions_body(const Request& request);

// The chat request for the instruction style (thinking turned off where the model thinks by default).
ChatRequest chat_request(const Request& request, std::string_view provider_type);

// Reads an OpenAI-style `/completions` response (stream chunks or a JSON body, `choices[0].text`) with
// the OpenAI error handling of OpenAiLikeDecoder.
std::unique_ptr<ChatStream> open_completions_stream(std::string provider, ChatResult& result, DeltaSink& sink);

// The texts of the choices with index 0 .. max_choices-1 (the request's n) of a non-stream JSON body, in
// index order: `message.content` (chat) or `text` (completions); extra choices, indexes >= max_choices and
// repeated indexes are ignored. Empty when the body is not such a response.
std::vector<std::string> choice_texts(std::string_view body, size_t max_choices);

}  // namespace glm::fim
