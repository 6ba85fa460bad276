// Regression tests for the hardening issue (#11), through the real glm-server process: hostile input
// the audit found that crashed or misbehaved. Each case failed before its fix.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <string>

#include "server_process.hpp"

using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

int error_code(const Json& reply) { return reply.at("error").at("code").get<int>(); }
std::string error_message(const Json& reply) { return reply.at("error").at("message").get<std::string>(); }

void send_body(ServerProcess& s, const std::string& body) {
  s.write_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

void expect_alive(ServerProcess& s) {
  Json r = s.request("models/list", Json::object(), "alive");
  REQUIRE(r["id"] == "alive");
  REQUIRE(r["result"]["models"].is_array());
}

std::string nested(size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

}  // namespace

TEST_CASE("defect 1: a number too large for a double is an error reply, never a crash") {
  ServerProcess s;
  for (std::string body : {R"({"jsonrpc":"2.0","id":1e400,"method":"x"})",
                           R"({"jsonrpc":"2.0","id":-1e400,"method":"x"})",
                           R"({"jsonrpc":"2.0","id":7,"method":"chat","params":{"messages":[{"role":"user","content":"hi"}],"options":{"temperature":1e999}}})",
                           R"([{"jsonrpc":"2.0","id":1,"method":"models/list"},{"jsonrpc":"2.0","id":2,"method":"x","params":[1e309]}])"}) {
    INFO(body);
    send_body(s, body);
    auto r = s.read(5000);
    REQUIRE(r);
    INFO(r->dump());
    int code = error_code(*r);
    REQUIRE((code == -32700 || code == -32600));
    REQUIRE(error_message(*r).find("number overflow") != std::string::npos);
  }
  // NDJSON framing takes the same path.
  s.write_raw("{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"x\"}\n");
  auto r = s.read(5000);
  REQUIRE(r);
  REQUIRE((error_code(*r) == -32700 || error_code(*r) == -32600));
  expect_alive(s);
}

TEST_CASE("defect 2: 1M levels of nesting in params are refused by name, the server keeps serving") {
  ServerProcess s;
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"chat","params":{"messages":)" + nested(1000000) + "}}";
  send_body(s, deep);
  auto r = s.read(20000);
  REQUIRE(r);
  REQUIRE((error_code(*r) == -32700 || error_code(*r) == -32600));
  REQUIRE(error_message(*r).find("512") != std::string::npos);
  REQUIRE(error_message(*r).find("max_json_depth") != std::string::npos);
  // The same as one NDJSON line, and as a batch member.
  s.write_raw(R"({"jsonrpc":"2.0","id":2,"method":"x","params":)" + nested(1000000) + "}\n");
  r = s.read(20000);
  REQUIRE(r);
  REQUIRE(error_code(*r) == -32700);
  send_body(s, std::string("[") + R"({"jsonrpc":"2.0","id":3,"method":"x","params":)" + nested(20000) + "}]");
  r = s.read(20000);
  REQUIRE(r);
  REQUIRE(error_code(*r) == -32700);
  expect_alive(s);
}

TEST_CASE("defect 2: nesting up to the limit is served; brackets inside strings do not count") {
  ServerProcess s;
  // Message level 1, params level 2: 510 more levels are exactly the 512 allowed.
  Json r;
  send_body(s, R"({"jsonrpc":"2.0","id":1,"method":"models/list","params":[)" + nested(510) + "]}");
  auto ok = s.read(5000);
  REQUIRE(ok);
  REQUIRE((*ok)["result"]["models"].is_array());
  send_body(s, R"({"jsonrpc":"2.0","id":2,"method":"models/list","params":[)" + nested(511) + "]}");
  auto bad = s.read(5000);
  REQUIRE(bad);
  REQUIRE(error_code(*bad) == -32700);
  // 100k brackets and escaped quotes inside a string are text, not nesting.
  std::string text = "\\\"" + std::string(100000, '[') + "\\\\";
  send_body(s, R"({"jsonrpc":"2.0","id":3,"method":"models/list","params":{"note":")" + text + "\"}}");
  ok = s.read(5000);
  REQUIRE(ok);
  REQUIRE((*ok)["id"] == 3);
  REQUIRE((*ok)["result"]["models"].is_array());
}

TEST_CASE("defect 2: max_json_depth is configurable and validated") {
  ServerProcess s;
  Json r = s.request("initialize", {{"config", {{"max_json_depth", 16}}}});
  REQUIRE(r.contains("result"));
  send_body(s, R"({"jsonrpc":"2.0","id":2,"method":"models/list","params":[)" + nested(20) + "]}");
  auto bad = s.read(5000);
  REQUIRE(bad);
  REQUIRE(error_code(*bad) == -32700);
  REQUIRE(error_message(*bad).find("16") != std::string::npos);
  for (Json v : {Json(0), Json(100000000), Json("deep"), Json(1.5)}) {
    r = s.request("initialize", {{"config", {{"max_json_depth", v}}}}, 3);
    REQUIRE(error_code(r) == -32602);
    REQUIRE(error_message(r).find("max_json_depth") != std::string::npos);
  }
  // The largest allowed depth is safe too (the ASan build runs this with its bigger stack frames).
  r = s.request("initialize", {{"config", {{"max_json_depth", 4096}}}}, 4);
  REQUIRE(r.contains("result"));
  std::string chat = R"({"jsonrpc":"2.0","id":5,"method":"chat","params":{"model":"openai/x","messages":[{"role":"user","content":"hi"}],"options":{"deep":)" +
                     nested(4090) + "}}}";
  send_body(s, chat);
  auto reply = s.read_response(nullptr, 20000);
  REQUIRE(reply);
  REQUIRE((*reply)["id"] == 5);
  expect_alive(s);
}
