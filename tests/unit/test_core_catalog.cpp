// Model catalog: the limits and capabilities models/list reports and history fitting enforces.
#include <catch2/catch.hpp>
#include <set>

#include "core/catalog.hpp"

using namespace glm;

TEST_CASE("chatglm3-6b on dashscope has the documented 6000/1500/7500 limits") {
  const ModelInfo* m = find_model("dashscope", "chatglm3-6b");
  REQUIRE(m != nullptr);
  CHECK(m->max_input_tokens == 6000);
  CHECK(m->max_output_tokens == 1500);
  CHECK(m->context_window == 7500);
  CHECK(m->input_format == "messages");
  CHECK_FALSE(m->stream_only);
}

TEST_CASE("chatglm-6b-v2 takes prompt + history only") {
  const ModelInfo* m = find_model("dashscope", "chatglm-6b-v2");
  REQUIRE(m != nullptr);
  CHECK(m->input_format == "prompt");
  CHECK(m->context_window == 6500);
}

TEST_CASE("GLM-4.x on dashscope and dashscope-compat are stream-only thinking models") {
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

TEST_CASE("zhipu models: glm-4.6 limits, vision models, not stream-only") {
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

TEST_CASE("qianfan chatglm2_6b_32k has the 4800-character input cap") {
  const ModelInfo* m = find_model("qianfan", "chatglm2_6b_32k");
  REQUIRE(m != nullptr);
  CHECK(m->max_input_chars == 4800);
}

TEST_CASE("unknown models and providers are not in the catalog; lookups are exact") {
  CHECK(find_model("openai", "gpt-4o") == nullptr);
  CHECK(find_model("zhipu", "glm-9") == nullptr);
  CHECK(find_model("qianfan", "chatglm3-6b") == nullptr);  // same id, other provider
  CHECK(find_model("dashscope", "GLM-4.6") == nullptr);
}

TEST_CASE("catalog entries are unique and every limit is positive and coherent") {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& m : model_catalog()) {
    INFO(m.provider << "/" << m.id);
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
