// Tool calls per provider: request mapping (tools, tool_choice, assistant tool_calls, tool messages),
// the clear -32602 where a provider has none, and streamed fragments assembled at every split.
#include <catch2/catch.hpp>

#include "provider_test_util.hpp"
#include "providers/registry.hpp"

using namespace glm;
using namespace glm::test;

namespace {

ProviderConfig instance(const std::string& kind) {
  ProviderConfig c;
  c.name = kind;
  c.kind = kind;
  c.base_url = "http://127.0.0.1:9/v1";
  c.api_key = "test-key.secret";
  c.secret_key = "test-secret";
  return c;
}

const Json kWeatherTool = Json::parse(R"({"type":"function","function":{"name":"get_weather",
  "description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})");

// The second step of a tool conversation: the call the model made and the tool's answer.
ChatRequest two_step(const std::string& kind) {
  ChatRequest r = simple_request(kind, "glm-4.6", "北京天气?");
  Message call{"assistant", nullptr};
  call.tool_calls = Json::parse(
      R"([{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"北京\"}"}}])");
  Message result{"tool", "晴, 25°C"};
  result.tool_call_id = "call_1";
  r.messages.push_back(call);
  r.messages.push_back(result);
  r.tools = Json::array({kWeatherTool});
  r.tool_choice = "auto";
  return r;
}

}  // namespace

TEST_CASE("tools map into the body for zhipu, dashscope-compat, openai and qianfan-v2", "[tools]") {
  for (const char* kind : {"zhipu", "dashscope-compat", "openai", "qianfan-v2"}) {
    INFO(kind);
    TestContext ctx;
    auto p = make_provider(instance(kind), ctx.context());
    REQUIRE(p);
    ChatRequest req = two_step(kind);
    REQUIRE_FALSE(p->validate(req));
    auto r = prepare_now(*p, req);
    REQUIRE(r.ok());
    Json body = Json::parse(r.value().body);
    CHECK(body["tools"] == Json::array({kWeatherTool}));
    CHECK(body["tool_choice"] == "auto");
    const Json& msgs = body["messages"];
    REQUIRE(msgs.size() == 3);
    CHECK(msgs[1]["role"] == "assistant");
    CHECK(msgs[1]["content"].is_null());
    CHECK(msgs[1]["tool_calls"][0]["id"] == "call_1");
    CHECK(msgs[1]["tool_calls"][0]["function"]["arguments"] == "{\"city\":\"北京\"}");
    CHECK(msgs[2] == Json({{"role", "tool"}, {"content", "晴, 25°C"}, {"tool_call_id", "call_1"}}));
  }
}

TEST_CASE("zhipu: the built-in web_search tool passes through; tool_choice is auto only", "[tools][zhipu]") {
  TestContext ctx;
  auto p = make_provider(instance("zhipu"), ctx.context());
  ChatRequest req = simple_request("zhipu", "glm-4.6", "今天的新闻");
  Json web = Json::parse(
      R"({"type":"web_search","web_search":{"enable":true,"search_engine":"search_pro","search_result":true}})");
  req.tools = Json::array({web, kWeatherTool});
  REQUIRE_FALSE(p->validate(req));
  CHECK(Json::parse(prepare_now(*p, req).value().body)["tools"][0] == web);
  req.tool_choice = "required";
  CHECK(*p->validate(req) == "tool_choice: zhipu accepts only \"auto\"");
  ChatRequest other = simple_request("openai", "m");
  other.tools = Json::array({web});
  auto openai = make_provider(instance("openai"), ctx.context());
  CHECK(*openai->validate(other) == "tools[0].type: must be one of function for openai");
}

TEST_CASE("providers without tool calling answer -32602 naming themselves", "[tools]") {
  TestContext ctx;
  for (const char* kind : {"dashscope", "qianfan"}) {
    INFO(kind);
    auto p = make_provider(instance(kind), ctx.context());
    ChatRequest req = simple_request(kind, "chatglm3-6b");
    req.tools = Json::array({kWeatherTool});
    auto m = p->validate(req);
    REQUIRE(m);
    CHECK(m->rfind(std::string("tools: not supported by ") + kind + " (", 0) == 0);
    ChatRequest msgs = two_step(kind);
    msgs.tools = nullptr;
    msgs.tool_choice = nullptr;
    auto mm = p->validate(msgs);
    REQUIRE(mm);
    CHECK(*mm == std::string("messages[1].tool_calls: not supported by ") + kind);
  }
}

TEST_CASE("tool messages are checked: tool_call_id, string content", "[tools]") {
  TestContext ctx;
  auto p = make_provider(instance("openai"), ctx.context());
  ChatRequest req = two_step("openai");
  req.messages[2].tool_call_id.clear();
  CHECK(*p->validate(req) == "messages[2].tool_call_id: required for a tool message");
  req = two_step("openai");
  req.messages[1].tool_calls =
      Json::parse(R"([{"id":"c","type":"function","function":{"name":"f","arguments":{"a":1}}}])");
  CHECK(*p->validate(req) == "messages[1].tool_calls[0].function.arguments: must be a string (JSON text)");
}

TEST_CASE("streamed tool-call fragments are assembled by index at every split", "[tools]") {
  TestContext ctx;
  auto openai = make_provider(instance("openai"), ctx.context());
  auto out = check_split_invariance(*openai, simple_request("openai", "glm-4.5-air"),
                                    load_response("openai/stream_tool_calls.http"));
  REQUIRE(out.done);
  CHECK(out.result.finish_reason == "tool_calls");
  CHECK(out.result.tool_calls == Json::parse(R"([
    {"id":"call_weather_01","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"杭州\"}"}},
    {"id":"call_time_02","type":"function","function":{"name":"get_time","arguments":"{\"tz\": \"Asia/Shanghai\"}"}}])"));
  CHECK(out.tool_fragments.size() == 5);  // one per streamed fragment, normalised
  CHECK(out.tool_fragments[1] == Json::parse(R"({"index":0,"function":{"arguments":"{\"city\": \"杭"}})"));
  CHECK(out.content.empty());

  auto zhipu = make_provider(instance("zhipu"), ctx.context());
  auto z =
      check_split_invariance(*zhipu, simple_request("zhipu", "glm-4.6"), load_response("zhipu/stream_tool_call.http"));
  REQUIRE(z.done);
  CHECK(z.result.finish_reason == "tool_calls");
  CHECK(z.reasoning == "用户想知道天气,调用 get_weather。");
  REQUIRE(z.result.tool_calls.size() == 1);
  CHECK(z.result.tool_calls[0]["function"]["arguments"] == "{\"city\":\"北京\",\"unit\":\"celsius\"}");

  auto v2 = make_provider(instance("qianfan-v2"), ctx.context());
  auto q = check_split_invariance(*v2, simple_request("qianfan-v2", "ernie-4.5-turbo-128k"),
                                  load_response("qianfan_v2/stream_tool_call.http"));
  REQUIRE(q.done);
  CHECK(q.result.tool_calls[0]["function"]["name"] == "get_current_weather");
  CHECK(q.result.tool_calls[0]["function"]["arguments"] == "{\"location\": \"上海\"}");
}
