// stdio transport (docs/architecture.md, "Threads"): one blocking reader thread turns stdin into whole messages and posts
// them to the loop; stdout is written only from the loop, through one queue (async when stdout is a
// pipe or socket, blocking writes for regular files and terminals).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "rpc/framing.hpp"
#include "rpc/message.hpp"

namespace glm::rpc {

class StdioTransport {
 public:
  struct Handlers {
    std::function<void(Frame&&)> on_frame;        // loop thread
    std::function<void(FrameError&&)> on_error;   // loop thread
    std::function<void()> on_input_closed;        // loop thread, once, after the last frame
    std::function<void()> on_output_closed;       // loop thread, once: the client closed stdout
  };

  StdioTransport(asio::io_context& io, int in_fd, int out_fd, size_t max_message);
  ~StdioTransport();

  // Starts the reader thread. It is detached: a blocking read() cannot be interrupted portably, and the
  // process ends with _exit() once the loop is done.
  void start(Handlers handlers);

  // Loop thread. Queues one serialised JSON message in the given framing.
  void send(Framing framing, std::string&& body);
  // Loop thread. Runs `fn` once everything queued so far is written (or output is broken).
  void when_flushed(std::function<void()> fn);
  bool output_closed() const { return output_closed_; }
  size_t queued_bytes() const { return queued_bytes_; }

 private:
  void write_some();
  void write_blocking(const std::string& data);
  void mark_output_closed();
  void run_flushed_callbacks();

  asio::io_context& io_;
  int in_fd_, out_fd_;
  size_t max_message_;
  Handlers handlers_;
  std::unique_ptr<asio::posix::stream_descriptor> out_;  // null when stdout is written blocking
  struct Outgoing {
    std::string head;  // "Content-Length: N\r\n\r\n" (LSP) or empty (NDJSON)
    std::string body;  // the JSON text (NDJSON: with its '\n')
  };
  std::deque<Outgoing> queue_;
  size_t in_flight_ = 0;  // messages of queue_ being written by the current async_write
  size_t queued_bytes_ = 0;
  bool output_closed_ = false;
  std::deque<std::function<void()>> flushed_;
};

}  // namespace glm::rpc
