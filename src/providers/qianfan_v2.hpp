// Baidu Qianfan inference API v2 (kind `qianfan-v2`): OpenAI-compatible
// POST {base_url}/chat/completions with base_url https://qianfan.baidubce.com/v2,
// `Authorization: Bearer <API Key>` (a `bce-v3/ALTAK-...` key from the Qianfan console, read from
// QIANFAN_API_KEY), and an optional `appid` header (the instance's `"appid"`) that attributes usage
// and billing to a V2 application. New accounts can only use this API: v1 (`qianfan`) needs the
// application API Key / Secret Key Baidu no longer issues; v1 stays as it is for existing accounts.
//
// Options (Qianfan's "对话Chat V2" reference): temperature and top_p are sent as given within
// [0, 2] and [0, 1] (the per-model ranges are Qianfan's to check: ERNIE takes temperature (0, 1],
// DeepSeek [0, 2]), max_tokens >= 1, seed (0, 2147483647), stop at most 4 strings of 1 to 20
// characters, thinking → enable_thinking. Pass-through: penalty_score [1, 2], frequency_penalty and
// presence_penalty [-2, 2], repetition_penalty (> 0), thinking_budget (>= 100), web_search (object),
// response_format (object), metadata (object), user (string). System messages are sent first, as one.
// Errors: {"error":{"code","message","type"}} → kinds by code (qianfan_v2_classify).
// Loop thread only.
#pragma once

#include "providers/openai_compat.hpp"

namespace glm {

const OpenAiCompatDialect& qianfan_v2_dialect();

// Qianfan v2 error codes: characters_too_long / tokens_too_long → context_length,
// rpm_rate_limit_exceeded / tpm_rate_limit_exceeded (and v1's 336501/336502 numbers) → rate_limit
// (retryable), type unsafe_request → content_filter, type access_denied → auth; then OpenAI's codes.
void classify_qianfan_v2_error(UpstreamError& error, const ErrorInfo& info);

std::unique_ptr<Provider> make_qianfan_v2_provider(const ProviderConfig& config, ProviderContext context);
// Registry entry: kind qianfan-v2.
ProviderSpec qianfan_v2_spec();

}  // namespace glm
