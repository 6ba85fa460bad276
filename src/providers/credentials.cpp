#include "providers/credentials.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

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

std::string trim_trailing(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

}  // namespace

Credentials::Credentials(const ProviderConfig& config)
    : provider_(config.name),
      inline_key_(config.api_key),
      key_env_(config.api_key_env),
      inline_secret_(config.secret_key),
      secret_env_(config.secret_key_env),
      key_cmd_(config.api_key_cmd) {}

bool Credentials::has_api_key_source() const {
  return !inline_key_.empty() || !env_value(key_env_).empty() || !key_cmd_.empty();
}

Result<std::string> Credentials::api_key() {
  if (key_) return *key_;
  if (!inline_key_.empty()) return *(key_ = inline_key_);
  if (auto v = env_value(key_env_); !v.empty()) return *(key_ = v);
  if (!key_cmd_.empty()) {
    auto r = run_secret_command(key_cmd_);
    if (!r) return auth_error(provider_ + ": api_key_cmd failed: " + r.error().message);
    if (r.value().empty()) return auth_error(provider_ + ": api_key_cmd printed nothing");
    return *(key_ = r.value());
  }
  std::string what = key_env_.empty() ? std::string("providers.") + provider_ + ".api_key_env"
                                      : key_env_;
  return auth_error(provider_ + ": no API key: set " + what + " (or providers." + provider_ +
                    ".api_key_cmd in the config)");
}

Result<std::string> Credentials::secret_key() {
  if (secret_) return *secret_;
  if (!inline_secret_.empty()) return *(secret_ = inline_secret_);
  if (auto v = env_value(secret_env_); !v.empty()) return *(secret_ = v);
  std::string what = secret_env_.empty() ? std::string("providers.") + provider_ + ".secret_key_env"
                                         : secret_env_;
  return auth_error(provider_ + ": no secret key: set " + what);
}

void Credentials::invalidate() {
  key_.reset();
  secret_.reset();
}

Result<std::string> run_secret_command(const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty()) return auth_error("empty command");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return auth_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  // The command's stdin must not be our protocol stream.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return auth_error("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) { timed_out = true; break; }
    pollfd p{out[0], POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { timed_out = n == 0; break; }
    ssize_t got = read(out[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (output.size() + static_cast<size_t>(got) > (1u << 20)) break;  // a key is not a megabyte
    output.append(buf, static_cast<size_t>(got));
  }
  close(out[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (timed_out) return auth_error("'" + argv[0] + "' timed out after " + std::to_string(timeout_ms) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return auth_error("'" + argv[0] + "' exited with status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  return trim_trailing(std::move(output));
}

}  // namespace glm
