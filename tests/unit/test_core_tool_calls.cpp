// Tool-call fragments assembled by index; tools/tool_choice checks.
#include <catch2/catch.hpp>

#include "core/tool_calls.hpp"

using glm::Json;
using glm::merge_tool_call_fragments;

TEST_CASE("OpenAI-style fragments: id/name once, arguments appended, two calls interleaved by index") {
  Json calls = Json::array();
  Json norm = Json::array();
  REQUIRE_FALSE(merge_tool_call_fragments(
      calls,
      Json::parse(R"([{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}])"),
      &norm));
  REQUIRE_FALSE(
      merge_tool_call_fragments(calls, Json::parse(R"([{"index":0,"function":{"arguments":"{\"ci"}}])"), &norm));
  REQUIRE_FALSE(merge_tool_call_fragments(
      calls,
      Json::parse(R"([{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}])"),
      &norm));
  REQUIRE_FALSE(merge_tool_call_fragments(
      calls, Json::parse(R"([{"index":0,"id":"","function":{"name":"","arguments":"ty\":\"北京\"}"}}])"), &norm));
  CHECK(calls == Json::parse(R"([
    {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"北京\"}"}},
    {"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}])"));
  REQUIRE(norm.size() == 4);
  CHECK(norm[1] == Json::parse(R"({"index":0,"function":{"arguments":"{\"ci"}})"));
  CHECK(norm[3] == Json::parse(R"({"index":0,"function":{"arguments":"ty\":\"北京\"}"}})"));
}

TEST_CASE("a whole call in one fragment without index (Zhipu), and non-string arguments") {
  Json calls = Json::array();
  REQUIRE_FALSE(merge_tool_call_fragments(
      calls, Json::parse(R"([{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}},
                             {"id":"w","type":"web_search","web_search":{"search_result":[{"title":"t"}]}}])")));
  CHECK(calls[0]["function"]["arguments"] == "{\"a\":1}");
  CHECK(calls[1]["web_search"]["search_result"][0]["title"] == "t");
}

TEST_CASE("malformed fragments and absurd indexes are errors, not allocations") {
  Json calls = Json::array();
  CHECK(merge_tool_call_fragments(calls, Json::parse(R"([{"index":1000000000}])")));
  CHECK(merge_tool_call_fragments(calls, Json::parse(R"([{"index":-1}])")));
  CHECK(merge_tool_call_fragments(calls, Json::parse(R"([3])")));
  CHECK(merge_tool_call_fragments(calls, Json::parse(R"({"index":0})")));
  CHECK(merge_tool_call_fragments(calls, Json::parse(R"([{"index":0,"function":"f"}])")));
  CHECK(calls.size() <= 1);
  CHECK_FALSE(merge_tool_call_fragments(calls, Json(nullptr)));
}

TEST_CASE("tools and tool_choice are checked with the field named") {
  Json fn = Json::parse(R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])");
  CHECK_FALSE(glm::check_tools(fn, "auto"));
  CHECK_FALSE(glm::check_tools(fn, Json::parse(R"({"type":"function","function":{"name":"f"}})")));
  CHECK_FALSE(glm::check_tools(Json::parse(R"([{"type":"web_search","web_search":{"enable":true}}])"), nullptr));
  CHECK(*glm::check_tools(Json::parse(R"([{"type":"function","function":{}}])"), nullptr) ==
        "tools[0].function.name: required (a non-empty string)");
  CHECK(*glm::check_tools(Json::parse(R"({"type":"function"})"), nullptr) ==
        "tools: expected an array of tool objects");
  CHECK(glm::check_tools(fn, "sometimes")->rfind("tool_choice:", 0) == 0);
  CHECK(*glm::check_tools(nullptr, "auto") == "tool_choice: needs tools");
}
