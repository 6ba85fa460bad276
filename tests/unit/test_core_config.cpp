// Config: built-in defaults, recursive merge, and validation errors that name the bad key.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "core/config.hpp"

using glm::apply_config;
using glm::Config;
using glm::Json;

TEST_CASE("defaults hold every provider with its documented base URL and key variable") {
  Config c = Config::defaults();
  REQUIRE(c.default_model == "zhipu/glm-4.6");
  REQUIRE(c.providers.size() == 5);
  REQUIRE(c.providers.at("zhipu").base_url == "https://open.bigmodel.cn/api/paas/v4");
  REQUIRE(c.providers.at("zhipu").api_key_env == "ZHIPUAI_API_KEY");
  REQUIRE(c.providers.at("dashscope-compat").base_url == "https://dashscope.aliyuncs.com/compatible-mode/v1");
  REQUIRE(c.providers.at("qianfan").secret_key_env == "QIANFAN_SK");
  REQUIRE_FALSE(c.providers.at("openai").insecure);
  REQUIRE(c.providers.at("openai").timeout_ms == 60000);
}

TEST_CASE("an overlay merges recursively: one key changes, its siblings stay") {
  Config c = Config::defaults();
  REQUIRE_FALSE(apply_config(c, {{"providers", {{"zhipu", {{"timeout_ms", 5000}, {"auth", "jwt"}}}}}}));
  REQUIRE(c.providers.at("zhipu").timeout_ms == 5000);
  REQUIRE(c.providers.at("zhipu").auth == "jwt");
  REQUIRE(c.providers.at("zhipu").base_url == "https://open.bigmodel.cn/api/paas/v4");
  REQUIRE(c.providers.at("zhipu").api_key_env == "ZHIPUAI_API_KEY");
  // A second overlay builds on the first.
  REQUIRE_FALSE(apply_config(c, {{"default_model", "openai/glm-4"}, {"providers", {{"openai", {{"base_url", "http://127.0.0.1:9/v1/"}}}}}}));
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
      {{{"providers", {{"nope", {{"base_url", "https://x"}}}}}}, "providers.nope"},
      {{{"providers", {{"zhipu", 3}}}}, "providers.zhipu"},
      {{{"default_model", "glm-4"}}, "default_model"},
      {{{"default_model", "nope/glm-4"}}, "default_model"},
      {{{"frobnicate", true}}, "frobnicate"},
  };
  for (auto& c : cases) {
    INFO(c.overlay.dump());
    Config cfg = Config::defaults();
    auto err = apply_config(cfg, c.overlay);
    REQUIRE(err);
    REQUIRE(err->find(c.names) != std::string::npos);
    REQUIRE(cfg.providers.at("zhipu").timeout_ms == 60000);  // untouched
    REQUIRE(cfg.default_model == "zhipu/glm-4.6");
  }
}

TEST_CASE("config files: invalid JSON and a missing file are errors naming the path") {
  Config c = Config::defaults();
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
  std::ofstream(path) << R"({"default_model": "dashscope/chatglm3-6b", "providers": {"dashscope": {"workspace": "ws-1"}}})";
  REQUIRE_FALSE(glm::load_config_file(c, path));
  REQUIRE(c.default_model == "dashscope/chatglm3-6b");
  REQUIRE(c.providers.at("dashscope").extra["workspace"] == "ws-1");  // provider-specific keys kept
  std::remove(path);
}
