// Config: built-in defaults, recursive merge, and validation errors that name the bad key.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "core/config.hpp"

#include <memory>

using glm::apply_config;
using glm::Json;
using glm::ProviderKinds;

namespace {

// Core knows no provider: the registry (src/providers/registry.hpp, tested in
// test_providers_registry.cpp) hands it a table like this one.
std::shared_ptr<const ProviderKinds> test_kinds() {
  auto k = std::make_shared<ProviderKinds>();
  k->kinds = {"zhipu", "dashscope", "openai"};
  k->kind_defaults = {{"zhipu", {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}}},
                      {"dashscope", {{"base_url", "https://dashscope.aliyuncs.com/api/v1"}}},
                      {"openai", {{"base_url", "http://127.0.0.1:8000/v1"}}}};
  k->builtin_instances = {
      {"zhipu", {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}, {"api_key_env", "ZHIPUAI_API_KEY"}}},
      {"zai", {{"kind", "zhipu"}, {"base_url", "https://api.z.ai/api/paas/v4"}, {"api_key_env", "ZAI_API_KEY"}}},
      {"dashscope", {{"base_url", "https://dashscope.aliyuncs.com/api/v1"}, {"api_key_env", "DASHSCOPE_API_KEY"}}},
      {"openai", {{"base_url", "http://127.0.0.1:8000/v1"}, {"api_key_env", "OPENAI_API_KEY"}}}};
  k->default_model = "zhipu/glm-4.6";
  return k;
}

struct Config : glm::Config {
  static glm::Config defaults() { return glm::Config::defaults(test_kinds()); }
};

}  // namespace

TEST_CASE("defaults hold every built-in instance of the registry's table, with its kind") {
  auto c = Config::defaults();
  REQUIRE(c.default_model == "zhipu/glm-4.6");
  REQUIRE(c.providers.size() == 4);
  REQUIRE(c.providers.at("zhipu").kind == "zhipu");
  REQUIRE(c.providers.at("zhipu").api_key_env == "ZHIPUAI_API_KEY");
  REQUIRE(c.providers.at("zai").kind == "zhipu");
  REQUIRE(c.providers.at("zai").base_url == "https://api.z.ai/api/paas/v4");
  REQUIRE(c.providers.at("zai").api_key_env == "ZAI_API_KEY");
  REQUIRE_FALSE(c.providers.at("openai").insecure);
  REQUIRE(c.providers.at("openai").timeout_ms == 60000);
  REQUIRE(c.providers.at("openai").retry_initial_delay_ms == 500);
}

TEST_CASE("named instances: a kind, its defaults without its credentials, extra_headers, own models") {
  auto c = Config::defaults();
  REQUIRE_FALSE(apply_config(
      c, {{"providers",
           {{"vllm",
             {{"kind", "openai"},
              {"base_url", "http://127.0.0.1:9000/v1"},
              {"extra_headers", {{"X-Team", "a"}}},
              {"models", {"qwen3", {{"id", "glm-4.5-air"}, {"context_window", 32768}, {"thinking", true}}}}}},
            {"zhipu-work", {{"kind", "zhipu"}, {"api_key_env", "WORK_KEY"}}}}}}));
  const auto& v = c.providers.at("vllm");
  REQUIRE(v.kind == "openai");
  REQUIRE(v.base_url == "http://127.0.0.1:9000/v1");
  REQUIRE(v.api_key_env.empty());  // never inherits OPENAI_API_KEY: it would go to another host
  REQUIRE(v.extra_headers == std::vector<std::pair<std::string, std::string>>{{"X-Team", "a"}});
  REQUIRE(v.models.size() == 2);
  REQUIRE(v.models[0].id == "qwen3");
  REQUIRE(v.models[1].context_window == 32768);
  REQUIRE(v.models[1].thinking);
  REQUIRE(v.models[1].provider == "vllm");
  const auto& w = c.providers.at("zhipu-work");
  REQUIRE(w.base_url == "https://open.bigmodel.cn/api/paas/v4");  // the kind's default endpoint
  REQUIRE(w.api_key_env == "WORK_KEY");
  REQUIRE_FALSE(apply_config(c, {{"default_model", "vllm/qwen3"}}));
  REQUIRE(c.default_model == "vllm/qwen3");
}

TEST_CASE("an overlay merges recursively: one key changes, its siblings stay") {
  auto c = Config::defaults();
  REQUIRE_FALSE(apply_config(c, {{"providers", {{"zhipu", {{"timeout_ms", 5000}, {"auth", "jwt"}}}}}}));
  REQUIRE(c.providers.at("zhipu").timeout_ms == 5000);
  REQUIRE(c.providers.at("zhipu").auth == "jwt");
  REQUIRE(c.providers.at("zhipu").base_url == "https://open.bigmodel.cn/api/paas/v4");
  REQUIRE(c.providers.at("zhipu").api_key_env == "ZHIPUAI_API_KEY");
  // A second overlay builds on the first.
  REQUIRE_FALSE(apply_config(
      c, {{"default_model", "openai/glm-4"}, {"providers", {{"openai", {{"base_url", "http://127.0.0.1:9/v1/"}}}}}}));
  REQUIRE(c.default_model == "openai/glm-4");
  REQUIRE(c.providers.at("openai").base_url == "http://127.0.0.1:9/v1");  // trailing slash dropped
  REQUIRE(c.providers.at("zhipu").timeout_ms == 5000);
}

TEST_CASE("invalid values are rejected with the key named, and the config is left as it was") {
  struct Case {
    Json overlay;
    std::string names;
  };
  std::vector<Case> cases = {
      {{{"providers", {{"zhipu", {{"timeout_ms", "soon"}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"timeout_ms", -1}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"base_url", "ftp://x"}}}}}}, "providers.zhipu.base_url"},
      {{{"providers", {{"zhipu", {{"api_key_cmd", "pass show zhipu"}}}}}}, "providers.zhipu.api_key_cmd"},
      {{{"providers", {{"zhipu", {{"api_key_cmd", Json::array()}}}}}}, "providers.zhipu.api_key_cmd"},
      {{{"providers", {{"zhipu", {{"insecure", "yes"}}}}}}, "providers.zhipu.insecure"},
      {{{"providers", {{"zhipu", {{"max_retries", 9}}}}}}, "providers.zhipu.max_retries"},
      {{{"providers", {{"nope", {{"base_url", "https://x"}}}}}},
       "providers.nope: unknown provider; a new instance needs \"kind\" (one of: zhipu, dashscope, openai)"},
      {{{"providers", {{"x", {{"kind", "nope"}}}}}},
       "providers.x.kind: unknown provider kind 'nope' (known: zhipu, dashscope, openai)"},
      {{{"providers", {{"x", {{"kind", 3}}}}}}, "providers.x.kind"},
      {{{"providers", {{"a/b", {{"kind", "openai"}}}}}}, "providers.a/b"},
      {{{"providers", {{"zhipu", {{"extra_headers", {{"X-A", "1\r\nEvil: 2"}}}}}}}},
       "providers.zhipu.extra_headers.X-A"},
      {{{"providers", {{"zhipu", {{"extra_headers", {{"Bad Name", "1"}}}}}}}}, "providers.zhipu.extra_headers"},
      {{{"providers", {{"zhipu", {{"models", "glm"}}}}}}, "providers.zhipu.models"},
      {{{"providers", {{"zhipu", {{"models", {{{"id", "m"}, {"context_window", -1}}}}}}}}},
       "providers.zhipu.models[0].context_window"},
      {{{"providers", {{"zhipu", {{"models", {{{"id", "m"}, {"colour", 1}}}}}}}}}, "providers.zhipu.models[0].colour"},
      {{{"providers", {{"zhipu", {{"retry_max_total_ms", 1e9}}}}}}, "providers.zhipu.retry_max_total_ms"},
      {{{"providers", {{"zhipu", {{"retry_initial_delay_ms", -1}}}}}}, "providers.zhipu.retry_initial_delay_ms"},
      {{{"providers", {{"zhipu", 3}}}}, "providers.zhipu"},
      {{{"default_model", "glm-4"}}, "default_model"},
      {{{"default_model", "nope/glm-4"}}, "default_model"},
      {{{"frobnicate", true}}, "frobnicate"},
  };
  for (auto& c : cases) {
    INFO(c.overlay.dump());
    auto cfg = Config::defaults();
    auto err = apply_config(cfg, c.overlay);
    REQUIRE(err);
    REQUIRE(err->find(c.names) != std::string::npos);
    REQUIRE(cfg.providers.at("zhipu").timeout_ms == 60000);  // untouched
    REQUIRE(cfg.default_model == "zhipu/glm-4.6");
  }
}

TEST_CASE("config files: invalid JSON and a missing file are errors naming the path") {
  auto c = Config::defaults();
  auto err = glm::load_config_file(c, "/nonexistent/glm.json");
  REQUIRE(err);
  REQUIRE(err->find("/nonexistent/glm.json") != std::string::npos);
  char path[] = "/tmp/glm-config-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << "{\"default_model\": ";
  err = glm::load_config_file(c, path);
  REQUIRE(err);
  REQUIRE(err->find("invalid JSON") != std::string::npos);
  std::ofstream(path)
      << R"({"default_model": "dashscope/chatglm3-6b", "providers": {"dashscope": {"workspace": "ws-1"}}})";
  REQUIRE_FALSE(glm::load_config_file(c, path));
  REQUIRE(c.default_model == "dashscope/chatglm3-6b");
  REQUIRE(c.providers.at("dashscope").extra["workspace"] == "ws-1");  // provider-specific keys kept
  std::remove(path);
}

TEST_CASE("every numeric value has a range; out of it is an error naming the key (issue 11, defect 13)") {
  struct Case {
    Json overlay;
    std::string names;
  };
  const Json huge = 9223372036854775807ll;
  const Json huger = 18446744073709551615ull;
  std::vector<Case> cases = {
      // A huge timeout overflowed the clock arithmetic (ASan abort; release: an instant "timeout").
      {{{"providers", {{"zhipu", {{"timeout_ms", huge}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"timeout_ms", huger}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"timeout_ms", 3600001}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"timeout_ms", 0}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"timeout_ms", 1.5}}}}}}, "providers.zhipu.timeout_ms"},
      {{{"providers", {{"zhipu", {{"max_retries", huger}}}}}}, "providers.zhipu.max_retries"},
      {{{"max_message_bytes", huge}}, "max_message_bytes"},
      {{{"max_message_bytes", 100}}, "max_message_bytes"},
      {{{"max_json_depth", 4097}}, "max_json_depth"},
      {{{"max_json_depth", 0}}, "max_json_depth"},
      {{{"max_response_bytes", huge}}, "max_response_bytes"},
      {{{"max_response_bytes", 10}}, "max_response_bytes"},
  };
  for (auto& c : cases) {
    INFO(c.overlay.dump());
    glm::Config cfg = Config::defaults();
    auto err = apply_config(cfg, c.overlay);
    REQUIRE(err);
    REQUIRE(err->find(c.names) != std::string::npos);
    REQUIRE(err->find("[") != std::string::npos);  // says the range
  }
  glm::Config cfg = Config::defaults();
  REQUIRE(cfg.max_response_bytes == 8 << 20);
  REQUIRE(cfg.max_json_depth == 512);
  REQUIRE_FALSE(apply_config(cfg, {{"max_response_bytes", 1 << 30},
                                   {"max_json_depth", 4096},
                                   {"providers", {{"zhipu", {{"timeout_ms", 3600000}}}}}}));
  REQUIRE(cfg.providers.at("zhipu").timeout_ms == 3600000);
}
