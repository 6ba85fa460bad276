// How SseChatStream routes what the SSE parser reports: an upstream event that happens to be named
// `raw` is a stream event (which an OpenAI-style stream ignores), never mistaken for a whole
// non-streaming JSON body; a bare JSON body still is one.
#include "provider_test_util.hpp"
#include "providers/zhipu.hpp"

using namespace glm;
using namespace glm::test;

namespace {

ProviderConfig zhipu_config() {
  ProviderConfig c;
  c.name = "zhipu";
  c.base_url = "https://open.bigmodel.cn/api/paas/v4";
  c.api_key = "id.secret";
  return c;
}

std::string chunk(const std::string& content, const std::string& finish = "") {
  std::string j =
      R"({"id":"1","created":1,"model":"glm-4","choices":[{"index":0,"delta":{"content":")" + content + R"("})";
  if (!finish.empty()) j += R"(,"finish_reason":")" + finish + R"(")";
  return j + "}]}";
}

}  // namespace

// Regression (issue 11): the parser reported a non-SSE body as an event of type "raw", so this
// stream ended at its first event with the text "IGNORED" as if it were the whole reply.
TEST_CASE("an upstream `event: raw` is not taken for a whole JSON body", "[providers][sse][raw]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  RecordedResponse r;
  r.status = 200;
  r.headers.emplace("content-type", "text/event-stream");
  r.body =
      "event: raw\n"
      R"(data: {"id":"1","created":1,"model":"glm-4","choices":[{"index":0,"message":{"role":"assistant","content":"IGNORED"},"finish_reason":"stop"}]})"
      "\n\n"
      "data: " +
      chunk("Hello") + "\n\n" + "data: " + chunk(", world", "stop") + "\n\n" + "data: [DONE]\n\n";
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4"), r);
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "Hello, world");
  CHECK(out.deltas.size() == 2);
  CHECK(out.result.finish_reason == "stop");
}

TEST_CASE("a bare JSON body under text/event-stream is still read as the whole response", "[providers][sse][raw]") {
  TestContext ctx;
  ZhipuProvider provider(zhipu_config(), ctx.context());
  RecordedResponse r;
  r.status = 200;
  r.headers.emplace("content-type", "text/event-stream");
  r.body =
      R"({"id":"1","created":1,"model":"glm-4","choices":[{"index":0,"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}]})";
  auto out = check_split_invariance(provider, simple_request("zhipu", "glm-4"), r);
  CHECK_FALSE(out.error);
  CHECK(out.done);
  CHECK(out.content == "whole");
  CHECK(out.result.finish_reason == "stop");
}
