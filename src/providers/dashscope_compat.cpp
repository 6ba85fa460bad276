#include "providers/dashscope_compat.hpp"

#include "providers/dashscope.hpp"

namespace glm {

namespace {

constexpr std::string_view kName = "dashscope-compat";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

}  // namespace

void classify_dashscope_compat_error(UpstreamError& e, const ErrorInfo& info) {
  classify_openai_error(e, info);
  const std::string& code = info.code;
  auto set = [&](ErrorKind kind, bool retryable) {
    e.kind = kind;
    e.retryable = retryable;
  };
  if (code == "invalid_api_key" || code == "InvalidApiKey") {
    set(ErrorKind::auth, false);
  } else if (code == "data_inspection_failed" || info.type == "data_inspection_failed" ||
             contains(code, "DataInspectionFailed") || contains(info.message, "DataInspectionFailed")) {
    set(ErrorKind::content_filter, false);
  } else if (code == "AllocationQuota.FreeTierOnly" || contains(info.message, "Free allocated quota exceeded") ||
             contains(info.message, "FreeTierOnly")) {
    set(ErrorKind::quota, false);  // the free tier is used up and paid use is not enabled
  } else if (starts_with(code, "Throttling") || code == "insufficient_quota" || info.type == "insufficient_quota" ||
             contains(info.message, "You exceeded your current quota")) {
    // Compatible mode reports the per-minute token limit (Throttling.AllocationQuota) with OpenAI's
    // insufficient_quota words; it recovers within a minute: a rate limit, resent.
    set(ErrorKind::rate_limit, true);
  } else if (code == "Arrearage") {
    set(ErrorKind::quota, false);
  } else if (contains(info.message, "Range of input length")) {
    set(ErrorKind::context_length, false);
  } else if (code == "model_not_found" || code == "ModelNotFound") {
    set(ErrorKind::invalid_request, false);
  } else if (starts_with(code, "AccessDenied")) {
    set(ErrorKind::auth, false);
  } else if (starts_with(code, "InvalidParameter") || code == "invalid_parameter_error") {
    set(ErrorKind::invalid_request, false);
  }
}

const OpenAiCompatDialect& dashscope_compat_dialect() {
  static const OpenAiCompatDialect d = [] {
    OpenAiCompatDialect d;
    d.kind = std::string(kName);
    d.temperature = Range{0, 2, false, true};
    d.top_p = Range{0, 1, true, false};
    d.top_k = true;
    d.top_k_min = 0;
    d.seed = Range{0, 2147483647};
    d.thinking = OpenAiCompatDialect::Thinking::enable_thinking;
    d.tool_types = {"function"};
    d.extras = {
        {.name = "parallel_tool_calls", .type = ExtraType::boolean},
        {.name = "thinking_budget", .type = ExtraType::integer, .min = 1},
        {.name = "enable_search", .type = ExtraType::boolean},
        {.name = "search_options", .type = ExtraType::object},
        {.name = "repetition_penalty", .type = ExtraType::number, .positive = true},
        {.name = "presence_penalty", .type = ExtraType::number, .range = Range{-2, 2}},
        {.name = "response_format", .type = ExtraType::object},
    };
    d.always_stream = true;
    d.include_usage = true;
    d.classify = [](UpstreamError& e, const ErrorInfo& info, const ProviderConfig&) {
      classify_dashscope_compat_error(e, info);
    };
    return d;
  }();
  return d;
}

std::unique_ptr<Provider> make_dashscope_compat_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<DashScopeCompatProvider>(config, std::move(context));
}

ProviderSpec dashscope_compat_spec() {
  return openai_compat_spec(dashscope_compat_dialect(), "Alibaba DashScope (Bailian), OpenAI-compatible mode",
                            {{"base_url", "https://dashscope.aliyuncs.com/compatible-mode/v1"}},
                            {{"api_key_env", "DASHSCOPE_API_KEY"}}, dashscope_glm4_models(std::string(kName)),
                            &make_dashscope_compat_provider);
}

}  // namespace glm
