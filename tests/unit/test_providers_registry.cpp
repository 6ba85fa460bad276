// The provider registry: every kind's self-description (defaults, credentials, catalog, factory) and
// the config built from it. The catalog tests moved here from core when the data moved into the
// provider files.
#include <catch2/catch.hpp>

#include <set>

#include "provider_test_util.hpp"
#include "providers/registry.hpp"

using namespace glm;
using glm::test::TestContext;

namespace {

Config defaults() { return Config::defaults(provider_kinds()); }

}  // namespace

TEST_CASE("defaults hold every built-in instance with its documented base URL and key variable", "[registry]") {
  Config c = defaults();
  REQUIRE(c.default_model == "zhipu/glm-4.6");
  std::set<std::string> names;
  for (const auto& [name, p] : c.providers) names.insert(name);
  REQUIRE(names ==
          std::set<std::string>{"zhipu", "zai", "dashscope", "dashscope-compat", "qianfan", "qianfan-v2", "openai"});
  REQUIRE(c.providers.at("zhipu").base_url == "https://open.bigmodel.cn/api/paas/v4");
  REQUIRE(c.providers.at("zhipu").api_key_env == "ZHIPUAI_API_KEY");
  REQUIRE(c.providers.at("zai").kind == "zhipu");
  REQUIRE(c.providers.at("zai").base_url == "https://api.z.ai/api/paas/v4");
  REQUIRE(c.providers.at("zai").api_key_env == "ZAI_API_KEY");
  REQUIRE(c.providers.at("dashscope-compat").base_url == "https://dashscope.aliyuncs.com/compatible-mode/v1");
  REQUIRE(c.providers.at("qianfan").secret_key_env == "QIANFAN_SK");
  REQUIRE_FALSE(c.providers.at("openai").insecure);
  REQUIRE(c.providers.at("openai").timeout_ms == 60000);
  for (const auto& [name, p] : c.providers) {
    INFO(name);
    REQUIRE(find_spec(p.kind) != nullptr);
    REQUIRE_FALSE(p.base_url.empty());
  }
}

TEST_CASE("config validation names the registry's kinds", "[registry]") {
  Config c = defaults();
  auto err = apply_config(c, {{"providers", {{"mine", {{"kind", "acme"}}}}}});
  REQUIRE(err);
  CHECK(*err ==
        "providers.mine.kind: unknown provider kind 'acme' (known: zhipu, dashscope, dashscope-compat, qianfan, "
        "qianfan-v2, openai)");
  REQUIRE_FALSE(
      apply_config(c, {{"providers", {{"ollama", {{"kind", "openai"}, {"base_url", "http://127.0.0.1:11434/v1"}}}}}}));
  REQUIRE(c.providers.at("ollama").kind == "openai");
}

TEST_CASE("make_provider builds each kind's provider; instances of one kind get their own", "[registry]") {
  TestContext ctx;
  for (const auto& spec : provider_specs()) {
    INFO(spec.kind);
    ProviderConfig p;
    p.name = "inst-" + spec.kind;
    p.kind = spec.kind;
    p.base_url = "http://127.0.0.1:9";
    auto made = make_provider(p, ctx.context());
    REQUIRE(made);
  }
  ProviderConfig unknown;
  unknown.name = "x";
  unknown.kind = "nonesuch";
  CHECK_FALSE(make_provider(unknown, ctx.context()));
}

TEST_CASE("chatglm3-6b on dashscope has the documented 6000/1500/7500 limits", "[catalog]") {
  const ModelInfo* m = find_model("dashscope", "chatglm3-6b");
  REQUIRE(m != nullptr);
  CHECK(m->max_input_tokens == 6000);
  CHECK(m->max_output_tokens == 1500);
  CHECK(m->context_window == 7500);
  CHECK(m->input_format == "messages");
  CHECK_FALSE(m->stream_only);
}

TEST_CASE("chatglm-6b-v2 takes prompt + history only", "[catalog]") {
  const ModelInfo* m = find_model("dashscope", "chatglm-6b-v2");
  REQUIRE(m != nullptr);
  CHECK(m->input_format == "prompt");
  CHECK(m->context_window == 6500);
}

TEST_CASE("GLM-4.x on dashscope and dashscope-compat are stream-only thinking models", "[catalog]") {
  for (const char* provider : {"dashscope", "dashscope-compat"}) {
    for (const char* id : {"glm-4.6", "glm-4.5", "glm-4.5-air"}) {
      INFO(provider << "/" << id);
      const ModelInfo* m = find_model(provider, id);
      REQUIRE(m != nullptr);
      CHECK(m->stream_only);
      CHECK(m->thinking);
      CHECK(m->thinking_default);
      CHECK(m->max_output_tokens == 16384);
      CHECK(m->defaults.value("top_k", 0) == 20);
    }
  }
  CHECK(find_model("dashscope", "glm-4.6")->context_window == 202752);
  CHECK(find_model("dashscope", "glm-4.6")->max_input_tokens == 169984);
  CHECK(find_model("dashscope", "glm-4.6")->defaults.value("temperature", 0.0) == 1.0);
  CHECK(find_model("dashscope-compat", "glm-4.5")->context_window == 131072);
  CHECK(find_model("dashscope-compat", "glm-4.5")->max_input_tokens == 98304);
  CHECK(find_model("dashscope", "glm-4.5-air")->defaults.value("temperature", 0.0) == 0.6);
}

TEST_CASE("zhipu models: glm-4.6 limits, vision models, not stream-only", "[catalog]") {
  const ModelInfo* m = find_model("zhipu", "glm-4.6");
  REQUIRE(m != nullptr);
  CHECK(m->context_window == 200000);
  CHECK(m->max_output_tokens == 131072);
  CHECK_FALSE(m->stream_only);
  CHECK(m->thinking);
  for (const char* id : {"glm-4.5", "glm-4.5-air", "glm-4-flash-250414", "codegeex-4"}) {
    INFO(id);
    REQUIRE(find_model("zhipu", id) != nullptr);
    CHECK_FALSE(find_model("zhipu", id)->vision);
  }
  CHECK(find_model("zhipu", "glm-4v-flash")->vision);
  CHECK(find_model("zhipu", "glm-4.6v")->vision);
  CHECK_FALSE(find_model("zhipu", "glm-4-flash-250414")->thinking);
}

TEST_CASE("qianfan chatglm2_6b_32k has the 4800-character input cap", "[catalog]") {
  const ModelInfo* m = find_model("qianfan", "chatglm2_6b_32k");
  REQUIRE(m != nullptr);
  CHECK(m->max_input_chars == 4800);
}

TEST_CASE("unknown models and providers are not in the catalog; lookups are exact", "[catalog]") {
  CHECK(find_model("openai", "gpt-4o") == nullptr);
  CHECK(find_model("zhipu", "glm-9") == nullptr);
  CHECK(find_model("qianfan", "chatglm3-6b") == nullptr);  // same id, other provider
  CHECK(find_model("dashscope", "GLM-4.6") == nullptr);
}

TEST_CASE("an instance's own models come first; other models fall back to its kind's catalog", "[catalog]") {
  ProviderConfig p;
  p.name = "zai";
  p.kind = "zhipu";
  ModelInfo own = model_entry("zai", "glm-4.6");
  own.context_window = 1000;
  p.models.push_back(own);
  CHECK(find_model(p, "glm-4.6")->context_window == 1000);
  CHECK(find_model(p, "glm-4.5")->context_window == 131072);
  CHECK(find_model(p, "nope") == nullptr);
}

TEST_CASE("catalog entries are unique and every limit is positive and coherent", "[catalog]") {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& spec : provider_specs()) {
    for (const auto& m : spec.models) {
      INFO(m.provider << "/" << m.id);
      CHECK(m.provider == spec.kind);
      CHECK(seen.insert({m.provider, m.id}).second);
      for (auto v : {m.context_window, m.max_input_tokens, m.max_output_tokens, m.max_input_chars}) {
        if (v) CHECK(*v > 0);
      }
      if (m.context_window && m.max_input_tokens) CHECK(*m.max_input_tokens <= *m.context_window);
      if (m.context_window && m.max_output_tokens) CHECK(*m.max_output_tokens <= *m.context_window);
      CHECK((m.input_format == "messages" || m.input_format == "prompt"));
      if (m.thinking_default) CHECK(m.thinking);
      CHECK(find_model(m.provider, m.id) == &m);
    }
  }
}
