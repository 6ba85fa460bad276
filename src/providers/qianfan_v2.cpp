#include "providers/qianfan_v2.hpp"

namespace glm {

void classify_qianfan_v2_error(UpstreamError& e, const ErrorInfo& info) {
  classify_openai_error(e, info);
  const std::string& code = info.code;
  auto set = [&](ErrorKind kind, bool retryable) {
    e.kind = kind;
    e.retryable = retryable;
  };
  if (code == "characters_too_long" || code == "tokens_too_long" || code == "336103" || code == "336007") {
    set(ErrorKind::context_length, false);
  } else if (code == "rpm_rate_limit_exceeded" || code == "tpm_rate_limit_exceeded" || code == "336501" ||
             code == "336502" || code == "18") {
    set(ErrorKind::rate_limit, true);
  } else if (info.type == "unsafe_request" || code.find("unsafe") != std::string::npos) {
    set(ErrorKind::content_filter, false);
  } else if (info.type == "access_denied" || code == "invalid_iam_token" || code == "invalid_api_key") {
    set(ErrorKind::auth, false);
  } else if (code == "17" || code == "19" || code == "account_overdue") {
    set(ErrorKind::quota, false);
  }
}

const OpenAiCompatDialect& qianfan_v2_dialect() {
  static const OpenAiCompatDialect d = [] {
    OpenAiCompatDialect d;
    d.kind = "qianfan-v2";
    d.temperature = Range{0, 2};
    d.top_p = Range{0, 1};
    d.seed = Range{0, 2147483647, true, true};
    d.max_stop = 4;
    d.max_stop_chars = 20;
    d.part_types = {"text", "image_url"};
    d.thinking = OpenAiCompatDialect::Thinking::enable_thinking;
    d.tool_types = {"function"};
    d.extras = {
        {.name = "parallel_tool_calls", .type = ExtraType::boolean},
        {.name = "penalty_score", .type = ExtraType::number, .range = Range{1, 2}},
        {.name = "frequency_penalty", .type = ExtraType::number, .range = Range{-2, 2}},
        {.name = "presence_penalty", .type = ExtraType::number, .range = Range{-2, 2}},
        {.name = "repetition_penalty", .type = ExtraType::number, .positive = true},
        {.name = "thinking_budget", .type = ExtraType::integer, .min = 100},
        {.name = "web_search", .type = ExtraType::object},
        {.name = "response_format", .type = ExtraType::object},
        {.name = "metadata", .type = ExtraType::object},
        {.name = "user", .type = ExtraType::string},
    };
    d.include_usage = true;
    d.system_first = true;
    d.config_headers = {{"appid", "appid"}};
    d.classify = [](UpstreamError& e, const ErrorInfo& info, const ProviderConfig&) {
      classify_qianfan_v2_error(e, info);
    };
    return d;
  }();
  return d;
}

std::unique_ptr<Provider> make_qianfan_v2_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<OpenAiCompatProvider>(qianfan_v2_dialect(), config, std::move(context));
}

ProviderSpec qianfan_v2_spec() {
  // No catalog: Qianfan v2 serves many model families whose limits we have not confirmed; any model
  // id is passed through (`qianfan-v2/ernie-4.5-turbo-128k`, `qianfan-v2/deepseek-v3`, ...).
  return openai_compat_spec(qianfan_v2_dialect(),
                            "Baidu Qianfan v2 (OpenAI-compatible; one API Key, for new and existing accounts)",
                            {{"base_url", "https://qianfan.baidubce.com/v2"}}, {{"api_key_env", "QIANFAN_API_KEY"}}, {},
                            &make_qianfan_v2_provider);
}

}  // namespace glm
