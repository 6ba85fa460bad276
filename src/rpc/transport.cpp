#include "rpc/transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

namespace glm::rpc {

StdioTransport::StdioTransport(asio::io_context& io, int in_fd, int out_fd, size_t max_message)
    : io_(io), in_fd_(in_fd), out_fd_(out_fd), max_message_(max_message) {
  struct stat st {};
  if (fstat(out_fd_, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    int flags = fcntl(out_fd_, F_GETFL);
    if (flags >= 0 && fcntl(out_fd_, F_SETFL, flags | O_NONBLOCK) == 0)
      out_ = std::make_unique<asio::posix::stream_descriptor>(io_, out_fd_);
  }
}

StdioTransport::~StdioTransport() {
  if (out_) out_->release();  // the fd is the process's stdout, not ours to close
}

void StdioTransport::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  // The thread only touches its own FrameReader and the inbox.
  std::thread([this] {
    FrameReader reader([this](Frame&& f) { push_input(std::move(f)); },
                       [this](FrameError&& e) { push_input(std::move(e)); }, max_message_);
    std::vector<char> buf(1 << 16);
    for (;;) {
      ssize_t n = ::read(in_fd_, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      reader.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
    reader.finish();
    push_input(InputClosed{});
  }).detach();
}

void StdioTransport::push_input(Input input) {
  const size_t size = std::holds_alternative<Frame>(input) ? std::get<Frame>(input).body.size() : 0;
  std::unique_lock lock(inbox_mutex_);
  // Blocks the reader (so stdin is not read) while the loop has enough to do; one message always fits.
  inbox_space_.wait(lock, [&] { return inbox_.empty() || inbox_bytes_ + size <= kInboxBytes; });
  inbox_bytes_ += size;
  inbox_.push_back(std::move(input));
  if (!drain_posted_) {
    drain_posted_ = true;
    asio::post(io_, [this] { drain_input(); });
  }
}

void StdioTransport::drain_input() {
  // A few messages per turn, so a client writing fast does not starve the upstream sockets.
  for (int n = 0; n < 16; ++n) {
    if (congested_) {
      // Resumed by set_congested(false). drain_posted_ stays set: the reader must not post meanwhile.
      return;
    }
    Input input;
    {
      std::lock_guard lock(inbox_mutex_);
      if (inbox_.empty()) {
        drain_posted_ = false;
        return;
      }
      input = std::move(inbox_.front());
      inbox_.pop_front();
      if (std::holds_alternative<Frame>(input)) inbox_bytes_ -= std::get<Frame>(input).body.size();
    }
    inbox_space_.notify_one();
    if (auto* f = std::get_if<Frame>(&input))
      handlers_.on_frame(std::move(*f));
    else if (auto* e = std::get_if<FrameError>(&input))
      handlers_.on_error(std::move(*e));
    else
      handlers_.on_input_closed();
  }
  asio::post(io_, [this] { drain_input(); });
}

void StdioTransport::set_congested(bool congested) {
  if (congested == congested_) return;
  congested_ = congested;
  spdlog::debug("stdout queue {} ({} bytes)", congested ? "congested" : "drained", queued_bytes_);
  if (handlers_.on_congestion) handlers_.on_congestion(congested);
  if (!congested) {
    bool resume = false;
    {
      std::lock_guard lock(inbox_mutex_);
      resume = drain_posted_;  // a drain stopped for the congestion (or one is queued anyway)
    }
    if (resume) asio::post(io_, [this] { drain_input(); });
  }
}

void StdioTransport::send(Framing framing, std::string&& body) {
  if (output_closed_) return;
  // The LSP header goes out as its own buffer of the same gather write: the body (a delta per token)
  // is never copied to be framed.
  Outgoing msg;
  if (framing == Framing::lsp) {
    msg.head = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    msg.body = std::move(body);
  } else {
    msg.body = std::move(body);
    msg.body += '\n';
  }
  if (!out_) {
    write_blocking(msg.head);
    write_blocking(msg.body);
    run_flushed_callbacks();
    return;
  }
  queued_bytes_ += msg.head.size() + msg.body.size();
  queue_.push_back(std::move(msg));
  if (queued_bytes_ > kHighWater) set_congested(true);
  if (in_flight_ == 0) write_some();
}

void StdioTransport::write_blocking(const std::string& data) {
  if (output_closed_) return;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(out_fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      mark_output_closed();
      return;
    }
    off += static_cast<size_t>(n);
  }
}

void StdioTransport::write_some() {
  // Gather everything queued into one write: many small deltas become one syscall under load.
  std::vector<asio::const_buffer> bufs;
  in_flight_ = std::min<size_t>(queue_.size(), 256);
  bufs.reserve(2 * in_flight_);
  for (size_t i = 0; i < in_flight_; ++i) {
    if (!queue_[i].head.empty()) bufs.emplace_back(asio::buffer(queue_[i].head));
    bufs.emplace_back(asio::buffer(queue_[i].body));
  }
  asio::async_write(*out_, bufs, [this](const asio::error_code& ec, size_t) {
    for (size_t i = 0; i < in_flight_; ++i) {
      queued_bytes_ -= queue_.front().head.size() + queue_.front().body.size();
      queue_.pop_front();
    }
    in_flight_ = 0;
    if (ec) {
      mark_output_closed();
      return;
    }
    if (!queue_.empty()) write_some();
    // After the next write is under way: resuming may queue more at once.
    if (congested_ && queued_bytes_ < kLowWater) set_congested(false);
    if (queue_.empty() && in_flight_ == 0) run_flushed_callbacks();
  });
}

void StdioTransport::mark_output_closed() {
  if (output_closed_) return;
  output_closed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  spdlog::info("stdout closed by the client");
  set_congested(false);
  run_flushed_callbacks();
  if (handlers_.on_output_closed) asio::post(io_, handlers_.on_output_closed);
}

void StdioTransport::when_flushed(std::function<void()> fn) {
  if (output_closed_ || queue_.empty()) {
    fn();
    return;
  }
  flushed_.push_back(std::move(fn));
}

void StdioTransport::run_flushed_callbacks() {
  while (!flushed_.empty()) {
    auto fn = std::move(flushed_.front());
    flushed_.pop_front();
    fn();
  }
}

}  // namespace glm::rpc
