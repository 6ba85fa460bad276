// The glm-server process as a client sees it: lifecycle, every kind of bad input from the foundation
// issue's table, batches, ids, stdin/stdout edge cases. The process must keep serving after each.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "server_process.hpp"

using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

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
  Json p = {{"base_url", url}};
  p.update(extra);
  return {{"default_model", "openai/glm-4"}, {"providers", {{"openai", p}}}};
}

int error_code(const Json& reply) { return reply.at("error").at("code").get<int>(); }
std::string error_message(const Json& reply) { return reply.at("error").at("message").get<std::string>(); }

void expect_alive(ServerProcess& s) {
  Json r = s.request("models/list", Json::object(), "alive");
  REQUIRE(r["id"] == "alive");
  REQUIRE(r["result"]["models"].is_array());
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("initialize answers serverInfo over Content-Length framing") {
  ServerProcess s;
  Json r = s.request("initialize", {{"clientInfo", {{"name", "test"}}}});
  REQUIRE(r["jsonrpc"] == "2.0");
  REQUIRE(r["id"] == 1);
  REQUIRE(r["result"]["serverInfo"]["name"] == "glm-server");
  REQUIRE(r["result"]["serverInfo"]["version"].is_string());
  REQUIRE(r["result"]["models"].is_array());
  REQUIRE(r["result"]["capabilities"]["methods"].is_array());
}

TEST_CASE("initialize reports the config file in use, each provider's base URL and the default model") {
  char dir_tmpl[] = "/tmp/glm-config-test.XXXXXX";
  REQUIRE(mkdtemp(dir_tmpl) != nullptr);
  std::string path = std::string(dir_tmpl) + "/config.json";
  {
    std::ofstream f(path);
    f << R"({"default_model":"openai/local-glm","providers":{"openai":{"base_url":"http://127.0.0.1:9/v1/"}}})";
  }
  {
    ServerProcess s({"--config", path});
    Json r = s.request("initialize", Json::object());
    REQUIRE(r["result"]["config_file"] == path);
    REQUIRE(r["result"]["default_model"] == "openai/local-glm");
    REQUIRE(r["result"]["providers"]["openai"]["base_url"] == "http://127.0.0.1:9/v1");
    REQUIRE(r["result"]["providers"]["zhipu"]["base_url"] == "https://open.bigmodel.cn/api/paas/v4");
    // initialize's config is merged over the file: what is reported is what requests use.
    r = s.request("initialize", {{"config", openai_config("http://127.0.0.1:8/other")}}, 2);
    REQUIRE(r["result"]["config_file"] == path);
    REQUIRE(r["result"]["providers"]["openai"]["base_url"] == "http://127.0.0.1:8/other");
    REQUIRE(r["result"]["default_model"] == "openai/glm-4");
  }
  std::remove(path.c_str());
  rmdir(dir_tmpl);
}

TEST_CASE("NDJSON in, NDJSON out") {
  ServerProcess s;
  s.send_line(rpc(7, "initialize"));
  std::string framing;
  auto r = s.read(5000, &framing);
  REQUIRE(r);
  REQUIRE(framing == "ndjson");
  REQUIRE((*r)["result"]["serverInfo"]["name"] == "glm-server");
}

TEST_CASE("invalid JSON gets -32700 with id null, then the server keeps serving") {
  ServerProcess s;
  std::string bad = "{\"jsonrpc\":\"2.0\",\"id\":1,";
  s.write_raw("Content-Length: " + std::to_string(bad.size()) + "\r\n\r\n" + bad);
  auto r = s.read();
  REQUIRE(r);
  REQUIRE(error_code(*r) == -32700);
  REQUIRE((*r)["id"].is_null());
  expect_alive(s);
}

TEST_CASE("valid JSON that is not a request gets -32600") {
  ServerProcess s;
  for (std::string body :
       {"[]", "1", "\"x\"", "null", R"({"jsonrpc":"2.0","id":3})", R"({"jsonrpc":"1.0","id":4,"method":"models/list"})",
        R"({"id":5,"method":"models/list"})", R"({"jsonrpc":"2.0","id":{"a":1},"method":"models/list"})",
        R"({"jsonrpc":"2.0","id":6,"method":"models/list","params":3})"}) {
    INFO(body);
    s.write_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    auto r = s.read();
    REQUIRE(r);
    REQUIRE(error_code(*r) == -32600);
  }
  expect_alive(s);
}

TEST_CASE("unknown method gets -32601 naming the method") {
  ServerProcess s;
  Json r = s.request("no/such", Json::object());
  REQUIRE(error_code(r) == -32601);
  REQUIRE(error_message(r).find("no/such") != std::string::npos);
  expect_alive(s);
}

TEST_CASE("params of the wrong shape get -32602 naming the field") {
  ServerProcess s;
  struct Case {
    Json params;
    std::string field;
  };
  std::vector<Case> cases = {
      {Json::object(), "messages"},
      {{{"messages", "hi"}}, "messages"},
      {{{"messages", Json::array()}}, "messages"},
      {{{"messages", {{{"role", "robot"}, {"content", "x"}}}}}, "messages[0].role"},
      {{{"messages", {{{"role", "user"}}}}}, "messages[0].content"},
      {{{"messages", {{{"role", "user"}, {"content", 5}}}}}, "messages[0].content"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"options", {{"temperature", "hot"}}}},
       "options.temperature"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"options", {{"max_tokens", -1}}}}, "options.max_tokens"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"model", "glm-4"}}, "model"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"model", "nope/glm-4"}}, "model"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"stream", "yes"}}, "stream"},
  };
  int id = 100;
  for (auto& c : cases) {
    INFO(c.params.dump());
    Json r = s.request("chat", c.params, id++);
    REQUIRE(error_code(r) == -32602);
    REQUIRE(error_message(r).find(c.field) != std::string::npos);
  }
  Json r = s.request("explain", {{"language", "c"}}, id++);
  REQUIRE(error_code(r) == -32602);
  REQUIRE(error_message(r).find("code") != std::string::npos);
  r = s.request("initialize", {{"config", {{"providers", {{"zhipu", {{"timeout_ms", "soon"}}}}}}}}, id++);
  REQUIRE(error_code(r) == -32602);
  REQUIRE(error_message(r).find("providers.zhipu.timeout_ms") != std::string::npos);
  expect_alive(s);
}

TEST_CASE("bad Content-Length headers are reported and the reader resynchronises") {
  ServerProcess s;
  s.write_raw("Content-Length: -5\r\n\r\n");
  s.write_raw("Content-Length: abc\r\n\r\n");
  s.write_raw("Content-Type: application/json\r\n\r\n");
  s.write_raw("Content-Length: 999999999999\r\n\r\n");  // over the 64 MiB cap: its bytes are skipped, not stored
  // Three errors come back before the skip swallows what follows; restart with a fresh process for the rest.
  for (int i = 0; i < 4; ++i) {
    auto r = s.read(3000);
    REQUIRE(r);
    REQUIRE(error_code(*r) == -32700);
    REQUIRE((*r)["id"].is_null());
  }
  ServerProcess t;
  t.write_raw("Content-Length: nope\r\n\r\ngarbage\r\n");
  auto r = t.read();
  REQUIRE(r);
  REQUIRE(error_code(*r) == -32700);
  expect_alive(t);
}

TEST_CASE("invalid UTF-8 inside a string gets -32700, never a crash") {
  ServerProcess s;
  std::string body =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chat\",\"params\":{\"messages\":[{\"role\":\"user\",\"content\":"
      "\"\xff\xfe\xc3\"}]}}";
  s.write_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto r = s.read();
  REQUIRE(r);
  REQUIRE(error_code(*r) == -32700);
  expect_alive(s);
}

TEST_CASE("batches: one array reply, notifications unanswered, ids preserved exactly") {
  ServerProcess s;
  Json batch =
      Json::array({rpc("str-id", "models/list"), rpc(12345678901234567890ull, "models/list"), rpc(-1, "no/such"),
                   rpc(nullptr, "models/list"), Json{{"jsonrpc", "2.0"}, {"method", "initialized"}}, 42});
  s.send(batch);
  auto r = s.read();
  REQUIRE(r);
  REQUIRE(r->is_array());
  REQUIRE(r->size() == 5);  // 4 requests + the invalid member; the notification gets nothing
  std::vector<std::string> ids;
  for (auto& m : *r) ids.push_back(m["id"].dump());
  std::sort(ids.begin(), ids.end());
  REQUIRE(ids == std::vector<std::string>{"\"str-id\"", "-1", "12345678901234567890", "null", "null"});
  for (auto& m : *r) {
    if (m["id"] == -1) REQUIRE(error_code(m) == -32601);
  }
  // A batch of notifications only gets no reply at all.
  s.send(Json::array({Json{{"jsonrpc", "2.0"}, {"method", "initialized"}}}));
  expect_alive(s);
}

TEST_CASE("requests after shutdown get -32600; exit then ends with 0") {
  ServerProcess s;
  Json r = s.request("shutdown", nullptr);
  REQUIRE(r.contains("result"));
  REQUIRE(r["result"].is_null());
  r = s.request("models/list", Json::object(), 2);
  REQUIRE(error_code(r) == -32600);
  s.send({{"jsonrpc", "2.0"}, {"method", "exit"}});
  auto st = s.wait_exit();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  REQUIRE(WEXITSTATUS(*st) == 0);
}

TEST_CASE("exit without shutdown ends with 1") {
  ServerProcess s;
  s.send({{"jsonrpc", "2.0"}, {"method", "exit"}});
  auto st = s.wait_exit();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  REQUIRE(WEXITSTATUS(*st) == 1);
}

TEST_CASE("stdin closed: in-flight requests are cancelled, replies flushed, exit 0") {
  BlackHole hole;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", openai_config(hole.url())}}).contains("result"));
  s.send(rpc("pending-1", "chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  s.send(rpc("pending-2", "chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  usleep(100 * 1000);
  s.close_stdin();
  std::vector<std::string> cancelled;
  for (int i = 0; i < 2; ++i) {
    auto r = s.read_response();
    REQUIRE(r);
    REQUIRE(error_code(*r) == -32800);
    cancelled.push_back((*r)["id"]);
  }
  std::sort(cancelled.begin(), cancelled.end());
  REQUIRE(cancelled == std::vector<std::string>{"pending-1", "pending-2"});
  auto st = s.wait_exit();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  REQUIRE(WEXITSTATUS(*st) == 0);
}

TEST_CASE("$/cancelRequest answers the request -32800 at once") {
  BlackHole hole;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", openai_config(hole.url())}}).contains("result"));
  s.send(rpc(9, "chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  usleep(50 * 1000);
  auto t0 = std::chrono::steady_clock::now();
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 9}}}});
  auto r = s.read_response();
  REQUIRE(r);
  REQUIRE((*r)["id"] == 9);
  REQUIRE(error_code(*r) == -32800);
  // Generous bound (machines are noisy); the point is "not after the 60 s upstream timeout".
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  // Cancelling an unknown or finished id is harmless.
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 9}}}});
  expect_alive(s);
}

TEST_CASE("stdout closed by the client: the server exits without a SIGPIPE crash") {
  ServerProcess s;
  s.close_stdout();
  for (int i = 0; i < 50; ++i) s.send(rpc(i, "models/list"));
  auto st = s.wait_exit();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));  // not WIFSIGNALED(SIGPIPE)
}

TEST_CASE("body shorter than Content-Length then EOF: clean exit") {
  ServerProcess s;
  s.write_raw("Content-Length: 500\r\n\r\n{\"jsonrpc\":\"2.0\"");
  s.close_stdin();
  auto st = s.wait_exit();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  REQUIRE(WEXITSTATUS(*st) == 0);
}

TEST_CASE("stdin from a regular file or /dev/null works") {
  char path[] = "/tmp/glm-transcript-XXXXXX";
  int fd = mkstemp(path);
  std::string a = rpc(1, "initialize").dump(), b = rpc(2, "models/list").dump();
  std::string transcript = "Content-Length: " + std::to_string(a.size()) + "\r\n\r\n" + a + b + "\n";
  REQUIRE(write(fd, transcript.data(), transcript.size()) == static_cast<ssize_t>(transcript.size()));
  close(fd);
  std::string out_path = std::string(path) + ".out";
  std::string cmd = std::string(GLM_SERVER_BIN) + " < " + path + " > " + out_path + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string out = slurp(out_path);
  REQUIRE(out.find("Content-Length: ") == 0);
  REQUIRE(out.find("\"serverInfo\"") != std::string::npos);
  REQUIRE(out.find("{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":{\"models\"") != std::string::npos);
  cmd = std::string(GLM_SERVER_BIN) + " < /dev/null > " + out_path + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(slurp(out_path).empty());
  std::remove(path);
  std::remove(out_path.c_str());
}

TEST_CASE("no secret reaches stdout or the log, even at trace level") {
  BlackHole hole;
  const std::string secret = "sk-TOPSECRET-0123456789";
  const std::string cmd_secret = "cmd-SECRET-9876543210";
  char log_path[] = "/tmp/glm-log-XXXXXX";
  close(mkstemp(log_path));
  std::string all_out;
  {
    ServerProcess s({"--log-level", "trace", "--log-file", log_path}, {"GLM_TEST_KEY=" + secret});
    Json cfg = openai_config("http://127.0.0.1:1/v1", {{"api_key_env", "GLM_TEST_KEY"}, {"max_retries", 0}});
    cfg["providers"]["zhipu"] = {
        {"base_url", "http://127.0.0.1:1/api"}, {"api_key_cmd", {"echo", cmd_secret}}, {"max_retries", 0}};
    Json r = s.request("initialize", {{"config", cfg}});
    all_out += r.dump();
    for (auto model : {"openai/glm-4", "zhipu/glm-4.6"}) {
      r = s.request("chat", {{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}, model);
      all_out += r.dump();
      REQUIRE(error_code(r) == -32001);
      REQUIRE(r["error"]["data"]["kind"] == "network");
    }
  }
  std::string log = slurp(log_path);
  REQUIRE(!log.empty());
  REQUIRE(all_out.find(secret) == std::string::npos);
  REQUIRE(all_out.find(cmd_secret) == std::string::npos);
  REQUIRE(log.find(secret) == std::string::npos);
  REQUIRE(log.find(cmd_secret) == std::string::npos);
  std::remove(log_path);
}

TEST_CASE("a missing API key is an auth error naming the env var") {
  ServerProcess s({}, {"ZHIPUAI_API_KEY="});
  Json r = s.request("chat", {{"model", "zhipu/glm-4.6"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  REQUIRE(error_code(r) == -32001);
  REQUIRE(r["error"]["data"]["kind"] == "auth");
  REQUIRE(error_message(r).find("ZHIPUAI_API_KEY") != std::string::npos);
}

TEST_CASE("--version and --help print to stdout and exit 0; a bad flag exits 2") {
  REQUIRE(std::system((std::string(GLM_SERVER_BIN) + " --version | grep -q '^glm-server '").c_str()) == 0);
  REQUIRE(std::system((std::string(GLM_SERVER_BIN) + " --help | grep -q 'usage: glm-server'").c_str()) == 0);
  int st = std::system((std::string(GLM_SERVER_BIN) + " --frobnicate 2>/dev/null").c_str());
  REQUIRE(WEXITSTATUS(st) == 2);
  st = std::system((std::string(GLM_SERVER_BIN) + " --config /nonexistent.json 2>/dev/null </dev/null").c_str());
  REQUIRE(WEXITSTATUS(st) == 2);
}
