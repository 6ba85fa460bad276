#include "providers/openai.hpp"

namespace glm {

const OpenAiCompatDialect& openai_dialect() {
  static const OpenAiCompatDialect d = [] {
    OpenAiCompatDialect d;
    d.kind = "openai";
    d.temperature = Range{0, 2};
    d.top_p = Range{0, 1};
    d.top_k = true;  // vLLM and llama.cpp honour it
    d.thinking = OpenAiCompatDialect::Thinking::configurable;
    d.tool_types = {"function"};
    d.extras = {
        {.name = "parallel_tool_calls", .type = ExtraType::boolean},
        {.name = "frequency_penalty", .type = ExtraType::number, .range = Range{-2, 2}},
        {.name = "presence_penalty", .type = ExtraType::number, .range = Range{-2, 2}},
        {.name = "repetition_penalty", .type = ExtraType::number, .positive = true},
        {.name = "min_p", .type = ExtraType::number, .range = Range{0, 1}},
        {.name = "user", .type = ExtraType::string},
        {.name = "response_format", .type = ExtraType::object},
    };
    d.include_usage = true;
    d.include_usage_configurable = true;
    d.auth = OpenAiCompatDialect::Auth::bearer_optional;
    d.classify = [](UpstreamError& e, const ErrorInfo& info, const ProviderConfig&) { classify_openai_error(e, info); };
    return d;
  }();
  return d;
}

std::unique_ptr<Provider> make_openai_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<OpenAiProvider>(config, std::move(context));
}

ProviderSpec openai_spec() {
  return openai_compat_spec(openai_dialect(), "any OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...)",
                            {{"base_url", "http://127.0.0.1:8000/v1"}}, {{"api_key_env", "OPENAI_API_KEY"}}, {},
                            &make_openai_provider);
}

}  // namespace glm
