// Every provider through the real glm-server process against the mock provider: what the client sees
// (deltas, results, stream-only handling), what the provider receives, and credential handling.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <set>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

struct Reply {
  std::vector<Json> deltas;
  Json message;
};

Reply call(ServerProcess& s, Json id, const std::string& method, Json params) {
  s.send(rpc(id, method, std::move(params)));
  Reply r;
  for (;;) {
    auto m = s.read(10000);
    REQUIRE(m);
    if (m->contains("method")) {
      r.deltas.push_back((*m)["params"]);
      continue;
    }
    REQUIRE((*m)["id"] == id);
    r.message = *m;
    return r;
  }
}

std::string joined(const std::vector<Json>& deltas, const char* field) {
  std::string s;
  for (auto& d : deltas)
    if (d.contains(field)) s += d[field].get<std::string>();
  return s;
}

Json config_for(const MockServer& mock) {
  return {{"providers",
           {{"dashscope", {{"base_url", mock.url() + "/api/v1"}, {"api_key", "ds-key"}}},
            {"dashscope-compat", {{"base_url", mock.url() + "/compatible-mode/v1"}, {"api_key", "ds-key"}}},
            {"qianfan", {{"base_url", mock.url()}, {"api_key", "qf-ak"}, {"secret_key", "qf-sk"}}}}}};
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("dashscope native: chatglm3-6b streams; the request is the native shape with SSE enabled") {
  MockServer mock;
  ServerProcess s({}, {"DASHSCOPE_API_KEY="});
  REQUIRE(s.request("initialize", {{"config", config_for(mock)}}).contains("result"));
  auto r = call(s, 1, "chat", {{"model", "dashscope/chatglm3-6b"}, {"messages", user("介绍下杭州")}});
  REQUIRE(r.message["result"]["content"] == "You said: 介绍下杭州");
  REQUIRE(joined(r.deltas, "content") == r.message["result"]["content"]);
  REQUIRE(r.message["result"]["provider"] == "dashscope");
  auto req = mock.requests().at(0);
  REQUIRE(req.path() == "/api/v1/services/aigc/text-generation/generation");
  REQUIRE(req.header("x-dashscope-sse") == "enable");
  REQUIRE(req.header("authorization") == "Bearer ds-key");
  Json body = Json::parse(req.body);
  REQUIRE(body["model"] == "chatglm3-6b");
  REQUIRE(body["input"]["messages"] == user("介绍下杭州"));
  REQUIRE(body["parameters"]["result_format"] == "message");
  REQUIRE(body["parameters"]["incremental_output"] == true);
}

TEST_CASE("dashscope glm-4.6 is stream-only: stream:false still streams upstream, answers whole") {
  MockServer mock;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", config_for(mock)}}).contains("result"));
  auto r = call(s, 2, "chat",
                {{"model", "dashscope/glm-4.6"}, {"messages", user("mock:reasoning=2,chunks=3")}, {"stream", false}});
  REQUIRE(r.deltas.empty());
  REQUIRE(r.message["result"]["content"] == "tok0 tok1 tok2 ");
  REQUIRE(r.message["result"]["reasoning"] == "think0 think1 ");
  REQUIRE(mock.requests().at(0).header("x-dashscope-sse") == "enable");
}

TEST_CASE("dashscope-compat: thinking goes top-level and usage comes from the final chunk") {
  MockServer mock;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", config_for(mock)}}).contains("result"));
  auto r = call(s, 3, "chat",
                {{"model", "dashscope-compat/glm-4.6"}, {"messages", user("hi")}, {"options", {{"thinking", true}}}});
  REQUIRE(r.message["result"]["content"] == "You said: hi");
  REQUIRE(r.message["result"]["usage"]["total_tokens"].get<int>() > 0);
  Json body = Json::parse(mock.requests().at(0).body);
  REQUIRE(body["enable_thinking"] == true);
  REQUIRE(body["stream_options"]["include_usage"] == true);
}

TEST_CASE("qianfan: one token fetch for concurrent first requests, system folded into the first turn") {
  MockServer mock;
  ServerProcess s({}, {"QIANFAN_ACCESS_TOKEN="});
  REQUIRE(s.request("initialize", {{"config", config_for(mock)}}).contains("result"));
  Json msgs = Json::array({{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hello"}}});
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) s.send(rpc(10 + i, "chat", {{"model", "qianfan/chatglm2_6b_32k"}, {"messages", msgs}}));
  int done = 0;
  while (done < 5) {
    auto m = s.read(10000);
    REQUIRE(m);
    if (m->contains("method")) continue;
    REQUIRE((*m)["result"]["content"] == "You said: be brief\n\nhello");
    ++done;
  }
  size_t token_requests = 0, chat_requests = 0;
  for (auto& req : mock.requests()) {
    if (req.path() == "/oauth/2.0/token") ++token_requests;
    if (req.path() == "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/chatglm2_6b_32k") {
      ++chat_requests;
      REQUIRE(req.target.find("access_token=") != std::string::npos);
      Json body = Json::parse(req.body);
      REQUIRE(body["messages"].size() == 1);  // no system role for ChatGLM2
      REQUIRE_FALSE(body.contains("system"));
    }
  }
  REQUIRE(token_requests == 1);
  REQUIRE(chat_requests == 5);
}

TEST_CASE("api_key_cmd runs lazily: not at initialize or models/list, once at the first chat") {
  MockServer mock;
  char dir[] = "/tmp/glm-keycmd-XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string marker = std::string(dir) + "/ran";
  ServerProcess s({}, {"ZHIPUAI_API_KEY="});
  Json cfg = {{"providers",
               {{"zhipu",
                 {{"base_url", mock.url() + "/api/paas/v4"},
                  {"api_key_cmd", {"sh", "-c", "echo x >> " + marker + "; echo key-from-cmd"}}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
  Json models = s.request("models/list", Json::object(), 2);
  bool listed_configured = false;
  for (auto& m : models["result"]["models"])
    if (m["provider"] == "zhipu") listed_configured = m["configured"];
  REQUIRE(listed_configured);
  REQUIRE_FALSE(exists(marker));
  for (int i = 0; i < 2; ++i) {
    auto r = call(s, 3 + i, "chat", {{"model", "zhipu/glm-4.6"}, {"messages", user("hi")}});
    REQUIRE(r.message.contains("result"));
  }
  REQUIRE(mock.requests().at(1).header("authorization") == "Bearer key-from-cmd");
  std::ifstream f(marker);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(all == "x\n");  // ran exactly once
  std::remove(marker.c_str());
  rmdir(dir);
}
