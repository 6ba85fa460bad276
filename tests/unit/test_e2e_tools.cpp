// A two-step tool conversation through the real process and the mock provider: the model calls a
// tool (streamed fragments in chat/delta, assembled calls in the result), the client runs it and
// sends the result back as a `tool` message, the model answers.
#include <catch2/catch.hpp>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

const Json kTools =
    Json::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Weather of a city",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])");

struct Reply {
  std::vector<Json> deltas;
  Json message;
};

Reply call(ServerProcess& s, int id, Json params) {
  s.send(rpc(id, "chat", std::move(params)));
  Reply r;
  for (;;) {
    auto m = s.read(10000);
    REQUIRE(m);
    if (m->contains("method")) {
      r.deltas.push_back((*m)["params"]);
      continue;
    }
    r.message = *m;
    return r;
  }
}

}  // namespace

TEST_CASE("two-step tool conversation end to end (zhipu and openai kinds)") {
  for (const std::string instance : {"zhipu", "openai"}) {
    INFO(instance);
    MockServer mock;
    ServerProcess s;
    Json cfg = {{"providers",
                 {{"zhipu", {{"base_url", mock.url() + "/api/paas/v4"}, {"api_key", "zk.secret"}}},
                  {"openai", {{"base_url", mock.url() + "/v1"}}}}}};
    REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
    const std::string model = instance + "/glm-4.6";
    Json user = {{"role", "user"}, {"content", "weather in Hangzhou mock:tool=get_weather"}};

    // Step 1: the model calls the tool.
    Reply first = call(s, 1, {{"model", model}, {"messages", {user}}, {"tools", kTools}, {"tool_choice", "auto"}});
    REQUIRE(first.message.contains("result"));
    const Json& res = first.message["result"];
    CHECK(res["finish_reason"] == "tool_calls");
    CHECK(res["content"] == "");
    REQUIRE(res["tool_calls"].size() == 1);
    const Json& tc = res["tool_calls"][0];
    CHECK(tc["id"] == "call_mock_1");
    CHECK(tc["type"] == "function");
    CHECK(tc["function"]["name"] == "get_weather");
    CHECK(tc["function"]["arguments"] == R"({"q":"weather in Hangzhou"})");
    // The fragments streamed in chat/delta, in seq order, add up to the same call.
    std::string args;
    int64_t seq = 0;
    for (const auto& d : first.deltas) {
      CHECK(d["seq"] == seq++);
      REQUIRE(d.contains("tool_calls"));
      for (const auto& f : d["tool_calls"]) {
        CHECK(f["index"] == 0);
        if (f.contains("function") && f["function"].contains("arguments")) args += f["function"]["arguments"];
      }
    }
    CHECK(first.deltas.size() >= 4);
    CHECK(args == tc["function"]["arguments"]);
    Json sent = Json::parse(mock.requests().at(0).body);
    CHECK(sent["tools"] == kTools);
    CHECK(sent["tool_choice"] == "auto");

    // Step 2: the tool's result goes back; the model answers in text.
    Json assistant = {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", res["tool_calls"]}};
    Json tool = {{"role", "tool"}, {"tool_call_id", "call_mock_1"}, {"content", "sunny, 25C"}};
    Reply second = call(s, 2, {{"model", model}, {"messages", {user, assistant, tool}}, {"tools", kTools}});
    REQUIRE(second.message.contains("result"));
    CHECK(second.message["result"]["content"] == "Tool said: sunny, 25C");
    CHECK(second.message["result"]["finish_reason"] == "stop");
    CHECK_FALSE(second.message["result"].contains("tool_calls"));
    Json sent2 = Json::parse(mock.requests().at(1).body);
    REQUIRE(sent2["messages"].size() == 3);
    CHECK(sent2["messages"][1]["tool_calls"][0]["id"] == "call_mock_1");
    CHECK(sent2["messages"][2]["tool_call_id"] == "call_mock_1");
    CHECK(sent2["messages"][2]["role"] == "tool");
  }
}

TEST_CASE("tool calls: stream:false returns the assembled calls; bad tools are -32602") {
  MockServer mock;
  ServerProcess s;
  Json cfg = {{"default_model", "openai/m"}, {"providers", {{"openai", {{"base_url", mock.url() + "/v1"}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
  Json user = {{"role", "user"}, {"content", "mock:tool=lookup find x"}};
  Json r = s.request("chat", {{"messages", {user}}, {"tools", kTools}, {"stream", false}}, 3);
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["tool_calls"][0]["function"]["name"] == "lookup");
  CHECK(r["result"]["finish_reason"] == "tool_calls");

  Json bad = s.request("chat", {{"messages", {user}}, {"tools", {{{"type", "function"}}}}}, 4);
  CHECK(bad["error"]["code"] == -32602);
  CHECK(bad["error"]["message"] == "tools[0].function.name: required (a non-empty string)");
  Json orphan = s.request("chat", {{"messages", {user, {{"role", "tool"}, {"content", "x"}}}}}, 5);
  CHECK(orphan["error"]["code"] == -32602);
  CHECK(orphan["error"]["message"] == "messages[1].tool_call_id: required");
  Json native = s.request("chat", {{"model", "dashscope/chatglm3-6b"}, {"messages", {user}}, {"tools", kTools}}, 6);
  CHECK(native["error"]["code"] == -32602);
  CHECK(native["error"]["message"].get<std::string>().rfind("tools: not supported by dashscope", 0) == 0);
}
