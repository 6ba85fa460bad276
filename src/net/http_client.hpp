// HTTP client on the asio loop: libcurl's multi *socket* API driven by asio (socket callback + one
// timer), no threads. Every method must be called on the loop thread, and every callback runs there.
// Ownership: HttpClient owns all transfers; a Transfer handle only names one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>

namespace glm::net {

struct TransferOptions {
  std::string ca_file;     // extra CA bundle (CURLOPT_CAINFO); empty = system default
  std::string ca_path;     // hashed CA directory (CURLOPT_CAPATH); parsed lazily per lookup, not per connection
  std::string proxy;       // empty = libcurl's handling of the standard *_proxy env vars
  bool verify_tls = true;  // never false unless a user asked for it by name
  int64_t connect_timeout_ms = 10000;
  int64_t first_byte_timeout_ms = 60000;  // start() → first response byte (connect and upload included); <= 0: none
  int64_t idle_timeout_ms = 60000;        // max gap between two received chunks after the first byte; <= 0: none
};

struct Request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;
  TransferOptions options;
};

// Response header names are lowercased.
using Headers = std::multimap<std::string, std::string>;

struct NetError {
  enum class Kind { connect, tls, timeout, dropped, decoding, other };  // decoding: a bad Content-Encoding body
  Kind kind = Kind::other;
  std::string message;  // human readable, includes curl's error text; never includes request headers
};

struct Callbacks {
  // The final (non-1xx) status line and headers, once, before any body bytes.
  std::function<void(int status, const Headers& headers)> on_head;
  // Body bytes as they arrive (may be split anywhere).
  std::function<void(std::string_view bytes)> on_data;
  // Exactly once at the end, unless the transfer was cancelled: error == nullptr on a clean end.
  std::function<void(const NetError* error)> on_done;
};

class HttpClient;

// Names an in-flight transfer. Destroying a handle does nothing; cancel() removes the transfer at once
// (from inside one of its own callbacks, curl's handle goes as soon as curl returns) and no callback
// runs after cancel() returns. Safe to cancel twice, after done, or after the client is gone.
class Transfer {
 public:
  Transfer() = default;
  void cancel();
  bool active() const;
  uint64_t id() const { return id_; }

 private:
  friend class HttpClient;
  Transfer(std::weak_ptr<HttpClient> client, uint64_t id) : client_(std::move(client)), id_(id) {}
  std::weak_ptr<HttpClient> client_;
  uint64_t id_ = 0;
};

class HttpClient : public std::enable_shared_from_this<HttpClient> {
 public:
  static std::shared_ptr<HttpClient> create(asio::io_context& io);
  virtual ~HttpClient() = default;

  // Starts a transfer; callbacks run on the loop thread. Connections are reused across transfers
  // (keep-alive, HTTP/2 multiplexing when offered).
  virtual Transfer start(Request request, Callbacks callbacks) = 0;
  virtual void cancel(uint64_t id) = 0;
  virtual bool active(uint64_t id) const = 0;
  virtual size_t active_count() const = 0;
  // Cancels everything (shutdown).
  virtual void cancel_all() = 0;
  // Back-pressure: while paused, no transfer delivers body bytes (each stops reading its socket at its
  // next bytes, which wait inside curl); resuming delivers them in order. Timeouts do not run meanwhile.
  // Nothing is lost. The default (a client without flow control) ignores it.
  virtual void set_receive_paused(bool paused) { (void)paused; }

 protected:
  Transfer make_handle(uint64_t id) { return Transfer(weak_from_this(), id); }
};

}  // namespace glm::net
