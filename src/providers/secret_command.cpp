#include "providers/secret_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <asio/post.hpp>

extern char** environ;

namespace glm {
namespace {

UpstreamError auth_error(std::string message) {
  UpstreamError e;
  e.kind = ErrorKind::auth;
  e.message = std::move(message);
  return e;
}

constexpr int kPollMs = 10;  // how often a child that closed its stdout is checked for exit

}  // namespace

SecretCommand::SecretCommand(asio::io_context& io, std::string name, Limits limits, Done done)
    : pipe_(io), deadline_(io), poll_(io), name_(std::move(name)), limits_(limits), done_(std::move(done)) {}

std::shared_ptr<SecretCommand> SecretCommand::start(asio::io_context& io, const std::vector<std::string>& argv,
                                                    Limits limits, Done done) {
  auto self = std::make_shared<SecretCommand>(io, argv.empty() ? std::string() : argv[0], limits, std::move(done));
  auto fail_soon = [&](std::string message) {
    // Never call back from inside start(): the caller may still be setting up.
    asio::post(io, [self, message = std::move(message)]() mutable { self->finish(auth_error(std::move(message))); });
    return self;
  };
  if (argv.empty()) return fail_soon("empty command");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return fail_soon(std::string("pipe: ") + std::strerror(errno));
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
    return fail_soon("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }
  self->pid_ = pid;
  asio::error_code ec;
  self->pipe_.assign(out[0], ec);
  if (ec) {
    close(out[0]);
    self->kill_child();
    return fail_soon("pipe: " + ec.message());
  }
  std::weak_ptr<SecretCommand> weak = self;
  self->deadline_.expires_after(std::chrono::milliseconds(limits.timeout_ms));
  self->deadline_.async_wait([weak](const asio::error_code& e) {
    auto s = weak.lock();
    if (e || !s || s->finished_) return;
    s->timed_out_ = true;
    s->kill_child();
    s->finish(auth_error("'" + s->name_ + "' timed out after " + std::to_string(s->limits_.timeout_ms) + " ms"));
  });
  self->read();
  return self;
}

void SecretCommand::read() {
  auto buf = std::make_shared<std::array<char, 4096>>();
  std::weak_ptr<SecretCommand> weak = shared_from_this();
  pipe_.async_read_some(asio::buffer(*buf), [weak, buf](const asio::error_code& ec, size_t n) {
    auto s = weak.lock();
    if (!s || s->finished_) return;
    if (!ec) {
      if (s->output_.size() + n > s->limits_.max_output) {
        s->too_long_ = true;
        s->kill_child();
        s->finish(auth_error("'" + s->name_ + "' printed more than " + std::to_string(s->limits_.max_output) +
                             " bytes; a key is a single short line"));
        return;
      }
      s->output_.append(buf->data(), n);
      s->read();
      return;
    }
    // EOF (or a read error): the child closed its stdout. It may still be running.
    s->eof_ = true;
    asio::error_code ignored;
    s->pipe_.close(ignored);
    s->wait_exit();
  });
}

void SecretCommand::wait_exit() {
  if (finished_) return;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r < 0 && errno == EINTR) r = 0;  // look again on the next tick
  if (r == pid_ || r < 0) {
    // r < 0 (ECHILD): nobody else reaps our children, so this does not happen; the output stands.
    if (r < 0) status = 0;
    exited_ = true;
    pid_ = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      finish(auth_error("'" + name_ + "' exited with status " +
                        std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))));
      return;
    }
    std::string key = std::move(output_);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
      key.pop_back();
    finish(std::move(key));
    return;
  }
  // Still running with its stdout closed: look again shortly; the deadline bounds the wait.
  std::weak_ptr<SecretCommand> weak = shared_from_this();
  poll_.expires_after(std::chrono::milliseconds(kPollMs));
  poll_.async_wait([weak](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s) return;
    s->wait_exit();
  });
}

void SecretCommand::kill_child() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  // SIGKILL cannot be caught: the child is gone promptly. Reap it without blocking the loop for
  // long (a process stuck in the kernel is left to init rather than freezing every stream).
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    usleep(1000);
  }
  pid_ = -1;
}

void SecretCommand::finish(Result<std::string> result) {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  poll_.cancel();
  asio::error_code ignored;
  pipe_.close(ignored);
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(result));
}

void SecretCommand::cancel() {
  if (finished_) return;
  finished_ = true;
  done_ = nullptr;
  deadline_.cancel();
  poll_.cancel();
  asio::error_code ignored;
  pipe_.close(ignored);
  kill_child();
}

SecretCommand::~SecretCommand() {
  asio::error_code ignored;
  pipe_.close(ignored);
  kill_child();
}

}  // namespace glm
