// Server configuration (DESIGN.md §2): a JSON file, then initialize's `config` merged on top.
// Built and validated on the loop thread; read-only afterwards.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace glm {

struct ProviderConfig {
  std::string name;                      // "zhipu", "dashscope", "dashscope-compat", "qianfan", "openai"
  std::string base_url;
  std::string api_key;                   // inline secret (discouraged; never logged)
  std::string api_key_env;               // env var holding the key
  std::vector<std::string> api_key_cmd;  // argv run once, lazily, no shell; stdout (trimmed) is the key
  std::string secret_key_env;            // qianfan: env var holding the secret key (QIANFAN_SK)
  std::string secret_key;                // qianfan: inline secret key
  std::string auth;                      // provider-specific auth mode: zhipu "key"|"jwt"; qianfan "oauth"|"bce"
  std::string ca_file;                   // extra CA bundle (e.g. a self-signed local deployment)
  std::string ca_path;                   // hashed CA directory (default: the system's, when it exists)
  std::string proxy;                     // proxy URL; empty = libcurl's standard env handling
  bool insecure = false;                 // disables TLS verification; only ever set explicitly
  int64_t timeout_ms = 60000;            // connect, first byte, and idle time between bytes
  int max_retries = 2;
  Json extra = Json::object();           // any other keys, for the provider to read
};

struct Config {
  std::string default_model = "zhipu/glm-4.6";
  std::map<std::string, ProviderConfig> providers;  // keyed by provider name; always has the built-ins
  int64_t max_message_bytes = 64ll << 20;           // framing cap on Content-Length / NDJSON lines
  int64_t max_json_depth = 512;                     // nesting cap on a message, checked before parsing
  Json raw = Json::object();                        // the merged JSON, for re-merging

  // Built-in defaults (the table of DESIGN.md §2).
  static Config defaults();
};

// Merges `overlay` into `base` (objects recursively, everything else replaced) and rebuilds a Config.
// Returns an error message naming the bad key (e.g. "providers.zhipu.timeout_ms: expected a positive
// integer") on invalid input; `out` is untouched then.
std::optional<std::string> apply_config(Config& out, const Json& overlay);

// Reads and applies a config file. Missing file at an explicit path is an error.
std::optional<std::string> load_config_file(Config& out, const std::string& path);

// $XDG_CONFIG_HOME/glm-server/config.json (or ~/.config/...) if it exists, else "".
std::string default_config_path();

}  // namespace glm
