// stdio transport (docs/architecture.md): one blocking reader thread turns stdin into whole messages and
// hands them to the loop through a bounded inbox; stdout is written only from the loop, through one
// queue (async when stdout is a pipe or socket, blocking writes for regular files and terminals).
//
// Back-pressure: when more than kHighWater bytes wait for stdout (the client is not reading), the
// transport reports congestion (the server pauses its upstream transfers) and stops taking messages from
// the inbox; the reader thread blocks once the inbox holds kInboxBytes, so stdin is no longer read.
// Below kLowWater everything resumes. Nothing is dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "rpc/framing.hpp"
#include "rpc/message.hpp"

namespace glm::rpc {

class StdioTransport {
 public:
  static constexpr size_t kHighWater = 4u << 20;   // stdout bytes queued: congested above this
  static constexpr size_t kLowWater = 1u << 20;    // ... and flowing again below this
  static constexpr size_t kInboxBytes = 4u << 20;  // messages read but not yet dispatched (at least one)

  struct Handlers {
    std::function<void(Frame&&)> on_frame;              // loop thread
    std::function<void(FrameError&&)> on_error;         // loop thread
    std::function<void()> on_input_closed;              // loop thread, once, after the last frame
    std::function<void()> on_output_closed;             // loop thread, once: the client closed stdout
    std::function<void(bool congested)> on_congestion;  // loop thread: stdout queue above/below the marks
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
  bool congested() const { return congested_; }
  size_t queued_bytes() const { return queued_bytes_; }

 private:
  struct InputClosed {};
  using Input = std::variant<Frame, FrameError, InputClosed>;

  void push_input(Input input);  // reader thread
  void drain_input();            // loop thread
  void write_some();
  void write_blocking(const std::string& data);
  void mark_output_closed();
  void run_flushed_callbacks();
  void set_congested(bool congested);

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
  bool congested_ = false;
  std::deque<std::function<void()>> flushed_;

  // The inbox: filled by the reader thread, emptied by the loop.
  std::mutex inbox_mutex_;
  std::condition_variable inbox_space_;
  std::deque<Input> inbox_;
  size_t inbox_bytes_ = 0;
  bool drain_posted_ = false;  // a drain_input() is queued on the loop (or running)
};

}  // namespace glm::rpc
