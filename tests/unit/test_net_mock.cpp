// The mock provider's provider-aware replay, seen through net::HttpClient the way the providers will see it.
#include <time.h>

#include <chrono>
#include <functional>
#include <optional>

#include <asio.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../mock/mock_server.hpp"
#include "net/http_client.hpp"

using namespace std::chrono_literals;
using glm::mock::MockServer;
using glm::net::HttpClient;
using glm::net::NetError;
using Json = nlohmann::json;

namespace {

struct Reply {
  int status = -1;
  glm::net::Headers headers;
  std::string body;
  std::optional<NetError> error;
  bool done = false;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

Reply call_mock(const std::string& url, const Json& body, std::vector<std::pair<std::string, std::string>> headers = {},
                int64_t first_byte_ms = 10000) {
  asio::io_context io;
  auto client = HttpClient::create(io);
  glm::net::Request req;
  req.url = url;
  req.body = body.dump();
  req.headers = std::move(headers);
  req.headers.emplace_back("Content-Type", "application/json");
  req.options.first_byte_timeout_ms = first_byte_ms;
  Reply r;
  glm::net::Callbacks cb;
  cb.on_head = [&](int s, const glm::net::Headers& h) {
    r.status = s;
    r.headers = h;
  };
  cb.on_data = [&](std::string_view b) { r.body.append(b); };
  cb.on_done = [&](const NetError* e) {
    r.done = true;
    if (e) r.error = *e;
  };
  client->start(req, cb);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!r.done && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  REQUIRE(r.done);
  return r;
}

struct Frame {
  std::string id, event, comment, data;
};

// Just enough SSE for these assertions (the real parser lives in src/sse).
std::vector<Frame> frames(const std::string& body) {
  std::vector<Frame> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    Frame f;
    std::string block = body.substr(pos, end - pos);
    size_t lp = 0;
    while (lp < block.size()) {
      size_t le = block.find('\n', lp);
      if (le == std::string::npos) le = block.size();
      std::string line = block.substr(lp, le - lp);
      auto value = [&](size_t n) { return line.substr(n + (line.size() > n && line[n] == ' ' ? 1 : 0)); };
      if (line.rfind("data:", 0) == 0)
        f.data += value(5);
      else if (line.rfind("id:", 0) == 0)
        f.id = value(3);
      else if (line.rfind("event:", 0) == 0)
        f.event = value(6);
      else if (line.rfind(":", 0) == 0)
        f.comment = line.substr(1);
      lp = le + 1;
    }
    out.push_back(f);
    pos = end + 2;
  }
  return out;
}

Json chat(const std::string& text, bool stream = true) {
  return {{"model", "glm-4.6"},
          {"stream", stream},
          {"messages", {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", text}}}}};
}

}  // namespace

TEST_CASE("replay: OpenAI/Zhipu stream echoes the last user message in small chunks", "[mock]") {
  MockServer server;
  Reply r = call_mock(server.url() + "/api/paas/v4/chat/completions", chat("hello there, how are you today?"));
  CHECK_FALSE(r.error);
  CHECK(r.status == 200);
  CHECK(r.header("content-type").rfind("text/event-stream", 0) == 0);
  auto fs = frames(r.body);
  REQUIRE(fs.size() >= 4);
  CHECK(fs.back().data == "[DONE]");
  std::string content;
  for (size_t i = 0; i + 2 < fs.size(); ++i) {
    Json j = Json::parse(fs[i].data);
    CHECK(j["object"] == "chat.completion.chunk");
    CHECK(j["choices"][0]["finish_reason"].is_null());
    content += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  CHECK(content == "You said: hello there, how are you today?");
  Json fin = Json::parse(fs[fs.size() - 2].data);
  CHECK(fin["choices"][0]["finish_reason"] == "stop");
  CHECK(fin["usage"]["completion_tokens"].get<int>() == int(fs.size() - 2));
  CHECK(server.requests().at(0).header("content-type") == "application/json");
}

TEST_CASE("replay: directives select reasoning, chunk count and the include_usage chunk", "[mock]") {
  MockServer server;
  Json body = chat("explain mock:chunks=5,reasoning=3");
  body["stream_options"] = {{"include_usage", true}};
  Reply r = call_mock(server.url() + "/compatible-mode/v1/chat/completions", body);
  auto fs = frames(r.body);
  REQUIRE(fs.size() == 3 + 5 + 2 + 1);
  std::string reasoning, content;
  for (size_t i = 0; i < 8; ++i) {
    Json d = Json::parse(fs[i].data)["choices"][0]["delta"];
    if (d["reasoning_content"].is_string()) reasoning += d["reasoning_content"].get<std::string>();
    if (d["content"].is_string()) content += d["content"].get<std::string>();
  }
  CHECK(reasoning == "think0 think1 think2 ");
  CHECK(content == "tok0 tok1 tok2 tok3 tok4 ");
  Json usage = Json::parse(fs[9].data);
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["total_tokens"].get<int>() > 8);
}

TEST_CASE("replay: non-stream request gets one chat.completion JSON", "[mock]") {
  MockServer server;
  Reply r = call_mock(server.url() + "/v1/chat/completions", chat("ping", false));
  Json j = Json::parse(r.body);
  CHECK(j["choices"][0]["message"]["content"] == "You said: ping");
  CHECK(j["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("replay: DashScope native frames, incremental and cumulative", "[mock]") {
  MockServer server;
  const bool incremental = GENERATE(true, false);
  Json body = {{"model", "glm-4.6"},
               {"input", {{"messages", {{{"role", "user"}, {"content", "mock:chunks=3"}}}}}},
               {"parameters", {{"result_format", "message"}, {"incremental_output", incremental}}}};
  Reply r = call_mock(server.url() + "/api/v1/services/aigc/text-generation/generation", body,
                      {{"X-DashScope-SSE", "enable"}});
  auto fs = frames(r.body);
  REQUIRE(fs.size() == 4);
  std::vector<std::string> texts;
  for (size_t i = 0; i < fs.size(); ++i) {
    CHECK(fs[i].id == std::to_string(i + 1));
    CHECK(fs[i].event == "result");
    CHECK(fs[i].comment == "HTTP_STATUS/200");
    Json j = Json::parse(fs[i].data);
    texts.push_back(j["output"]["choices"][0]["message"]["content"]);
    CHECK(j["output"]["choices"][0]["finish_reason"] == (i + 1 < fs.size() ? "null" : "stop"));
    CHECK(j["usage"]["output_tokens"].get<int>() == int(std::min<size_t>(i + 1, 3)));  // cumulative
  }
  if (incremental) {
    CHECK(texts == std::vector<std::string>{"tok0 ", "tok1 ", "tok2 ", ""});
  } else {
    CHECK(texts == std::vector<std::string>{"tok0 ", "tok0 tok1 ", "tok0 tok1 tok2 ", "tok0 tok1 tok2 "});
  }
  CHECK(r.body.find("[DONE]") == std::string::npos);
}

TEST_CASE("replay: Qianfan stream, token endpoint and in-band errors", "[mock]") {
  MockServer server;
  const std::string chat_url =
      server.url() + "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/chatglm2_6b_32k?access_token=t";
  Json body = {{"stream", true}, {"messages", {{{"role", "user"}, {"content", "mock:chunks=2"}}}}};
  Reply r = call_mock(chat_url, body);
  auto fs = frames(r.body);
  REQUIRE(fs.size() == 3);
  for (size_t i = 0; i < fs.size(); ++i) {
    Json j = Json::parse(fs[i].data);
    CHECK(j["sentence_id"] == i);
    CHECK(j["is_end"] == (i == 2));
  }
  CHECK(Json::parse(fs[0].data)["result"] == "tok0 ");

  Reply token = call_mock(server.url() + "/oauth/2.0/token?grant_type=client_credentials&client_id=a&client_secret=b",
                          Json::object());
  CHECK(Json::parse(token.body)["access_token"].get<std::string>().rfind("24.", 0) == 0);

  body["messages"][0]["content"] = "mock:error=401";
  Reply err = call_mock(chat_url, body);
  CHECK(err.status == 200);  // Qianfan reports errors inside a 200
  CHECK(Json::parse(err.body)["error_code"] == 110);
  body["messages"][0]["content"] = "mock:error=429,code=336501,http=1";
  Reply err2 = call_mock(chat_url, body);
  CHECK(err2.status == 429);
  CHECK(Json::parse(err2.body)["error_code"] == 336501);
}

TEST_CASE("replay: provider-style error bodies with status and Retry-After", "[mock]") {
  MockServer server;
  Reply z = call_mock(server.url() + "/api/paas/v4/chat/completions", chat("mock:error=429,retry_after=3"));
  CHECK(z.status == 429);
  CHECK(z.header("retry-after") == "3");
  CHECK(Json::parse(z.body)["error"]["code"] == "1302");  // Zhipu codes are strings
  Reply d = call_mock(server.url() + "/api/v1/services/aigc/text-generation/generation",
                      {{"input", {{"messages", {{{"role", "user"}, {"content", "mock:error=401"}}}}}}});
  CHECK(d.status == 401);
  CHECK(Json::parse(d.body)["code"] == "InvalidApiKey");
  Reply o = call_mock(server.url() + "/v1/chat/completions", chat("mock:error=401"));
  CHECK(Json::parse(o.body)["error"]["code"] == "invalid_api_key");
}

TEST_CASE("replay: faults become the client's network errors", "[mock]") {
  MockServer server;
  Reply dropped = call_mock(server.url() + "/v1/chat/completions", chat("mock:chunks=6,drop_after=2"));
  REQUIRE(dropped.error);
  CHECK(dropped.error->kind == NetError::Kind::dropped);
  CHECK(frames(dropped.body).size() == 2);

  Reply slow = call_mock(server.url() + "/v1/chat/completions", chat("mock:stall_first_ms=3000"), {}, 200);
  REQUIRE(slow.error);
  CHECK(slow.error->kind == NetError::Kind::timeout);
  CHECK(slow.status == -1);
}

TEST_CASE("replay: ts=1 stamps each chunk with CLOCK_MONOTONIC at send time", "[mock]") {
  MockServer server;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t before = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
  Reply r = call_mock(server.url() + "/v1/chat/completions", chat("mock:chunks=3,ts=1,delay_ms=5"));
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t after = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
  auto fs = frames(r.body);
  REQUIRE(fs.size() == 5);
  uint64_t prev = before;
  for (int i = 0; i < 3; ++i) {
    std::string c = Json::parse(fs[i].data)["choices"][0]["delta"]["content"];
    REQUIRE(c.size() > 2);
    CHECK(c.front() == '@');
    CHECK(c.back() == ';');
    uint64_t ns = std::stoull(c.substr(1, c.size() - 2));
    CHECK(ns >= prev);
    CHECK(ns <= after);
    prev = ns;
  }
}

TEST_CASE("mock: requests are recorded and unknown paths answer 404", "[mock]") {
  MockServer server;
  std::vector<glm::mock::RecordedRequest> hooked;
  std::mutex mu;
  server.set_on_request([&](const glm::mock::RecordedRequest& r) {
    std::lock_guard lock(mu);
    hooked.push_back(r);
  });
  Reply r = call_mock(server.url() + "/nowhere?x=1", Json{{"a", 1}}, {{"X-Probe", "yes"}});
  CHECK(r.status == 404);
  REQUIRE(server.wait_for_requests(1, 2s));
  auto reqs = server.requests();
  CHECK(reqs[0].path() == "/nowhere");
  CHECK(reqs[0].target == "/nowhere?x=1");
  CHECK(reqs[0].header("x-probe") == "yes");
  Json line = Json::parse(glm::mock::to_json_line(reqs[0]));
  CHECK(line["path"] == "/nowhere?x=1");
  CHECK(line["headers"]["x-probe"] == "yes");
  CHECK(line["body"] == R"({"a":1})");
  std::lock_guard lock(mu);
  CHECK(hooked.size() == 1);
}
