// chat and explain end to end: the real glm-server process, the in-process mock provider. What an
// editor sees: deltas in order that add up to the result, cancellation, errors with partial text,
// retries, many streams at once.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::mock::Response;
using glm::mock::Step;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;
using Clock = std::chrono::steady_clock;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

struct Outcome {
  std::vector<Json> deltas;
  Json reply;
  Clock::time_point replied_at;
};

// Reads until every id in `ids` has its reply; deltas are grouped by request id.
std::map<std::string, Outcome> collect(ServerProcess& s, const std::set<std::string>& ids, int timeout_ms = 20000) {
  std::map<std::string, Outcome> out;
  size_t done = 0;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (done < ids.size() && Clock::now() < deadline) {
    auto m = s.read(1000);
    if (!m) continue;
    if (m->contains("method")) {
      REQUIRE((*m)["method"] == "chat/delta");
      std::string id = (*m)["params"]["id"].dump();
      REQUIRE_FALSE(out[id].reply.is_object());  // no delta after the reply
      out[id].deltas.push_back((*m)["params"]);
    } else {
      std::string id = (*m)["id"].dump();
      out[id].reply = *m;
      out[id].replied_at = Clock::now();
      ++done;
    }
  }
  REQUIRE(done == ids.size());
  return out;
}

std::string concat(const std::vector<Json>& deltas, const char* field) {
  std::string s;
  int64_t expect_seq = 0;
  for (const auto& d : deltas) {
    REQUIRE(d["seq"] == expect_seq++);
    if (d.contains(field)) s += d[field].get<std::string>();
  }
  return s;
}

struct Fixture {
  MockServer mock;
  ServerProcess server;
  explicit Fixture(Json provider_extra = Json::object()) {
    Json openai = {{"base_url", mock.url() + "/v1"}};
    openai.update(provider_extra);
    Json zhipu = {{"base_url", mock.url() + "/api/paas/v4"}, {"api_key", "zk-test.secret"}};
    zhipu.update(provider_extra);
    Json cfg = {{"default_model", "openai/glm-4"}, {"providers", {{"openai", openai}, {"zhipu", zhipu}}}};
    Json r = server.request("initialize", {{"config", cfg}}, "init");
    REQUIRE(r.contains("result"));
  }
};

}  // namespace

TEST_CASE("chat streams deltas in seq order that add up to the final result") {
  Fixture f;
  f.server.send(rpc(1, "chat", {{"messages", user("mock:chunks=30")}}));
  auto out = collect(f.server, {"1"});
  const auto& o = out["1"];
  REQUIRE(o.reply.contains("result"));
  const Json& res = o.reply["result"];
  REQUIRE(o.deltas.size() >= 30);
  REQUIRE(concat(o.deltas, "content") == res["content"]);
  REQUIRE(res["content"].get<std::string>().rfind("tok0 tok1 ", 0) == 0);
  REQUIRE(res["finish_reason"] == "stop");
  REQUIRE(res["provider"] == "openai");
  REQUIRE(res["usage"]["total_tokens"].get<int>() > 0);
}

TEST_CASE("reasoning is streamed and returned apart from the answer") {
  Fixture f;
  f.server.send(rpc("r", "chat", {{"messages", user("mock:reasoning=4,chunks=3")}}));
  auto out = collect(f.server, {"\"r\""});
  const auto& o = out["\"r\""];
  REQUIRE(o.reply["result"]["reasoning"] == "think0 think1 think2 think3 ");
  REQUIRE(o.reply["result"]["content"] == "tok0 tok1 tok2 ");
  REQUIRE(concat(o.deltas, "reasoning") == o.reply["result"]["reasoning"]);
}

TEST_CASE("stream:false answers with the whole result and no deltas") {
  Fixture f;
  f.server.send(rpc(2, "chat", {{"messages", user("hello there")}, {"stream", false}}));
  auto out = collect(f.server, {"2"});
  REQUIRE(out["2"].deltas.empty());
  REQUIRE(out["2"].reply["result"]["content"] == "You said: hello there");
}

TEST_CASE("multi-turn history and options reach the provider") {
  Fixture f;
  Json msgs = Json::array({{{"role", "system"}, {"content", "be brief"}},
                           {{"role", "user"}, {"content", "first"}},
                           {{"role", "assistant"}, {"content", "answer one"}},
                           {{"role", "user"}, {"content", "second"}}});
  f.server.send(rpc(3, "chat", {{"messages", msgs}, {"options", {{"temperature", 0.3}, {"max_tokens", 64}}}}));
  collect(f.server, {"3"});
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 1);
  REQUIRE(reqs[0].path() == "/v1/chat/completions");
  Json body = Json::parse(reqs[0].body);
  REQUIRE(body["messages"] == msgs);
  REQUIRE(body["temperature"] == 0.3);
  REQUIRE(body["max_tokens"] == 64);
  REQUIRE(body["stream"] == true);
}

TEST_CASE("explain sends the code fenced with its language and path, and streams like chat") {
  Fixture f;
  f.server.send(rpc(
      4, "explain",
      {{"code", "int main() { return 0; }"}, {"language", "cpp"}, {"path", "src/a.cpp"}, {"question", "why int?"}}));
  auto out = collect(f.server, {"4"});
  REQUIRE(out["4"].reply.contains("result"));
  REQUIRE(concat(out["4"].deltas, "content") == out["4"].reply["result"]["content"]);
  Json body = Json::parse(f.mock.requests().at(0).body);
  REQUIRE(body["messages"][0]["role"] == "system");
  std::string prompt = body["messages"][1]["content"];
  REQUIRE(prompt.find("```cpp\nint main() { return 0; }\n```") != std::string::npos);
  REQUIRE(prompt.find("src/a.cpp") != std::string::npos);
  REQUIRE(prompt.find("why int?") != std::string::npos);
}

TEST_CASE("cancel mid-stream: -32800 at once, no delta after, upstream connection closed") {
  Fixture f;
  f.server.send(rpc(5, "chat", {{"messages", user("mock:chunks=500,delay_ms=10")}}));
  // Wait for the first delta.
  auto first = f.server.read(5000);
  REQUIRE(first);
  REQUIRE((*first)["method"] == "chat/delta");
  auto t0 = Clock::now();
  f.server.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 5}}}});
  Json reply;
  for (;;) {
    auto m = f.server.read(3000);
    REQUIRE(m);
    if (!m->contains("method")) {
      reply = *m;
      break;
    }
  }
  auto latency = Clock::now() - t0;
  REQUIRE(reply["error"]["code"] == -32800);
  // The contract is "within 50 ms"; a loaded CI machine gets slack, a hang does not.
  REQUIRE(latency < std::chrono::milliseconds(500));
  REQUIRE_FALSE(f.server.read(300));  // nothing else arrives: no delta after the reply
  REQUIRE(f.mock.wait_for_open_connections_at_most(0, std::chrono::seconds(3)));
}

TEST_CASE("upstream drop mid-stream: -32001 network with the partial text, never retried") {
  Fixture f;
  f.server.send(rpc(6, "chat", {{"messages", user("mock:chunks=20,drop_after=5")}}));
  auto out = collect(f.server, {"6"});
  const Json& err = out["6"].reply["error"];
  REQUIRE(err["code"] == -32001);
  REQUIRE(err["data"]["kind"] == "network");
  REQUIRE(err["data"]["provider"] == "openai");
  std::string partial = err["data"]["partial"]["content"];
  REQUIRE(partial == concat(out["6"].deltas, "content"));
  REQUIRE(partial.rfind("tok0 ", 0) == 0);
  REQUIRE(f.mock.requests().size() == 1);
}

TEST_CASE("429 and 5xx before the first byte are retried, honouring Retry-After") {
  Fixture f;
  f.mock.enqueue(Response::body(503, R"({"error":{"message":"overloaded","type":"server_error"}})"));
  Response limited = Response::body(429, R"({"error":{"message":"slow down","type":"rate_limit"}})");
  limited.headers.push_back({"Retry-After", "1"});
  f.mock.enqueue(limited);
  auto t0 = Clock::now();
  f.server.send(rpc(7, "chat", {{"messages", user("retry me")}}));
  auto out = collect(f.server, {"7"});
  REQUIRE(out["7"].reply["result"]["content"] == "You said: retry me");
  REQUIRE(f.mock.requests().size() == 3);
  REQUIRE(Clock::now() - t0 >= std::chrono::milliseconds(950));  // waited the Retry-After second
}

TEST_CASE("retries stop after max_retries and report the last error") {
  Fixture f(Json{{"max_retries", 1}});
  for (int i = 0; i < 3; ++i)
    f.mock.enqueue(Response::body(500, R"({"error":{"message":"boom","type":"server_error"}})"));
  f.server.send(rpc(8, "chat", {{"messages", user("x")}}));
  auto out = collect(f.server, {"8"});
  REQUIRE(out["8"].reply["error"]["data"]["kind"] == "server");
  REQUIRE(out["8"].reply["error"]["data"]["http_status"] == 500);
  REQUIRE(f.mock.requests().size() == 2);
}

TEST_CASE("zhipu: raw key sent as Bearer; 1113 arrears is not retried even though it is a 429") {
  Fixture f;
  f.server.send(rpc(9, "chat", {{"model", "zhipu/glm-4.6"}, {"messages", user("mock:error=429,code=1113")}}));
  auto out = collect(f.server, {"9"});
  const Json& err = out["9"].reply["error"];
  REQUIRE(err["data"]["kind"] == "quota");
  REQUIRE(err["data"]["upstream_code"] == "1113");
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 1);
  REQUIRE(reqs[0].path() == "/api/paas/v4/chat/completions");
  REQUIRE(reqs[0].header("authorization") == "Bearer zk-test.secret");
}

TEST_CASE("a stalled upstream becomes a timeout error, not a hang") {
  Fixture f(Json{{"timeout_ms", 300}, {"max_retries", 0}});
  f.server.send(rpc(10, "chat", {{"messages", user("mock:stall_first_ms=5000")}}));
  auto out = collect(f.server, {"10"}, 5000);
  REQUIRE(out["10"].reply["error"]["data"]["kind"] == "timeout");
}

TEST_CASE("a slow upstream never delays the others") {
  Fixture f;
  f.server.send(rpc("slow", "chat", {{"messages", user("mock:stall_first_ms=3000")}}));
  auto t0 = Clock::now();
  f.server.send(rpc("fast", "chat", {{"messages", user("quick")}}));
  for (;;) {
    auto m = f.server.read(5000);
    REQUIRE(m);
    if (!m->contains("method")) {
      REQUIRE((*m)["id"] == "fast");
      break;
    }
  }
  REQUIRE(Clock::now() - t0 < std::chrono::milliseconds(2500));
  f.server.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", "slow"}}}});
}

TEST_CASE("100 concurrent streams are all delivered, each in order") {
  Fixture f;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    f.server.send(rpc(1000 + i, "chat", {{"messages", user("mock:chunks=50,delay_ms=2")}}));
    ids.insert(std::to_string(1000 + i));
  }
  auto out = collect(f.server, ids, 60000);
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "tok" + std::to_string(i) + " ";
  for (const auto& id : ids) {
    INFO("request " << id);
    REQUIRE(out[id].reply["result"]["content"] == expected);
    REQUIRE(concat(out[id].deltas, "content") == expected);
  }
}

TEST_CASE("sequential chats reuse one upstream connection") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.server.send(rpc(20 + i, "chat", {{"messages", user("again")}}));
    auto out = collect(f.server, {std::to_string(20 + i)});
    REQUIRE(out[std::to_string(20 + i)].reply.contains("result"));
    // The reply goes out at the stream's logical end; the transfer then reads the body's last bytes and
    // returns the connection to the pool. A person's next message comes seconds later; 100 ms covers
    // that step even in the ASan build (back to back, a second connection is correct, not a bug).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(f.mock.requests().size() == 3);
  REQUIRE(f.mock.connections() == 1);
}
