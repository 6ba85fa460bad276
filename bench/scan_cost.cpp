// What the nesting pre-scan (src/rpc/json_scan.cpp) costs next to the parse it guards, on chat-shaped
// messages. Build and run (release flags, no CMake target: it is a one-off measurement):
//   g++ -std=c++20 -O2 -Isrc bench/scan_cost.cpp src/rpc/json_scan.cpp -o /tmp/scan_cost && /tmp/scan_cost
#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "rpc/json_scan.hpp"

namespace {

// A chat request with `turns` messages of source code (quotes, backslashes, brackets, newlines).
std::string chat_message(int turns) {
  std::string code =
      "for (auto& [k, v] : m) { if (v.find(\"\\\"\") != npos) out[k] = {v, \"[x]\"}; }\n"
      "printf(\"%s\\n\", s.c_str()); // {braces} [brackets] \"quotes\" \\\\ backslashes\n";
  nlohmann::json msgs = nlohmann::json::array();
  for (int i = 0; i < turns; ++i) {
    std::string text;
    while (text.size() < 2000) text += code;
    msgs.push_back({{"role", i % 2 ? "assistant" : "user"}, {"content", text}});
  }
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", 42}, {"method", "chat"},
                        {"params", {{"model", "zhipu/glm-4.6"}, {"messages", msgs}, {"options", {{"temperature", 0.2}}}}}}
      .dump();
}

template <typename F>
double ns_per_call(F&& f, int reps) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / reps;
}

}  // namespace

int main() {
  std::printf("%10s %12s %12s %8s\n", "bytes", "scan ns", "parse ns", "scan %");
  for (int turns : {1, 10, 100}) {
    std::string msg = chat_message(turns);
    int reps = 200000 / turns;
    volatile bool sink = false;
    double scan = ns_per_call([&] { sink = glm::rpc::nesting_exceeds(msg, 512); }, reps);
    double parse = ns_per_call([&] { sink = nlohmann::json::parse(msg).is_object(); }, reps / 10 + 1);
    std::printf("%10zu %12.0f %12.0f %7.1f%%\n", msg.size(), scan, parse, 100 * scan / parse);
  }
}
