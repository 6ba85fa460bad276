// The provider recipe (docs/providers.md) works: glm-server-recipe is glm-server plus a test-only
// provider kind, "acme", added in one file (tests/recipe/example_vendor.cpp) and one registry line.
// Without any other edit the kind appears in models/list, providers/list and config validation, and
// chats through it. The real glm-server does not know it.
#include <catch2/catch.hpp>

#include "../mock/mock_server.hpp"

// server_process.hpp spawns GLM_SERVER_BIN; this suite drives the recipe binary instead.
#ifndef GLM_RECIPE_BIN
#error "GLM_RECIPE_BIN must name the glm-server-recipe binary (tests/CMakeLists.txt)"
#endif
static const char* const kRealServer = GLM_SERVER_BIN;
#undef GLM_SERVER_BIN
#define GLM_SERVER_BIN GLM_RECIPE_BIN
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

}  // namespace

TEST_CASE("recipe: the example kind is in models/list and providers/list with its catalog and key variable") {
  ServerProcess s({}, {"ACME_API_KEY="});
  Json init = s.request("initialize", Json::object());
  REQUIRE(init.contains("result"));
  Json models = s.request("models/list", Json::object(), 2)["result"]["models"];
  bool listed = false;
  for (auto& m : models) {
    if (m["id"] != "acme/acme-chat-1") continue;
    listed = true;
    CHECK(m["kind"] == "acme");
    CHECK(m["context_window"] == 32768);
    CHECK(m["configured"] == false);  // ACME_API_KEY is empty
  }
  CHECK(listed);
  Json list = s.request("providers/list", Json::object(), 3)["result"];
  bool found = false;
  for (auto& p : list["providers"]) {
    if (p["name"] != "acme") continue;
    found = true;
    CHECK(p["kind"] == "acme");
    CHECK(p["base_url"] == "https://api.acme.example/v1");
    CHECK(p["credentials"]["api_key_env"]["name"] == "ACME_API_KEY");
    CHECK(p["credentials"]["api_key_env"]["set"] == false);
  }
  CHECK(found);
  bool kind_listed = false;
  for (auto& k : list["kinds"]) {
    if (k["kind"] != "acme") continue;
    kind_listed = true;
    CHECK(k["options"]["temperature"] == "[0, 1.5]");
    CHECK(k["options"]["stop"] == "at most 4");
  }
  CHECK(kind_listed);
}

TEST_CASE("recipe: config validation knows the kind; a named instance of it chats through its own endpoint") {
  MockServer mock;
  ServerProcess s;
  Json bad = s.request("initialize", {{"config", {{"providers", {{"x", {{"kind", "acmee"}}}}}}}});
  REQUIRE(bad.contains("error"));
  CHECK(bad["error"]["message"].get<std::string>().find("known: zhipu, dashscope, dashscope-compat, qianfan, "
                                                        "qianfan-v2, openai, acme") != std::string::npos);
  Json cfg = {{"default_model", "acme-eu/acme-chat-1"},
              {"providers",
               {{"acme-eu",
                 {{"kind", "acme"},
                  {"base_url", mock.url() + "/eu/v1"},
                  {"api_key", "acme-secret"},
                  {"extra_headers", {{"X-Acme-Region", "eu"}}}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}, 2).contains("result"));
  Json reply = s.request("chat", {{"messages", user("hello acme")}, {"options", {{"thinking", true}}}}, 3);
  REQUIRE(reply.contains("result"));
  CHECK(reply["result"]["content"] == "You said: hello acme");
  CHECK(reply["result"]["provider"] == "acme-eu");
  auto req = mock.requests().at(0);
  CHECK(req.path() == "/eu/v1/chat/completions");
  CHECK(req.header("authorization") == "Bearer acme-secret");
  CHECK(req.header("x-acme-region") == "eu");
  Json body = Json::parse(req.body);
  CHECK(body["enable_thinking"] == true);
  CHECK(body["stream_options"]["include_usage"] == true);
  // The dialect's ranges are enforced, naming the instance.
  Json hot = s.request("chat", {{"messages", user("x")}, {"options", {{"temperature", 1.8}}}}, 4);
  REQUIRE(hot.contains("error"));
  CHECK(hot["error"]["code"] == -32602);
  CHECK(hot["error"]["message"] == "options.temperature: must be in [0, 1.5] for acme-eu");
}

TEST_CASE("recipe: the real glm-server has no such kind (the registry line is what adds it)") {
  ServerProcess s({}, {}, kRealServer);
  Json r = s.request("initialize", {{"config", {{"providers", {{"x", {{"kind", "acme"}}}}}}}});
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["message"].get<std::string>().find("unknown provider kind 'acme'") != std::string::npos);
}
