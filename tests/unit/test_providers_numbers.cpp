// Untrusted upstream numbers (issue 11 defect 12): values beyond int64 in usage, token lifetimes and
// timestamps saturate instead of being undefined behaviour (float→int64 casts of values >= 2^63,
// signed overflow in usage sums). The ASan+UBSan build aborts on the old code.
#include <catch2/catch.hpp>

#include <limits>

#include "provider_test_util.hpp"
#include "providers/openai.hpp"
#include "providers/provider_common.hpp"
#include "providers/qianfan.hpp"

using namespace glm;
using namespace glm::test;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

RecordedResponse sse_response(const std::string& body) {
  RecordedResponse r;
  r.status = 200;
  r.headers.emplace("content-type", "text/event-stream");
  r.body = body;
  return r;
}

ProviderConfig openai_config() {
  ProviderConfig c;
  c.name = "openai";
  c.kind = "openai";
  c.base_url = "http://127.0.0.1:9/v1";
  return c;
}

}  // namespace

TEST_CASE("saturating conversions and sums", "[numbers]") {
  CHECK(saturate_to_int64(1e19) == kMax);
  CHECK(saturate_to_int64(9223372036854775808.0) == kMax);
  CHECK(saturate_to_int64(-1e300) == kMin);
  CHECK(saturate_to_int64(12.9) == 12);
  CHECK(saturate_to_int64(std::nan("")) == 0);
  CHECK(json_to_int64(Json::parse("18446744073709551615")) == kMax);
  CHECK(json_to_int64(Json("x"), 7) == 7);
  CHECK(saturating_add(kMax, 1) == kMax);
  CHECK(saturating_add(kMin, -1) == kMin);
  CHECK(saturating_add(2, 3) == 5);
  CHECK(saturating_sub(kMax, -5) == kMax);
  CHECK(saturating_sub(kMin, 5) == kMin);
}

TEST_CASE("usage numbers beyond int64 saturate on both the SAX and the DOM path", "[numbers]") {
  TestContext ctx;
  OpenAiProvider provider(openai_config(), ctx.context());
  auto req = simple_request("openai", "m");
  const std::string body =
      "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"created\":1e19,"
      "\"usage\":{\"prompt_tokens\":1e19,\"completion_tokens\":9223372036854775807}}\n\n"
      "data: [DONE]\n\n";
  for (bool fast : {true, false}) {
    INFO("fast path " << fast);
    OpenAiLikeDecoder::set_fast_path_for_testing(fast);
    auto out = run_stream(provider, req, sse_response(body));
    OpenAiLikeDecoder::set_fast_path_for_testing(true);
    REQUIRE(out.done);
    REQUIRE(out.result.usage);
    CHECK(out.result.usage->input_tokens == kMax);
    CHECK(out.result.usage->output_tokens == kMax);
    CHECK(out.result.usage->total_tokens == kMax);  // the sum saturates instead of overflowing
  }
  auto unsigned_big = run_stream(
      provider, req,
      sse_response("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],"
                   "\"usage\":{\"prompt_tokens\":18446744073709551615,\"completion_tokens\":-9223372036854775808}}\n\n"
                   "data: [DONE]\n\n"));
  REQUIRE(unsigned_big.result.usage);
  CHECK(unsigned_big.result.usage->input_tokens == kMax);  // not wrapped to -1
  CHECK(unsigned_big.result.usage->total_tokens == -1);    // kMax + kMin
  auto parsed = parse_openai_usage(Json::parse(R"({"input_tokens": -1e300, "output_tokens": -9223372036854775808})"));
  REQUIRE(parsed);
  CHECK(parsed->total_tokens == kMin);
}

TEST_CASE("qianfan: huge usage and token lifetimes saturate or are clamped", "[numbers]") {
  auto token = parse_qianfan_token(200, R"({"access_token":"24.t","expires_in":1e19})");
  REQUIRE(token);
  CHECK(token.value().expires_in_s == 2592000);
  auto negative = parse_qianfan_token(200, R"({"access_token":"24.t","expires_in":-1e300})");
  REQUIRE(negative);
  CHECK(negative.value().expires_in_s == 0);

  ProviderConfig c;
  c.name = "qianfan";
  c.kind = "qianfan";
  c.base_url = "http://127.0.0.1:9";
  TestContext ctx;
  QianfanProvider provider(c, ctx.context());
  auto out = run_stream(provider, simple_request("qianfan", "chatglm2_6b_32k"),
                        sse_response("data: {\"result\":\"hi\",\"is_end\":true,\"created\":1e19,\"usage\":"
                                     "{\"prompt_tokens\":-9223372036854775808,\"completion_tokens\":1,"
                                     "\"total_tokens\":1e30}}\n\n"));
  REQUIRE(out.done);
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->total_tokens == kMax);
  CHECK(out.result.usage->input_tokens == kMin);
  CHECK(out.result.usage->output_tokens == kMax);  // total - input saturates

  // input + output is saturated too (found by fuzz_provider_qianfan: 5 + INT64_MAX overflowed; UB).
  auto big = run_stream(provider, simple_request("qianfan", "chatglm2_6b_32k"),
                        sse_response("data: {\"result\":\"hi\",\"is_end\":true,\"usage\":"
                                     "{\"prompt_tokens\":5,\"completion_tokens\":218446744073709551615,"
                                     "\"total_tokens\":7}}\n\n"));
  REQUIRE(big.done);
  REQUIRE(big.result.usage);
  CHECK(big.result.usage->output_tokens == kMax);
  CHECK(big.result.usage->total_tokens == kMax);
}
