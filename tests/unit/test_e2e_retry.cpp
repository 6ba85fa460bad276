// Retries through the real process (issue 11 defect 3, issue 10 item 3): a failing credential step
// (Qianfan's token request) obeys the same retry budget and backoff as a failing send, and the server
// does not spin while it waits.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::mock::RecordedRequest;
using glm::mock::Response;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;
using Clock = std::chrono::steady_clock;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

// CPU time (user + system) the process has used, in ms.
int64_t cpu_ms(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream in(all.substr(all.rfind(')') + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

// A 127.0.0.1 port with nothing listening (bound, then closed).
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

Json qianfan_config(const std::string& base_url, int max_retries) {
  return {{"default_model", "qianfan/chatglm2_6b_32k"},
          {"providers",
           {{"qianfan",
             {{"base_url", base_url},
              {"api_key", "qf-ak"},
              {"secret_key", "qf-sk"},
              {"max_retries", max_retries},
              {"retry_initial_delay_ms", 40},
              {"retry_max_delay_ms", 80},
              {"retry_max_total_ms", 2000}}}}}};
}

Json await_reply(ServerProcess& s, int timeout_ms) {
  auto r = s.read_response(nullptr, timeout_ms);
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("token endpoint answering 500: max_retries+1 token requests, backoff between them, then an error") {
  MockServer mock;
  mock.set_responder([](const RecordedRequest& r) {
    if (r.path() == "/oauth/2.0/token") return Response::body(500, R"({"error":"server_error"})");
    return glm::mock::provider_replay(r);
  });
  ServerProcess s({}, {"QIANFAN_ACCESS_TOKEN="});
  REQUIRE(s.request("initialize", {{"config", qianfan_config(mock.url(), 2)}}).contains("result"));
  auto t0 = Clock::now();
  int64_t cpu0 = cpu_ms(s.pid());
  s.send(rpc(1, "chat", {{"messages", user("hi")}}));
  Json reply = await_reply(s, 5000);
  auto elapsed = Clock::now() - t0;
  REQUIRE(reply.contains("error"));
  CHECK(reply["error"]["data"]["kind"] == "server");
  CHECK(reply["error"]["message"].get<std::string>().find("token request failed") != std::string::npos);
  // Give a spinning server time to show itself, then count.
  usleep(300 * 1000);
  size_t token_requests = 0;
  for (auto& r : mock.requests()) token_requests += r.path() == "/oauth/2.0/token";
  CHECK(token_requests == 3);
  // Two waits of 40 and 80 ms less up to 25 % jitter.
  CHECK(elapsed >= std::chrono::milliseconds(90));
  CHECK(cpu_ms(s.pid()) - cpu0 < 250);
}

TEST_CASE("token endpoint refusing connections: a bounded number of attempts, an error, no spinning") {
  ServerProcess s({}, {"QIANFAN_ACCESS_TOKEN="});
  std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  REQUIRE(s.request("initialize", {{"config", qianfan_config(url, 3)}}).contains("result"));
  int64_t cpu0 = cpu_ms(s.pid());
  auto t0 = Clock::now();
  s.send(rpc(2, "chat", {{"messages", user("hi")}}));
  Json reply = await_reply(s, 5000);
  auto elapsed = Clock::now() - t0;
  REQUIRE(reply.contains("error"));
  CHECK(reply["error"]["data"]["kind"] == "network");
  CHECK(elapsed >= std::chrono::milliseconds(150));  // 40 + 80 + 80, less jitter
  usleep(300 * 1000);
  CHECK(cpu_ms(s.pid()) - cpu0 < 250);
  // The server is still responsive afterwards.
  REQUIRE(s.request("models/list", Json::object(), 3).contains("result"));
}

TEST_CASE("a Retry-After longer than the total-wait cap fails at once and tells the client how long") {
  MockServer mock;
  Response limited = Response::body(429, R"({"error":{"message":"slow down","type":"rate_limit_error"}})");
  limited.headers.push_back({"Retry-After", "60"});
  mock.enqueue(limited);
  ServerProcess s;
  Json cfg = {{"default_model", "openai/glm-4"},
              {"providers", {{"openai", {{"base_url", mock.url() + "/v1"}, {"retry_max_total_ms", 5000}}}}}};
  REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
  auto t0 = Clock::now();
  s.send(rpc(4, "chat", {{"messages", user("hi")}}));
  Json reply = await_reply(s, 5000);
  CHECK(Clock::now() - t0 < std::chrono::seconds(2));
  REQUIRE(reply["error"]["data"]["kind"] == "rate_limit");
  CHECK(reply["error"]["data"]["retry_after_ms"] == 60000);
  CHECK(mock.requests().size() == 1);
}

TEST_CASE("secrets echoed by an upstream error page are redacted from the reply and the log") {
  // A proxy page that repeats the request: the secret key (as sent, percent-encoded) and the API key.
  MockServer mock;
  mock.set_responder([](const RecordedRequest& r) {
    if (r.path() == "/oauth/2.0/token")
      return Response::body(502,
                            "<html><body>Bad gateway for POST " + r.target + " body: " + r.body +
                                " key=qf-ak-PLAIN/sk=qf-sk+SECRET/42</body></html>",
                            "text/html");
    return glm::mock::provider_replay(r);
  });
  char log_path[] = "/tmp/glm-redact-log-XXXXXX";
  close(mkstemp(log_path));
  std::string all;
  {
    ServerProcess s({"--log-level", "trace", "--log-file", log_path}, {"QIANFAN_ACCESS_TOKEN="});
    Json cfg = qianfan_config(mock.url(), 0);
    cfg["providers"]["qianfan"]["api_key"] = "qf-ak-PLAIN";
    cfg["providers"]["qianfan"]["secret_key"] = "qf-sk+SECRET/42";
    REQUIRE(s.request("initialize", {{"config", cfg}}).contains("result"));
    Json reply = s.request("chat", {{"messages", user("hi")}}, 5);
    REQUIRE(reply.contains("error"));
    all = reply.dump();
    CHECK(all.find("[redacted]") != std::string::npos);
  }
  std::ifstream f(log_path);
  std::string log((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(log_path);
  for (const char* leak : {"qf-sk+SECRET/42", "qf-sk%2BSECRET%2F42", "qf-ak-PLAIN", "SECRET"}) {
    INFO(leak);
    CHECK(all.find(leak) == std::string::npos);
    CHECK(log.find(leak) == std::string::npos);
  }
  // And the credentials went in the body, not the URL.
  for (auto& r : mock.requests())
    if (r.path() == "/oauth/2.0/token") CHECK(r.target.find("client_secret") == std::string::npos);
}
