// Test helper: runs build/glm-server as a child process with pipes, writes framed messages and reads
// framed replies with timeouts. Header-only; used by the test_server_* and test_e2e_* suites.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace glm::test {

using Json = nlohmann::json;

class ServerProcess {
 public:
  // `binary`: another server build (the provider recipe's glm-server-recipe).
  explicit ServerProcess(std::vector<std::string> args = {}, std::vector<std::string> env_extra = {},
                         std::string binary = {}) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    // GLM_TEST_SERVER_BIN runs the suite against another binary (e.g. an older build, to see a
    // regression test fail before its fix); an explicit `binary` (the recipe build) wins.
    const char* override_bin = std::getenv("GLM_TEST_SERVER_BIN");
    const std::string bin = !binary.empty() ? binary : override_bin && *override_bin ? override_bin : GLM_SERVER_BIN;
    std::vector<std::string> argv_s{bin};
    for (auto& a : args) argv_s.push_back(a);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    for (auto& e : env_extra) env_s.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0)
      throw std::runtime_error("spawn " + bin);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
    signal(SIGPIPE, SIG_IGN);
  }
  ~ServerProcess() {
    close_stdin();
    close_stdout();
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void write_raw(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(in_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) throw std::runtime_error("write to server failed");
      off += static_cast<size_t>(n);
    }
  }
  void send(const Json& j) {
    std::string body = j.dump();
    write_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  void send_line(const Json& j) { write_raw(j.dump() + "\n"); }

  // Next message (LSP or NDJSON framing), or nullopt on timeout/EOF. `framing` tells which one came.
  std::optional<Json> read(int timeout_ms = 5000, std::string* framing = nullptr) {
    auto text = read_text(timeout_ms, framing);
    if (!text) return std::nullopt;
    return Json::parse(*text);
  }
  // The same, as the exact JSON text the server wrote.
  std::optional<std::string> read_text(int timeout_ms = 5000, std::string* framing = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto m = parse_one(framing)) return m;
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || out_ < 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) {
        eof_ = true;
        if (auto m = parse_one(framing)) return m;
        return std::nullopt;
      }
      buf_.append(buf, static_cast<size_t>(n));
    }
  }
  // Reads until a response (not a notification) arrives; notifications are appended to `notes`.
  std::optional<Json> read_response(std::vector<Json>* notes = nullptr, int timeout_ms = 5000) {
    for (;;) {
      auto m = read(timeout_ms);
      if (!m) return std::nullopt;
      if (m->is_object() && m->contains("method")) {
        if (notes) notes->push_back(*m);
        continue;
      }
      return m;
    }
  }
  Json request(const std::string& method, Json params, Json id = 1) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
    auto r = read_response();
    if (!r) throw std::runtime_error("no reply to " + method);
    return *r;
  }

  void close_stdin() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }
  void close_stdout() {
    if (out_ >= 0) close(out_);
    out_ = -1;
  }
  // Waits for exit; returns the wait status, or nullopt on timeout.
  std::optional<int> wait_exit(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) return exit_status_ = st;
      usleep(2000);
    }
    return std::nullopt;
  }
  bool eof() const { return eof_; }
  std::string unparsed() const { return buf_.substr(head_); }
  pid_t pid() const { return pid_; }

 private:
  // Consumes one message from the front of buf_. Erasing per message would be quadratic when many
  // small messages arrive in one read, so the consumed prefix is dropped in larger steps.
  void consume(size_t n) {
    head_ = n;
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    } else if (head_ > (1u << 20)) {
      buf_.erase(0, head_);
      head_ = 0;
    }
  }
  std::optional<std::string> parse_one(std::string* framing) {
    size_t i = buf_.find_first_not_of("\r\n", head_);
    if (i == std::string::npos) return std::nullopt;
    if (buf_[i] == '{' || buf_[i] == '[') {
      size_t nl = buf_.find('\n', i);
      if (nl == std::string::npos) return std::nullopt;
      std::string j = buf_.substr(i, nl - i);
      consume(nl + 1);
      if (framing) *framing = "ndjson";
      return j;
    }
    size_t he = buf_.find("\r\n\r\n", i);
    if (he == std::string::npos) return std::nullopt;
    std::string head = buf_.substr(i, he - i);
    size_t cl = head.find("Content-Length: ");
    if (cl == std::string::npos) throw std::runtime_error("server sent a frame without Content-Length: " + head);
    size_t len = std::stoul(head.substr(cl + 16));
    if (buf_.size() < he + 4 + len) return std::nullopt;
    std::string j = buf_.substr(he + 4, len);
    consume(he + 4 + len);
    if (framing) *framing = "lsp";
    return j;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
  size_t head_ = 0;  // buf_[0, head_) is consumed
  bool eof_ = false;
  std::optional<int> exit_status_;
};

inline Json rpc(Json id, const std::string& method, Json params = Json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace glm::test
