// Generic OpenAI-compatible provider (vLLM, Ollama, ...): keyless and keyed requests, thinking
// mapping by config, streams and non-stream bodies, OpenAI/vLLM error envelopes, non-JSON error
// pages. Also the shared pieces every provider relies on: Retry-After parsing, the provider table,
// stream limits.
#include <cstdlib>

#include "provider_test_util.hpp"
#include "providers/openai.hpp"
#include "providers/provider_common.hpp"
#include "providers/registry.hpp"

using namespace glm;
using namespace glm::test;

namespace {

ProviderConfig openai_config() {
  ProviderConfig c;
  c.name = "openai";
  c.base_url = "http://127.0.0.1:8000/v1";
  c.api_key_env = "GLM_TEST_OPENAI_KEY_THAT_IS_NOT_SET";
  ::unsetenv(c.api_key_env.c_str());
  return c;
}

}  // namespace

TEST_CASE("openai without a configured key sends no Authorization header", "[openai]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  ChatRequest req = simple_request("openai", "THUDM/glm-4-9b-chat", "Capital of France?");
  req.options.temperature = 0.2;
  req.options.top_k = 40;
  req.options.extra = {{"frequency_penalty", 0.5}, {"min_p", 0.05}, {"enable_search", true}};
  REQUIRE_FALSE(provider.validate(req));
  auto prepared = prepare_now(provider, req);
  REQUIRE(prepared.ok());
  const net::Request& r = prepared.value();
  CHECK(r.url == "http://127.0.0.1:8000/v1/chat/completions");
  CHECK(request_headers(r, "Authorization").empty());
  CHECK(request_headers(r, "Content-Type") == std::vector<std::string>{"application/json"});
  CHECK(
      r.body ==
      R"({"frequency_penalty":0.5,"messages":[{"content":"Capital of France?","role":"user"}],"min_p":0.05,)"
      R"("model":"THUDM/glm-4-9b-chat","stream":true,"stream_options":{"include_usage":true},"temperature":0.2,"top_k":40})");
}

TEST_CASE("openai with a key from the environment sends it as Bearer", "[openai]") {
  TestContext ctx;
  ProviderConfig c = openai_config();
  c.api_key_env = "GLM_TEST_OPENAI_KEY_SET";
  ::setenv("GLM_TEST_OPENAI_KEY_SET", "sk-local-42", 1);
  OpenAiProvider provider(c, ctx.context());
  auto prepared = prepare_now(provider, simple_request("openai", "m"));
  ::unsetenv("GLM_TEST_OPENAI_KEY_SET");
  REQUIRE(prepared.ok());
  CHECK(request_headers(prepared.value(), "Authorization") == std::vector<std::string>{"Bearer sk-local-42"});

  // A key command that fails is an auth error, not a keyless request. The command runs off the
  // loop: prepare() answers once the loop has seen it finish.
  ProviderConfig bad = openai_config();
  bad.api_key_cmd = {"false"};
  OpenAiProvider failing(bad, ctx.context());
  std::optional<Result<net::Request>> got;
  failing.prepare(simple_request("openai", "m"), [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  CHECK_FALSE(got.has_value());
  ctx.io.run_for(std::chrono::seconds(5));
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->ok());
  CHECK(got->error().kind == ErrorKind::auth);
}

TEST_CASE("openai thinking needs a configured mapping", "[openai][validate]") {
  TestContext ctx;
  ChatRequest req = simple_request("openai", "glm-4.5-air");
  req.options.thinking = false;

  OpenAiProvider plain(openai_config(), ctx.context());
  auto m = plain.validate(req);
  REQUIRE(m);
  CHECK_THAT(*m, Catch::StartsWith("options.thinking: not supported by openai unless providers.openai.thinking_param"));

  ProviderConfig c = openai_config();
  c.extra = {{"thinking_param", "chat_template_kwargs"}, {"include_usage", false}};
  OpenAiProvider vllm(c, ctx.context());
  REQUIRE_FALSE(vllm.validate(req));
  auto prepared = prepare_now(vllm, req);
  REQUIRE(prepared.ok());
  CHECK(prepared.value().body ==
        R"({"chat_template_kwargs":{"enable_thinking":false},"messages":[{"content":"你好","role":"user"}],)"
        R"("model":"glm-4.5-air","stream":true})");

  c.extra = {{"thinking_param", "thinking"}};
  OpenAiProvider zhipu_style(c, ctx.context());
  req.options.thinking = true;
  req.stream = false;
  CHECK(zhipu_style.build_body(req) ==
        Json::parse(R"({"messages":[{"content":"你好","role":"user"}],"model":"glm-4.5-air","stream":false,)"
                    R"("thinking":{"type":"enabled"}})"));
}

TEST_CASE("openai stream from vLLM: reasoning, content, usage chunk", "[openai][stream]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("openai", "glm"), load_response("openai/stream_vllm.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.reasoning == "Short answer.");
  CHECK(out.content == "Paris is the capital of France.");
  CHECK(out.result.finish_reason == "stop");
  CHECK(out.result.model == "THUDM/glm-4-9b-chat");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 14);
  CHECK(out.result.usage->output_tokens == 10);
  CHECK(out.result.usage->total_tokens == 24);
}

TEST_CASE("openai non-stream JSON response", "[openai][stream]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto out =
      check_split_invariance(provider, simple_request("openai", "glm4:9b"), load_response("openai/nonstream.http"));
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "Hello! How can I help?");
  CHECK(out.result.finish_reason == "stop");
  CHECK(out.result.model == "glm4:9b");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->total_tokens == 16);
}

TEST_CASE("openai error envelopes", "[openai][errors]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto req = simple_request("openai", "glm");

  auto auth = check_split_invariance(provider, req, load_response("openai/error_401.http"));
  REQUIRE(auth.error);
  CHECK(auth.error->kind == ErrorKind::auth);
  CHECK(auth.error->upstream_code == "invalid_api_key");
  CHECK_FALSE(auth.error->retryable);

  auto limited = check_split_invariance(provider, req, load_response("openai/error_429.http"));
  REQUIRE(limited.error);
  CHECK(limited.error->kind == ErrorKind::rate_limit);
  CHECK(limited.error->retryable);
  CHECK(limited.error->retry_after_ms == 20000);
  CHECK(limited.error->request_id == "req_abc123");

  auto context = check_split_invariance(provider, req, load_response("openai/error_400_vllm_context.http"));
  REQUIRE(context.error);
  CHECK(context.error->kind == ErrorKind::context_length);
  CHECK(context.error->upstream_code == "400");
  CHECK_THAT(context.error->upstream_message, Catch::StartsWith("This model's maximum context length is 8192"));

  // A proxy's HTML page: the status decides, the message quotes a readable excerpt.
  auto html = check_split_invariance(provider, req, load_response("openai/error_502_html.http"));
  REQUIRE(html.error);
  CHECK(html.error->kind == ErrorKind::server);
  CHECK(html.error->retryable);
  CHECK(html.error->http_status == 502);
  CHECK_THAT(html.error->message, Catch::StartsWith("openai: server error: <html> <head><title>502 Bad Gateway"));

  struct Row {
    int status;
    const char* body;
    ErrorKind kind;
    bool retryable;
  };
  const Row rows[] = {
      {429,
       R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}})",
       ErrorKind::quota, false},
      {400, R"({"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}})",
       ErrorKind::context_length, false},
      {400, R"({"error":{"message":"flagged","type":"invalid_request_error","code":"content_filter"}})",
       ErrorKind::content_filter, false},
      {404,
       R"({"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}})",
       ErrorKind::invalid_request, false},
      {404, R"({"detail":"Not Found"})", ErrorKind::invalid_request, false},  // FastAPI (ChatGLM API demo)
      {503, R"({"error":"model is loading"})", ErrorKind::server, true},      // Ollama-style string error
      {408, "", ErrorKind::timeout, true},
      {403, "forbidden", ErrorKind::auth, false},
  };
  for (const Row& row : rows) {
    INFO(row.body);
    RecordedResponse r{row.status, {{"content-type", "application/json"}}, row.body};
    auto out = run_stream(provider, req, r);
    REQUIRE(out.error);
    CHECK(out.error->kind == row.kind);
    CHECK(out.error->retryable == row.retryable);
    CHECK(out.error->http_status == row.status);
    CHECK_FALSE(out.error->message.empty());
  }
}

TEST_CASE("openai mid-stream data {error} frame from vLLM", "[openai][errors]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto out = check_split_invariance(provider, simple_request("openai", "glm"),
                                    load_response("openai/stream_midstream_error.http"));
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::server);
  CHECK_FALSE(out.error->retryable);  // "Par" already went out
  CHECK(out.error->upstream_message == "CUDA out of memory");
  CHECK(out.content == "Par");
}

TEST_CASE("a 200 JSON body that is an error is reported as one", "[openai][errors]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  RecordedResponse r{200,
                     {{"content-type", "text/event-stream"}},
                     "  \n{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}}"};
  auto out = check_split_invariance(provider, simple_request("openai", "glm"), r);
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::rate_limit);
  CHECK(out.error->upstream_message == "slow down");

  RecordedResponse junk{200, {{"content-type", "application/json"}}, "{\"choices\": [ oops"};
  auto bad = run_stream(provider, simple_request("openai", "glm"), junk);
  REQUIRE(bad.error);
  CHECK(bad.error->kind == ErrorKind::protocol);

  RecordedResponse no_choices{200, {{"content-type", "application/json"}}, "{\"id\":\"x\"}"};
  auto odd = run_stream(provider, simple_request("openai", "glm"), no_choices);
  REQUIRE(odd.error);
  CHECK(odd.error->kind == ErrorKind::protocol);
}

TEST_CASE("an event larger than the limit is a protocol error", "[openai][stream]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  ChatResult result;
  CollectingSink sink;
  SseChatStream::Limits limits;
  limits.max_event_bytes = 1024;
  OpenAiLikeDecoder stream(OpenAiLikeDialect{"openai", classify_openai_error}, result, sink, limits);
  stream.on_head(200, {});
  stream.on_body("data: {\"choices\":[{\"delta\":{\"content\":\"" + std::string(4096, 'a'));
  REQUIRE(stream.error());
  CHECK(stream.error()->kind == ErrorKind::protocol);
  CHECK(sink.content.empty());
}

TEST_CASE("openai rejects out-of-range options", "[openai][validate]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto check = [&](auto mutate, const std::string& expected) {
    ChatRequest r = simple_request("openai", "m");
    mutate(r);
    auto m = provider.validate(r);
    REQUIRE(m);
    CHECK(*m == expected);
  };
  check([](ChatRequest& r) { r.options.temperature = 2.5; }, "options.temperature: must be in [0, 2] for openai");
  check([](ChatRequest& r) { r.options.top_p = -0.5; }, "options.top_p: must be in [0, 1] for openai");
  check([](ChatRequest& r) { r.options.max_tokens = -3; }, "options.max_tokens: must be at least 1 for openai");
  check([](ChatRequest& r) { r.options.extra["frequency_penalty"] = 3; },
        "options.frequency_penalty: must be in [-2, 2] for openai");
  check([](ChatRequest& r) { r.options.extra["user"] = 5; }, "options.user: must be a string");
}

TEST_CASE("Retry-After: seconds and HTTP dates", "[common]") {
  using namespace std::chrono;
  // 1994-11-06T08:49:37Z
  const system_clock::time_point now = system_clock::time_point(seconds(784111777));
  CHECK(parse_retry_after("120", now) == 120000);
  CHECK(parse_retry_after(" 1.5 ", now) == 1500);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10000);   // IMF-fixdate
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now) == 60000);  // RFC 850
  CHECK(parse_retry_after("Sun Nov  6 08:49:40 1994", now) == 3000);         // asctime
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0);       // in the past
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("12abc", now));
  CHECK_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:49:47 GMT", now));
}

TEST_CASE("format_number and ranges read the way people write them", "[common]") {
  CHECK(format_number(0.01) == "0.01");
  CHECK(format_number(131072) == "131072");
  CHECK(format_number(-2) == "-2");
  CHECK(Range{0, 2, false, true}.text() == "[0, 2)");
  CHECK(Range{0, 1, true, false}.text() == "(0, 1]");
  CHECK_FALSE(Range{0, 1}.contains(std::nan("")));
}

TEST_CASE("make_provider knows the providers by name", "[registry]") {
  TestContext ctx;
  for (const char* name : {"zhipu", "dashscope-compat", "openai"}) {
    ProviderConfig c = openai_config();
    c.name = name;
    auto p = make_provider(c, ctx.context());
    REQUIRE(p);
    CHECK(p->name() == name);
  }
  ProviderConfig unknown = openai_config();
  unknown.name = "nonesuch";
  CHECK_FALSE(make_provider(unknown, ctx.context()));
}
