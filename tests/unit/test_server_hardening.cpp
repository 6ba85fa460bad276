// Regression tests for the hardening issue (#11), through the real glm-server process: hostile input
// the audit found that crashed or misbehaved. Each case failed before its fix.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "../mock/mock_server.hpp"
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

// A TCP port that accepts connections (kernel backlog) but never answers: requests to it stay in flight.
struct BlackHole {
  int fd = -1;
  int port = 0;
  BlackHole() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 64);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~BlackHole() { close(fd); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};

Json openai_config(const std::string& url, Json extra = Json::object()) {
  Json p = {{"base_url", url}, {"max_retries", 0}};
  p.update(extra);
  return {{"default_model", "openai/glm-4"}, {"providers", {{"openai", p}}}};
}

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

// Reads until the response with this id; the chat/delta notifications on the way are returned in `deltas`.
Json response_of(ServerProcess& s, const Json& id, std::vector<Json>* deltas = nullptr, int timeout_ms = 20000) {
  for (;;) {
    auto m = s.read(timeout_ms);
    REQUIRE(m);
    if (m->contains("method")) {
      if (deltas && (*m)["method"] == "chat/delta") deltas->push_back((*m)["params"]);
      continue;
    }
    if ((*m)["id"] == id) return *m;
  }
}

}  // namespace

TEST_CASE("defect 1: a number too large for a double is an error reply, never a crash") {
  ServerProcess s;
  for (
      std::string body :
      {R"({"jsonrpc":"2.0","id":1e400,"method":"x"})", R"({"jsonrpc":"2.0","id":-1e400,"method":"x"})",
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
  std::string chat =
      R"({"jsonrpc":"2.0","id":5,"method":"chat","params":{"model":"openai/x","messages":[{"role":"user","content":"hi"}],"options":{"deep":)" +
      nested(4090) + "}}}";
  send_body(s, chat);
  auto reply = s.read_response(nullptr, 20000);
  REQUIRE(reply);
  REQUIRE((*reply)["id"] == 5);
  expect_alive(s);
}

TEST_CASE("defect 10: ids are echoed exactly as written, in replies and in chat/delta") {
  glm::mock::MockServer mock;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", openai_config(mock.url() + "/v1")}}).contains("result"));
  for (std::string id : {"123456789012345678901234567890", "1E2", "-0", "1.50", "-1.0e-3", "12345678901234567890"}) {
    INFO(id);
    send_body(s, R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"models/list"})");
    auto text = s.read_text();
    REQUIRE(text);
    REQUIRE(text->find(R"("id":)" + id + ",") != std::string::npos);
    // An error reply and a batch member too.
    send_body(s, R"([{"jsonrpc":"2.0","id":)" + id + R"(,"method":"no/such"}, {"jsonrpc":"2.0","id":)" + id +
                     R"(,"method":"x","params":3}])");
    text = s.read_text();
    REQUIRE(text);
    size_t first = text->find(R"("id":)" + id + ",");
    REQUIRE(first != std::string::npos);
    REQUIRE(text->find(R"("id":)" + id + ",", first + 1) != std::string::npos);
  }
  // A streamed chat: every delta and the result carry the id's text.
  send_body(s,
            R"({"jsonrpc":"2.0","id":1E2,"method":"chat","params":{"messages":[{"role":"user","content":"hello"}]}})");
  int deltas = 0;
  for (;;) {
    auto text = s.read_text(10000);
    REQUIRE(text);
    REQUIRE(text->find(R"("id":1E2,)") != std::string::npos);
    if (text->find("chat/delta") == std::string::npos) break;
    ++deltas;
  }
  REQUIRE(deltas > 0);
}

TEST_CASE("defect 9: two in-flight requests with one id both get exactly one reply") {
  BlackHole hole;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", openai_config(hole.url())}}).contains("result"));
  Json chat = rpc(5, "chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  s.send(chat);
  s.send(chat);
  usleep(100 * 1000);
  // $/cancelRequest with a reused id cancels every request in flight under it.
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 5}}}});
  for (int i = 0; i < 2; ++i) {
    auto r = s.read_response(nullptr, 3000);
    REQUIRE(r);
    REQUIRE((*r)["id"] == 5);
    REQUIRE(error_code(*r) == -32800);
  }
  // Two more, one of them cancelled by end of input after the other ended: neither is lost.
  s.send(chat);
  s.send(rpc(6, "chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  s.send(chat);
  usleep(100 * 1000);
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 6}}}});
  auto r = s.read_response(nullptr, 3000);
  REQUIRE(r);
  REQUIRE((*r)["id"] == 6);
  s.close_stdin();
  for (int i = 0; i < 2; ++i) {
    r = s.read_response(nullptr, 3000);
    REQUIRE(r);
    REQUIRE((*r)["id"] == 5);
    REQUIRE(error_code(*r) == -32800);
  }
  REQUIRE_FALSE(s.read(500));
}

TEST_CASE(
    "defect 4: a response longer than max_response_bytes ends with a typed error, its partial text, and the transfer "
    "stopped") {
  glm::mock::MockServer mock;
  ServerProcess s;
  Json cfg = openai_config(mock.url() + "/v1");
  cfg["max_response_bytes"] = 4096;
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
  // 20k chunks ("tok<i> ", ~130 KB, 20 s at 1 ms each): far over the limit, and slow enough that the mock
  // is still writing when the server stops. (The mock builds the whole reply first: 200k chunks took
  // 30 s of CPU in the ASan build before the first byte.)
  s.send(rpc(1, "chat", {{"messages", user("mock:chunks=20000,delay_ms=1")}}));
  std::vector<Json> deltas;
  Json r = response_of(s, 1, &deltas);
  REQUIRE(error_code(r) == -32001);
  const Json& data = r["error"]["data"];
  REQUIRE(data["kind"] == "response_too_large");
  REQUIRE(data["max_response_bytes"] == 4096);
  REQUIRE(error_message(r).find("max_response_bytes") != std::string::npos);
  std::string streamed;
  for (const auto& d : deltas) streamed += d.value("content", "");
  const std::string partial = data["partial"]["content"];
  REQUIRE(partial.size() <= 4096);
  REQUIRE(partial.size() > 4000);
  REQUIRE(partial == streamed);  // exactly what the deltas carried
  REQUIRE(partial.rfind("tok0 tok1 tok2 ", 0) == 0);
  // The upstream connection is closed, not left streaming into nowhere.
  REQUIRE(mock.wait_for_open_connections_at_most(0, std::chrono::seconds(5)));
  // Also without streaming to the client, and the default limit leaves normal replies alone.
  s.send(rpc(2, "chat", {{"messages", user("mock:chunks=20000")}, {"stream", false}}));
  r = response_of(s, 2);
  REQUIRE(r["error"]["data"]["kind"] == "response_too_large");
  s.send(rpc(3, "chat", {{"messages", user("mock:chunks=500")}}));
  r = response_of(s, 3);
  REQUIRE(r["result"]["content"].get<std::string>().size() > 3000);
}

TEST_CASE("defect 11: gzip-encoded replies are decoded; a body that does not decode is a protocol error") {
  glm::mock::MockServer mock;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", openai_config(mock.url() + "/v1")}}).contains("result"));
  std::vector<Json> deltas;
  s.send(rpc(1, "chat", {{"messages", user("mock:chunks=50,gzip=1")}}));
  Json r = response_of(s, 1, &deltas);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "tok" + std::to_string(i) + " ";
  REQUIRE(r["result"]["content"] == expected);
  REQUIRE(deltas.size() >= 10);  // still streamed event by event, not in one lump at the end
  REQUIRE(mock.requests().back().header("accept-encoding").find("gzip") != std::string::npos);
  s.send(rpc(2, "chat", {{"messages", user("hello mock:gzip=1")}, {"stream", false}}));
  r = response_of(s, 2);
  REQUIRE(r["result"]["content"] == "You said: hello");
  s.send(rpc(3, "chat", {{"messages", user("mock:gzip=corrupt")}}));
  r = response_of(s, 3);
  REQUIRE(error_code(r) == -32001);
  REQUIRE(r["error"]["data"]["kind"] == "protocol");
  expect_alive(s);
}

TEST_CASE("defect 8: the log file is created 0600 in directories created 0700") {
  char base[] = "/tmp/glm-logperm-XXXXXX";
  REQUIRE(mkdtemp(base));
  const std::string dir = std::string(base) + "/new/logs";
  const std::string log = dir + "/glm-server.log";
  {
    ServerProcess s({"--log-file", log});
    expect_alive(s);
  }
  struct stat st {};
  REQUIRE(stat(log.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(stat(dir.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0700);
  REQUIRE(stat((std::string(base) + "/new").c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0700);
  // An existing world-readable log is made private.
  chmod(log.c_str(), 0644);
  {
    ServerProcess s({"--log-file", log});
    expect_alive(s);
  }
  REQUIRE(stat(log.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  std::remove(log.c_str());
  rmdir(dir.c_str());
  rmdir((std::string(base) + "/new").c_str());
  rmdir(base);
}
