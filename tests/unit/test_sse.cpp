// SSE parser tests: WHATWG event-stream conformance fixtures, real provider stream shapes, and the
// property that matters most in production: read boundaries never change what is delivered.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sse/sse_parser.hpp"

using glm::sse::Event;
using glm::sse::SseParser;
using Status = SseParser::Status;
using namespace std::string_literals;

namespace {

// Records every callback in order, both structured (for targeted assertions) and as one flat log
// (so different feeding strategies can be compared for exact equality, ordering included).
struct Recorder : glm::sse::Handler {
  std::vector<Event> events;
  std::vector<std::string> comments;
  std::vector<uint64_t> retries;
  std::vector<std::string> bodies;  // non-SSE bodies
  std::vector<std::string> log;

  void on_event(const Event& e) override {
    events.push_back(e);
    log.push_back("event type=" + e.type + " id=" + e.id + " data=" + e.data);
  }
  void on_comment(std::string_view text) override {
    comments.emplace_back(text);
    log.push_back("comment " + std::string(text));
  }
  void on_retry(uint64_t ms) override {
    retries.push_back(ms);
    log.push_back("retry " + std::to_string(ms));
  }
  void on_non_sse_body(std::string_view body) override {
    bodies.emplace_back(body);
    log.push_back("body " + std::string(body));
  }
};

struct Outcome {
  Recorder rec;
  Status finish_status = Status::ok;
};

Outcome run_chunks(const std::vector<std::string_view>& chunks, bool lenient = true, size_t cap = 8u << 20) {
  Outcome out;
  SseParser parser(cap);
  for (const auto chunk : chunks) parser.feed(chunk, out.rec);
  out.finish_status = parser.finish(out.rec, lenient);
  return out;
}

Outcome run_whole(std::string_view s, bool lenient = true) { return run_chunks({s}, lenient); }

Outcome run_split(std::string_view s, size_t at, bool lenient = true) {
  return run_chunks({s.substr(0, at), s.substr(at)}, lenient);
}

Outcome run_bytewise(std::string_view s, bool lenient = true) {
  std::vector<std::string_view> chunks;
  for (size_t i = 0; i < s.size(); ++i) chunks.push_back(s.substr(i, 1));
  return run_chunks(chunks, lenient);
}

const std::string kBom = "\xEF\xBB\xBF";
const std::string kFffd = "\xEF\xBF\xBD";

// --- conformance fixtures (the WHATWG "Parsing an event stream" rules) ---
const std::string kFixture01CrlfMultiline = "data: a\r\ndata: b\r\n\r\n";
const std::string kFixture02CrOnly = "event: x\rdata: 1\r\r";
const std::string kFixture03BomCommentRetryId = kBom + ": hello\nretry: 1500\nid: 7\ndata:no-space\n\n";
const std::string kFixture04PingThenBareData = "event: ping\n\ndata\n\n";
const std::string kFixture05Trailing = "data: complete\n\ndata: trailing";

// --- Realistic provider streams ---
const std::string kZhipuStream =
    "data: {\"id\":\"8313807536837492492\",\"created\":1706092316,\"model\":\"glm-4\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"你好\"}}]}\n\n"
    "data: {\"id\":\"8313807536837492492\",\"created\":1706092316,\"model\":\"glm-4\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"！我是智谱清言\"}}]}\n\n"
    "data: {\"id\":\"8313807536837492492\",\"created\":1706092316,\"model\":\"glm-4\",\"choices\":[{\"index\":0,"
    "\"finish_reason\":\"stop\",\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],"
    "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":6,\"total_tokens\":14}}\n\n"
    "data: [DONE]\n\n";

const std::string kDashScopeStream =
    "id:1\nevent:result\n:HTTP_STATUS/200\n"
    "data:{\"output\":{\"choices\":[{\"message\":{\"content\":\"我是\",\"role\":\"assistant\"},"
    "\"finish_reason\":\"null\"}]},\"usage\":{\"total_tokens\":27,\"output_tokens\":1,\"input_tokens\":26},"
    "\"request_id\":\"1117fb64-5dd9-9df0-a5ca-d7ee0e97032d\"}\n\n"
    "id:2\nevent:result\n:HTTP_STATUS/200\n"
    "data:{\"output\":{\"choices\":[{\"message\":{\"content\":\"通义千问\",\"role\":\"assistant\"},"
    "\"finish_reason\":\"stop\"}]},\"usage\":{\"total_tokens\":30,\"output_tokens\":4,\"input_tokens\":26},"
    "\"request_id\":\"1117fb64-5dd9-9df0-a5ca-d7ee0e97032d\"}\n\n";

const std::string kDashScopeErrorStream =
    "id:1\nevent:error\n:HTTP_STATUS/429\n"
    "data:{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded, please try again "
    "later.\",\"request_id\":\"a1b2c3\"}\n\n";

const std::string kQianfanStream =
    "data: {\"id\":\"as-ywwpgx4dt7\",\"object\":\"chat.completion\",\"created\":1680166793,\"sentence_id\":0,"
    "\"is_end\":false,\"is_truncated\":false,\"result\":\"以下是一些适合自驾游的路线推荐:\\n\\n1.\","
    "\"need_clear_history\":false,\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":16,\"total_tokens\":27}}"
    "\n\n"
    "data: {\"id\":\"as-ywwpgx4dt7\",\"object\":\"chat.completion\",\"created\":1680166804,\"sentence_id\":1,"
    "\"is_end\":true,\"is_truncated\":false,\"result\":\"\",\"need_clear_history\":false,"
    "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":30,\"total_tokens\":412}}\n\n";

const std::string kQianfanErrorBody =
    "{\"error_code\":336003,\"error_msg\":\"the role of message with odd index in the messages must be "
    "assistant\"}";

const std::string kPrettyJsonErrorBody =
    kBom + "\r\n{\n  \"error_code\": 110,\n  \"error_msg\": \"Access token invalid or no longer valid\"\n}\n";

struct Fixture {
  const char* name;
  std::string bytes;
};

std::vector<Fixture> all_fixtures() {
  return {
      {"01 CRLF multi-line data", kFixture01CrlfMultiline},
      {"02 CR-only", kFixture02CrOnly},
      {"03 BOM + comment + retry + id", kFixture03BomCommentRetryId},
      {"04 ping without data, bare data", kFixture04PingThenBareData},
      {"05 trailing event without blank line", kFixture05Trailing},
      {"05b trailing event with line end only", kFixture05Trailing + "\n"},
      {"zhipu stream", kZhipuStream},
      {"dashscope stream", kDashScopeStream},
      {"dashscope error stream", kDashScopeErrorStream},
      {"qianfan stream", kQianfanStream},
      {"qianfan bare JSON error", kQianfanErrorBody},
      {"pretty JSON error with BOM and leading CRLF", kPrettyJsonErrorBody},
      {"JSON array body", "[{\"error\":{\"code\":\"x\"}}]"},
      {"leading blank lines then SSE", "\r\n\n \ndata: x\n\n"},
      {"CRLF mixed with CR and LF", "id: 3\r\nevent: a\rdata: 1\n\r\n\rdata: 2\r\r\n"},
      {"UTF-8 multi-byte content", "data: 你好，世界 🌍\n\n:注释\n\n"},
      {"invalid UTF-8",
       "data: a\xFF"
       "b\xE4\xBD\n\n"},
      {"mid-stream BOM", "data: a\n\n" + kBom + "data: b\n\ndata: " + kBom + "c\n\n"},
      {"only a BOM prefix", "\xEF\xBB"},
      {"empty", ""},
  };
}

nlohmann::json parse_json(const std::string& s) { return nlohmann::json::parse(s); }

}  // namespace

TEST_CASE("conformance 01: CRLF line endings join multi-line data with LF", "[sse][conformance]") {
  auto out = run_whole(kFixture01CrlfMultiline);
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].type == "message");
  CHECK(out.rec.events[0].data == "a\nb");
  CHECK(out.finish_status == Status::ok);
}

TEST_CASE("conformance 02: CR-only line endings", "[sse][conformance]") {
  auto out = run_whole(kFixture02CrOnly);
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].type == "x");
  CHECK(out.rec.events[0].data == "1");
}

TEST_CASE("conformance 03: BOM, comment, retry, id and data without a space", "[sse][conformance]") {
  auto out = run_whole(kFixture03BomCommentRetryId);
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].data == "no-space");
  CHECK(out.rec.events[0].id == "7");
  CHECK(out.rec.retries == std::vector<uint64_t>{1500});
  // Comment text is everything after the colon, verbatim (including its leading space).
  CHECK(out.rec.comments == std::vector<std::string>{" hello"});
}

TEST_CASE("conformance 04: an event without data is not dispatched and its type does not leak", "[sse][conformance]") {
  auto out = run_whole(kFixture04PingThenBareData);
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].type == "message");
  CHECK(out.rec.events[0].data == "");
}

TEST_CASE("conformance 05: trailing event without a blank line, spec vs lenient", "[sse][conformance]") {
  for (const std::string& input : {kFixture05Trailing, kFixture05Trailing + "\n", kFixture05Trailing + "\r"}) {
    CAPTURE(input);
    auto spec = run_whole(input, /*lenient=*/false);
    REQUIRE(spec.rec.events.size() == 1);
    CHECK(spec.rec.events[0].data == "complete");

    auto lenient = run_whole(input, /*lenient=*/true);
    REQUIRE(lenient.rec.events.size() == 2);
    CHECK(lenient.rec.events[0].data == "complete");
    CHECK(lenient.rec.events[1].data == "trailing");
  }
  SECTION("lenient mode still does not dispatch a trailing block without data") {
    auto out = run_whole("data: a\n\nevent: ping", true);
    REQUIRE(out.rec.events.size() == 1);
    CHECK(out.rec.events[0].data == "a");
  }
}

TEST_CASE("Zhipu stream: JSON chunks then [DONE]", "[sse][provider]") {
  auto out = run_whole(kZhipuStream);
  REQUIRE(out.rec.events.size() == 4);
  CHECK(parse_json(out.rec.events[0].data)["choices"][0]["delta"]["content"] == "你好");
  CHECK(parse_json(out.rec.events[1].data)["choices"][0]["delta"]["content"] == "！我是智谱清言");
  auto last_chunk = parse_json(out.rec.events[2].data);
  CHECK(last_chunk["choices"][0]["finish_reason"] == "stop");
  CHECK(last_chunk["usage"]["total_tokens"] == 14);
  CHECK(out.rec.events[3].data == "[DONE]");
  for (const auto& e : out.rec.events) {
    CHECK(e.type == "message");
    CHECK(e.id.empty());
  }
}

TEST_CASE("DashScope native stream: no space after colons, status in comments", "[sse][provider]") {
  auto out = run_whole(kDashScopeStream);
  REQUIRE(out.rec.events.size() == 2);
  CHECK(out.rec.events[0].type == "result");
  CHECK(out.rec.events[0].id == "1");
  CHECK(out.rec.events[1].id == "2");
  CHECK(parse_json(out.rec.events[0].data)["output"]["choices"][0]["message"]["content"] == "我是");
  auto last = parse_json(out.rec.events[1].data);
  CHECK(last["output"]["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"]["output_tokens"] == 4);
  CHECK(out.rec.comments == std::vector<std::string>{"HTTP_STATUS/200", "HTTP_STATUS/200"});
  // The status comment arrives before the event it belongs to.
  CHECK(out.rec.log[0] == "comment HTTP_STATUS/200");
}

TEST_CASE("DashScope error frame: event:error with HTTP_STATUS/429", "[sse][provider]") {
  auto out = run_whole(kDashScopeErrorStream);
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].type == "error");
  CHECK(out.rec.comments == std::vector<std::string>{"HTTP_STATUS/429"});
  auto body = parse_json(out.rec.events[0].data);
  CHECK(body["code"] == "Throttling.RateQuota");
  CHECK(body["request_id"] == "a1b2c3");
}

TEST_CASE("Qianfan stream: data frames without [DONE], last has is_end", "[sse][provider]") {
  auto out = run_whole(kQianfanStream);
  REQUIRE(out.rec.events.size() == 2);
  auto first = parse_json(out.rec.events[0].data);
  CHECK(first["result"] == "以下是一些适合自驾游的路线推荐:\n\n1.");
  CHECK(first["is_end"] == false);
  CHECK(parse_json(out.rec.events[1].data)["is_end"] == true);
}

TEST_CASE("bare JSON error body is delivered once, as a non-SSE body, only at finish", "[sse][raw]") {
  SseParser parser;
  Recorder rec;
  CHECK(parser.feed(kQianfanErrorBody, rec) == Status::ok);
  CHECK(rec.log.empty());  // nothing before end of stream: the body may still be incomplete
  CHECK(parser.finish(rec) == Status::ok);
  CHECK(rec.events.empty());
  REQUIRE(rec.bodies.size() == 1);
  CHECK(rec.bodies[0] == kQianfanErrorBody);
  CHECK(parse_json(rec.bodies[0])["error_code"] == 336003);
  CHECK(rec.comments.empty());

  SECTION("a second finish() delivers nothing more") {
    CHECK(parser.finish(rec) == Status::ok);
    CHECK(rec.log.size() == 1);
  }
  SECTION("feed() after finish() is ignored") {
    CHECK(parser.feed("data: late\n\n", rec) == Status::ok);
    CHECK(parser.finish(rec) == Status::ok);
    CHECK(rec.log.size() == 1);
  }
}

TEST_CASE("a non-SSE body is within the cap after UTF-8 repair, else overflow (found by fuzz_sse)", "[sse][raw]") {
  // 42 raw bytes fit a 64-byte cap; each invalid byte becomes U+FFFD (3 bytes): 122 bytes repaired.
  const std::string body = "{" + std::string(40, '\x8d') + "}";
  SseParser parser(64);
  Recorder rec;
  CHECK(parser.feed(body, rec) == Status::ok);
  CHECK(parser.finish(rec) == Status::overflow);
  CHECK(rec.bodies.empty());
  // A repaired body that fits is delivered, repaired.
  SseParser roomy(200);
  Recorder ok;
  CHECK(roomy.feed(body, ok) == Status::ok);
  CHECK(roomy.finish(ok) == Status::ok);
  REQUIRE(ok.bodies.size() == 1);
  CHECK(ok.bodies[0].size() == 122);
  CHECK(ok.bodies[0].substr(1, 3) == "\xEF\xBF\xBD");
}

TEST_CASE("raw body keeps leading whitespace and drops only the start-of-stream BOM", "[sse][raw]") {
  auto out = run_whole(kPrettyJsonErrorBody);
  REQUIRE(out.rec.bodies.size() == 1);
  CHECK(out.rec.bodies[0] == kPrettyJsonErrorBody.substr(3));
  CHECK(parse_json(out.rec.bodies[0])["error_code"] == 110);

  auto array = run_whole("[1,2]");
  CHECK(array.rec.log == std::vector<std::string>{"body [1,2]"});
}

TEST_CASE("raw body in spec mode is discarded; SSE-looking JSON lines are not parsed", "[sse][raw]") {
  // Once the first byte says JSON, later lines that look like SSE fields are still body text.
  const std::string body = "{\"a\":\n\ndata: not-an-event\n\n}";
  auto lenient = run_whole(body, true);
  CHECK(lenient.rec.events.empty());
  CHECK(lenient.rec.bodies == std::vector<std::string>{body});

  auto spec = run_whole(kQianfanErrorBody, false);
  CHECK(spec.rec.log.empty());
}

// Regression (issue 11): the parser used to report a non-SSE body as an event of type "raw", so an
// upstream `event: raw` was mistaken for a whole JSON body. Now only the spec's fields make events.
TEST_CASE("an upstream `event: raw` is an ordinary event, not a non-SSE body", "[sse][raw]") {
  auto out = run_whole("event: raw\ndata: {\"a\":1}\n\ndata: next\n\n");
  CHECK(out.rec.bodies.empty());
  REQUIRE(out.rec.events.size() == 2);
  CHECK(out.rec.events[0].type == "raw");
  CHECK(out.rec.events[0].data == "{\"a\":1}");
  CHECK(out.rec.events[1].type == "message");
  CHECK(out.rec.log ==
        std::vector<std::string>{"event type=raw id= data={\"a\":1}", "event type=message id= data=next"});
  CHECK(run_bytewise("event: raw\ndata: {\"a\":1}\n\ndata: next\n\n").rec.log == out.rec.log);
}

TEST_CASE("whitespace before SSE does not trigger raw mode", "[sse][raw]") {
  auto out = run_whole("\r\n\n \ndata: x\n\n");
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].type == "message");
  CHECK(out.rec.events[0].data == "x");

  auto blank = run_whole(" \r\n\t\n");
  CHECK(blank.rec.log.empty());
}

TEST_CASE("every fixture gives identical results at every split offset and byte by byte", "[sse][split]") {
  for (const auto& fixture : all_fixtures()) {
    for (const bool lenient : {true, false}) {
      INFO("fixture: " << fixture.name << (lenient ? " (lenient)" : " (spec)"));
      const std::string& s = fixture.bytes;
      const auto whole = run_whole(s, lenient);
      for (size_t at = 0; at <= s.size(); ++at) {
        const auto split = run_split(s, at, lenient);
        if (split.rec.log != whole.rec.log || split.finish_status != whole.finish_status) {
          CAPTURE(at);
          CHECK(split.rec.log == whole.rec.log);
          CHECK(split.finish_status == whole.finish_status);
        }
      }
      const auto bytewise = run_bytewise(s, lenient);
      CHECK(bytewise.rec.log == whole.rec.log);
      CHECK(bytewise.finish_status == whole.finish_status);
    }
  }
}

TEST_CASE("split invariance also holds for the expected results, not just self-consistency", "[sse][split]") {
  // Guards against a parser that is consistently wrong: pin the whole-feed results of key fixtures.
  CHECK(run_bytewise(kFixture01CrlfMultiline).rec.log == std::vector<std::string>{"event type=message id= data=a\nb"});
  CHECK(run_bytewise(kFixture02CrOnly).rec.log == std::vector<std::string>{"event type=x id= data=1"});
  CHECK(run_bytewise(kFixture03BomCommentRetryId).rec.log ==
        std::vector<std::string>{"comment  hello", "retry 1500", "event type=message id=7 data=no-space"});
  CHECK(run_bytewise(kQianfanErrorBody).rec.log == std::vector<std::string>{"body " + kQianfanErrorBody});
}

TEST_CASE("one read holding 1000 events delivers all of them in order", "[sse][split]") {
  std::string stream;
  for (int i = 0; i < 1000; ++i) {
    stream += "id: " + std::to_string(i) + "\r\ndata: {\"n\":" + std::to_string(i) + "}\r\n\r\n";
  }
  SseParser parser;
  Recorder rec;
  CHECK(parser.feed(stream, rec) == Status::ok);
  REQUIRE(rec.events.size() == 1000);  // all dispatched by feed() itself, not deferred to finish()
  bool all_match = true;
  for (int i = 0; i < 1000; ++i) {
    const auto& e = rec.events[static_cast<size_t>(i)];
    if (e.id != std::to_string(i) || parse_json(e.data)["n"] != i) all_match = false;
  }
  CHECK(all_match);
  CHECK(parser.last_event_id() == "999");
  CHECK(parser.finish(rec) == Status::ok);
  CHECK(rec.events.size() == 1000);
}

TEST_CASE("CR at the end of one read and LF at the start of the next is one line end", "[sse][lines]") {
  SseParser parser;
  Recorder rec;
  parser.feed("data: a\r", rec);
  parser.feed("\ndata: b\r", rec);
  CHECK(rec.events.empty());  // a spurious blank line here would have dispatched "a" early
  parser.feed("\n\r", rec);
  REQUIRE(rec.events.size() == 1);  // the blank line is the lone CR, dispatched without waiting
  CHECK(rec.events[0].data == "a\nb");
  parser.feed("\ndata: c\n\n", rec);  // this LF pairs with the CR above; it is not another blank line
  REQUIRE(rec.events.size() == 2);
  CHECK(rec.events[1].data == "c");
}

TEST_CASE("CR followed by a non-LF in the next read is still a line end", "[sse][lines]") {
  SseParser parser;
  Recorder rec;
  parser.feed("data: a\r", rec);
  parser.feed("\r", rec);
  REQUIRE(rec.events.size() == 1);
  CHECK(rec.events[0].data == "a");
}

TEST_CASE("BOM split over three reads is stripped", "[sse][bom]") {
  SseParser parser;
  Recorder rec;
  parser.feed("\xEF", rec);
  parser.feed("\xBB", rec);
  parser.feed(
      "\xBF"
      "data: x\n\n",
      rec);
  REQUIRE(rec.events.size() == 1);  // an unstripped BOM would make the field "\uFEFFdata" and drop it
  CHECK(rec.events[0].data == "x");
}

TEST_CASE("a BOM is stripped only once and only at the very start", "[sse][bom]") {
  SECTION("second BOM at the start is content, so its line has an unknown field") {
    auto out = run_whole(kBom + kBom + "data: x\n\ndata: y\n\n");
    REQUIRE(out.rec.events.size() == 1);
    CHECK(out.rec.events[0].data == "y");
  }
  SECTION("mid-stream BOM before a field name is not stripped; inside data it is kept") {
    auto out = run_whole("data: a\n\n" + kBom + "data: b\n\ndata: " + kBom + "c\n\n");
    REQUIRE(out.rec.events.size() == 2);
    CHECK(out.rec.events[0].data == "a");
    CHECK(out.rec.events[1].data == kBom + "c");
  }
  SECTION("a truncated BOM at the start is content, not silently dropped") {
    auto out = run_whole(
        "\xEF\xBB"
        ":x\ndata: ok\n\n");
    // EF BB is not a complete character: it becomes one U+FFFD in a line with an unknown field.
    REQUIRE(out.rec.events.size() == 1);
    CHECK(out.rec.events[0].data == "ok");
    CHECK(out.rec.comments.empty());
  }
}

TEST_CASE("id persists across events; an id containing NUL is ignored", "[sse][fields]") {
  const std::string stream = "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid: x\0y\ndata: d\n\nid\ndata: e\n\n"s;
  auto out = run_whole(stream);
  REQUIRE(out.rec.events.size() == 5);
  CHECK(out.rec.events[0].id == "1");
  CHECK(out.rec.events[1].id == "1");
  CHECK(out.rec.events[2].id == "2");
  CHECK(out.rec.events[3].id == "2");  // "x\0y" rejected
  CHECK(out.rec.events[4].id == "");   // a bare `id` sets the empty id

  SseParser parser;
  Recorder rec;
  parser.feed(
      "id: 42\ndata: a\n\nid: 4\0"
      "3\n"s,
      rec);
  CHECK(parser.last_event_id() == "42");
}

TEST_CASE("retry accepts only ASCII digits", "[sse][fields]") {
  auto out = run_whole("retry: 12a\nretry: -5\nretry: \nretry\nretry: 1 000\nretry:3000\nretry: 007\n");
  CHECK(out.rec.retries == std::vector<uint64_t>{3000, 7});
  auto huge = run_whole("retry: 99999999999999999999999999\n");
  CHECK(huge.rec.retries == std::vector<uint64_t>{UINT64_MAX});
}

TEST_CASE("field parsing: one leading space stripped, unknown and case-different fields ignored", "[sse][fields]") {
  auto out = run_whole("data:  two spaces\nDATA: upper\nstatus: 400\nfoo\ndata:x:y\nevent:  t\n\n");
  REQUIRE(out.rec.events.size() == 1);
  CHECK(out.rec.events[0].data == " two spaces\nx:y");
  CHECK(out.rec.events[0].type == " t");
  auto empty_type = run_whole("event:\ndata: z\n\n");
  REQUIRE(empty_type.rec.events.size() == 1);
  CHECK(empty_type.rec.events[0].type == "message");
}

TEST_CASE("UTF-8 multi-byte characters split across reads arrive intact", "[sse][utf8]") {
  const std::string stream = "data: 你好🌍\n\n";
  for (size_t at = 0; at <= stream.size(); ++at) {
    auto out = run_split(stream, at);
    CAPTURE(at);
    REQUIRE(out.rec.events.size() == 1);
    CHECK(out.rec.events[0].data == "你好🌍");
  }
}

TEST_CASE("invalid UTF-8 is replaced with U+FFFD before reaching the handler", "[sse][utf8]") {
  SECTION("stray bytes, truncated sequences, surrogates and overlongs") {
    auto out = run_whole(
        "data: a\xFF"
        "b\xE4\xBD"
        "c\xED\xA0\x80"
        "d\xC0\xAF"
        "e\xF4\x90\x80\x80\n\n");
    REQUIRE(out.rec.events.size() == 1);
    // WHATWG decoder: one U+FFFD per maximal ill-formed subpart (a truncated 3-byte char is one).
    CHECK(out.rec.events[0].data == "a" + kFffd + "b" + kFffd + "c" + kFffd + kFffd + kFffd + "d" + kFffd + kFffd +
                                        "e" + kFffd + kFffd + kFffd + kFffd);
  }
  SECTION("a JSON parser accepts the result") {
    auto out = run_whole("data: {\"t\":\"x\xC3(\"}\n\n");
    REQUIRE(out.rec.events.size() == 1);
    CHECK(parse_json(out.rec.events[0].data)["t"] == "x" + kFffd + "(");
  }
  SECTION("comments, event types and raw bodies are sanitized too") {
    auto out = run_whole(":\xFF\nevent: e\xFE\ndata: 1\n\n");
    CHECK(out.rec.comments == std::vector<std::string>{kFffd});
    REQUIRE(out.rec.events.size() == 1);
    CHECK(out.rec.events[0].type == "e" + kFffd);
    auto raw = run_whole("{\"error_msg\":\"\xFF\"}");
    CHECK(raw.rec.bodies == std::vector<std::string>{"{\"error_msg\":\"" + kFffd + "\"}"});
  }
}

TEST_CASE("overflow: a line longer than the cap stops dispatch until reset", "[sse][overflow]") {
  SseParser parser(32);
  Recorder rec;
  const std::string long_line = "data: " + std::string(100, 'x') + "\n\n";
  CHECK(parser.feed("data: short\n\n" + long_line + "data: after\n\n", rec) == Status::overflow);
  REQUIRE(rec.events.size() == 1);  // what came before the long line was delivered
  CHECK(rec.events[0].data == "short");
  CHECK(parser.feed("data: more\n\n", rec) == Status::overflow);
  CHECK(parser.finish(rec) == Status::overflow);
  CHECK(rec.events.size() == 1);

  parser.reset();
  CHECK(parser.feed("data: ok\n\n", rec) == Status::ok);
  REQUIRE(rec.events.size() == 2);
  CHECK(rec.events[1].data == "ok");
}

TEST_CASE("overflow is detected on a partial line arriving in pieces", "[sse][overflow]") {
  SseParser parser(32);
  Recorder rec;
  Status status = Status::ok;
  int feeds = 0;
  while (status == Status::ok && feeds < 100) {
    status = parser.feed("data: xxxxxxx", rec);
    ++feeds;
  }
  CHECK(status == Status::overflow);
  CHECK(feeds == 3);  // 39 bytes pending > 32: caught before the line ever ends
  CHECK(parser.finish(rec, true) == Status::overflow);
  CHECK(rec.events.empty());
}

TEST_CASE("overflow boundaries: a line of exactly the cap is accepted; event data is capped too", "[sse][overflow]") {
  const std::string exact = "data:" + std::string(27, 'y');  // 32 bytes
  auto ok = run_chunks({exact + "\n\n"}, true, 32);
  CHECK(ok.finish_status == Status::ok);
  REQUIRE(ok.rec.events.size() == 1);
  CHECK(ok.rec.events[0].data == std::string(27, 'y'));

  // Every line is short, but together they exceed the cap for one event.
  SseParser parser(32);
  Recorder rec;
  CHECK(parser.feed("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", rec) == Status::overflow);
  CHECK(rec.events.empty());

  // A raw body is capped as well.
  auto raw = run_chunks({"{\"error_msg\":\"", std::string(40, 'z'), "\"}"}, true, 32);
  CHECK(raw.finish_status == Status::overflow);
  CHECK(raw.rec.log.empty());
}

TEST_CASE("reset() clears every piece of stream state", "[sse][reset]") {
  SseParser parser;
  Recorder rec;
  // Leave an id, an event type, buffered data and a partial line behind.
  parser.feed(kBom + "id: 5\nevent: x\ndata: buffered\ndata: parti", rec);
  CHECK(parser.last_event_id() == "5");
  parser.reset();
  CHECK(parser.last_event_id().empty());
  // A BOM is stripped again: the new stream is at its start.
  CHECK(parser.feed(kBom + "al\ndata: y\n\n", rec) == Status::ok);
  REQUIRE(rec.events.size() == 1);
  CHECK(rec.events[0].type == "message");
  CHECK(rec.events[0].id == "");
  CHECK(rec.events[0].data == "y");  // "al" is a field line of its own, not the end of "data: parti"

  SECTION("raw mode and finished state are cleared too") {
    parser.reset();
    parser.feed("{\"error_code\":1}", rec);
    parser.reset();
    parser.feed("data: sse again\n\n", rec);
    CHECK(parser.finish(rec) == Status::ok);
    REQUIRE(rec.events.size() == 2);
    CHECK(rec.events[1].type == "message");
    CHECK(rec.events[1].data == "sse again");

    parser.reset();
    parser.feed("data: after finish\n\n", rec);
    REQUIRE(rec.events.size() == 3);
    CHECK(rec.events[2].data == "after finish");
  }
}
