// Server configuration (docs/providers.md): a JSON file, then initialize's `config` merged on top.
// Built and validated on the loop thread; read-only afterwards.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/actions.hpp"
#include "core/catalog.hpp"
#include "core/completion_config.hpp"
#include "core/types.hpp"

namespace glm {

// One provider instance: a named endpoint of some provider kind (docs/providers.md "Named endpoints").
struct ProviderConfig {
  std::string name;  // instance name, the part of "instance/model" before the slash
  std::string kind;  // provider kind from the registry; defaults to `name`
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
  int64_t timeout_ms = 60000;            // connect, first byte, and idle time between bytes (1 ms to 1 h)
  int max_retries = 2;
  // Retry backoff (core/retry.hpp): first delay, largest delay, and the cap on one request's total wait.
  int64_t retry_initial_delay_ms = 500;
  int64_t retry_max_delay_ms = 8000;
  int64_t retry_max_total_ms = 20000;
  std::vector<std::pair<std::string, std::string>> extra_headers;  // sent with every request
  std::vector<ModelInfo> models;  // the instance's own models (listed first, override the catalog)
  Json extra = Json::object();    // any other keys, for the provider to read
};

// What config validation needs from the provider registry (src/providers/registry.hpp builds it from
// each provider's description). Core itself names no provider.
struct ProviderKinds {
  std::vector<std::string> kinds;           // every provider kind, in registry order
  Json kind_defaults = Json::object();      // kind → keys a new instance of it starts from (no credentials)
  Json builtin_instances = Json::object();  // instance name → its default keys (with "kind")
  std::string default_model;                // "<instance>/<model>" when the config names none
};

// The `prompts` section: system prompts that replace the built-in ones (core/prompts.cpp); "" = built-in.
struct PromptsConfig {
  std::string edit;
};

struct Config {
  std::string default_model;
  std::map<std::string, ProviderConfig> providers;  // keyed by instance name; always has the built-ins
  int64_t max_message_bytes = 64ll << 20;           // framing cap on Content-Length / NDJSON lines
  int64_t max_json_depth = 512;                     // nesting cap on a message, checked before parsing
  int64_t max_response_bytes = 8ll << 20;           // content + reasoning of one reply; more is an error
  CompletionConfig completion;                      // the `completion` section (`complete` defaults)
  PromptsConfig prompts;                            // the `prompts` section
  std::vector<Action> actions = builtin_actions();  // the action library with the `actions` section applied
  Json raw = Json::object();                        // the merged JSON, for re-merging
  std::shared_ptr<const ProviderKinds> kinds;       // the registry's view; kept through apply_config
  // Said once at startup by the server (spdlog, so on stderr or in --log-file): e.g. a config file
  // holding an inline key that others can read (load_config_file).
  std::vector<std::string> warnings;

  // The built-in instances of `kinds` with their defaults (docs/providers.md). The server passes
  // provider_kinds() (src/providers/registry.hpp).
  static Config defaults(std::shared_ptr<const ProviderKinds> kinds);
};

// Merges `overlay` into `base` (objects recursively, everything else replaced) and rebuilds a Config.
// Returns an error message naming the bad key (e.g. "providers.zhipu.timeout_ms: expected a positive
// integer") on invalid input; `out` is untouched then. `out` must come from Config::defaults().
std::optional<std::string> apply_config(Config& out, const Json& overlay);

// Reads and applies a config file. Missing file at an explicit path is an error. A JSON syntax error is
// reported by line and column only: the text near it may be a key. A file that holds an inline
// `api_key` or `secret_key` and is readable by its group or others adds a warning to out.warnings
// naming the path and `chmod 600` (as ssh does for a private key).
std::optional<std::string> load_config_file(Config& out, const std::string& path);

// $XDG_CONFIG_HOME/glm-server/config.json (or ~/.config/...) if it exists, else "".
std::string default_config_path();

}  // namespace glm
