// append_json_string must agree with nlohmann's serialiser (with U+FFFD replacement) on every input:
// the chat/delta hot path uses it instead of a DOM.
#include <catch2/catch.hpp>

#include <random>

#include "rpc/json_text.hpp"
#include "rpc/message.hpp"

using glm::rpc::append_json_string;
using glm::rpc::Json;

namespace {

std::string ours(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string reference(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("escapes, controls, CJK, emoji and invalid UTF-8 match the reference serialiser") {
  for (std::string s : {std::string(""), std::string("plain"), std::string("quote \" backslash \\ slash /"),
                        std::string("tab\t nl\n cr\r bs\b ff\f nul") + std::string(1, '\0') + "\x1f",
                        std::string("你好，世界 😀 é"), std::string("bad \xff\xfe here"), std::string("cut \xe4\xbd"),
                        std::string("surrogate \xed\xa0\x80"), std::string("overlong \xc0\xaf \xe0\x80\xaf"),
                        std::string("too big \xf4\x90\x80\x80"), std::string("\x7f del")}) {
    INFO(s);
    REQUIRE(ours(s) == reference(s));
    REQUIRE(Json::parse(ours(s)).is_string());
  }
}

TEST_CASE("random byte strings always give valid JSON equal to the reference") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255), pick(0, 3);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    int l = len(rng);
    for (int i = 0; i < l; ++i) {
      // Bias towards bytes that make UTF-8 sequences and escapes.
      int b = pick(rng) == 0 ? byte(rng) : (pick(rng) == 0 ? 0x80 + byte(rng) % 64 : 0xC0 + byte(rng) % 64);
      s.push_back(static_cast<char>(b));
    }
    REQUIRE(ours(s) == reference(s));
  }
}
