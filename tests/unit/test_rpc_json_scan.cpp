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
  REQUIRE_FALSE(nesting_exceeds(R"(["a\"[[[[", "\\"])", 1));        // \" stays inside the string
  REQUIRE(nesting_exceeds(R"(["a\\", [[[]]]])", 3));               // \\" ends it: the brackets count
  REQUIRE_FALSE(nesting_exceeds(R"(["\\\"[[[[\\\\", 1])", 1));      // odd run escapes, even run does not
  REQUIRE_FALSE(nesting_exceeds("[\"unterminated [[[[", 1));        // left for the parser to report
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
