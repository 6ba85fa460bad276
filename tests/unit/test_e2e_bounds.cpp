// Issue 16, defects 3, 4, 8 and 9, at the level a hostile upstream or a user meets them: the real
// glm-server process and the in-process mock. Tool-call fragments count against max_response_bytes, keep
// only known keys and merge in linear time; a /completions reply yields at most n candidates in linear
// time; the completion cache key has no collisions, covers every option that shapes the answer, and an
// answer that was in flight during a re-initialize is not cached; a readable config file with an inline
// key is warned about, and a JSON error in it never prints the text near it.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

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

namespace {

// CPU time (user + system) the process has used, in ms (/proc/<pid>/stat, clock ticks).
double cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return 1000.0 * static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string sse(const Json& chunk) { return "data: " + chunk.dump() + "\n\n"; }

Json tool_chunk(Json fragment) {
  return {{"choices", Json::array({{{"index", 0}, {"delta", {{"tool_calls", Json::array({std::move(fragment)})}}}}})}};
}

// An OpenAI stream: a call's head, then `pieces` fragments (from make_piece(i)), then the end.
template <class F>
std::string tool_stream(size_t pieces, F make_piece) {
  std::string body = sse(tool_chunk(
      {{"index", 0}, {"id", "call_1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", ""}}}}));
  for (size_t i = 0; i < pieces; ++i) body += sse(tool_chunk(make_piece(i)));
  body += sse({{"choices", Json::array({{{"index", 0}, {"delta", Json::object()}, {"finish_reason", "tool_calls"}}})}});
  body += "data: [DONE]\n\n";
  return body;
}

struct Openai {
  MockServer mock;
  ServerProcess server;
  explicit Openai(Json extra = Json::object()) {
    Json cfg = {{"providers",
                 {{"openai", {{"base_url", mock.url() + "/v1"}, {"api_key", "sk-test-bounds"}, {"max_retries", 0}}},
                  {"fimsrv", {{"kind", "openai"}, {"fim", "completions"}, {"base_url", mock.url() + "/v1"}}}}}};
    cfg.update(extra);
    REQUIRE(server.request("initialize", {{"config", cfg}}, "init").contains("result"));
  }
  // A streamed chat; notifications are read and dropped. The final reply.
  Json chat(Json id, size_t* notes = nullptr) {
    server.send(
        rpc(id, "chat",
            {{"model", "openai/gpt-4o"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "go"}}}}}));
    for (;;) {
      auto text = server.read_text(60000);
      REQUIRE(text);
      if (text->find("\"method\"") != std::string::npos) {
        if (notes) ++*notes;
        continue;
      }
      return Json::parse(*text);
    }
  }
};

}  // namespace

TEST_CASE("defect 3: tool-call arguments count against max_response_bytes") {
  Openai o(Json{{"max_response_bytes", 65536}});
  const std::string kib(1024, 'a');
  o.mock.enqueue(Response::body(200,
                                tool_stream(100,
                                            [&](size_t) {
                                              return Json{{"index", 0}, {"function", {{"arguments", kib}}}};
                                            }),
                                "text/event-stream"));
  Json r = o.chat(1);
  INFO(r.dump().substr(0, 400));
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["data"]["kind"] == "response_too_large");
  CHECK(r["error"]["data"]["max_response_bytes"] == 65536);
}

TEST_CASE("defect 3: unknown members of tool-call fragments are not kept") {
  Openai o;
  const std::string kib(1024, 'j');
  o.mock.enqueue(Response::body(
      200,
      tool_stream(200,
                  [&](size_t i) {
                    return Json{{"index", 0}, {"junk" + std::to_string(i), kib}, {"function", {{"arguments", "x"}}}};
                  }),
      "text/event-stream"));
  Json r = o.chat(1);
  REQUIRE(r.contains("result"));
  const Json& calls = r["result"]["tool_calls"];
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["id"] == "call_1");
  CHECK(calls[0]["function"]["name"] == "f");
  CHECK(calls[0]["function"]["arguments"] == std::string(200, 'x'));
  CHECK(r.dump().find("junk") == std::string::npos);
  CHECK(r.dump().size() < 4096);
}

TEST_CASE("defect 3: tool-call fragments merge in linear time (CPU per 1,000 fragments at two sizes)") {
  Openai o;
  double per_1000[2] = {0, 0};
  const size_t sizes[2] = {50000, 100000};
  for (int k = 0; k < 2; ++k) {
    o.mock.enqueue(Response::body(200,
                                  tool_stream(sizes[k],
                                              [](size_t) {
                                                return Json{{"index", 0}, {"function", {{"arguments", "12345678"}}}};
                                              }),
                                  "text/event-stream"));
    const double before = cpu_ms(o.server.pid());
    size_t notes = 0;
    Json r = o.chat(k + 1, &notes);
    const double used = cpu_ms(o.server.pid()) - before;
    REQUIRE(r.contains("result"));
    CHECK(r["result"]["tool_calls"][0]["function"]["arguments"].get<std::string>().size() == 8 * sizes[k]);
    CHECK(notes == sizes[k] + 1);
    per_1000[k] = used / static_cast<double>(sizes[k]) * 1000.0;
    WARN("tool-call fragments: " << sizes[k] << " in " << used << " ms of server CPU, " << per_1000[k]
                                 << " ms per 1,000");
  }
  // Linear: the cost per fragment does not grow with the number before it (quadratic doubles it).
  CHECK(per_1000[1] < 1.5 * per_1000[0] + 0.5);
}

namespace {

std::string choices_body(size_t count) {
  Json choices = Json::array();
  for (size_t i = 0; i < count; ++i)
    choices.push_back({{"index", i}, {"text", "c" + std::to_string(i)}, {"finish_reason", "stop"}});
  return Json{{"object", "text_completion"}, {"model", "m"}, {"choices", choices}}.dump();
}

}  // namespace

TEST_CASE("defect 4: a /completions reply with any number of choices gives at most n candidates, in linear time") {
  Openai o;
  double per_1000[2] = {0, 0};
  const size_t sizes[2] = {20000, 40000};
  for (int k = 0; k < 2; ++k) {
    o.mock.enqueue(Response::body(200, choices_body(sizes[k])));
    const double before = cpu_ms(o.server.pid());
    Json r = o.server.request(
        "complete", {{"model", "fimsrv/m"}, {"prefix", "x" + std::to_string(k)}, {"options", {{"n", 2}}}}, k + 1);
    const double used = cpu_ms(o.server.pid()) - before;
    INFO(r.dump().substr(0, 400));
    REQUIRE(r.contains("result"));
    CHECK(r["result"]["candidates"] == Json::array({"c0", "c1"}));
    per_1000[k] = used / static_cast<double>(sizes[k]) * 1000.0;
    WARN("/completions choices: " << sizes[k] << " in " << used << " ms of server CPU, " << per_1000[k]
                                  << " ms per 1,000");
  }
  CHECK(per_1000[1] < 1.5 * per_1000[0] + 0.5);
  // Indexes >= n and repeated indexes are ignored.
  o.mock.enqueue(Response::body(200, Json{{"choices",
                                           {{{"index", 5}, {"text", "five"}},
                                            {{"index", 1}, {"text", "one"}},
                                            {{"index", 1}, {"text", "uno"}},
                                            {{"index", 0}, {"text", "zero"}}}}}
                                         .dump()));
  Json r = o.server.request("complete", {{"model", "fimsrv/m"}, {"prefix", "y"}, {"options", {{"n", 2}}}}, 9);
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["candidates"] == Json::array({"zero", "one"}));
}

namespace {

struct Completer {
  MockServer mock;
  ServerProcess server;
  int next_id = 1;
  Completer() { REQUIRE(init(mock.url() + "/api/paas/v4").contains("result")); }
  Json init(const std::string& base) {
    Json cfg = {{"providers", {{"zhipu", {{"base_url", base}, {"api_key", "zk-test.secret"}}}}}};
    return server.request("initialize", {{"config", cfg}}, "init");
  }
  Json complete(Json params) {
    Json r = server.request("complete", std::move(params), next_id++);
    INFO(r.dump());
    REQUIRE(r.contains("result"));
    return r["result"];
  }
};

}  // namespace

TEST_CASE("defect 8: cache keys do not collide when text moves between fields") {
  Completer c;
  Json a = c.complete({{"path", "x"}, {"prefix", std::string("A\0B", 3)}});
  Json b = c.complete({{"path", std::string("x\0A", 3)}, {"prefix", "B"}});
  CHECK_FALSE(b.contains("cached"));
  CHECK(a["text"] != b["text"]);
  CHECK(c.mock.requests().size() == 2);
}

TEST_CASE("defect 8: stop, temperature, top_p and language are part of the cache key") {
  Completer c;
  const Json base = {{"prefix", "# mock-reply:42\nx = "}, {"suffix", "\n"}};
  c.complete(base);
  CHECK(c.complete(base).value("cached", false));  // the cache works
  size_t upstream = 1;
  for (Json change : {Json{{"options", {{"stop", Json::array({"\n"})}}}}, Json{{"options", {{"temperature", 0.5}}}},
                      Json{{"options", {{"top_p", 0.5}}}}, Json{{"language", "python"}}}) {
    Json p = base;
    p.update(change);
    INFO(change.dump());
    CHECK_FALSE(c.complete(p).contains("cached"));
    CHECK(c.mock.requests().size() == ++upstream);
  }
}

TEST_CASE("defect 8: an answer in flight during a re-initialize is not cached for the new configuration") {
  Completer c;
  MockServer other;
  const Json p = {{"prefix", "# mock:ttft_ms=600\n# mock-reply:old\nx = "}};
  c.server.send(rpc(1, "complete", p));
  REQUIRE(c.mock.wait_for_requests(1, std::chrono::milliseconds(5000)));
  REQUIRE(c.init(other.url() + "/api/paas/v4").contains("result"));
  auto first = c.server.read_response(nullptr, 10000);
  REQUIRE(first);
  REQUIRE((*first)["id"] == 1);
  Json again = c.complete(p);
  CHECK_FALSE(again.contains("cached"));
  CHECK(other.requests().size() == 1);  // asked of the new configuration's endpoint
}

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/glm-cfg-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  return tmpl;
}

std::string server_bin() {
  const char* b = std::getenv("GLM_TEST_SERVER_BIN");
  return b && *b ? b : GLM_SERVER_BIN;
}

// Runs glm-server with `args`, stdin from /dev/null; everything it writes to stdout and stderr.
std::string run_capture(const std::string& args) {
  std::string out;
  FILE* p = popen((server_bin() + " " + args + " </dev/null 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("defect 9: a config file with an inline api_key readable by others is warned about (path and chmod 600)") {
  const std::string dir = temp_dir();
  const std::string cfg = dir + "/config.json";
  const std::string key = "sk-Zq8Wm3Lp6Tn1Vr4Xk9";
  write_file(cfg, Json{{"providers", {{"openai", {{"api_key", key}}}}}}.dump(), 0644);
  std::string out = run_capture("--config " + cfg);
  INFO(out);
  CHECK(out.find(cfg) != std::string::npos);
  CHECK(out.find("chmod 600") != std::string::npos);
  CHECK(out.find(key) == std::string::npos);

  write_file(cfg, Json{{"providers", {{"openai", {{"api_key", key}}}}}}.dump(), 0600);
  out = run_capture("--config " + cfg);
  CHECK(out.find("chmod") == std::string::npos);

  // Readable, but no inline secret (the key comes from the environment): nothing to say.
  write_file(cfg, Json{{"providers", {{"openai", {{"api_key_env", "MY_KEY"}}}}}}.dump(), 0644);
  out = run_capture("--config " + cfg);
  CHECK(out.find("chmod") == std::string::npos);
  ::unlink(cfg.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("defect 9: a JSON error inside a key string says where, never the key's text") {
  const std::string dir = temp_dir();
  const std::string cfg = dir + "/config.json";
  const std::string key = "sk-Hd4Rt7Yp2Kw9Nx5Qm3";
  // A raw newline inside the string is a syntax error right after the key's text.
  write_file(cfg, "{\"providers\": {\"openai\": {\n  \"api_key\": \"" + key + "\n\"}}}\n", 0600);
  std::string out = run_capture("--config " + cfg);
  INFO(out);
  CHECK(out.find("invalid JSON") != std::string::npos);
  CHECK(out.find("line 2") != std::string::npos);
  for (size_t i = 0; i + 6 <= key.size(); ++i) CHECK(out.find(key.substr(i, 6)) == std::string::npos);
  ::unlink(cfg.c_str());
  ::rmdir(dir.c_str());
}
