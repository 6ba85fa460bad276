// api_key_cmd without blocking the loop (issue 11 defect 7): the command runs as a child process whose
// stdout is read through the loop (asio::posix::stream_descriptor) and whose exit is polled with
// waitpid(WNOHANG) on a timer, so a command that hangs, or closes its stdout and keeps running, holds
// up nothing else. Bounded: after `timeout_ms` the child is killed (SIGKILL) and reaped; output over
// `max_output` bytes is rejected (never truncated and used as a key). The output never appears in a
// message. Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include "core/types.hpp"

namespace glm {

class SecretCommand : public std::enable_shared_from_this<SecretCommand> {
 public:
  struct Limits {
    int timeout_ms = 10000;
    size_t max_output = 64 * 1024;  // a key is a few hundred bytes at most
  };
  // The command's stdout with trailing whitespace trimmed, or an error (kind auth) such as
  // "'pass' timed out after 10000 ms", "'pass' exited with status 1", "'x' printed more than 65536 bytes".
  using Done = std::function<void(Result<std::string>)>;

  // Spawns argv (no shell; stdin /dev/null) and returns at once. `done` runs later on the loop,
  // exactly once, unless cancel() came first.
  static std::shared_ptr<SecretCommand> start(asio::io_context& io, const std::vector<std::string>& argv, Limits limits,
                                              Done done);
  // Kills the child (if still running) and drops `done`.
  void cancel();
  ~SecretCommand();

  SecretCommand(asio::io_context& io, std::string name, Limits limits, Done done);

 private:
  void read();
  void wait_exit();
  void finish(Result<std::string> result);
  void kill_child();

  asio::posix::stream_descriptor pipe_;
  asio::steady_timer deadline_;
  asio::steady_timer poll_;
  std::string name_;  // argv[0], for messages
  Limits limits_;
  Done done_;
  pid_t pid_ = -1;
  bool exited_ = false;
  bool timed_out_ = false;
  bool too_long_ = false;
  bool eof_ = false;
  bool finished_ = false;
  std::string output_;
};

}  // namespace glm
