// Named endpoints through the real process: several instances of one kind side by side, each with its
// own base URL, key, extra headers and models (docs/providers.md "Named endpoints").
#include <catch2/catch.hpp>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

Json chat(ServerProcess& s, int id, const std::string& model, const std::string& text) {
  Json r = s.request("chat", {{"model", model}, {"messages", user(text)}}, id);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  return r["result"];
}

}  // namespace

TEST_CASE("zai and zhipu configured at once: each answers from its own endpoint with its own key") {
  MockServer bigmodel, zai;
  ServerProcess s({}, {"ZHIPUAI_API_KEY=cn-key.secret", "ZAI_API_KEY=intl-key.secret"});
  Json cfg = {{"providers",
               {{"zhipu", {{"base_url", bigmodel.url() + "/api/paas/v4"}}},
                {"zai", {{"base_url", zai.url() + "/api/paas/v4"}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));

  Json a = chat(s, 2, "zhipu/glm-4.6", "from china");
  Json b = chat(s, 3, "zai/glm-4.6", "from abroad");
  CHECK(a["content"] == "You said: from china");
  CHECK(a["provider"] == "zhipu");
  CHECK(b["content"] == "You said: from abroad");
  CHECK(b["provider"] == "zai");
  REQUIRE(bigmodel.requests().size() == 1);
  REQUIRE(zai.requests().size() == 1);
  CHECK(bigmodel.requests()[0].header("authorization") == "Bearer cn-key.secret");
  CHECK(zai.requests()[0].header("authorization") == "Bearer intl-key.secret");
  CHECK(Json::parse(zai.requests()[0].body)["model"] == "glm-4.6");

  // Both instances list the zhipu catalog; the error for one names that instance.
  Json models = s.request("models/list", Json::object(), 4)["result"]["models"];
  int zai_models = 0;
  for (auto& m : models) {
    if (m["provider"] == "zai") {
      ++zai_models;
      CHECK(m["kind"] == "zhipu");
      if (m["id"] == "zai/glm-4.6") CHECK(m["context_window"] == 200000);
    }
  }
  CHECK(zai_models >= 5);
  Json hot =
      s.request("chat", {{"model", "zai/glm-4.6"}, {"messages", user("x")}, {"options", {{"temperature", 1.5}}}}, 5);
  CHECK(hot["error"]["message"] == "options.temperature: must be in [0, 1] for zai");
}

TEST_CASE("two OpenAI-compatible instances: own endpoints, keys, extra headers and models") {
  MockServer ollama, vllm;
  ServerProcess s({}, {"OPENAI_API_KEY=sk-real-openai-key", "VLLM_KEY=vllm-key"});
  Json cfg = {{"default_model", "ollama/glm4:9b"},
              {"providers",
               {{"ollama", {{"kind", "openai"}, {"base_url", ollama.url() + "/v1"}, {"models", {"glm4:9b"}}}},
                {"vllm",
                 {{"kind", "openai"},
                  {"base_url", vllm.url() + "/v1"},
                  {"api_key_env", "VLLM_KEY"},
                  {"extra_headers", {{"X-Team", "editor"}}},
                  {"models", {{{"id", "glm-4.5-air"}, {"context_window", 131072}, {"thinking", true}}}}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));

  Json a = chat(s, 2, "ollama/glm4:9b", "local");
  Json b = chat(s, 3, "vllm/glm-4.5-air", "remote");
  CHECK(a["content"] == "You said: local");
  CHECK(b["content"] == "You said: remote");
  CHECK(b["provider"] == "vllm");
  REQUIRE(ollama.requests().size() == 1);
  REQUIRE(vllm.requests().size() == 1);
  // The ollama instance never inherits OPENAI_API_KEY: that key belongs to another host.
  CHECK(ollama.requests()[0].header("authorization").empty());
  CHECK(ollama.requests()[0].header("x-team").empty());
  CHECK(vllm.requests()[0].header("authorization") == "Bearer vllm-key");
  CHECK(vllm.requests()[0].header("x-team") == "editor");
  CHECK(Json::parse(ollama.requests()[0].body)["model"] == "glm4:9b");

  Json models = s.request("models/list", Json::object(), 4)["result"]["models"];
  bool ollama_listed = false, vllm_listed = false;
  for (auto& m : models) {
    if (m["id"] == "ollama/glm4:9b") ollama_listed = m["kind"] == "openai" && m["configured"] == true;
    if (m["id"] == "vllm/glm-4.5-air") vllm_listed = m["context_window"] == 131072 && m["thinking"] == true;
  }
  CHECK(ollama_listed);
  CHECK(vllm_listed);
  Json list = s.request("providers/list", Json::object(), 5)["result"];
  for (auto& p : list["providers"]) {
    if (p["name"] != "vllm") continue;
    CHECK(p["extra_headers"] == Json::array({"X-Team"}));  // names only
    CHECK(p["credentials"]["api_key_env"] == Json({{"name", "VLLM_KEY"}, {"set", true}}));
  }
  CHECK(list.dump().find("vllm-key") == std::string::npos);
  CHECK(list.dump().find("sk-real-openai-key") == std::string::npos);
}

TEST_CASE("an unknown instance in a model id lists the configured ones") {
  ServerProcess s;
  REQUIRE(s.request("initialize", Json::object()).contains("result"));
  Json r = s.request("chat", {{"model", "nope/x"}, {"messages", user("x")}}, 2);
  REQUIRE(r["error"]["code"] == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("unknown provider 'nope' (known: ") != std::string::npos);
  CHECK(r["error"]["message"].get<std::string>().find("zai") != std::string::npos);
}
