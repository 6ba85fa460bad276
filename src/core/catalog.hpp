// The model catalog: what we know about each provider's models (limits, thinking, input format,
// documented sampling defaults). Static, immutable data built on first use; safe to read from any
// thread. A model missing from the catalog is still usable: it just has no limits we can enforce.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace glm {

struct ModelInfo {
  std::string provider, id;  // "dashscope", "chatglm3-6b"
  std::optional<int64_t> context_window, max_input_tokens, max_output_tokens, max_input_chars;
  bool thinking = false;          // supports thinking mode
  bool thinking_default = false;  // thinking is on unless the request turns it off
  bool stream_only = false;       // GLM on DashScope: upstream must stream even for stream:false
  bool vision = false;
  std::string input_format = "messages";  // or "prompt" (chatglm-6b-v2: prompt + history only)
  Json defaults = Json::object();         // documented default sampling params (temperature, top_p, top_k)
};

// Every model we know, grouped by provider, in a stable order (models/list shows them in this order).
const std::vector<ModelInfo>& model_catalog();

// nullptr = unknown (still usable, no limits).
const ModelInfo* find_model(std::string_view provider, std::string_view model);

}  // namespace glm
