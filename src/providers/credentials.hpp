// Secrets for one provider, resolved lazily and cached: inline value, else an environment variable,
// else a command (argv, no shell) run once when first needed. Loop thread only.
// Secrets never reach a log line: callers log only which *source* was used.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/types.hpp"

namespace glm {

class Credentials {
 public:
  explicit Credentials(const ProviderConfig& config);

  // Error: UpstreamError{kind=auth} whose message names what to set, e.g.
  // "zhipu: no API key: set ZHIPUAI_API_KEY (or providers.zhipu.api_key_cmd)".
  Result<std::string> api_key();
  Result<std::string> secret_key();  // qianfan's secret key (secret_key / secret_key_env)
  bool has_api_key_source() const;   // some source is configured and (for env) non-empty; runs nothing
  void invalidate();                 // forget cached values: env re-read, command re-run next time

 private:
  std::string provider_;
  std::string inline_key_, key_env_, inline_secret_, secret_env_;
  std::vector<std::string> key_cmd_;
  std::optional<std::string> key_, secret_;
};

// Runs argv (no shell) with a timeout, returns its stdout with trailing whitespace trimmed.
// Error message never includes the output.
Result<std::string> run_secret_command(const std::vector<std::string>& argv, int timeout_ms = 10000);

}  // namespace glm
