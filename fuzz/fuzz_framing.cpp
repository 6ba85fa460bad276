// libFuzzer target: the client framing decoder (rpc::FrameReader), LSP headers and NDJSON.
// Oracles: no crash/UB/leak; the same frames and the same number of errors whether the input arrives
// whole or in pieces; no frame larger than the cap; every frame body non-empty.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "rpc/framing.hpp"

namespace {

constexpr size_t kCap = 4096;  // small, so the over-long paths are reachable inside -max_len

struct Outcome {
  std::vector<std::string> frames;  // framing tag + body
  size_t errors = 0;
  bool finished_clean = true;
};

Outcome run(const std::vector<std::string_view>& pieces) {
  Outcome out;
  glm::rpc::FrameReader reader(
      [&](glm::rpc::Frame&& f) {
        if (f.body.size() > kCap) glm::fuzz::fail("frame larger than the cap");
        out.frames.push_back((f.framing == glm::rpc::Framing::lsp ? "L:" : "N:") + f.body);
      },
      [&](glm::rpc::FrameError&& e) {
        if (e.message.empty()) glm::fuzz::fail("framing error without a message");
        ++out.errors;
      },
      kCap);
  for (auto p : pieces) reader.feed(p);
  out.finished_clean = reader.finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Outcome whole = run({input});
  Outcome split = run(glm::fuzz::chunks_of(input));
  if (whole.frames != split.frames) glm::fuzz::fail("frames differ between whole and split input");
  if (whole.errors != split.errors) glm::fuzz::fail("error count differs between whole and split input");
  if (whole.finished_clean != split.finished_clean) glm::fuzz::fail("finish() differs between whole and split input");
  return 0;
}
