// Qianfan v2 (kind qianfan-v2): request shape, streams and errors on fixtures written from Baidu's
// "对话Chat V2" reference and its error-code table (tests/fixtures/qianfan_v2).
#include <catch2/catch.hpp>

#include "provider_test_util.hpp"
#include "providers/qianfan_v2.hpp"
#include "providers/registry.hpp"

using namespace glm;
using namespace glm::test;

namespace {

ProviderConfig v2_config() {
  ProviderConfig c;
  c.name = "qianfan-v2";
  c.kind = "qianfan-v2";
  c.base_url = "https://qianfan.baidubce.com/v2";
  c.api_key = "bce-v3/ALTAK-test/0123456789abcdef";
  return c;
}

std::unique_ptr<Provider> make(const ProviderConfig& c, TestContext& ctx) {
  auto p = make_provider(c, ctx.context());
  REQUIRE(p);
  return p;
}

}  // namespace

TEST_CASE("qianfan-v2: built-in instance, OpenAI-compatible endpoint, Bearer API key, optional appid", "[qianfan-v2]") {
  Config cfg = Config::defaults(provider_kinds());
  const ProviderConfig& inst = cfg.providers.at("qianfan-v2");
  CHECK(inst.kind == "qianfan-v2");
  CHECK(inst.base_url == "https://qianfan.baidubce.com/v2");
  CHECK(inst.api_key_env == "QIANFAN_API_KEY");
  CHECK(cfg.providers.at("qianfan").kind == "qianfan");  // v1 untouched

  TestContext ctx;
  ProviderConfig c = v2_config();
  c.extra["appid"] = "app-Mu3xq6";
  auto p = make(c, ctx);
  ChatRequest req = simple_request("qianfan-v2", "ernie-4.5-turbo-128k", "你好");
  auto r = prepare_now(*p, req);
  REQUIRE(r.ok());
  CHECK(r.value().url == "https://qianfan.baidubce.com/v2/chat/completions");
  CHECK(request_headers(r.value(), "Authorization") ==
        std::vector<std::string>{"Bearer bce-v3/ALTAK-test/0123456789abcdef"});
  CHECK(request_headers(r.value(), "appid") == std::vector<std::string>{"app-Mu3xq6"});
  Json body = Json::parse(r.value().body);
  CHECK(body["model"] == "ernie-4.5-turbo-128k");
  CHECK(body["stream_options"]["include_usage"] == true);

  // No appid configured: no header. A bad one is refused before anything is sent.
  auto plain = make(v2_config(), ctx);
  CHECK(request_headers(prepare_now(*plain, req).value(), "appid").empty());
  ProviderConfig bad = v2_config();
  bad.extra["appid"] = "app\r\nX-Evil: 1";
  auto evil = prepare_now(*make(bad, ctx), req);
  REQUIRE_FALSE(evil.ok());
  CHECK(evil.error().message.find("appid") != std::string::npos);
}

TEST_CASE("qianfan-v2: system messages first, joined; options mapped and ranges enforced", "[qianfan-v2]") {
  TestContext ctx;
  auto p = make(v2_config(), ctx);
  ChatRequest req = simple_request("qianfan-v2", "ernie-4.5-turbo-128k", "q2");
  req.messages = {Message{"user", "q1"}, Message{"system", "be brief"}, Message{"assistant", "a1"},
                  Message{"system", "answer in Chinese"}, Message{"user", "q2"}};
  req.options.temperature = 0.8;
  req.options.stop = {"END", "停"};
  req.options.seed = 42;
  req.options.thinking = true;
  req.options.extra = {{"penalty_score", 1.2}, {"web_search", {{"enable", true}}}, {"unknown_key", 1}};
  REQUIRE_FALSE(p->validate(req));
  Json body = Json::parse(prepare_now(*p, req).value().body);
  CHECK(body["messages"] == Json::parse(R"([{"role":"system","content":"be brief\n\nanswer in Chinese"},
    {"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}])"));
  CHECK(body["temperature"] == 0.8);
  CHECK(body["stop"] == Json::array({"END", "停"}));
  CHECK(body["seed"] == 42);
  CHECK(body["enable_thinking"] == true);
  CHECK(body["penalty_score"] == 1.2);
  CHECK(body["web_search"]["enable"] == true);
  CHECK_FALSE(body.contains("unknown_key"));

  auto check = [&](auto mutate, const std::string& expected) {
    ChatRequest r = simple_request("qianfan-v2", "ernie-4.5-turbo-128k");
    mutate(r);
    auto m = p->validate(r);
    REQUIRE(m);
    CHECK(*m == expected);
  };
  check([](ChatRequest& r) { r.options.extra["penalty_score"] = 2.5; },
        "options.penalty_score: must be in [1, 2] for qianfan-v2");
  check(
      [](ChatRequest& r) {
        r.options.stop = {"a", "b", "c", "d", "e"};
      },
      "options.stop: at most 4 stop sequences for qianfan-v2");
  check([](ChatRequest& r) { r.options.stop = {"这是一个超过二十个字符长度的停止词真的很长很长"}; },
        "options.stop[0]: must be 1 to 20 characters for qianfan-v2");
  check([](ChatRequest& r) { r.options.seed = 0; }, "options.seed: must be in (0, 2147483647) for qianfan-v2");
  check([](ChatRequest& r) { r.options.extra["thinking_budget"] = 50; },
        "options.thinking_budget: must be at least 100 for qianfan-v2");
  check([](ChatRequest& r) { r.options.top_p = 1.5; }, "options.top_p: must be in [0, 1] for qianfan-v2");
}

TEST_CASE("qianfan-v2: streams (text, thinking, non-stream) at every split", "[qianfan-v2]") {
  TestContext ctx;
  auto p = make(v2_config(), ctx);
  auto req = simple_request("qianfan-v2", "ernie-4.5-turbo-128k");
  auto out = check_split_invariance(*p, req, load_response("qianfan_v2/stream_basic.http"));
  REQUIRE(out.done);
  CHECK(out.content == "你好！有什么可以帮你的吗？");
  CHECK(out.result.finish_reason == "stop");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->total_tokens == 21);  // from the choices:[] usage chunk

  auto think = check_split_invariance(*p, req, load_response("qianfan_v2/stream_thinking.http"));
  CHECK(think.reasoning == "用户问的是1+1,答案是2。");
  CHECK(think.content == "1+1=2");

  auto whole = run_stream(*p, req, load_response("qianfan_v2/nonstream.http"));
  REQUIRE(whole.done);
  CHECK(whole.content == "你好！很高兴和你交流。请问有什么我可以帮助你的吗？");
  CHECK(whole.result.model == "deepseek-v3.1-250821");
}

TEST_CASE("qianfan-v2: error envelopes map to kinds by code", "[qianfan-v2]") {
  TestContext ctx;
  auto p = make(v2_config(), ctx);
  auto req = simple_request("qianfan-v2", "ernie-4.5-turbo-128k");
  struct Row {
    const char* fixture;
    ErrorKind kind;
    bool retryable;
    const char* code;
  };
  const Row rows[] = {
      {"qianfan_v2/error_401.http", ErrorKind::auth, false, "invalid_iam_token"},
      {"qianfan_v2/error_429_rpm.http", ErrorKind::rate_limit, true, "rpm_rate_limit_exceeded"},
      {"qianfan_v2/error_400_tokens_too_long.http", ErrorKind::context_length, false, "tokens_too_long"},
      {"qianfan_v2/error_400_malformed_json.http", ErrorKind::invalid_request, false, "malformed_json"},
  };
  for (const Row& row : rows) {
    INFO(row.fixture);
    auto out = check_split_invariance(*p, req, load_response(row.fixture));
    REQUIRE(out.error);
    CHECK(out.error->kind == row.kind);
    CHECK(out.error->retryable == row.retryable);
    CHECK(out.error->upstream_code == row.code);
    CHECK(out.error->message.rfind("qianfan-v2: ", 0) == 0);
  }
  auto unsafe = check_split_invariance(*p, req, load_response("qianfan_v2/stream_midstream_unsafe.http"));
  REQUIRE(unsafe.error);
  CHECK(unsafe.error->kind == ErrorKind::content_filter);
  CHECK(unsafe.content == "关于这个问题");
}
