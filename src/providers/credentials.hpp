// Secrets for one provider, resolved lazily and cached: inline value, else an environment variable,
// else a command (argv, no shell) run once when first needed, off the loop (SecretCommand: a command
// that hangs holds up no other request). Loop thread only.
// Secrets never reach a log line: callers log only which *source* was used.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "core/config.hpp"
#include "core/types.hpp"
#include "providers/secret_command.hpp"

namespace glm {

class Credentials {
 public:
  explicit Credentials(const ProviderConfig& config);
  // A command still running is killed; requests waiting in resolve() get an error (posted).
  ~Credentials();
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // Call before api_key() when it may need api_key_cmd: when the key is inline, in the environment
  // or cached, `ready(nullopt)` runs at once; otherwise the command runs off the loop (one run however
  // many requests wait) and `ready` runs on the loop when it finished: nullopt (api_key() now answers
  // from the cache) or the command's error (kind auth; the next resolve() runs it again).
  using Ready = std::function<void(std::optional<UpstreamError>)>;
  void resolve(asio::io_context& io, Ready ready);

  // Error: UpstreamError{kind=auth} whose message names what to set, e.g.
  // "zhipu: no API key: set ZHIPUAI_API_KEY (or providers.zhipu.api_key_cmd)".
  Result<std::string> api_key();     // never runs the command: resolve() first
  Result<std::string> secret_key();  // qianfan's secret key (secret_key / secret_key_env)
  bool has_api_key_source() const;   // some source is configured and (for env) non-empty; runs nothing
  void invalidate();                 // forget cached values: env re-read, command re-run next time
  // Every secret value known now (inline, from the environment, from the command), for redaction.
  std::vector<std::string> known_secrets() const;

 private:
  std::string provider_;
  std::string inline_key_, key_env_, inline_secret_, secret_env_;
  std::vector<std::string> key_cmd_;
  SecretCommand::Limits cmd_limits_;
  std::optional<std::string> key_, secret_;
  std::shared_ptr<SecretCommand> running_;
  asio::io_context* io_ = nullptr;
  std::vector<Ready> waiting_;
};

}  // namespace glm
