// The byte-level pre-scans that run before a message is parsed.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "rpc/json_scan.hpp"

using glm::rpc::nesting_exceeds;

TEST_CASE("nesting_exceeds counts array and object levels outside strings") {
  REQUIRE_FALSE(nesting_exceeds("", 1));
  REQUIRE_FALSE(nesting_exceeds("1", 0));
  REQUIRE_FALSE(nesting_exceeds("{}", 1));
  REQUIRE(nesting_exceeds("{}", 0));
  REQUIRE_FALSE(nesting_exceeds(R"({"a":[1,{"b":[]}]})", 4));
  REQUIRE(nesting_exceeds(R"({"a":[1,{"b":[]}]})", 3));
  // Siblings do not add up.
  REQUIRE_FALSE(nesting_exceeds("[[],[],[[]],[]]", 3));
  REQUIRE(nesting_exceeds(std::string(1000000, '['), 512));
}

TEST_CASE("nesting_exceeds skips strings, including escaped quotes and backslashes") {
  REQUIRE_FALSE(nesting_exceeds(R"(["[[[[", "{{{{"])", 1));
  REQUIRE_FALSE(nesting_exceeds(R"(["a\"[[[[", "\\"])", 1));    // \" stays inside the string
  REQUIRE(nesting_exceeds(R"(["a\\", [[[]]]])", 3));            // \\" ends it: the brackets count
  REQUIRE_FALSE(nesting_exceeds(R"(["\\\"[[[[\\\\", 1])", 1));  // odd run escapes, even run does not
  REQUIRE_FALSE(nesting_exceeds("[\"unterminated [[[[", 1));    // left for the parser to report
}

TEST_CASE("nesting_exceeds agrees with nlohmann's depth on generated documents") {
  for (int depth : {1, 2, 7, 64}) {
    nlohmann::json j = "x\"[{";
    for (int i = 0; i < depth; ++i) j = i % 2 ? nlohmann::json::array({j, "]}\\"}) : nlohmann::json{{"k[", j}};
    std::string text = j.dump();
    INFO(text);
    REQUIRE_FALSE(nesting_exceeds(text, static_cast<size_t>(depth)));
    REQUIRE(nesting_exceeds(text, static_cast<size_t>(depth - 1)));
  }
}

TEST_CASE("member_text finds a member's raw text in an object or a batch element") {
  using glm::rpc::member_text;
  REQUIRE(member_text(R"({"jsonrpc":"2.0","id":1E2,"method":"x"})", std::nullopt, "id") == "1E2");
  REQUIRE(member_text(R"( { "params" : {"id":[1,"}"]}, "id" : -0 } )", std::nullopt, "id") == "-0");
  REQUIRE(member_text(R"({"\u0069d":5})", std::nullopt, "id") == "5");        // an escaped key
  REQUIRE(member_text(R"({"id":1,"id":2.0})", std::nullopt, "id") == "2.0");  // the last duplicate
  REQUIRE(member_text(R"({"x":1})", std::nullopt, "id") == std::nullopt);
  REQUIRE(member_text(R"({})", std::nullopt, "id") == std::nullopt);
  const char* batch = R"([ {"id":"a\"]"}, 42, {"method":"m","id":1.50} ])";
  REQUIRE(member_text(batch, 0, "id") == R"("a\"]")");
  REQUIRE(member_text(batch, 1, "id") == std::nullopt);
  REQUIRE(member_text(batch, 2, "id") == "1.50");
  REQUIRE(member_text(batch, 3, "id") == std::nullopt);
}
