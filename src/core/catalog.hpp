// What we know about one model (limits, thinking, input format, documented sampling defaults).
// Plain data. Each provider kind declares its models in its own file (src/providers/*.cpp, the
// `models` of its ProviderSpec); an instance may add its own in the config. The lookup is
// find_model() in src/providers/registry.hpp. A model nobody lists is still usable: it just has no
// limits we can enforce.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace glm {

struct ModelInfo {
  std::string provider, id;  // provider kind (catalog) or instance (config models), and the model id
  std::optional<int64_t> context_window, max_input_tokens, max_output_tokens, max_input_chars;
  bool thinking = false;          // supports thinking mode
  bool thinking_default = false;  // thinking is on unless the request turns it off
  bool stream_only = false;       // GLM on DashScope: upstream must stream even for stream:false
  bool vision = false;
  bool uncertain = false;                 // some limit is our best reading of incomplete documentation
  std::string input_format = "messages";  // or "prompt" (chatglm-6b-v2: prompt + history only)
  Json defaults = Json::object();         // documented default sampling params (temperature, top_p, top_k)
};

// A catalog entry for `provider`/`id` with nothing else set (a helper for the providers' tables).
ModelInfo model_entry(std::string provider, std::string id);

}  // namespace glm
