#include "providers/credentials.hpp"

#include <cstdlib>

#include <asio/post.hpp>

namespace glm {
namespace {

std::string env_value(const std::string& name) {
  if (name.empty()) return {};
  const char* v = std::getenv(name.c_str());
  return v ? std::string(v) : std::string();
}

UpstreamError auth_error(std::string message) {
  UpstreamError e;
  e.kind = ErrorKind::auth;
  e.message = std::move(message);
  return e;
}

}  // namespace

Credentials::Credentials(const ProviderConfig& config)
    : provider_(config.name),
      inline_key_(config.api_key),
      key_env_(config.api_key_env),
      inline_secret_(config.secret_key),
      secret_env_(config.secret_key_env),
      key_cmd_(config.api_key_cmd) {
  if (auto it = config.extra.find("api_key_cmd_timeout_ms");
      it != config.extra.end() && it->is_number_integer() && it->get<int64_t>() > 0 && it->get<int64_t>() <= 600000)
    cmd_limits_.timeout_ms = static_cast<int>(it->get<int64_t>());
}

Credentials::~Credentials() {
  if (running_) running_->cancel();
  if (waiting_.empty() || !io_) return;
  std::vector<Ready> waiting = std::move(waiting_);
  std::string who = provider_;
  asio::post(*io_, [waiting = std::move(waiting), who] {
    for (const auto& ready : waiting) ready(auth_error(who + ": provider shut down while api_key_cmd ran"));
  });
}

void Credentials::resolve(asio::io_context& io, Ready ready) {
  if (key_ || !inline_key_.empty() || !env_value(key_env_).empty() || key_cmd_.empty()) {
    ready(std::nullopt);
    return;
  }
  io_ = &io;
  waiting_.push_back(std::move(ready));
  if (running_) return;
  running_ = SecretCommand::start(io, key_cmd_, cmd_limits_, [this](Result<std::string> r) {
    // Runs on the loop; the destructor cancels the command first, so `this` is alive here.
    running_.reset();
    std::optional<UpstreamError> error;
    if (!r) {
      error = auth_error(provider_ + ": api_key_cmd failed: " + r.error().message);
    } else if (r.value().empty()) {
      error = auth_error(provider_ + ": api_key_cmd printed nothing");
    } else {
      key_ = std::move(r.value());
    }
    std::vector<Ready> waiting = std::move(waiting_);
    waiting_.clear();
    for (const auto& w : waiting) w(error);
  });
}

bool Credentials::has_api_key_source() const {
  return !inline_key_.empty() || !env_value(key_env_).empty() || !key_cmd_.empty();
}

Result<std::string> Credentials::api_key() {
  if (key_) return *key_;
  if (!inline_key_.empty()) return *(key_ = inline_key_);
  if (auto v = env_value(key_env_); !v.empty()) return *(key_ = v);
  if (!key_cmd_.empty()) {
    return auth_error(provider_ + ": the key from api_key_cmd is not available yet (internal: resolve() first)");
  }
  std::string what = key_env_.empty() ? std::string("providers.") + provider_ + ".api_key_env" : key_env_;
  return auth_error(provider_ + ": no API key: set " + what + " (or providers." + provider_ +
                    ".api_key_cmd in the config)");
}

Result<std::string> Credentials::secret_key() {
  if (secret_) return *secret_;
  if (!inline_secret_.empty()) return *(secret_ = inline_secret_);
  if (auto v = env_value(secret_env_); !v.empty()) return *(secret_ = v);
  std::string what = secret_env_.empty() ? std::string("providers.") + provider_ + ".secret_key_env" : secret_env_;
  return auth_error(provider_ + ": no secret key: set " + what);
}

std::vector<std::string> Credentials::known_secrets() const {
  std::vector<std::string> out;
  for (const auto* v : {&inline_key_, &inline_secret_})
    if (!v->empty()) out.push_back(*v);
  for (const auto& o : {key_, secret_})
    if (o && !o->empty()) out.push_back(*o);
  for (const auto* name : {&key_env_, &secret_env_})
    if (auto v = env_value(*name); !v.empty()) out.push_back(v);
  return out;
}

void Credentials::invalidate() {
  key_.reset();
  secret_.reset();
}

}  // namespace glm
