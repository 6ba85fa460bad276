// Framing: every message, split at every byte offset, decodes to the same frames; bad headers are
// reported and the reader resynchronises on the next message.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "rpc/framing.hpp"

using glm::rpc::Frame;
using glm::rpc::FrameError;
using glm::rpc::FrameReader;
using glm::rpc::Framing;

namespace {

struct Collected {
  std::vector<std::string> bodies;
  std::vector<Framing> framings;
  std::vector<std::string> errors;
};

struct Harness {
  Collected got;
  FrameReader reader;
  explicit Harness(size_t cap = 1 << 20)
      : reader(
            [this](Frame&& f) {
              got.bodies.push_back(f.body);
              got.framings.push_back(f.framing);
            },
            [this](FrameError&& e) { got.errors.push_back(e.message); }, cap) {}
};

std::string lsp(const std::string& body) {
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

Collected feed_whole(const std::string& input, size_t cap = 1 << 20) {
  Harness h(cap);
  h.reader.feed(input);
  h.reader.finish();
  return h.got;
}

void require_same(const Collected& a, const Collected& b) {
  REQUIRE(a.bodies == b.bodies);
  REQUIRE(a.framings == b.framings);
  REQUIRE(a.errors.size() == b.errors.size());
}

void check_every_split(const std::string& input, size_t cap = 1 << 20) {
  Collected whole = feed_whole(input, cap);
  for (size_t i = 0; i <= input.size(); ++i) {
    Harness h(cap);
    h.reader.feed(std::string_view(input).substr(0, i));
    h.reader.feed(std::string_view(input).substr(i));
    h.reader.finish();
    INFO("split at " << i);
    require_same(h.got, whole);
  }
  Harness bytes(cap);
  for (char c : input) bytes.reader.feed(std::string_view(&c, 1));
  bytes.reader.finish();
  require_same(bytes.got, whole);
}

const std::string kInit = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})";
const std::string kChat =
    R"({"jsonrpc":"2.0","id":"a","method":"chat","params":{"messages":[{"role":"user","content":"你好 \r\n"}]}})";

}  // namespace

TEST_CASE("LSP framing: messages back to back, split at every byte offset") {
  std::string input = lsp(kInit) + lsp(kChat) + lsp("[]");
  Collected got = feed_whole(input);
  REQUIRE(got.bodies == std::vector<std::string>{kInit, kChat, "[]"});
  REQUIRE(got.errors.empty());
  check_every_split(input);
}

TEST_CASE("LSP framing: header names are case-insensitive, any order, Content-Type accepted") {
  std::string input =
      "content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:   " + std::to_string(kInit.size()) +
      "\r\n\r\n" + kInit;
  Collected got = feed_whole(input);
  REQUIRE(got.bodies == std::vector<std::string>{kInit});
  REQUIRE(got.framings[0] == Framing::lsp);
  check_every_split(input);
}

TEST_CASE("NDJSON framing: one value per line, CRLF and a final line without newline") {
  std::string input = kInit + "\n" + kChat + "\r\n\n  \n[1,2]";
  Collected got = feed_whole(input);
  REQUIRE(got.bodies == std::vector<std::string>{kInit, kChat, "[1,2]"});
  REQUIRE(got.framings == std::vector<Framing>{Framing::ndjson, Framing::ndjson, Framing::ndjson});
  check_every_split(input);
}

TEST_CASE("Mixed framings in one stream keep each message's framing") {
  std::string input = lsp(kInit) + kChat + "\n" + lsp(kChat);
  Collected got = feed_whole(input);
  REQUIRE(got.framings == std::vector<Framing>{Framing::lsp, Framing::ndjson, Framing::lsp});
  check_every_split(input);
}

TEST_CASE("Missing Content-Length is reported and the next message still decodes") {
  std::string input = "Content-Type: application/json\r\n\r\n" + lsp(kInit);
  Collected got = feed_whole(input);
  REQUIRE(got.errors.size() == 1);
  REQUIRE(got.errors[0].find("missing Content-Length") != std::string::npos);
  REQUIRE(got.bodies == std::vector<std::string>{kInit});
  check_every_split(input);
}

TEST_CASE("Negative and non-numeric Content-Length: error, then resync on the next header") {
  for (std::string bad : {"-5", "abc", "12abc", "", "99999999999999999999999"}) {
    std::string input = "Content-Length: " + bad + "\r\n\r\n" + kInit + "\r\n" + lsp(kChat);
    INFO("Content-Length: '" << bad << "'");
    Collected got = feed_whole(input);
    REQUIRE(got.errors.size() >= 1);
    // The garbage body is not mistaken for a message only when it cannot be one; here the stray body
    // is itself a JSON line, so it is read as NDJSON after resync — what matters is that the next
    // framed message arrives intact and nothing crashed.
    REQUIRE(!got.bodies.empty());
    REQUIRE(got.bodies.back() == kChat);
    check_every_split(input);
  }
}

TEST_CASE("Content-Length over the cap is skipped without being stored") {
  std::string big(5000, 'x');
  std::string input = lsp(big) + lsp(kInit);
  Collected got = feed_whole(input, 1024);
  REQUIRE(got.errors.size() == 1);
  REQUIRE(got.errors[0].find("exceeds") != std::string::npos);
  REQUIRE(got.bodies == std::vector<std::string>{kInit});
  check_every_split(input, 1024);

  // A huge announced length must not allocate: the reader only counts down.
  Harness h(1024);
  h.reader.feed("Content-Length: 68719476736\r\n\r\nabc");
  REQUIRE(h.got.errors.size() == 1);
  REQUIRE(h.got.bodies.empty());
}

TEST_CASE("NDJSON line over the cap is dropped up to its newline") {
  std::string input = "{" + std::string(3000, 'a') + "}\n" + kInit + "\n";
  Collected got = feed_whole(input, 1024);
  REQUIRE(got.errors.size() == 1);
  REQUIRE(got.bodies == std::vector<std::string>{kInit});
  check_every_split(input, 1024);
}

TEST_CASE("Garbage lines before a message are skipped") {
  std::string input = "hello there\r\nnot a header\r\n\r\n" + lsp(kInit);
  Collected got = feed_whole(input);
  REQUIRE(got.bodies == std::vector<std::string>{kInit});
  REQUIRE(!got.errors.empty());
  check_every_split(input);
}

TEST_CASE("Body shorter than Content-Length then EOF reports a truncated message") {
  Harness h;
  h.reader.feed("Content-Length: 100\r\n\r\n{\"jsonrpc\":");
  REQUIRE_FALSE(h.reader.finish());
  REQUIRE(h.got.bodies.empty());
  REQUIRE(h.got.errors.size() == 1);
  REQUIRE(h.got.errors[0].find("short") != std::string::npos);
}

TEST_CASE("Zero-length body is delivered as an empty message") {
  Collected got = feed_whole("Content-Length: 0\r\n\r\n" + lsp(kInit));
  REQUIRE(got.bodies == std::vector<std::string>{"", kInit});
}
