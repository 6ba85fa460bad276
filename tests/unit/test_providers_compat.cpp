// DashScope OpenAI-compatible mode: request building, thinking streams with a final usage chunk,
// SSE-framed 400 bodies, DashScope-native `event:error` frames after a 200, the error-code table.
#include <cstdlib>

#include "provider_test_util.hpp"
#include "providers/dashscope_compat.hpp"

using namespace glm;
using namespace glm::test;

namespace {

ProviderConfig compat_config() {
  ProviderConfig c;
  c.name = "dashscope-compat";
  c.base_url = "https://dashscope.aliyuncs.com/compatible-mode/v1";
  c.api_key = "sk-test-0123";
  c.timeout_ms = 30000;
  c.proxy = "http://127.0.0.1:3128";
  return c;
}

RecordedResponse compat_error(int status, const std::string& code, const std::string& message) {
  RecordedResponse r;
  r.status = status;
  r.headers.emplace("content-type", "application/json");
  r.body =
      Json{{"error", {{"code", code}, {"message", message}, {"type", "invalid_request_error"}, {"param", nullptr}}},
           {"request_id", "rid-" + code}}
          .dump();
  return r;
}

}  // namespace

TEST_CASE("compat builds an OpenAI-style streaming request with top-level enable_thinking", "[compat]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  ChatRequest req = simple_request("dashscope-compat", "glm-4.6", "你是谁?");
  req.stream = false;  // GLM on Bailian is stream-only: the upstream request streams regardless
  req.options.temperature = 1.2;
  req.options.top_p = 0.95;
  req.options.top_k = 20;
  req.options.max_tokens = 4096;
  req.options.stop = {"<|user|>"};
  req.options.seed = 7;
  req.options.thinking = true;
  req.options.extra = {{"thinking_budget", 2048}, {"enable_search", false}, {"do_sample", true}};
  REQUIRE_FALSE(provider.validate(req));

  auto prepared = prepare_now(provider, req);
  REQUIRE(prepared.ok());
  const net::Request& r = prepared.value();
  CHECK(r.url == "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions");
  CHECK(request_headers(r, "Authorization") == std::vector<std::string>{"Bearer sk-test-0123"});
  CHECK(request_headers(r, "Content-Type") == std::vector<std::string>{"application/json"});
  // do_sample is Zhipu's, not sent here.
  CHECK(r.body == R"({"enable_search":false,"enable_thinking":true,"max_tokens":4096,)"
                  R"("messages":[{"content":"你是谁?","role":"user"}],"model":"glm-4.6","seed":7,"stop":["<|user|>"],)"
                  R"("stream":true,"stream_options":{"include_usage":true},"temperature":1.2,"thinking_budget":2048,)"
                  R"("top_k":20,"top_p":0.95})");
  // Transport settings come from the provider config.
  CHECK(r.options.proxy == "http://127.0.0.1:3128");
  CHECK(r.options.first_byte_timeout_ms == 30000);
  CHECK(r.options.idle_timeout_ms == 30000);
  CHECK(r.options.verify_tls);
}

TEST_CASE("compat keeps data: image URLs as they are and sends thinking off", "[compat]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  ChatRequest req = simple_request("dashscope-compat", "glm-4.5v");
  req.messages[0].content =
      Json::array({Json{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AA=="}}}}});
  req.options.thinking = false;
  auto prepared = prepare_now(provider, req);
  REQUIRE(prepared.ok());
  Json body = Json::parse(prepared.value().body);
  CHECK(body["messages"][0]["content"][0]["image_url"]["url"] == "data:image/png;base64,AA==");
  CHECK(body["enable_thinking"] == false);
}

TEST_CASE("compat stream: reasoning then content, usage from the final choices:[] chunk", "[compat][stream]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                    load_response("dashscope_compat/stream_thinking.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.reasoning == "嗯,用户问我是谁。");
  CHECK(out.content == "我是GLM大语言模型。");
  CHECK(out.deltas.size() == 5);  // null/empty phases are not forwarded
  CHECK(out.result.finish_reason == "stop");
  CHECK(out.result.model == "glm-4.6");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 7);
  CHECK(out.result.usage->output_tokens == 344);
  CHECK(out.result.usage->total_tokens == 351);
}

TEST_CASE("compat stream: no [DONE] after a finish_reason is still a complete answer", "[compat][stream]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                    load_response("dashscope_compat/stream_no_done.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "我是GLM大语言模型。");
  CHECK(out.result.finish_reason == "stop");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->total_tokens == 351);
}

TEST_CASE("compat: SSE-framed 400 body labelled application/json is a content_filter error", "[compat][errors]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                    load_response("dashscope_compat/error_400_sse_framed.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::content_filter);
  CHECK(out.error->http_status == 400);
  CHECK(out.error->upstream_code == "data_inspection_failed");
  CHECK(out.error->upstream_message == "Input data may contain inappropriate content.");
  CHECK(out.error->request_id == "ds-req-400");
  CHECK_FALSE(out.error->retryable);
  CHECK(out.error->message ==
        "dashscope-compat: blocked by the content filter: Input data may contain inappropriate content. "
        "(HTTP 400, code data_inspection_failed)");
}

TEST_CASE("compat: DashScope-native event:error frame after a 200 stream", "[compat][errors]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                    load_response("dashscope_compat/stream_midstream_error.http"));
  REQUIRE(out.error);
  // Throttling.AllocationQuota is the per-minute token limit (issue 10 item 2): a rate limit, not an
  // empty wallet. Not resent here only because text had already streamed.
  CHECK(out.error->kind == ErrorKind::rate_limit);
  CHECK_FALSE(out.error->retryable);
  CHECK(out.error->http_status == 429);  // from the `:HTTP_STATUS/429` comment
  CHECK(out.error->upstream_code == "Throttling.AllocationQuota");
  CHECK(out.error->request_id == "0f6d1e5a-2a1b-9c4e-a5c3-1b2f");
  CHECK(out.content == "第一段内容");  // the partial text stays with the driver

  auto throttled = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                          load_response("dashscope_compat/stream_throttled.http"));
  REQUIRE(throttled.error);
  CHECK(throttled.error->kind == ErrorKind::rate_limit);
  CHECK(throttled.error->retryable);  // nothing streamed yet: resending is safe
  CHECK(throttled.error->http_status == 429);
}

TEST_CASE("compat: recorded 401 and context-length errors", "[compat][errors]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto auth = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                     load_response("dashscope_compat/error_401.http"));
  REQUIRE(auth.error);
  CHECK(auth.error->kind == ErrorKind::auth);
  CHECK(auth.error->request_id == "b7e5a0c2-77a4-9e1f-b1e3-6f0e");
  CHECK(auth.error->message ==
        "dashscope-compat: authentication failed: Incorrect API key provided. (HTTP 401, code invalid_api_key)");

  auto too_long = check_split_invariance(provider, simple_request("dashscope-compat", "glm-4.6"),
                                         load_response("dashscope_compat/error_context_length.http"));
  REQUIRE(too_long.error);
  CHECK(too_long.error->kind == ErrorKind::context_length);
  CHECK_FALSE(too_long.error->retryable);
}

TEST_CASE("compat error codes map to kinds", "[compat][errors]") {
  struct Row {
    int status;
    const char* code;
    const char* message;
    ErrorKind kind;
    bool retryable;
  };
  const Row rows[] = {
      {401, "invalid_api_key", "Incorrect API key provided.", ErrorKind::auth, false},
      {400, "data_inspection_failed", "Input data may contain inappropriate content.", ErrorKind::content_filter,
       false},
      {400, "DataInspectionFailed", "Output data may contain inappropriate content.", ErrorKind::content_filter, false},
      {500, "internal_error",
       "<400> InternalError.Algo.DataInspectionFailed: Output data may contain inappropriate content.",
       ErrorKind::content_filter, false},
      {429, "Throttling", "Requests throttling triggered.", ErrorKind::rate_limit, true},
      {429, "Throttling.RateQuota", "Requests rate limit exceeded.", ErrorKind::rate_limit, true},
      {429, "Throttling.AllocationQuota", "Allocated quota exceeded.", ErrorKind::rate_limit, true},
      // The per-minute limit in OpenAI's words (issue 10 item 2): recovers within a minute.
      {429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.",
       ErrorKind::rate_limit, true},
      {403, "AllocationQuota.FreeTierOnly", "The free tier of the model has been exhausted.", ErrorKind::quota, false},
      {429, "insufficient_quota", "Free allocated quota exceeded.", ErrorKind::quota, false},
      {400, "Arrearage", "Access denied, please make sure your account is in good standing.", ErrorKind::quota, false},
      {400, "invalid_parameter_error", "Range of input length should be [1, 129024]", ErrorKind::context_length, false},
      {404, "model_not_found", "The model `glm-9` does not exist.", ErrorKind::invalid_request, false},
      {403, "AccessDenied.Unpurchased", "Access to model denied.", ErrorKind::auth, false},
      {400, "InvalidParameter.NotSupportEnableThinking", "enable_thinking not supported", ErrorKind::invalid_request,
       false},
      {500, "InternalError", "Internal server error", ErrorKind::server, true},
  };
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  for (const Row& row : rows) {
    INFO("code " << row.code);
    auto out = run_stream(provider, simple_request("dashscope-compat", "glm-4.6"),
                          compat_error(row.status, row.code, row.message));
    REQUIRE(out.error);
    CHECK(out.error->kind == row.kind);
    CHECK(out.error->retryable == row.retryable);
    CHECK(out.error->upstream_code == row.code);
    CHECK(out.error->request_id == std::string("rid-") + row.code);
  }
}

TEST_CASE("compat rejects out-of-range options", "[compat][validate]") {
  TestContext ctx;
  DashScopeCompatProvider provider(compat_config(), ctx.context());
  auto check = [&](auto mutate, const std::string& expected) {
    ChatRequest r = simple_request("dashscope-compat", "glm-4.6");
    mutate(r);
    auto m = provider.validate(r);
    REQUIRE(m);
    CHECK(*m == expected);
  };
  check([](ChatRequest& r) { r.options.temperature = 2; },
        "options.temperature: must be in [0, 2) for dashscope-compat");
  check([](ChatRequest& r) { r.options.top_p = 0; }, "options.top_p: must be in (0, 1] for dashscope-compat");
  check([](ChatRequest& r) { r.options.top_p = 1.01; }, "options.top_p: must be in (0, 1] for dashscope-compat");
  check([](ChatRequest& r) { r.options.top_k = -1; }, "options.top_k: must be at least 0 for dashscope-compat");
  check([](ChatRequest& r) { r.options.max_tokens = 0; },
        "options.max_tokens: must be at least 1 for dashscope-compat");
  check([](ChatRequest& r) { r.options.seed = -1; }, "options.seed: must be in [0, 2147483647] for dashscope-compat");
  check([](ChatRequest& r) { r.options.extra["thinking_budget"] = 0; },
        "options.thinking_budget: must be at least 1 for dashscope-compat");
  check([](ChatRequest& r) { r.options.extra["thinking_budget"] = "lots"; },
        "options.thinking_budget: must be an integer");
  check([](ChatRequest& r) { r.options.extra["enable_search"] = 1; }, "options.enable_search: must be a boolean");
  check([](ChatRequest& r) { r.options.extra["presence_penalty"] = 2.5; },
        "options.presence_penalty: must be in [-2, 2] for dashscope-compat");
  check(
      [](ChatRequest& r) {
        r.messages[0].content = Json::array({Json{{"type", "video_url"}, {"video_url", {{"url", "x"}}}}});
      },
      "messages[0].content[0].type: must be one of text, image_url");

  ChatRequest edge = simple_request("dashscope-compat", "glm-4.6");
  edge.options.temperature = 1.99;
  edge.options.top_p = 1;
  edge.options.top_k = 0;
  CHECK_FALSE(provider.validate(edge));
}
