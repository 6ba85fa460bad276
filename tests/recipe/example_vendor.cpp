// The recipe of docs/providers.md ("Adding an OpenAI-compatible vendor") carried out for a
// fictional vendor, Acme Cloud: this one file plus one line in src/providers/registry.cpp. It is
// compiled only into the test binary glm-server-recipe (tests/CMakeLists.txt), where the
// GLM_EXAMPLE_PROVIDER define enables that registry line; test_e2e_recipe.cpp and the Lua health
// test check that the kind shows up in models/list, config validation, chat and :checkhealth glm.
#include "providers/openai_compat.hpp"

namespace glm {

namespace {

// The vendor's dialect: what its API documentation says about ranges and extras.
const OpenAiCompatDialect& acme_dialect() {
  static const OpenAiCompatDialect d = [] {
    OpenAiCompatDialect d;
    d.kind = "acme";
    d.temperature = Range{0, 1.5};
    d.top_p = Range{0, 1, true, false};
    d.max_tokens_max = 8192;
    d.max_stop = 4;
    d.thinking = OpenAiCompatDialect::Thinking::enable_thinking;
    d.extras = {{.name = "presence_penalty", .type = ExtraType::number, .range = Range{-2, 2}}};
    d.include_usage = true;
    d.classify = [](UpstreamError& e, const ErrorInfo& info, const ProviderConfig&) { classify_openai_error(e, info); };
    return d;
  }();
  return d;
}

std::unique_ptr<Provider> make_acme_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<OpenAiCompatProvider>(acme_dialect(), config, std::move(context));
}

}  // namespace

ProviderSpec example_vendor_spec() {
  ModelInfo chat = model_entry("acme", "acme-chat-1");
  chat.context_window = 32768;
  chat.max_output_tokens = 8192;
  return openai_compat_spec(acme_dialect(), "Acme Cloud (the recipe's example vendor)",
                            {{"base_url", "https://api.acme.example/v1"}}, {{"api_key_env", "ACME_API_KEY"}}, {chat},
                            &make_acme_provider);
}

}  // namespace glm
