// The `completion` section of the configuration (docs/protocol.md, "Configuration"): what `complete`
// uses when the request does not say. Plain data and its parser; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/types.hpp"

namespace glm {

struct CompletionConfig {
  std::string model = "zhipu/codegeex-4";  // "<provider>/<model>"
  int64_t prefix_chars = 6000;             // text before the cursor sent upstream (whole lines)
  int64_t suffix_chars = 2000;             // text after the cursor sent upstream (whole lines)
  int64_t contexts_chars = 6000;           // all `contexts` (related files) together
  int64_t cache_size = 64;                 // answers remembered (LRU); 0 turns the cache off
  int max_tokens = 256;
  double temperature = 0.2;
  double top_p = 0.95;
  int max_lines = 0;           // 0 = no line limit (options.max_lines per request)
  int64_t timeout_ms = 10000;  // connect, first byte and silence limit for one completion request
};

// Reads `completion` (an object) over the defaults in `out`. Returns "completion.<key>: ..." on a bad
// key or value; `out` may be partly updated then (callers discard it).
std::optional<std::string> parse_completion_config(const Json& section, CompletionConfig& out);

// providers.<name>.fim: how a chat-model provider is asked to fill the middle: "chat" (an instruction
// prompt on /chat/completions, the default) or "completions" (POST {base_url}/completions with
// `prompt` and `suffix`, for OpenAI-compatible servers with a FIM endpoint). nullopt when valid.
std::optional<std::string> check_fim_style(const Json& value);

}  // namespace glm
