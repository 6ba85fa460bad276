// Zhipu v4 provider: request building (raw key and JWT), stream decoding from recorded responses,
// finish_reason mapping, the business-code error table, retry hints, option validation.
#include <cstdlib>

#include "provider_test_util.hpp"
#include "providers/jwt.hpp"
#include "providers/zhipu.hpp"

using namespace glm;
using namespace glm::test;

namespace {

constexpr const char* kVectorKey = "12345678.abcdefg";
constexpr const char* kVectorToken =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04iLCJ0eXAiOiJKV1QifQ."
    "eyJhcGlfa2V5IjoiMTIzNDU2NzgiLCJleHAiOjE3MDAwMDAyMTAwMDAsInRpbWVzdGFtcCI6MTcwMDAwMDAwMDAwMH0."
    "QwkBN-t1Q5A-mpFLcqgGAQG93TRmu1HurQNLoIcJKpY";

ProviderConfig zhipu_config(std::string auth = "") {
  ProviderConfig c;
  c.name = "zhipu";
  c.base_url = "https://open.bigmodel.cn/api/paas/v4/";
  c.api_key = kVectorKey;
  c.auth = std::move(auth);
  return c;
}

// A response with a Zhipu error body.
RecordedResponse zhipu_error(int status, const std::string& code, net::Headers headers = {}) {
  RecordedResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.headers.emplace("content-type", "application/json");
  r.body = R"({"error":{"code":")" + code + R"(","message":"msg )" + code + R"("}})";
  return r;
}

}  // namespace

TEST_CASE("zhipu builds the documented request with every option", "[zhipu]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  ChatRequest req = simple_request("zhipu", "glm-4.6v");
  req.messages = {
      Message{"system", Json("You are terse.")},
      Message{"user", Json::array({Json{{"type", "text"}, {"text", "图里有什么"}},
                                   Json{{"type", "image_url"},
                                        {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}}})},
  };
  req.options.temperature = 0.6;
  req.options.top_p = 0.9;
  req.options.max_tokens = 1024;
  req.options.stop = {"\n\n"};
  req.options.seed = 42;
  req.options.thinking = false;
  req.options.extra = {{"do_sample", false}, {"user_id", "user-123456"}, {"unknown_knob", 1}};
  REQUIRE_FALSE(provider.validate(req));

  auto prepared = prepare_now(provider, req);
  REQUIRE(prepared.ok());
  const net::Request& r = prepared.value();
  CHECK(r.method == "POST");
  CHECK(r.url == "https://open.bigmodel.cn/api/paas/v4/chat/completions");
  CHECK(request_headers(r, "Authorization") == std::vector<std::string>{"Bearer 12345678.abcdefg"});
  CHECK(request_headers(r, "Content-Type") == std::vector<std::string>{"application/json"});
  CHECK(request_headers(r, "Accept") == std::vector<std::string>{"text/event-stream"});
  // The data: URL prefix is gone (bare base64, as the SDK sends), unknown extras are not sent.
  CHECK(
      r.body ==
      R"({"do_sample":false,"max_tokens":1024,"messages":[{"content":"You are terse.","role":"system"},)"
      R"({"content":[{"text":"图里有什么","type":"text"},{"image_url":{"url":"iVBORw0KGgo="},"type":"image_url"}],"role":"user"}],)"
      R"("model":"glm-4.6v","seed":42,"stop":["\n\n"],"stream":true,"temperature":0.6,)"
      R"("thinking":{"type":"disabled"},"top_p":0.9,"user_id":"user-123456"})");
}

TEST_CASE("zhipu thinking on and a non-stream request", "[zhipu]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  ChatRequest req = simple_request("zhipu", "glm-4.6", "hi");
  req.stream = false;
  req.options.thinking = true;
  auto prepared = prepare_now(provider, req);
  REQUIRE(prepared.ok());
  CHECK(
      prepared.value().body ==
      R"({"messages":[{"content":"hi","role":"user"}],"model":"glm-4.6","stream":false,"thinking":{"type":"enabled"}})");
  CHECK(request_headers(prepared.value(), "Accept") == std::vector<std::string>{"application/json"});
}

TEST_CASE("zhipu sampling edges are clamped as the official SDK does (issue 10 item 1)", "[zhipu]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto body_for = [&](std::optional<double> temperature, std::optional<double> top_p) {
    ChatRequest req = simple_request("zhipu", "glm-4.6", "hi");
    req.options.temperature = temperature;
    req.options.top_p = top_p;
    REQUIRE_FALSE(provider.validate(req));
    return Json::parse(prepare_now(provider, req).value().body);
  };
  // temperature 0: greedy (do_sample false) with 0.01, as the SDK sends it; never a literal 0.
  Json zero = body_for(0.0, std::nullopt);
  CHECK(zero["temperature"] == 0.01);
  CHECK(zero["do_sample"] == false);
  Json one = body_for(1.0, 1.0);  // top_p 1: the common editor default
  CHECK(one["temperature"] == 0.99);
  CHECK(one["top_p"] == 0.99);
  CHECK_FALSE(one.contains("do_sample"));
  Json low = body_for(std::nullopt, 0.0);
  CHECK(low["top_p"] == 0.01);
  Json mid = body_for(0.6, 0.9);  // inside the interval: as given
  CHECK(mid["temperature"] == 0.6);
  CHECK(mid["top_p"] == 0.9);
}

TEST_CASE("zhipu: codegeex-4 takes four stop strings, the others one (issue 10 item 5)", "[zhipu]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  ChatRequest fim = simple_request("zhipu", "codegeex-4", "def f():");
  fim.options.stop = {"<|endoftext|>", "<|user|>", "<|assistant|>", "<|observation|>"};
  CHECK_FALSE(provider.validate(fim));
  CHECK(Json::parse(prepare_now(provider, fim).value().body)["stop"].size() == 4);
  fim.options.stop.push_back("\n\n");
  CHECK(*provider.validate(fim) == "options.stop: at most 4 stop sequences for codegeex-4 on zhipu");
  ChatRequest chat = simple_request("zhipu", "glm-4.6", "hi");
  chat.options.stop = {"a", "b"};
  CHECK(*provider.validate(chat) == "options.stop: at most 1 stop sequence for zhipu");
}

TEST_CASE("zhipu: clear_thinking passes through where the model documents it (issue 10 item 6)", "[zhipu]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  ChatRequest req = simple_request("zhipu", "glm-4.7", "hi");
  req.options.extra["clear_thinking"] = false;
  REQUIRE_FALSE(provider.validate(req));
  CHECK(Json::parse(prepare_now(provider, req).value().body)["thinking"] ==
        Json({{"type", "enabled"}, {"clear_thinking", false}}));
  req.options.thinking = false;
  CHECK(Json::parse(prepare_now(provider, req).value().body)["thinking"] ==
        Json({{"type", "disabled"}, {"clear_thinking", false}}));
  ChatRequest old = simple_request("zhipu", "glm-4.6", "hi");
  old.options.extra["clear_thinking"] = true;
  CHECK(*provider.validate(old) ==
        "options.clear_thinking: not supported by glm-4.6 on zhipu (documented for glm-4.7 and glm-5)");
  old.options.extra["clear_thinking"] = "yes";
  CHECK(*provider.validate(old) == "options.clear_thinking: must be a boolean");
}

TEST_CASE("zhipu without a key fails with an auth error naming the variable", "[zhipu]") {
  TestContext ctx;
  ProviderConfig c = zhipu_config();
  c.api_key.clear();
  c.api_key_env = "GLM_TEST_ZHIPU_KEY_THAT_IS_NOT_SET";
  ::unsetenv(c.api_key_env.c_str());
  ZhipuProvider provider(c, ctx.context());
  auto prepared = prepare_now(provider, simple_request("zhipu", "glm-4.6"));
  REQUIRE_FALSE(prepared.ok());
  CHECK(prepared.error().kind == ErrorKind::auth);
  CHECK_THAT(prepared.error().message, Catch::Contains("GLM_TEST_ZHIPU_KEY_THAT_IS_NOT_SET"));
}

TEST_CASE("zhipu JWT matches the SDK's test vector", "[zhipu][jwt]") {
  auto token = make_zhipu_jwt(kVectorKey, 1700000000000);
  REQUIRE(token.ok());
  CHECK(token.value() == kVectorToken);

  CHECK(base64url("") == "");
  CHECK(base64url("f") == "Zg");
  CHECK(base64url("fo") == "Zm8");
  CHECK(base64url("foo") == "Zm9v");
  CHECK(base64url("\xfb\xff") == "-_8");

  for (const char* bad : {"nodot", ".secret", "id.", "a.b.c"}) {
    auto r = make_zhipu_jwt(bad, 1700000000000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
  }
}

TEST_CASE("zhipu JWT is cached for 180 s and then remade", "[zhipu][jwt]") {
  int64_t now = 1700000000000;
  ZhipuJwtCache cache([&] { return now; });
  auto first = cache.token(kVectorKey);
  REQUIRE(first.ok());
  CHECK(first.value() == kVectorToken);
  now += 179999;
  CHECK(cache.token(kVectorKey).value() == kVectorToken);
  now += 1;  // 180 s: a fresh token, so one never reaches the server with under 30 s to live
  auto second = cache.token(kVectorKey);
  CHECK(second.value() != kVectorToken);
  CHECK(second.value() == make_zhipu_jwt(kVectorKey, now).value());
  cache.invalidate();
  now += 5;
  CHECK(cache.token(kVectorKey).value() == make_zhipu_jwt(kVectorKey, now).value());
}

TEST_CASE("zhipu with auth jwt sends the signed token as Bearer", "[zhipu][jwt]") {
  TestContext ctx;
  int64_t now = 1700000000000;
  ZhipuProvider provider(zhipu_config("jwt"), ctx.context(), [&] { return now; });
  auto prepared = prepare_now(provider, simple_request("zhipu", "glm-4.6"));
  REQUIRE(prepared.ok());
  CHECK(request_headers(prepared.value(), "Authorization") ==
        std::vector<std::string>{std::string("Bearer ") + kVectorToken});

  ProviderConfig bad = zhipu_config("oauth");
  ZhipuProvider unknown_mode(bad, ctx.context());
  auto r = prepare_now(unknown_mode, simple_request("zhipu", "glm-4.6"));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("unknown auth mode"));
}

TEST_CASE("zhipu stream: content reassembled, usage on the finish chunk", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/stream_basic.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "土星是太阳系第二大行星,以其壮观的环系统闻名。");
  CHECK(out.reasoning.empty());
  CHECK(out.deltas.size() == 5);  // the empty finish delta is not forwarded
  CHECK(out.result.finish_reason == "stop");
  CHECK(out.result.model == "glm-4");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 31);
  CHECK(out.result.usage->output_tokens == 17);
  CHECK(out.result.usage->total_tokens == 48);
}

TEST_CASE("zhipu stream: reasoning separated, usage on a separate choices:[] chunk, CRLF framing", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4.6"),
                                    load_response("zhipu/stream_thinking_usage_chunk.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.reasoning == "用户在问好。\n");
  CHECK(out.content == "你好!有什么可以帮你?");
  CHECK(out.result.finish_reason == "stop");
  CHECK(out.result.model == "glm-4.6");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 8);
  CHECK(out.result.usage->output_tokens == 25);
  CHECK(out.result.usage->total_tokens == 33);
}

TEST_CASE("zhipu stream: sensitive is content_filter and keeps the partial text", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/stream_sensitive.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "关于这个问题,");
  CHECK(out.result.finish_reason == "content_filter");
}

TEST_CASE("zhipu stream: network_error finish is a server error after partial text", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4"),
                                    load_response("zhipu/stream_network_error.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::server);
  CHECK(out.error->upstream_code == "network_error");
  CHECK_FALSE(out.error->retryable);  // text was already streamed
  CHECK(out.content == "def add(a, b):\n    return");
  CHECK(out.result.finish_reason.empty());
}

TEST_CASE("zhipu stream: ending without finish or [DONE] is a network error", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/stream_truncated.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::network);
  CHECK(out.error->message == "zhipu: stream ended before completion");
  CHECK_FALSE(out.error->retryable);
  CHECK(out.content == "Hello, wor");
  CHECK_FALSE(out.done);

  // Even an empty 200 is not resent: retries happen only before a response starts.
  RecordedResponse empty{200, {{"content-type", "text/event-stream"}}, ""};
  auto none = run_stream(provider, simple_request("zhipu", "glm-4"), empty);
  REQUIRE(none.error);
  CHECK(none.error->kind == ErrorKind::network);
  CHECK_FALSE(none.error->retryable);
}

TEST_CASE("zhipu stream: data {error} frame mid-stream maps by code", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/stream_data_error.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::content_filter);
  CHECK(out.error->upstream_code == "1301");
  CHECK_THAT(out.error->upstream_message, Catch::StartsWith("系统检测到"));
  CHECK(out.content == "好的,");
  CHECK(out.error->request_id == "20240101-zhipu-req");  // from x-request-id
}

TEST_CASE("zhipu stream: event:error frame before any text is retryable by its code", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4"),
                                    load_response("zhipu/stream_event_error.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::server);
  CHECK(out.error->upstream_code == "1234");
  CHECK(out.error->retryable);
  CHECK(out.content.empty());
}

TEST_CASE("zhipu stream: malformed JSON event is a protocol error", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/stream_malformed.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::protocol);
  CHECK_THAT(out.error->message, Catch::StartsWith("zhipu: malformed JSON in stream event"));
  CHECK(out.content == "ok");
}

TEST_CASE("zhipu stream: chunk shapes that must not crash", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  RecordedResponse r{
      200,
      {{"content-type", "text/event-stream"}},
      "data: {\"choices\":[]}\n\n"
      "data: {\"choices\":null}\n\n"
      "data: {\"choices\":[{\"delta\":null}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":null,\"reasoning_content\":null}}]}\n\n"
      "data:\n\n"
      ": keep-alive\n\n"
      "event: ping\ndata: not json\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
      "data: [DONE]\n\n"};
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4"), r);
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "x");
  CHECK_FALSE(out.result.usage);

  // Fields of the wrong type are ignored; an event that is not a JSON object is a protocol error.
  RecordedResponse bad{
      200, {}, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":7}]}\n\ndata: 42\n\n"};
  auto out2 = run_stream(provider, simple_request("zhipu", "glm-4"), bad);
  REQUIRE(out2.error);
  CHECK(out2.error->kind == ErrorKind::protocol);
  CHECK(out2.content == "a");
}

TEST_CASE("zhipu non-stream response: one delta, finish, usage", "[zhipu][stream]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("zhipu", "glm-4.6"), load_response("zhipu/nonstream.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.deltas.size() == 1);
  CHECK(out.content == "土星有83颗");
  CHECK(out.reasoning == "列出卫星数量。");
  CHECK(out.result.finish_reason == "length");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->total_tokens == 30);
}

TEST_CASE("zhipu error bodies map by business code", "[zhipu][errors]") {
  struct Row {
    int status;
    const char* code;
    ErrorKind kind;
    bool retryable;
  };
  const Row rows[] = {
      {401, "1000", ErrorKind::auth, false},
      {401, "1001", ErrorKind::auth, false},
      {401, "1002", ErrorKind::auth, false},
      {401, "1003", ErrorKind::auth, false},
      {401, "1004", ErrorKind::auth, false},
      {401, "1005", ErrorKind::auth, false},
      {429, "1112", ErrorKind::auth, false},
      {429, "1113", ErrorKind::quota, false},
      {500, "1200", ErrorKind::server, true},
      {400, "1210", ErrorKind::invalid_request, false},
      {400, "1211", ErrorKind::invalid_request, false},
      {400, "1213", ErrorKind::invalid_request, false},
      {400, "1214", ErrorKind::invalid_request, false},
      {400, "1215", ErrorKind::invalid_request, false},
      {403, "1220", ErrorKind::auth, false},
      {500, "1230", ErrorKind::server, true},
      {500, "1234", ErrorKind::server, true},
      {400, "1261", ErrorKind::context_length, false},
      {400, "1301", ErrorKind::content_filter, false},
      {429, "1302", ErrorKind::rate_limit, true},
      {429, "1303", ErrorKind::rate_limit, true},
      {429, "1304", ErrorKind::quota, false},
      {429, "1305", ErrorKind::rate_limit, true},
      {429, "1308", ErrorKind::quota, false},
      {429, "1310", ErrorKind::quota, false},
      {500, "500", ErrorKind::server, true},
      {503, "9999", ErrorKind::server, true},  // an unknown code keeps the status defaults
      {404, "9998", ErrorKind::invalid_request, false},
  };
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  for (const Row& row : rows) {
    INFO("code " << row.code);
    auto out = run_stream(provider, simple_request("zhipu", "glm-4"), zhipu_error(row.status, row.code));
    REQUIRE(out.error);
    CHECK(out.error->kind == row.kind);
    CHECK(out.error->retryable == row.retryable);
    CHECK(out.error->http_status == row.status);
    CHECK(out.error->upstream_code == row.code);
    CHECK(out.error->upstream_message == std::string("msg ") + row.code);
    CHECK_FALSE(out.error->refresh_credentials);
    CHECK_FALSE(out.done);
  }
}

TEST_CASE("zhipu recorded error responses: message, request id, retry hints", "[zhipu][errors]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto req = simple_request("zhipu", "glm-4");

  auto filtered = check_split_invariance(provider, req, load_response("zhipu/error_1301.http"));
  REQUIRE(filtered.error);
  CHECK(filtered.error->kind == ErrorKind::content_filter);
  CHECK(filtered.error->request_id == "req-1301");
  CHECK_THAT(filtered.error->message, Catch::StartsWith("zhipu: blocked by the content filter: 系统检测到"));
  CHECK_THAT(filtered.error->message, Catch::EndsWith("(HTTP 400, code 1301)"));

  // 1113 arrives as 429 with Retry-After, but arrears do not go away by waiting.
  auto arrears = check_split_invariance(provider, req, load_response("zhipu/error_1113.http"));
  REQUIRE(arrears.error);
  CHECK(arrears.error->kind == ErrorKind::quota);
  CHECK_FALSE(arrears.error->retryable);
  CHECK(arrears.error->retry_after_ms == 30000);

  auto overloaded = check_split_invariance(provider, req, load_response("zhipu/error_1305.http"));
  REQUIRE(overloaded.error);
  CHECK(overloaded.error->kind == ErrorKind::rate_limit);
  CHECK(overloaded.error->retryable);
  CHECK(overloaded.error->retry_after_ms == 2000);

  auto told_not_to = check_split_invariance(provider, req, load_response("zhipu/error_1302_no_retry.http"));
  REQUIRE(told_not_to.error);
  CHECK(told_not_to.error->kind == ErrorKind::rate_limit);
  CHECK_FALSE(told_not_to.error->retryable);  // x-should-retry: false

  auto expired = run_stream(provider, req, load_response("zhipu/error_1003.http"));
  REQUIRE(expired.error);
  CHECK_FALSE(expired.error->refresh_credentials);  // raw key: a new request would not help
}

TEST_CASE("zhipu 1003 with a JWT asks for fresh credentials", "[zhipu][errors][jwt]") {
  TestContext ctx;
  int64_t now = 1700000000000;
  ZhipuProvider provider(zhipu_config("jwt"), ctx.context(), [&] { return now; });
  auto out = run_stream(provider, simple_request("zhipu", "glm-4"), load_response("zhipu/error_1003.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::auth);
  CHECK(out.error->refresh_credentials);

  // After invalidate_credentials() the next request carries a token made now, not the cached one.
  REQUIRE(prepare_now(provider, simple_request("zhipu", "glm-4")).ok());
  now += 1000;
  provider.invalidate_credentials();
  auto again = prepare_now(provider, simple_request("zhipu", "glm-4"));
  REQUIRE(again.ok());
  CHECK(request_headers(again.value(), "Authorization") ==
        std::vector<std::string>{"Bearer " + make_zhipu_jwt(kVectorKey, now).value()});
}

TEST_CASE("zhipu rejects out-of-range options naming the field and range", "[zhipu][validate]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  auto check = [&](auto mutate, const std::string& expected) {
    ChatRequest r = simple_request("zhipu", "glm-4.6");
    mutate(r);
    auto m = provider.validate(r);
    REQUIRE(m);
    CHECK(*m == expected);
  };
  check([](ChatRequest& r) { r.options.temperature = 1.5; }, "options.temperature: must be in [0, 1] for zhipu");
  check([](ChatRequest& r) { r.options.temperature = -0.1; }, "options.temperature: must be in [0, 1] for zhipu");
  check([](ChatRequest& r) { r.options.top_p = -0.1; }, "options.top_p: must be in [0, 1] for zhipu");
  check([](ChatRequest& r) { r.options.max_tokens = 0; }, "options.max_tokens: must be in [1, 131072] for zhipu");
  check([](ChatRequest& r) { r.options.max_tokens = 131073; }, "options.max_tokens: must be in [1, 131072] for zhipu");
  check([](ChatRequest& r) { r.options.stop = {"a", "b"}; }, "options.stop: at most 1 stop sequence for zhipu");
  check([](ChatRequest& r) { r.options.top_k = 5; }, "options.top_k: not supported by zhipu");
  check([](ChatRequest& r) { r.options.extra["do_sample"] = "no"; }, "options.do_sample: must be a boolean");
  check([](ChatRequest& r) { r.options.extra["user_id"] = "abc"; },
        "options.user_id: must be 6 to 128 characters for zhipu");
  check([](ChatRequest& r) { r.messages.clear(); }, "messages: must contain at least one message");
  check([](ChatRequest& r) { r.messages[0].role = "tool"; }, "messages[0].tool_call_id: required for a tool message");
  check([](ChatRequest& r) { r.messages[0].role = "robot"; },
        "messages[0].role: must be system, user, assistant or tool");
  check(
      [](ChatRequest& r) {
        r.messages[0].content = Json::array({Json{{"type", "audio"}}});
      },
      "messages[0].content[0].type: must be one of text, image_url, video_url, file_url");
  check(
      [](ChatRequest& r) {
        r.messages[0].content = Json::array({Json{{"type", "image_url"}}});
      },
      "messages[0].content[0].image_url.url: must be a string");

  ChatRequest edge = simple_request("zhipu", "glm-4.6");
  edge.options.temperature = 0;
  edge.options.top_p = 1;
  edge.options.max_tokens = 131072;
  edge.options.stop = {"END"};
  CHECK_FALSE(provider.validate(edge));
}
