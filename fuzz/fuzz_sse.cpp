// libFuzzer target: the SSE parser (sse::SseParser), lenient and spec mode.
// Oracles: no crash/UB/leak; identical callbacks whether the input arrives whole or in pieces; every
// string handed to the handler is valid UTF-8 (the parser's documented promise); no event data
// beyond the cap; a non-SSE body is reported at most once, only by finish(), and only in lenient mode.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "sse/sse_parser.hpp"

namespace {

constexpr size_t kCap = 4096;

struct Recorder : glm::sse::Handler {
  std::vector<std::string> log;
  bool finishing = false;
  int bodies = 0;
  void check(std::string_view s) {
    if (!glm::fuzz::valid_utf8(s)) glm::fuzz::fail("handler got invalid UTF-8");
  }
  void on_event(const glm::sse::Event& e) override {
    check(e.type);
    check(e.data);
    check(e.id);
    if (e.data.size() > kCap) glm::fuzz::fail("event data larger than the cap");
    if (e.type.empty()) glm::fuzz::fail("event without a type");
    log.push_back("E" + e.type + "\x1f" + e.id + "\x1f" + e.data);
  }
  void on_comment(std::string_view text) override {
    check(text);
    log.push_back("C" + std::string(text));
  }
  void on_retry(uint64_t ms) override { log.push_back("R" + std::to_string(ms)); }
  void on_non_sse_body(std::string_view body) override {
    check(body);
    if (!finishing) glm::fuzz::fail("non-SSE body reported before finish()");
    if (++bodies > 1) glm::fuzz::fail("non-SSE body reported twice");
    if (body.size() > kCap) glm::fuzz::fail("non-SSE body larger than the cap");
    log.push_back("B" + std::string(body));
  }
};

std::vector<std::string> run(const std::vector<std::string_view>& pieces, bool lenient) {
  glm::sse::SseParser parser(kCap);
  Recorder rec;
  std::string status;
  for (auto p : pieces) status += parser.feed(p, rec) == glm::sse::SseParser::Status::ok ? 'o' : 'x';
  rec.finishing = true;
  bool ok = parser.finish(rec, lenient) == glm::sse::SseParser::Status::ok;
  if (!lenient && rec.bodies) glm::fuzz::fail("non-SSE body reported in spec mode");
  // A second finish() reports nothing more.
  size_t before = rec.log.size();
  parser.finish(rec, lenient);
  if (rec.log.size() != before) glm::fuzz::fail("second finish() reported more");
  // Overflow is sticky: once a feed() said overflow, every later one does.
  if (auto x = status.find('x'); x != std::string::npos && status.find('o', x) != std::string::npos)
    glm::fuzz::fail("overflow was not sticky");
  rec.log.push_back(ok ? "finish ok" : "finish overflow");
  rec.log.push_back(status.find('x') == std::string::npos ? "fed ok" : "fed overflow");
  return rec.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto pieces = glm::fuzz::chunks_of(input);
  for (bool lenient : {true, false}) {
    auto whole = run({input}, lenient);
    auto split = run(pieces, lenient);
    if (whole != split) glm::fuzz::fail("callbacks differ between whole and split input");
  }
  return 0;
}
