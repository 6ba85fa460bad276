// `complete` end to end: the real glm-server process, the in-process mock provider. Each request style
// as the mock sees it, cleaning, budgets, latest wins (the superseded transfer's connection closes at
// the mock), $/cancelRequest, the cache (no upstream request), rate limits (not retried), streaming.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::mock::RecordedRequest;
using glm::mock::Response;
using glm::mock::Step;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;
using Clock = std::chrono::steady_clock;

namespace {

struct Fixture {
  MockServer mock;
  ServerProcess server;
  explicit Fixture(Json completion = Json::object(), Json openai_extra = Json::object()) {
    Json openai = {{"base_url", mock.url() + "/v1"}};
    openai.update(openai_extra);
    Json zhipu = {{"base_url", mock.url() + "/api/paas/v4"}, {"api_key", "zk-test.secret"}};
    Json cfg = {{"default_model", "openai/glm-4"},
                {"providers", {{"openai", openai}, {"zhipu", zhipu}}},
                {"completion", completion}};
    Json r = server.request("initialize", {{"config", cfg}}, "init");
    REQUIRE(r.contains("result"));
  }

  Json complete(Json params, Json id = 1, std::vector<Json>* notes = nullptr) {
    server.send(rpc(id, "complete", std::move(params)));
    auto r = server.read_response(notes, 10000);
    REQUIRE(r);
    return *r;
  }

  Json body(size_t i) {
    auto reqs = mock.requests();
    REQUIRE(reqs.size() > i);
    return Json::parse(reqs[i].body);
  }
};

const std::string kPyPrefix = "def add(a, b):\n    ";
const std::string kPySuffix = "\n\nprint(add(1, 2))\n";

}  // namespace

TEST_CASE("complete is advertised in initialize") {
  Fixture f;
  Json r = f.server.request("initialize", Json::object(), 2);
  auto methods = r["result"]["capabilities"]["methods"];
  CHECK(std::find(methods.begin(), methods.end(), "complete") != methods.end());
}

TEST_CASE("CodeGeeX FIM: the request carries extra.target with every field and no messages") {
  Fixture f;
  Json r = f.complete({{"prefix", kPyPrefix},
                       {"suffix", kPySuffix},
                       {"language", "Python"},
                       {"path", "src/add.py"},
                       {"contexts", Json::array({{{"path", "src/util.py"}, {"code", "def helper():\n    pass\n"}}})}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  const Json& res = r["result"];
  // The mock's FIM text names the language and the byte lengths that reached it.
  CHECK(res["text"] == "<fim lang=python prefix=" + std::to_string(kPyPrefix.size()) +
                           " suffix=" + std::to_string(kPySuffix.size()) + ">");
  CHECK(res["candidates"] == Json::array({res["text"]}));
  CHECK(res["provider"] == "zhipu");
  CHECK(res["model"] == "codegeex-4");
  CHECK(res["finish_reason"] == "stop");
  CHECK(res["usage"]["total_tokens"].get<int>() > 0);
  CHECK_FALSE(res.contains("cached"));

  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path() == "/api/paas/v4/chat/completions");
  CHECK(reqs[0].header("authorization") == "Bearer zk-test.secret");
  Json b = Json::parse(reqs[0].body);
  CHECK(b["model"] == "codegeex-4");
  CHECK(b["messages"] == Json::array());
  CHECK(b["extra"]["target"] ==
        Json({{"path", "src/add.py"}, {"language", "python"}, {"code_prefix", kPyPrefix}, {"code_suffix", kPySuffix}}));
  CHECK(b["extra"]["contexts"] == Json::array({{{"path", "src/util.py"}, {"code", "def helper():\n    pass\n"}}}));
  CHECK(b["stop"] == Json::array({"<|endoftext|>", "<|user|>", "<|assistant|>", "<|observation|>"}));
  CHECK(b["stream"] == false);
  CHECK(b["max_tokens"] == 256);
  CHECK(b["temperature"].get<double>() > 0);
  CHECK(b["temperature"].get<double>() < 1);
  CHECK(b["top_p"].get<double>() > 0);
  CHECK(b["top_p"].get<double>() < 1);
}

TEST_CASE("CodeGeeX FIM: temperature and top_p stay inside (0, 1); a path-less request still sends every field") {
  Fixture f;
  Json r = f.complete({{"prefix", "x = "}, {"options", {{"temperature", 0}, {"top_p", 1}, {"max_tokens", 32}}}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  Json b = f.body(0);
  CHECK(b["temperature"] == 0.01);
  CHECK(b["top_p"] == 0.99);
  CHECK(b["max_tokens"] == 32);
  CHECK(b["extra"]["target"]["path"] == "");
  CHECK(b["extra"]["target"]["language"] == "text");
  CHECK(b["extra"]["target"]["code_suffix"] == "");
  CHECK(b["extra"]["contexts"] == Json::array());
}

TEST_CASE("chat-model FIM: instruction prompt, fenced prose answer cleaned to the code") {
  Fixture f;
  const std::string prefix = "# mock-reply:def add(a, b):\\n    return a + b\n" + kPyPrefix;
  Json r = f.complete({{"model", "openai/glm-4"}, {"prefix", prefix}, {"suffix", kPySuffix}, {"language", "python"}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["text"] == "return a + b");
  CHECK(r["result"]["provider"] == "openai");
  Json b = f.body(0);
  CHECK(f.mock.requests()[0].path() == "/v1/chat/completions");
  REQUIRE(b["messages"].size() == 2);
  CHECK(b["messages"][0]["role"] == "system");
  const std::string user = b["messages"][1]["content"];
  CHECK(user.find("<code_before_cursor>" + prefix + "</code_before_cursor>") != std::string::npos);
  CHECK(user.find("<code_after_cursor>" + kPySuffix + "</code_after_cursor>") != std::string::npos);
  CHECK(user.find("Language: python") != std::string::npos);
}

TEST_CASE("chat-model FIM on Zhipu GLM-4.6 turns thinking off") {
  Fixture f;
  Json r = f.complete({{"model", "zhipu/glm-4.6"}, {"prefix", "x = "}, {"suffix", "\n"}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  Json b = f.body(0);
  CHECK(b["model"] == "glm-4.6");
  CHECK(b["thinking"] == Json({{"type", "disabled"}}));
  CHECK_FALSE(b.contains("extra"));
}

TEST_CASE("OpenAI-compatible /completions with prompt and suffix, n candidates") {
  Fixture f(Json::object(), {{"fim", "completions"}});
  Json r = f.complete({{"model", "openai/codegeex4-all-9b"},
                       {"prefix", "# mock-reply:return a + b\n" + kPyPrefix},
                       {"suffix", kPySuffix},
                       {"options", {{"n", 3}}}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["text"] == "return a + b");
  CHECK(r["result"]["candidates"] == Json::array({"return a + b", "return a + b /*alt 1*/", "return a + b /*alt 2*/"}));
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path() == "/v1/completions");
  Json b = Json::parse(reqs[0].body);
  CHECK(b["prompt"] == "# mock-reply:return a + b\n" + kPyPrefix);
  CHECK(b["suffix"] == kPySuffix);
  CHECK(b["n"] == 3);
  CHECK(b["model"] == "codegeex4-all-9b");
  CHECK_FALSE(b.contains("messages"));
}

// The temperatures of the requests upstream, ascending (the i-th candidate's is the i-th).
std::vector<double> temperatures(const std::vector<RecordedRequest>& reqs) {
  std::vector<double> out;
  for (const auto& q : reqs) out.push_back(Json::parse(q.body)["temperature"].get<double>());
  std::sort(out.begin(), out.end());
  return out;
}

// What the mock answers to "mock-reply:...{temperature}" (printf "%g").
std::string with_temperature(const std::string& before, double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", t);
  return before + buf;
}

TEST_CASE("n=3 with CodeGeeX: three requests with extra.target, distinct candidates, the first request's first") {
  Fixture f;
  Json r = f.complete({{"prefix", "# mock-reply:v{temperature}\nx = "}, {"suffix", "\n"}, {"options", {{"n", 3}}}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 3);
  for (const auto& q : reqs) {
    CHECK(q.path() == "/api/paas/v4/chat/completions");
    Json b = Json::parse(q.body);
    CHECK(b["extra"]["target"]["code_prefix"] == "# mock-reply:v{temperature}\nx = ");
    CHECK(b["messages"] == Json::array());
    CHECK(b["stream"] == false);
    CHECK_FALSE(b.contains("n"));
  }
  // The first request keeps the configured temperature (0.2); the others spread towards 1 (documented:
  // 0.2 + 0.8 * i / 3), all inside CodeGeeX's open interval.
  const std::vector<double> t = temperatures(reqs);
  CHECK(t[0] == Approx(0.2));
  CHECK(t[1] == Approx(0.2 + 0.8 / 3));
  CHECK(t[2] == Approx(0.2 + 1.6 / 3));
  CHECK(t[2] < 1);
  const Json& res = r["result"];
  CHECK(res["candidates"] ==
        Json::array({with_temperature("v", t[0]), with_temperature("v", t[1]), with_temperature("v", t[2])}));
  CHECK(res["text"] == res["candidates"][0]);
  CHECK(res["text"] == "v0.2");
  CHECK(res["model"] == "codegeex-4");
  CHECK(res["finish_reason"] == "stop");
}

TEST_CASE("n=3 with CodeGeeX: equal answers are one candidate, and usage is the sum of the three requests") {
  Fixture f;
  const std::string prefix = "# mock-reply:42\nx = ";
  Json one = f.complete({{"prefix", prefix}, {"suffix", "\n"}}, 1);
  REQUIRE(one.contains("result"));
  Json three = f.complete({{"prefix", prefix}, {"suffix", "\n"}, {"options", {{"n", 3}}}}, 2);
  INFO(one.dump() << "\n" << three.dump());
  REQUIRE(three.contains("result"));
  CHECK_FALSE(three["result"].contains("cached"));  // n is part of the cache key
  CHECK(f.mock.requests().size() == 4);
  CHECK(three["result"]["candidates"] == Json::array({"42"}));
  for (const char* k : {"input_tokens", "output_tokens", "total_tokens"})
    CHECK(three["result"]["usage"][k].get<int64_t>() == 3 * one["result"]["usage"][k].get<int64_t>());
}

TEST_CASE("n=3 with a chat model, streaming: three chat requests, only the first streams deltas") {
  Fixture f;
  std::vector<Json> notes;
  const std::string prefix = "# mock-reply:return {temperature}\n" + kPyPrefix;
  Json r = f.complete({{"model", "openai/glm-4"},
                       {"prefix", prefix},
                       {"suffix", kPySuffix},
                       {"language", "python"},
                       {"stream", true},
                       {"options", {{"n", 3}, {"temperature", 0.4}}}},
                      "c", &notes);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 3);
  int streamed = 0;
  for (const auto& q : reqs) {
    CHECK(q.path() == "/v1/chat/completions");
    Json b = Json::parse(q.body);
    REQUIRE(b["messages"].size() == 2);
    CHECK(b["messages"][1]["content"].get<std::string>().find("<code_before_cursor>" + prefix) != std::string::npos);
    if (b["stream"] == true) {
      ++streamed;
      CHECK(b["temperature"] == 0.4);  // the first request, as a single request would be
    }
  }
  CHECK(streamed == 1);
  const std::vector<double> t = temperatures(reqs);
  CHECK(t[0] == Approx(0.4));
  CHECK(t[1] == Approx(0.6));
  CHECK(t[2] == Approx(0.8));
  const Json& res = r["result"];
  CHECK(res["candidates"] == Json::array({with_temperature("return ", t[0]), with_temperature("return ", t[1]),
                                          with_temperature("return ", t[2])}));
  CHECK(res["text"] == res["candidates"][0]);
  CHECK(res["provider"] == "openai");
  // The deltas are the first request's raw text alone.
  std::string raw;
  for (const auto& n : notes) {
    REQUIRE(n["method"] == "chat/delta");
    raw += n["params"]["content"].get<std::string>();
  }
  CHECK(raw == "Here is the code to insert:\n```python\n" + with_temperature("return ", t[0]) + "\n```");
}

TEST_CASE("n=3: $/cancelRequest closes all three upstream connections at once") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.mock.enqueue("/api/paas/v4/chat/completions", Response{200, {}, {}, {Step::stall()}});
  f.server.send(rpc(7, "complete", {{"prefix", "a = "}, {"options", {{"n", 3}}}}));
  REQUIRE(f.mock.wait_for_requests(3, std::chrono::seconds(5)));
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 3);
  std::set<uint64_t> connections;
  for (const auto& q : reqs) connections.insert(q.connection);
  CHECK(connections.size() == 3);
  f.server.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 7}}}});
  auto m = f.server.read_response(nullptr, 5000);
  REQUIRE(m);
  CHECK((*m)["error"]["code"] == -32800);
  for (uint64_t c : connections) CHECK(f.mock.connection_closed_at(c, std::chrono::seconds(5)));
  CHECK(f.mock.wait_for_open_connections_at_most(0, std::chrono::seconds(5)));
}

TEST_CASE("n=3: latest wins stops all three upstream transfers of the older request") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.mock.enqueue("/api/paas/v4/chat/completions", Response{200, {}, {}, {Step::stall()}});
  f.server.send(rpc(1, "complete", {{"prefix", "a = "}, {"document", "file:///x.py"}, {"options", {{"n", 3}}}}));
  REQUIRE(f.mock.wait_for_requests(3, std::chrono::seconds(5)));
  f.server.send(rpc(2, "complete", {{"prefix", "# mock-reply:b\nb = "}, {"document", "file:///x.py"}}));
  std::map<int, Json> replies;
  for (int i = 0; i < 2; ++i) {
    auto m = f.server.read_response(nullptr, 10000);
    REQUIRE(m);
    replies[(*m)["id"].get<int>()] = *m;
  }
  INFO(replies[1].dump() << "\n" << replies[2].dump());
  CHECK(replies[1]["error"]["code"] == -32800);
  CHECK(replies[2]["result"]["text"] == "b");
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 4);
  for (int i = 0; i < 3; ++i) CHECK(f.mock.connection_closed_at(reqs[i].connection, std::chrono::seconds(5)));
}

// A responder failing the requests whose temperature is in [lo, hi] with `status`, answering the others.
void fail_temperatures(MockServer& mock, double lo, double hi, int status) {
  mock.set_responder([lo, hi, status](const RecordedRequest& q) {
    Json b = Json::parse(q.body, nullptr, false);
    double t = b.is_object() && b.contains("temperature") ? b["temperature"].get<double>() : -1;
    if (t >= lo && t <= hi) {
      Response e = Response::body(status, Json{{"error", {{"code", "1234"}, {"message", "mock: failed"}}}}.dump());
      if (status == 429) e.headers.emplace_back("Retry-After", "2");
      return e;
    }
    return glm::mock::provider_replay(q);
  });
}

TEST_CASE("n=3: one request fails upstream, the candidates that arrived are the answer") {
  Fixture f;
  fail_temperatures(f.mock, 0.7, 0.8, 500);  // the third request (0.2 + 1.6 / 3)
  Json r = f.complete({{"prefix", "# mock-reply:v{temperature}\nx = "}, {"options", {{"n", 3}}}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["candidates"] == Json::array({"v0.2", with_temperature("v", 0.2 + 0.8 / 3)}));
  CHECK(r["result"]["text"] == "v0.2");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.mock.requests().size() == 3);  // the failed one is not retried
}

TEST_CASE("n=3: when the first request fails, the others still answer") {
  Fixture f;
  fail_temperatures(f.mock, 0.1, 0.3, 429);  // the first request (0.2)
  Json r = f.complete({{"prefix", "# mock-reply:v{temperature}\nx = "}, {"options", {{"n", 3}}}});
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["candidates"] ==
        Json::array({with_temperature("v", 0.2 + 0.8 / 3), with_temperature("v", 0.2 + 1.6 / 3)}));
  CHECK(r["result"]["text"] == r["result"]["candidates"][0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.mock.requests().size() == 3);  // a rate limit is not retried
}

TEST_CASE("n=3: when every request fails, the answer is the first request's error, nothing retried") {
  Fixture f;
  f.mock.set_responder([](const RecordedRequest& q) {
    Json b = Json::parse(q.body);
    // The first request (0.2) is rate limited, the others fail with a server error.
    if (b["temperature"].get<double>() < 0.3) {
      Response e = Response::body(429, Json{{"error", {{"code", "1302"}, {"message", "mock: slow down"}}}}.dump());
      e.headers.emplace_back("Retry-After", "2");
      return e;
    }
    return Response::body(500, Json{{"error", {{"code", "500"}, {"message", "mock: internal"}}}}.dump());
  });
  Json r = f.complete({{"prefix", "x = "}, {"options", {{"n", 3}}}});
  INFO(r.dump());
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32001);
  CHECK(r["error"]["data"]["kind"] == "rate_limit");
  CHECK(r["error"]["data"]["retry_after_ms"] == 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.mock.requests().size() == 3);
}

TEST_CASE("stream:true sends chat/delta with the raw text; the result's text is the cleaned one") {
  Fixture f;
  std::vector<Json> notes;
  const std::string prefix = "# mock-reply:x = compute(1, 2)<|endoftext|>\nx = ";
  Json r =
      f.complete({{"model", "zhipu/codegeex-4"}, {"prefix", prefix}, {"suffix", "\n"}, {"stream", true}}, "s", &notes);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  std::string raw;
  int64_t seq = 0;
  for (const auto& n : notes) {
    REQUIRE(n["method"] == "chat/delta");
    CHECK(n["params"]["id"] == "s");
    CHECK(n["params"]["seq"] == seq++);
    raw += n["params"]["content"].get<std::string>();
  }
  CHECK(notes.size() >= 2);
  CHECK(raw == "x = compute(1, 2)<|endoftext|>");
  CHECK(r["result"]["text"] == "compute(1, 2)");  // end token cut, the repeated "x = " dropped
  CHECK(f.body(0)["stream"] == true);
}

TEST_CASE("prefix and suffix are trimmed to the configured budgets on line boundaries") {
  Fixture f(Json{{"prefix_chars", 30}, {"suffix_chars", 12}});
  std::string prefix, suffix;
  for (int i = 0; i < 20; ++i) prefix += "line_" + std::to_string(i) + "\n";
  prefix += "    ret";
  for (int i = 0; i < 20; ++i) suffix += "tail_" + std::to_string(i) + "\n";
  Json r = f.complete({{"prefix", prefix}, {"suffix", ")\n" + suffix}});
  REQUIRE(r.contains("result"));
  const Json b = f.body(0);
  const Json& t = b["extra"]["target"];
  CHECK(t["code_prefix"] == "line_18\nline_19\n    ret");  // + "line_17\n" would be 31 characters
  CHECK(t["code_suffix"] == ")\ntail_0\n");
}

TEST_CASE("latest wins: a newer complete for the document cancels the older and closes its upstream connection") {
  Fixture f;
  // The first request's upstream never answers; the second is answered at once.
  f.mock.enqueue("/api/paas/v4/chat/completions", Response{200, {}, {}, {Step::stall()}});
  f.server.send(rpc(1, "complete", {{"prefix", "a = "}, {"document", "file:///x.py"}}));
  REQUIRE(f.mock.wait_for_requests(1, std::chrono::seconds(5)));
  f.server.send(rpc(2, "complete", {{"prefix", "b = "}, {"document", "file:///x.py"}}));
  std::map<int, Json> replies;
  for (int i = 0; i < 2; ++i) {
    auto m = f.server.read_response(nullptr, 10000);
    REQUIRE(m);
    replies[(*m)["id"].get<int>()] = *m;
  }
  INFO(replies[1].dump() << "\n" << replies[2].dump());
  CHECK(replies[1]["error"]["code"] == -32800);
  CHECK(replies[2].contains("result"));
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 2);
  REQUIRE(reqs[0].connection != reqs[1].connection);
  auto closed = f.mock.connection_closed_at(reqs[0].connection, std::chrono::seconds(5));
  REQUIRE(closed);
  double ms = std::chrono::duration<double, std::milli>(*closed - reqs[1].received_at).count();
  // Closed when the newer request arrived, not when the upstream would have timed out (generous bound
  // for sanitizer builds on a loaded machine; docs/performance.md has the measured figure).
  CHECK(ms < 200);
}

TEST_CASE("latest wins only within one document") {
  Fixture f;
  f.server.send(
      rpc(1, "complete", {{"prefix", "# mock:stall_first_ms=300\n# mock-reply:one\n"}, {"document", "file:///a.py"}}));
  REQUIRE(f.mock.wait_for_requests(1, std::chrono::seconds(5)));
  f.server.send(rpc(2, "complete", {{"prefix", "# mock-reply:two\n"}, {"document", "file:///b.py"}}));
  std::map<int, Json> replies;
  for (int i = 0; i < 2; ++i) {
    auto m = f.server.read_response(nullptr, 10000);
    REQUIRE(m);
    replies[(*m)["id"].get<int>()] = *m;
  }
  INFO(replies[1].dump());
  CHECK(replies[1]["result"]["text"] == "one");
  CHECK(replies[2]["result"]["text"] == "two");
}

TEST_CASE("$/cancelRequest answers -32800 and stops the upstream transfer") {
  Fixture f;
  f.mock.enqueue("/api/paas/v4/chat/completions", Response{200, {}, {}, {Step::stall()}});
  f.server.send(rpc(7, "complete", {{"prefix", "a = "}}));
  REQUIRE(f.mock.wait_for_requests(1, std::chrono::seconds(5)));
  f.server.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 7}}}});
  auto m = f.server.read_response(nullptr, 5000);
  REQUIRE(m);
  CHECK((*m)["error"]["code"] == -32800);
  CHECK(f.mock.connection_closed_at(f.mock.requests()[0].connection, std::chrono::seconds(5)));
}

TEST_CASE("the cache answers a repeated request without an upstream request") {
  Fixture f;
  Json p = {{"prefix", "# mock-reply:42\nx = "}, {"suffix", "\n"}, {"document", "d"}};
  Json r1 = f.complete(p, 1);
  REQUIRE(r1.contains("result"));
  CHECK_FALSE(r1["result"].contains("cached"));
  Json r2 = f.complete(p, 2);
  REQUIRE(r2.contains("result"));
  CHECK(r2["result"]["cached"] == true);
  CHECK(r2["result"]["text"] == r1["result"]["text"]);
  CHECK(r2["result"]["text"] == "42");
  CHECK(f.mock.requests().size() == 1);
  // Another suffix, another model or another option is another question.
  Json p3 = p;
  p3["suffix"] = "\ny = 2\n";
  CHECK_FALSE(f.complete(p3, 3)["result"].contains("cached"));
  Json p4 = p;
  p4["options"] = {{"max_lines", 1}};
  CHECK_FALSE(f.complete(p4, 4)["result"].contains("cached"));
  CHECK(f.mock.requests().size() == 3);
}

TEST_CASE("cache_size 0 turns the cache off") {
  Fixture f(Json{{"cache_size", 0}});
  Json p = {{"prefix", "# mock-reply:42\nx = "}};
  f.complete(p, 1);
  CHECK_FALSE(f.complete(p, 2)["result"].contains("cached"));
  CHECK(f.mock.requests().size() == 2);
}

TEST_CASE("a rate limit comes back at once with retry_after_ms and is not retried") {
  Fixture f;
  Json r = f.complete({{"prefix", "# mock:error=429,retry_after=3\nx = "}});
  INFO(r.dump());
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32001);
  CHECK(r["error"]["data"]["kind"] == "rate_limit");
  CHECK(r["error"]["data"]["retry_after_ms"] == 3000);
  CHECK(r["error"]["data"]["provider"] == "zhipu");
  // Give a retry the time it would have had.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.mock.requests().size() == 1);
}

TEST_CASE("a 5xx is not retried either") {
  Fixture f;
  Json r = f.complete({{"prefix", "# mock:error=500\nx = "}});
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["data"]["kind"] == "server");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.mock.requests().size() == 1);
}

TEST_CASE("a completion longer than max_response_bytes is stopped with a typed error") {
  MockServer mock;
  ServerProcess server;
  Json cfg = {{"default_model", "openai/glm-4"},
              {"providers", {{"zhipu", {{"base_url", mock.url() + "/api/paas/v4"}, {"api_key", "zk-test.secret"}}}}},
              {"max_response_bytes", 4096}};
  REQUIRE(server.request("initialize", {{"config", cfg}}, "init").contains("result"));
  // A CodeGeeX stream of 20k chunks (~130 KB, 20 s at 1 ms each): the mock is still writing when it is cut.
  server.send(rpc(1, "complete", {{"prefix", "# mock:chunks=20000,delay_ms=1\nx = "}, {"stream", true}}));
  std::vector<Json> notes;
  auto r = server.read_response(&notes, 10000);
  REQUIRE(r);
  INFO(r->dump());
  REQUIRE((*r)["error"]["code"] == -32001);
  CHECK((*r)["error"]["data"]["kind"] == "response_too_large");
  CHECK((*r)["error"]["data"]["max_response_bytes"] == 4096);
  size_t streamed = 0;
  for (const auto& n : notes) streamed += n["params"].value("content", "").size();
  CHECK(streamed <= 4096);
  CHECK(streamed > 4000);
  // The upstream connection is closed, not left streaming into nowhere.
  CHECK(mock.wait_for_open_connections_at_most(0, std::chrono::seconds(5)));
}

TEST_CASE("bad complete params are -32602 errors naming the field") {
  Fixture f;
  struct Bad {
    Json params;
    std::string message;
  };
  const Bad bad[] = {
      {Json::object(), "prefix: required"},
      {{{"prefix", 1}}, "prefix: expected a string"},
      {{{"prefix", ""}, {"contexts", {{{"path", "a"}}}}}, "contexts[0].code: required"},
      {{{"prefix", ""}, {"options", {{"bogus", 1}}}}, "options.bogus: unknown option"},
      {{{"prefix", ""}, {"options", {{"n", 0}}}}, "options.n: expected an integer in [1, 8]"},
      {{{"prefix", ""}, {"options", {{"temperature", 1.5}}}}, "options.temperature: must be in (0, 1) for codegeex"},
      {{{"prefix", ""}, {"model", "nope/x"}}, "model: unknown provider 'nope'"},
      {{{"prefix", ""}, {"stream", "yes"}}, "stream: expected true or false"},
  };
  int id = 10;
  for (const auto& b : bad) {
    Json r = f.complete(b.params, id++);
    INFO(r.dump());
    REQUIRE(r.contains("error"));
    CHECK(r["error"]["code"] == -32602);
    CHECK(r["error"]["message"].get<std::string>().find(b.message) != std::string::npos);
  }
  CHECK(f.mock.requests().empty());
}

TEST_CASE("the mock rejects a CodeGeeX request that breaks the settled rules") {
  // Guards the mock itself: the request rules it enforces are what the tests above rely on.
  MockServer mock;
  RecordedRequest req;
  req.method = "POST";
  req.target = "/api/paas/v4/chat/completions";
  Json ok = {{"model", "codegeex-4"},
             {"messages", Json::array()},
             {"extra", {{"target", {{"path", ""}, {"language", "python"}, {"code_prefix", ""}, {"code_suffix", ""}}}}}};
  req.body = ok.dump();
  CHECK(glm::mock::provider_replay(req).status == 200);
  Json upper = ok;
  upper["extra"]["target"]["language"] = "Python";
  req.body = upper.dump();
  CHECK(glm::mock::provider_replay(req).status == 400);
  Json msgs = ok;
  msgs["messages"] = Json::array({{{"role", "user"}, {"content", "hi"}}});
  req.body = msgs.dump();
  CHECK(glm::mock::provider_replay(req).status == 400);
  Json missing = ok;
  missing["extra"]["target"].erase("code_suffix");
  req.body = missing.dump();
  CHECK(glm::mock::provider_replay(req).status == 400);
  Json edge = ok;
  edge["top_p"] = 1;
  req.body = edge.dump();
  CHECK(glm::mock::provider_replay(req).status == 400);
}

// Figures for docs/performance.md (hidden; run: build/test_e2e_complete "[.bench]").
TEST_CASE("bench: complete overhead and superseded-transfer close time", "[.bench]") {
  Fixture f;
  const int n = 200;
  std::vector<double> overhead, close_ms, close_from_client_ms;
  for (int i = 0; i < n; ++i) {
    // A fresh prefix each time: never a cache hit.
    Json p = {{"prefix", "# mock-reply:value_" + std::to_string(i) + "\nx = "}, {"suffix", "\n"}};
    auto t0 = Clock::now();
    f.server.send(rpc(i, "complete", p));
    auto r = f.server.read_response(nullptr, 10000);
    auto t3 = Clock::now();
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    // The mock stamps the end of its response on its own thread, maybe after the reply got here.
    std::vector<RecordedRequest> reqs;
    for (int tries = 0; tries < 1000; ++tries) {
      reqs = f.mock.requests();
      if (reqs.back().responded_at) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const RecordedRequest& up = reqs.back();
    REQUIRE(up.responded_at);
    double total = std::chrono::duration<double, std::micro>(t3 - t0).count();
    double upstream = std::chrono::duration<double, std::micro>(*up.responded_at - up.received_at).count();
    overhead.push_back(total - upstream);
  }
  for (int i = 0; i < 50; ++i) {
    f.mock.enqueue("/api/paas/v4/chat/completions", Response{200, {}, {}, {Step::stall()}});
    size_t before = f.mock.requests().size();
    f.server.send(rpc(1000 + 2 * i, "complete", {{"prefix", "a" + std::to_string(i) + " = "}, {"document", "doc"}}));
    REQUIRE(f.mock.wait_for_requests(before + 1, std::chrono::seconds(5)));
    auto sent = Clock::now();
    f.server.send(rpc(1001 + 2 * i, "complete", {{"prefix", "b" + std::to_string(i) + " = "}, {"document", "doc"}}));
    REQUIRE(f.server.read_response(nullptr, 10000));
    REQUIRE(f.server.read_response(nullptr, 10000));
    auto reqs = f.mock.requests();
    const RecordedRequest& older = reqs[before];
    const RecordedRequest& newer = reqs[before + 1];
    auto closed = f.mock.connection_closed_at(older.connection, std::chrono::seconds(5));
    REQUIRE(closed);
    close_ms.push_back(std::chrono::duration<double, std::milli>(*closed - newer.received_at).count());
    close_from_client_ms.push_back(std::chrono::duration<double, std::milli>(*closed - sent).count());
  }
  auto report = [](const char* what, std::vector<double> v, const char* unit) {
    std::sort(v.begin(), v.end());
    std::printf("%s: n=%zu median %.3f %s, p90 %.3f %s, max %.3f %s\n", what, v.size(), v[v.size() / 2], unit,
                v[v.size() * 9 / 10], unit, v.back(), unit);
  };
  report("complete: server-side overhead (client round trip minus mock upstream time)", overhead, "us");
  report("superseded request: newer upstream request received -> older connection closed (at the mock)", close_ms,
         "ms");
  report("superseded request: newer complete sent by the client -> older connection closed (at the mock)",
         close_from_client_ms, "ms");
}
