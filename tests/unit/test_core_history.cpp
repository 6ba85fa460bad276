// History fitting and the alternating-conversation reshaping used by ChatGLM2-style endpoints.
#include <catch2/catch.hpp>

#include "core/catalog.hpp"
#include "core/history.hpp"

using namespace glm;

namespace {

// Catalog entries as the providers declare them (test_providers_registry.cpp checks the real ones).
const ModelInfo& chatglm3_6b() {
  static const ModelInfo m = [] {
    ModelInfo m = model_entry("dashscope", "chatglm3-6b");
    m.context_window = 7500;
    m.max_input_tokens = 6000;
    m.max_output_tokens = 1500;
    return m;
  }();
  return m;
}

const ModelInfo& chatglm2_6b_32k() {
  static const ModelInfo m = [] {
    ModelInfo m = model_entry("qianfan", "chatglm2_6b_32k");
    m.max_input_chars = 4800;
    m.context_window = 32768;
    return m;
  }();
  return m;
}

Message msg(std::string role, std::string text) { return Message{std::move(role), Json(std::move(text))}; }

std::string repeat(std::string_view unit, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += unit;
  return out;
}

std::vector<std::string> texts(const std::vector<Message>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.role + ":" + m.text());
  return out;
}

ModelInfo limited(int64_t max_input_tokens) {
  ModelInfo m;
  m.provider = "test";
  m.id = "tiny";
  m.max_input_tokens = max_input_tokens;
  return m;
}

}  // namespace

TEST_CASE("estimate_tokens: CJK one per character, Latin about one per three bytes") {
  CHECK(estimate_tokens("") == 0);
  CHECK(estimate_tokens("介绍下杭州") == 5);
  CHECK(estimate_tokens("abc") == 1);
  CHECK(estimate_tokens("abcd") == 2);  // rounded up: conservative
  CHECK(estimate_tokens(repeat("hello world ", 100)) == 400);
  CHECK(estimate_tokens(repeat("故宫", 1000)) == 2000);
  // The same meaning costs far more per byte in Latin than the estimate charges CJK per byte,
  // but CJK per character is always the larger count.
  CHECK(estimate_tokens("你好世界") > estimate_tokens("abcd"));
  CHECK(estimate_tokens("привет") == 3);    // 2-byte code points: one per two
  CHECK(estimate_tokens("😀😀") == 4);        // 4-byte: two each
  CHECK(estimate_tokens("\xff\xfe") == 2);  // invalid bytes: one each, no crash
  CHECK(estimate_tokens("中a") == 2);
}

TEST_CASE("count_chars counts code points, and invalid bytes as one each") {
  CHECK(count_chars("你好") == 2);
  CHECK(count_chars("abc") == 3);
  CHECK(count_chars("\xe4\xbd") == 2);  // truncated sequence
}

TEST_CASE("fit_history leaves a conversation that fits untouched") {
  std::vector<Message> ms{msg("system", "be brief"), msg("user", "hi"), msg("assistant", "hello"), msg("user", "more")};
  auto before = texts(ms);
  auto r = fit_history(ms, chatglm3_6b(), 1500);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 0);
  CHECK(texts(ms) == before);
}

TEST_CASE("fit_history drops the oldest whole turns first, keeps system and the newest user message") {
  // Each old message is ~101 tokens; the limit allows the system prompt, the newest question and one
  // old turn.
  const std::string big = repeat("abc", 96);  // 96 tokens + 4 overhead = 100
  std::vector<Message> ms{msg("system", "sys"),          msg("user", "u1 " + big),      msg("assistant", "a1 " + big),
                          msg("user", "u2 " + big),      msg("assistant", "a2 " + big), msg("user", "u3 " + big),
                          msg("assistant", "a3 " + big), msg("user", "newest")};
  auto r = fit_history(ms, limited(300), 0);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 4);
  REQUIRE(ms.size() == 4);
  CHECK(ms[0].role == "system");
  CHECK(ms[1].text().rfind("u3 ", 0) == 0);
  CHECK(ms[2].text().rfind("a3 ", 0) == 0);
  CHECK(ms[3].text() == "newest");
}

TEST_CASE("fit_history drops a turn with all its assistant replies, and leading assistant messages") {
  const std::string big = repeat("x", 300);
  std::vector<Message> ms{msg("assistant", "greeting " + big),
                          msg("user", "q1 " + big),
                          msg("assistant", "r1a " + big),
                          msg("assistant", "r1b " + big),
                          msg("user", "q2"),
                          msg("assistant", "r2"),
                          msg("user", "q3")};
  // Drop the leading assistant turn, then the whole q1 turn (3 messages), never half of it.
  auto r = fit_history(ms, limited(100), 0);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 4);
  CHECK(texts(ms) == std::vector<std::string>{"user:q2", "assistant:r2", "user:q3"});
}

TEST_CASE("fit_history keeps system prompts that sit between turns") {
  const std::string big = repeat("y", 600);
  std::vector<Message> ms{msg("user", big), msg("system", "mid-system"), msg("assistant", big), msg("user", "last")};
  auto r = fit_history(ms, limited(100), 0);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 2);
  CHECK(texts(ms) == std::vector<std::string>{"system:mid-system", "user:last"});
}

TEST_CASE("chatglm3-6b: a single 9000-character Chinese message is rejected naming the 6000-token limit") {
  std::vector<Message> ms{msg("user", "old"), msg("assistant", "reply"), msg("user", repeat("杭", 9096))};
  auto before = texts(ms);
  auto r = fit_history(ms, chatglm3_6b(), 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::context_length);
  CHECK(r.error().message == "message is ~9100 tokens; chatglm3-6b accepts at most 6000 input tokens");
  CHECK(texts(ms) == before);  // untouched on error
}

TEST_CASE("the context window minus reserved output is the budget when tighter, and the message says so") {
  // chatglm3-6b: 7500 total; reserving 2000 leaves 5500 < 6000.
  std::vector<Message> ms{msg("user", repeat("字", 5600))};
  auto r = fit_history(ms, chatglm3_6b(), 2000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "message is ~5604 tokens; chatglm3-6b accepts at most 5500 input tokens (context window 7500 minus "
        "2000 reserved for output)");
  std::vector<Message> ok{msg("user", repeat("字", 5400))};
  CHECK(fit_history(ok, chatglm3_6b(), 2000).ok());
}

TEST_CASE("system prompt + newest message too large together is named as such") {
  std::vector<Message> ms{msg("system", repeat("s", 600)), msg("user", repeat("u", 600))};
  auto r = fit_history(ms, limited(300), 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::context_length);
  CHECK(r.error().message.find("the system prompt and the latest message are ~") == 0);
  CHECK(r.error().message.find("tiny accepts at most 300 input tokens") != std::string::npos);
}

TEST_CASE("qianfan chatglm2_6b_32k: history cut to 4800 characters by whole turns") {
  const ModelInfo& m = chatglm2_6b_32k();
  std::vector<Message> ms{msg("user", repeat("问", 2000)), msg("assistant", repeat("答", 2000)),
                          msg("user", repeat("问", 1000)), msg("assistant", repeat("答", 1000)),
                          msg("user", repeat("新", 1000))};
  auto r = fit_history(ms, m, 0);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 2);
  CHECK(ms.size() == 3);

  std::vector<Message> huge{msg("user", repeat("长", 5000))};
  auto e = fit_history(huge, m, 0);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::context_length);
  CHECK(e.error().message == "message is 5000 characters; chatglm2_6b_32k accepts at most 4800 input characters");
}

TEST_CASE("vision images count toward the estimate") {
  Message m{"user", Json::array({Json{{"type", "text"}, {"text", "what is this"}},
                                 Json{{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}}}}})};
  CHECK(estimate_message_tokens(m) == estimate_tokens("what is this") + kMessageOverheadTokens + kImageTokens);
}

TEST_CASE("a model without limits never drops anything") {
  ModelInfo none;
  std::vector<Message> ms{msg("user", repeat("z", 1'000'000)), msg("assistant", "a"), msg("user", "b")};
  auto r = fit_history(ms, none, 0);
  REQUIRE(r.ok());
  CHECK(r.value().dropped_messages == 0);
  CHECK(ms.size() == 3);
}

TEST_CASE("to_alternating folds system into the first user turn and merges same-role runs") {
  std::vector<Message> ms{
      msg("system", "You are terse."), msg("user", "a"), msg("user", "b"), msg("assistant", "c"), msg("assistant", ""),
      msg("assistant", "d"),           msg("user", "e")};
  auto r = to_alternating(ms, std::nullopt, "m");
  REQUIRE(r.ok());
  CHECK(texts(r.value().messages) ==
        std::vector<std::string>{"user:You are terse.\n\na\n\nb", "assistant:c\n\nd", "user:e"});
  CHECK(r.value().dropped_messages == 1);  // the empty assistant message
  CHECK(r.value().messages.size() % 2 == 1);
}

TEST_CASE("to_alternating drops assistant messages before the first user message") {
  std::vector<Message> ms{msg("assistant", "Hi! How can I help?"), msg("user", "q")};
  auto r = to_alternating(ms, std::nullopt, "m");
  REQUIRE(r.ok());
  CHECK(texts(r.value().messages) == std::vector<std::string>{"user:q"});
  CHECK(r.value().dropped_messages == 1);
}

TEST_CASE("to_alternating rejects a conversation that does not end with the user") {
  auto r = to_alternating({msg("user", "q"), msg("assistant", "prefill")}, std::nullopt, "chatglm2_6b_32k");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid_request);
  CHECK(r.error().message == "messages: the last message must be from the user for chatglm2_6b_32k");
  auto none = to_alternating({msg("system", "s")}, std::nullopt, "m");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::invalid_request);
}

TEST_CASE("to_alternating meets a character limit by dropping the oldest pairs, system re-folded") {
  std::vector<Message> ms{msg("system", repeat("s", 100)),     msg("user", repeat("1", 3000)),
                          msg("assistant", repeat("2", 1000)), msg("user", repeat("3", 1000)),
                          msg("assistant", repeat("4", 1000)), msg("user", repeat("5", 1000))};
  auto r = to_alternating(ms, 4800, "chatglm2_6b_32k");
  REQUIRE(r.ok());
  const auto& out = r.value().messages;
  REQUIRE(out.size() == 3);
  CHECK(r.value().dropped_messages == 2);
  CHECK(out[0].text() == repeat("s", 100) + "\n\n" + repeat("3", 1000));
  int64_t total = 0;
  for (const auto& m : out) total += count_chars(m.text());
  CHECK(total <= 4800);
  CHECK(out.back().text() == repeat("5", 1000));
}

TEST_CASE("to_alternating: exactly 4800 characters fits, 4801 does not") {
  auto fits = to_alternating({msg("user", repeat("字", 4800))}, 4800, "chatglm2_6b_32k");
  CHECK(fits.ok());
  auto over = to_alternating({msg("user", repeat("字", 4801))}, 4800, "chatglm2_6b_32k");
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::context_length);
  CHECK(over.error().message == "message is 4801 characters; chatglm2_6b_32k accepts at most 4800 input characters");
  auto with_system =
      to_alternating({msg("system", repeat("s", 100)), msg("user", repeat("u", 4750))}, 4800, "chatglm2_6b_32k");
  REQUIRE_FALSE(with_system.ok());
  CHECK(with_system.error().message ==
        "the system prompt and the latest message are 4852 characters together; chatglm2_6b_32k accepts at "
        "most 4800 input characters");
}
