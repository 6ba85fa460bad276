// api_key_cmd through the real process (issue 11 defect 7): the command runs off the event loop, so a
// command that hangs, or closes its stdout and keeps running, does not freeze other streams; it is
// bounded by a timeout; over-long output is rejected rather than truncated and used as a key.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;
using Clock = std::chrono::steady_clock;

namespace {

Json user(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

// Built-in instances only, so the same test runs against a server from before the fix: `openai`
// gets its key from the slow command (model "slow/m" below is "openai/m"), `zhipu` streams meanwhile.
Json config(const MockServer& mock, Json slow_cmd, int timeout_ms) {
  return {{"default_model", "zhipu/glm-4.6"},
          {"providers",
           {{"zhipu", {{"base_url", mock.url() + "/api/paas/v4"}, {"api_key", "zk.other-stream"}}},
            {"openai",
             {{"base_url", mock.url() + "/slow/v1"},
              {"api_key_cmd", std::move(slow_cmd)},
              {"api_key_cmd_timeout_ms", timeout_ms},
              {"max_retries", 0}}}}}};
}

const char* const kSlow = "openai/m";  // its key comes from the command
const char* const kOther = "zhipu/glm-4.6";

struct Seen {
  std::map<int, Json> replies;
  std::map<int, Clock::time_point> at;
  std::map<int, int> deltas;
};

// Reads until every id has replied (or the deadline passes).
Seen read_all(ServerProcess& s, std::set<int> ids, int timeout_ms) {
  Seen seen;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (seen.replies.size() < ids.size() && Clock::now() < deadline) {
    auto m = s.read(200);
    if (!m) continue;
    if (m->contains("method")) {
      ++seen.deltas[(*m)["params"]["id"].get<int>()];
      continue;
    }
    int id = (*m)["id"].get<int>();
    seen.replies[id] = *m;
    seen.at[id] = Clock::now();
  }
  return seen;
}

}  // namespace

TEST_CASE("a hanging api_key_cmd does not hold up another stream; its request completes later") {
  MockServer mock;
  ServerProcess s;
  REQUIRE(s.request("initialize", {{"config", config(mock, {"sh", "-c", "sleep 2; echo key-after-wait"}, 10000)}})
              .contains("result"));
  auto t0 = Clock::now();
  s.send(rpc(1, "chat", {{"model", kSlow}, {"messages", user("waits for its key")}}));
  s.send(rpc(2, "chat", {{"model", kOther}, {"messages", user("mock:chunks=20,delay_ms=10")}}));
  Seen seen = read_all(s, {1, 2}, 10000);
  REQUIRE(seen.replies.count(1));
  REQUIRE(seen.replies.count(2));
  CHECK(seen.replies[2].contains("result"));
  CHECK(seen.deltas[2] >= 20);
  // The other stream finished long before the command did (the old code blocked the loop 2 s).
  CHECK(seen.at[2] - t0 < std::chrono::milliseconds(1500));
  CHECK(seen.at[2] < seen.at[1]);
  REQUIRE(seen.replies[1].contains("result"));
  bool sent_with_key = false;
  for (auto& r : mock.requests())
    if (r.path() == "/slow/v1/chat/completions") sent_with_key = r.header("authorization") == "Bearer key-after-wait";
  CHECK(sent_with_key);
}

TEST_CASE("a command that closes stdout and keeps running times out without freezing the server") {
  MockServer mock;
  ServerProcess s;
  REQUIRE(
      s.request("initialize", {{"config", config(mock, {"sh", "-c", "exec >&-; sleep 30"}, 600)}}).contains("result"));
  auto t0 = Clock::now();
  s.send(rpc(1, "chat", {{"model", kSlow}, {"messages", user("x")}}));
  s.send(rpc(2, "chat", {{"model", kOther}, {"messages", user("mock:chunks=5,delay_ms=20")}}));
  Seen seen = read_all(s, {1, 2}, 10000);
  REQUIRE(seen.replies.count(1));
  REQUIRE(seen.replies.count(2));
  CHECK(seen.replies[2].contains("result"));
  CHECK(seen.at[2] - t0 < std::chrono::milliseconds(500));
  const Json& err = seen.replies[1]["error"];
  CHECK(err["data"]["kind"] == "auth");
  CHECK(err["message"].get<std::string>().find("timed out after 600 ms") != std::string::npos);
  CHECK(seen.at[1] - t0 < std::chrono::milliseconds(3000));  // not the 30 s the command wanted
}

TEST_CASE("over-long api_key_cmd output is rejected, never truncated into a key") {
  MockServer mock;
  ServerProcess s;
  REQUIRE(
      s.request("initialize", {{"config", config(mock, {"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a"}, 5000)}})
          .contains("result"));
  Json r = s.request("chat", {{"model", kSlow}, {"messages", user("x")}}, 3);
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["data"]["kind"] == "auth");
  CHECK(r["error"]["message"].get<std::string>().find("printed more than 65536 bytes") != std::string::npos);
  CHECK(r.dump().find("aaaa") == std::string::npos);
  for (auto& req : mock.requests()) CHECK(req.path() != "/slow/v1/chat/completions");
}
