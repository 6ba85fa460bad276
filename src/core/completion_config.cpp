#include "core/completion_config.hpp"

#include <cmath>

namespace glm {

std::optional<std::string> parse_completion_config(const Json& section, CompletionConfig& out) {
  if (!section.is_object()) return std::string("completion: expected an object");
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    const std::string path = "completion." + k;
    auto integer = [&](int64_t lo, int64_t hi, auto& field) -> std::optional<std::string> {
      if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
        return path + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
      field = static_cast<std::remove_reference_t<decltype(field)>>(v.get<int64_t>());
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (k == "model") {
      if (!v.is_string()) return path + ": expected \"<provider>/<model>\", e.g. \"zhipu/codegeex-4\"";
      const std::string m = v.get<std::string>();
      const size_t slash = m.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == m.size())
        return path + ": expected \"<provider>/<model>\", e.g. \"zhipu/codegeex-4\"";
      out.model = m;
    } else if (k == "prefix_chars") {
      err = integer(0, 1 << 24, out.prefix_chars);
    } else if (k == "suffix_chars") {
      err = integer(0, 1 << 24, out.suffix_chars);
    } else if (k == "contexts_chars") {
      err = integer(0, 1 << 24, out.contexts_chars);
    } else if (k == "cache_size") {
      err = integer(0, 100000, out.cache_size);
    } else if (k == "max_tokens") {
      err = integer(1, 131072, out.max_tokens);
    } else if (k == "max_lines") {
      err = integer(0, 100000, out.max_lines);
    } else if (k == "timeout_ms") {
      err = integer(1, 600000, out.timeout_ms);
    } else if (k == "temperature" || k == "top_p") {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 || v.get<double>() > 2)
        return path + ": expected a number in [0, 2]";
      (k == "temperature" ? out.temperature : out.top_p) = v.get<double>();
    } else {
      return path +
             ": unknown key (known: model, prefix_chars, suffix_chars, contexts_chars, cache_size, max_tokens, "
             "temperature, top_p, max_lines, timeout_ms)";
    }
    if (err) return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_fim_style(const Json& value) {
  if (value.is_string() && (value == "chat" || value == "completions")) return std::nullopt;
  return std::string("expected \"chat\" or \"completions\"");
}

}  // namespace glm
