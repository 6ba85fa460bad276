// The SAX fast path of OpenAiLikeDecoder (stream chunks read without building a JSON DOM) against
// the DOM path it stands in for: every recorded zhipu / dashscope-compat / openai response, fed whole
// and a byte at a time, must give the same deltas, text, finish reason, usage, model, error and done
// flag with the fast path on and forced off; then hand-written chunks for the shapes the scanner has
// to get right (null members, nesting it must skip, escapes, float usage, repeated keys, errors).
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "provider_test_util.hpp"
#include "providers/dashscope_compat.hpp"
#include "providers/openai.hpp"
#include "providers/openai_like.hpp"
#include "providers/zhipu.hpp"

using namespace glm;
using namespace glm::test;

namespace {

// Restores the fast path whatever a test does.
struct FastPath {
  explicit FastPath(bool enabled) { OpenAiLikeDecoder::set_fast_path_for_testing(enabled); }
  ~FastPath() { OpenAiLikeDecoder::set_fast_path_for_testing(true); }
};

ProviderConfig config_for(const std::string& name) {
  ProviderConfig c;
  c.name = name;
  c.base_url = "http://127.0.0.1:9/v1";
  c.api_key = "sk-test-0123";
  return c;
}

std::unique_ptr<Provider> provider_for(const std::string& dir, TestContext& ctx) {
  if (dir == "zhipu") return std::make_unique<ZhipuProvider>(config_for("zhipu"), ctx.context());
  if (dir == "dashscope_compat")
    return std::make_unique<DashScopeCompatProvider>(config_for("dashscope-compat"), ctx.context());
  return std::make_unique<OpenAiProvider>(config_for("openai"), ctx.context());
}

ChatRequest request_for(const std::string& dir) {
  if (dir == "zhipu") return simple_request("zhipu", "glm-4.6");
  if (dir == "dashscope_compat") return simple_request("dashscope-compat", "glm-4.6");
  return simple_request("openai", "THUDM/glm-4-9b-chat");
}

// Runs `feed` with the fast path on and off; both must agree delta by delta. Returns the fast one.
StreamOutcome same_both_ways(const std::function<StreamOutcome()>& feed) {
  StreamOutcome dom;
  {
    FastPath off(false);
    dom = feed();
  }
  StreamOutcome fast = feed();
  CHECK(fast.summary() == dom.summary());
  CHECK(fast.deltas == dom.deltas);
  return fast;
}

// An OpenAI-provider 200 SSE response with one `data:` event per entry, then `data: [DONE]`.
RecordedResponse sse_of(const std::vector<std::string>& datas, bool done = true) {
  RecordedResponse r;
  r.headers.emplace("content-type", "text/event-stream");
  for (const auto& d : datas) r.body += "data: " + d + "\n\n";
  if (done) r.body += "data: [DONE]\n\n";
  return r;
}

// Feeds `datas` to the openai provider both ways (whole body) and returns the fast outcome.
StreamOutcome chunks(const std::vector<std::string>& datas, bool done = true) {
  TestContext ctx;
  OpenAiProvider provider(config_for("openai"), ctx.context());
  ChatRequest req = simple_request("openai", "m");
  RecordedResponse response = sse_of(datas, done);
  return same_both_ways([&] { return run_stream(provider, req, response); });
}

// How many chunks of `datas` the fast path decoded (the rest went to the DOM).
size_t fast_chunks(const std::vector<std::string>& datas) {
  size_t before = OpenAiLikeDecoder::fast_path_chunks_for_testing();
  TestContext ctx;
  OpenAiProvider provider(config_for("openai"), ctx.context());
  run_stream(provider, simple_request("openai", "m"), sse_of(datas));
  return OpenAiLikeDecoder::fast_path_chunks_for_testing() - before;
}

const std::string kStop = R"({"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})";

}  // namespace

TEST_CASE("every recorded stream decodes the same with and without the fast path", "[fastpath]") {
  namespace fs = std::filesystem;
  size_t files = 0;
  size_t with_text = 0;
  size_t fast_before = OpenAiLikeDecoder::fast_path_chunks_for_testing();
  for (std::string dir : {"zhipu", "dashscope_compat", "openai"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(GLM_FIXTURES_DIR) / dir)) {
      if (entry.path().extension() != ".http") continue;
      std::string name = dir + "/" + entry.path().filename().string();
      INFO(name);
      TestContext ctx;
      auto provider = provider_for(dir, ctx);
      ChatRequest req = request_for(dir);
      RecordedResponse response = load_response(name);
      StreamOutcome whole = same_both_ways([&] { return run_stream(*provider, req, response); });
      StreamOutcome bytewise = same_both_ways([&] { return run_stream_bytewise(*provider, req, response); });
      CHECK(bytewise.summary() == whole.summary());
      ++files;
      if (!whole.content.empty() || !whole.reasoning.empty()) ++with_text;
    }
  }
  // The fixture set is not empty, and the fast path really decoded some of it.
  CHECK(files >= 25);
  CHECK(with_text >= 8);
  CHECK(OpenAiLikeDecoder::fast_path_chunks_for_testing() - fast_before >= 50);
}

TEST_CASE("fast path: thinking stream with a separate usage chunk", "[fastpath]") {
  std::vector<std::string> datas = {
      R"({"id":"a","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"think"}}]})",
      R"({"id":"a","model":"glm-4.6","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"ing"}}]})",
      R"({"id":"a","model":"glm-4.6","choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":null}}]})",
      R"({"id":"a","model":"glm-4.6","choices":[{"index":0,"delta":{"content":""},"finish_reason":"length"}]})",
      R"({"id":"a","model":"glm-4.6","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":25,)"
      R"("total_tokens":33,"prompt_tokens_details":{"cached_tokens":0}}})",
  };
  CHECK(fast_chunks(datas) == datas.size());
  StreamOutcome out = chunks(datas);
  CHECK(out.reasoning == "thinking");
  CHECK(out.content == "Hi");
  CHECK(out.deltas.size() == 3);
  CHECK(out.result.finish_reason == "length");
  CHECK(out.result.model == "glm-4.6");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 8);
  CHECK(out.result.usage->output_tokens == 25);
  CHECK(out.result.usage->total_tokens == 33);
  CHECK(out.done);
  CHECK_FALSE(out.error);
}

TEST_CASE("fast path: finish chunk carrying usage; finish without [DONE] completes", "[fastpath]") {
  std::vector<std::string> datas = {
      R"({"model":"qwen","choices":[{"delta":{"content":"ok"},"finish_reason":null}],"usage":null})",
      R"({"model":"qwen","choices":[{"delta":{},"finish_reason":"sensitive"}],)"
      R"("usage":{"input_tokens":4,"output_tokens":6}})",
  };
  CHECK(fast_chunks(datas) == datas.size());
  StreamOutcome out = chunks(datas, /*done=*/false);
  CHECK(out.content == "ok");
  CHECK(out.result.finish_reason == "content_filter");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 4);
  CHECK(out.result.usage->output_tokens == 6);
  CHECK(out.result.usage->total_tokens == 10);  // the sum when total_tokens is missing
  CHECK(out.done);
}

TEST_CASE("fast path: escapes and \\u sequences in content come out decoded", "[fastpath]") {
  std::vector<std::string> datas = {
      R"({"choices":[{"delta":{"content":"\u4f60\u597d \ud83d\ude00 \"q\" \\ \/ \n\t\r\b\f"}}]})",
      R"({"choices":[{"delta":{"content":"直接 UTF-8 é"}}]})",
      kStop,
  };
  CHECK(fast_chunks(datas) == datas.size());
  StreamOutcome out = chunks(datas);
  CHECK(out.content == "你好 \xF0\x9F\x98\x80 \"q\" \\ / \n\t\r\b\f直接 UTF-8 é");
}

TEST_CASE("fast path: nested members with tracked names are skipped, not taken", "[fastpath]") {
  std::vector<std::string> datas = {
      // tool_calls inside delta carry their own "content" keys and objects; only delta.content counts.
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","content":"no",)"
      R"("function":{"name":"f","arguments":"{\"content\":\"no\"}","content":{"content":"no"}}}],)"
      R"("content":"outer","extra":[[{"reasoning_content":"no"}],{"finish_reason":"no"}]},"finish_reason":null}]})",
      // `model`, `choices`, `usage` below the top level are someone else's.
      R"({"meta":{"model":"wrong","choices":[{"delta":{"content":"no"}}],"usage":{"prompt_tokens":99}},)"
      R"("model":"right","choices":[{"delta":{"content":"!"},"logprobs":{"content":[{"token":"no"}]}}]})",
      // Only choices[0] counts.
      R"({"choices":[{"delta":{"content":"."}},{"delta":{"content":"no"},"finish_reason":"length"}]})",
      R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,)"
      R"("total_tokens":3,"completion_tokens_details":{"total_tokens":50,"prompt_tokens":70}}})",
  };
  // A chunk carrying delta.tool_calls takes the DOM path, where the fragments are assembled.
  CHECK(fast_chunks(datas) == datas.size() - 1);
  StreamOutcome out = chunks(datas);
  CHECK(out.content == "outer!.");
  CHECK(out.reasoning.empty());
  REQUIRE(out.result.tool_calls.size() == 1);
  CHECK(out.result.tool_calls[0]["function"]["arguments"] == "{\"content\":\"no\"}");
  CHECK(out.result.model == "right");
  CHECK(out.result.finish_reason == "tool_calls");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 1);
  CHECK(out.result.usage->output_tokens == 2);
  CHECK(out.result.usage->total_tokens == 3);
}

TEST_CASE("fast path: usage numbers given as floats, unsigned or of the wrong type", "[fastpath]") {
  SECTION("floats are truncated") {
    StreamOutcome out = chunks({R"({"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}],)"
                                R"("usage":{"prompt_tokens":3.9,"completion_tokens":2.0,"total_tokens":1e1}})"});
    REQUIRE(out.result.usage);
    CHECK(out.result.usage->input_tokens == 3);
    CHECK(out.result.usage->output_tokens == 2);
    CHECK(out.result.usage->total_tokens == 10);
  }
  SECTION("a string count falls back to input_tokens; a null total to the sum") {
    StreamOutcome out = chunks({R"({"choices":[{"delta":{},"finish_reason":"stop"}],)"
                                R"("usage":{"prompt_tokens":"7","input_tokens":5,"completion_tokens":true,)"
                                R"("output_tokens":-2,"total_tokens":null}})"});
    REQUIRE(out.result.usage);
    CHECK(out.result.usage->input_tokens == 5);
    CHECK(out.result.usage->output_tokens == -2);
    CHECK(out.result.usage->total_tokens == 3);
  }
  SECTION("a large unsigned count") {
    StreamOutcome out = chunks({R"({"choices":[],"usage":{"prompt_tokens":9223372036854775807,)"
                                R"("completion_tokens":1,"total_tokens":4294967296}})",
                                kStop});
    REQUIRE(out.result.usage);
    CHECK(out.result.usage->input_tokens == 9223372036854775807LL);
    CHECK(out.result.usage->total_tokens == 4294967296LL);
  }
  SECTION("usage that is not an object is ignored") {
    StreamOutcome out = chunks({R"({"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}})",
                                R"({"choices":[],"usage":[1,2,3]})", kStop});
    REQUIRE(out.result.usage);
    CHECK(out.result.usage->total_tokens == 5);
  }
}

TEST_CASE("fast path: repeated keys keep the last value, as the DOM does", "[fastpath]") {
  std::vector<std::string> datas = {
      R"({"model":"a","model":"b","choices":[{"delta":{"content":"x","content":"y"}}]})",
      R"({"choices":[{"delta":{"content":"no"}}],"choices":[{"delta":{"reasoning_content":"r"}}]})",
      R"({"choices":[{"delta":{"content":"no"},"delta":{"content":"z"},"finish_reason":"length",)"
      R"("finish_reason":null}]})",
      R"({"choices":[],"usage":{"prompt_tokens":1,"prompt_tokens":2},"usage":{"total_tokens":9,"total_tokens":8}})",
      R"({"error":{"message":"no"},"error":null,"choices":[{"delta":{"content":"!"}}]})",
      R"({"choices":[{"delta":{},"finish_reason":"stop"}]})",
  };
  // The scanner hands every one of these to the DOM path rather than mirror last-wins itself.
  CHECK(fast_chunks(datas) == 1);
  StreamOutcome out = chunks(datas);
  CHECK(out.content == "yz!");
  CHECK(out.reasoning == "r");
  CHECK(out.result.model == "b");
  CHECK(out.result.finish_reason == "stop");
  REQUIRE(out.result.usage);
  CHECK(out.result.usage->input_tokens == 0);
  CHECK(out.result.usage->total_tokens == 8);
}

TEST_CASE("fast path: odd but valid shapes decode like the DOM path", "[fastpath]") {
  std::vector<std::string> datas = {
      R"({"choices":{"0":{"delta":{"content":"no"}}}})",                     // choices not an array
      R"({"choices":[null,{"delta":{"content":"no"}}]})",                    // choices[0] not an object
      R"({"choices":[{"delta":"text","finish_reason":7}]})",                 // delta not an object
      R"({"choices":[{"message":{"content":"via message"}}]})",              // `message` instead of `delta`
      R"({"choices":[{"delta":{"content":1,"reasoning_content":[]}}]})",     // members of the wrong type
      R"({"model":"","choices":[{"delta":{"content":"."}}],"error":null})",  // error: null is no error
      R"({"model":5,"choices":[{"delta":{"content":"."}}]})",
      R"({"choices":[{"delta":{"content":"x"}}],"bits":[true,false,null,1.5,-3,"s",{},[]]})",
      kStop,
  };
  StreamOutcome out = chunks(datas);
  CHECK(out.content == "via message..x");
  CHECK(out.result.model == "m");  // empty and non-string models leave the one of kStop
  CHECK(out.result.finish_reason == "stop");
  CHECK_FALSE(out.error);
}

TEST_CASE("fast path: error chunks and bad JSON still fail exactly as before", "[fastpath]") {
  SECTION("data: {error}") {
    StreamOutcome out = chunks({R"({"choices":[{"delta":{"content":"a"}}]})",
                                R"({"error":{"code":"500","message":"upstream broke","type":"server_error"}})"});
    REQUIRE(out.error);
    CHECK(out.error->kind == ErrorKind::server);
    CHECK(out.error->upstream_message == "upstream broke");
    CHECK(out.content == "a");
  }
  SECTION("an error next to choices wins") {
    StreamOutcome out = chunks({R"({"choices":[{"delta":{"content":"no"}}],"error":{"message":"quota","code":)"
                                R"("insufficient_quota"}})"});
    REQUIRE(out.error);
    CHECK(out.error->kind == ErrorKind::quota);
    CHECK(out.content.empty());
  }
  SECTION("bare DashScope {code, message}") {
    StreamOutcome out = chunks({R"({"code":"Throttling","message":"Requests throttled","request_id":"r1"})"});
    REQUIRE(out.error);
    CHECK(out.error->upstream_code == "Throttling");
  }
  SECTION("code next to choices is not an error") {
    StreamOutcome out = chunks({R"({"code":0,"choices":[{"delta":{"content":"fine"},"finish_reason":"stop"}]})"});
    CHECK_FALSE(out.error);
    CHECK(out.content == "fine");
  }
  SECTION("finish_reason network_error") {
    StreamOutcome out = chunks({R"({"choices":[{"delta":{"content":"half"},"finish_reason":"network_error"}]})"});
    REQUIRE(out.error);
    CHECK(out.error->upstream_code == "network_error");
    CHECK(out.content == "half");
  }
  for (std::string bad : {R"({"choices":[{"delta":{"content":"a"}}])", R"({"choices":[]} trailing)",
                          R"([{"choices":[]}])", R"("just a string")", R"({"choices":[{"delta":{"content":"\x"}}]})",
                          R"({"choices":[{"delta":{"content":"\ud800"}}]})", "{\"a\":\"\x01\"}",
                          R"({"usage":{"prompt_tokens":1e999}})"}) {
    DYNAMIC_SECTION("malformed: " << bad) {
      StreamOutcome out = chunks({R"({"choices":[{"delta":{"content":"ok"}}]})", bad});
      REQUIRE(out.error);
      CHECK(out.error->kind == ErrorKind::protocol);
      CHECK(out.error->message.find("malformed JSON in stream event") != std::string::npos);
      CHECK(out.content == "ok");
    }
  }
}

TEST_CASE("fast path: deeply nested skipped values", "[fastpath]") {
  std::string deep(500, '[');
  deep += std::string(500, ']');
  std::vector<std::string> datas = {
      R"({"x":)" + deep + R"(,"choices":[{"delta":{"content":"deep","annotations":)" + deep + R"(}}]})",
      kStop,
  };
  CHECK(fast_chunks(datas) == datas.size());
  StreamOutcome out = chunks(datas);
  CHECK(out.content == "deep");
}
