// The mock's HTTP/1.1 server: one coroutine per connection on a private io_context thread.
// Bounded: request heads ≤ 64 KiB, bodies ≤ 64 MiB; every wait ends when the server stops.
#include "mock_server.hpp"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <set>

#include <asio.hpp>
#include <nlohmann/json.hpp>

namespace glm::mock {

namespace {

using asio::ip::tcp;
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 64u << 20;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

std::string stamp(const std::string& bytes) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t at = bytes.find("@TS@", pos);
    if (at == std::string::npos) break;
    out.append(bytes, pos, at - pos);
    out += '@';  // (not "@" + to_string(): GCC 12 -O3 reports a false -Wrestrict on that)
    out += std::to_string(monotonic_ns());
    pos = at + 4;
  }
  out.append(bytes, pos, std::string::npos);
  return out;
}

std::string hex(size_t n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

struct Session {
  Session(asio::io_context& io, tcp::socket s, uint64_t i) : socket(std::move(s)), timer(io), index(i) {}
  tcp::socket socket;
  asio::steady_timer timer;
  uint64_t index;
};

}  // namespace

Response Response::body(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.steps.push_back(Step::write(std::move(body)));
  return r;
}

Response Response::sse(std::vector<std::string> events) {
  Response r;
  r.headers.emplace_back("Content-Type", "text/event-stream");
  r.framing = Framing::chunked;
  for (auto& e : events) r.steps.push_back(Step::write(std::move(e)));
  return r;
}

std::string RecordedRequest::path() const { return target.substr(0, target.find('?')); }

std::string RecordedRequest::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string to_json_line(const RecordedRequest& request) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : request.headers) headers[k] = v;
  nlohmann::json j = {{"method", request.method},
                      {"path", request.target},
                      {"headers", headers},
                      {"body", request.body},
                      {"connection", request.connection}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct MockServer::Impl {
  // Shared with test threads, under mu.
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<RecordedRequest> requests;
  std::deque<Response> queue;
  std::map<std::string, std::deque<Response>> path_queues;
  Responder responder;
  std::function<void(const RecordedRequest&)> on_request;
  size_t accepted = 0;
  size_t open = 0;
  std::map<uint64_t, std::chrono::steady_clock::time_point> closed_at;  // by connection index

  // Loop thread only. io is declared after the shared state and before the objects that use it, so
  // it is destroyed after them and before the state that leftover coroutine frames still touch.
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::set<std::shared_ptr<Session>> sessions;
  bool stopping = false;

  Response next_response(const RecordedRequest& request) {
    Responder fallback;
    {
      std::lock_guard lock(mu);
      auto pq = path_queues.find(request.path());
      if (pq != path_queues.end() && !pq->second.empty()) {
        Response r = std::move(pq->second.front());
        pq->second.pop_front();
        return r;
      }
      if (!queue.empty()) {
        Response r = std::move(queue.front());
        queue.pop_front();
        return r;
      }
      fallback = responder;
    }
    return fallback ? fallback(request) : provider_replay(request);
  }

  // Returns the request's index in `requests`.
  size_t record(RecordedRequest& request) {
    std::function<void(const RecordedRequest&)> hook;
    size_t index;
    request.received_at = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu);
      index = requests.size();
      requests.push_back(request);
      hook = on_request;
    }
    cv.notify_all();
    if (hook) hook(request);
    return index;
  }
  void responded(size_t index) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    if (index < requests.size()) requests[index].responded_at = now;
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Session> session);
  asio::awaitable<bool> read_request(Session& s, std::string& buf, RecordedRequest& out);
  asio::awaitable<bool> run_steps(Session& s, const std::vector<Step>& steps, bool chunked);
  asio::awaitable<bool> send(Session& s, std::string bytes, bool chunked);
  asio::awaitable<bool> sleep(Session& s, int ms);
  asio::awaitable<void> stall(Session& s);
};

asio::awaitable<void> MockServer::Impl::accept_loop() {
  for (;;) {
    asio::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    socket.set_option(tcp::no_delay(true), ec);
    uint64_t index;
    {
      std::lock_guard lock(mu);
      index = ++accepted;
      ++open;
    }
    auto session = std::make_shared<Session>(io, std::move(socket), index);
    sessions.insert(session);
    asio::co_spawn(io, serve(session), asio::detached);
  }
}

asio::awaitable<bool> MockServer::Impl::read_request(Session& s, std::string& buf, RecordedRequest& out) {
  asio::error_code ec;
  auto dyn = asio::dynamic_buffer(buf, kMaxHead + kMaxBody);
  size_t head_len = co_await asio::async_read_until(s.socket, asio::dynamic_buffer(buf, kMaxHead), "\r\n\r\n",
                                                    asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  std::string_view head(buf.data(), head_len);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) co_return false;
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out.connection = s.index;
  size_t pos = eol + 2;
  while (pos < head_len) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    std::string_view h = head.substr(pos, end - pos);
    size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      out.headers.emplace(lower(std::string(h.substr(0, colon))), std::string(trim(h.substr(colon + 1))));
    }
    pos = end + 2;
  }
  buf.erase(0, head_len);

  if (lower(out.header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      size_t n = co_await asio::async_read_until(s.socket, dyn, "\r\n", asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      size_t size = std::strtoull(buf.c_str(), nullptr, 16);
      buf.erase(0, n);
      if (size > kMaxBody || out.body.size() + size > kMaxBody) co_return false;
      if (size == 0) {
        // Trailers end with an empty line.
        for (;;) {
          n = co_await asio::async_read_until(s.socket, dyn, "\r\n", asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return false;
          bool last = n == 2;
          buf.erase(0, n);
          if (last) co_return true;
        }
      }
      if (buf.size() < size + 2) {
        co_await asio::async_read(s.socket, dyn, asio::transfer_at_least(size + 2 - buf.size()),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
      }
      out.body.append(buf, 0, size);
      buf.erase(0, size + 2);
    }
  }
  std::string cl = out.header("content-length");
  if (!cl.empty()) {
    size_t len = std::strtoull(cl.c_str(), nullptr, 10);
    if (len > kMaxBody) co_return false;
    if (buf.size() < len) {
      co_await asio::async_read(s.socket, dyn, asio::transfer_at_least(len - buf.size()),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
    }
    out.body.assign(buf, 0, len);
    buf.erase(0, len);
  }
  co_return true;
}

asio::awaitable<bool> MockServer::Impl::send(Session& s, std::string bytes, bool chunked) {
  if (bytes.empty()) co_return true;  // an empty chunk would end a chunked body
  if (chunked) bytes = hex(bytes.size()) + "\r\n" + bytes + "\r\n";
  asio::error_code ec;
  co_await asio::async_write(s.socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<bool> MockServer::Impl::sleep(Session& s, int ms) {
  if (stopping) co_return false;
  asio::error_code ec;
  s.timer.expires_after(std::chrono::milliseconds(ms));
  co_await s.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !stopping;
}

asio::awaitable<void> MockServer::Impl::stall(Session& s) {
  // Until the client gives up (EOF/reset) or the server stops (socket closed under us).
  char sink[512];
  for (;;) {
    asio::error_code ec;
    co_await s.socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopping) co_return;
  }
}

asio::awaitable<bool> MockServer::Impl::run_steps(Session& s, const std::vector<Step>& steps, bool chunked) {
  for (const Step& step : steps) {
    switch (step.kind) {
      case Step::Kind::write:
        if (!co_await send(s, step.bytes, chunked)) co_return false;
        break;
      case Step::Kind::write_stamped:
        if (!co_await send(s, stamp(step.bytes), chunked)) co_return false;
        break;
      case Step::Kind::write_bytewise:
        for (size_t i = 0; i < step.bytes.size(); ++i) {
          if (i > 0 && step.ms > 0 && !co_await sleep(s, step.ms)) co_return false;
          if (!co_await send(s, step.bytes.substr(i, 1), chunked)) co_return false;
        }
        break;
      case Step::Kind::sleep:
        if (!co_await sleep(s, step.ms)) co_return false;
        break;
      case Step::Kind::stall:
        co_await stall(s);
        co_return false;
      case Step::Kind::drop: {
        asio::error_code ec;
        s.socket.shutdown(tcp::socket::shutdown_both, ec);
        s.socket.close(ec);
        co_return false;
      }
      case Step::Kind::reset: {
        asio::error_code ec;
        s.socket.set_option(asio::socket_base::linger(true, 0), ec);
        s.socket.close(ec);
        co_return false;
      }
    }
  }
  co_return true;
}

asio::awaitable<void> MockServer::Impl::serve(std::shared_ptr<Session> session) {
  Session& s = *session;
  std::string buf;
  for (;;) {
    RecordedRequest request;
    if (stopping || !co_await read_request(s, buf, request)) break;
    const size_t request_index = record(request);
    Response response = next_response(request);
    if (!co_await run_steps(s, response.before_head, false)) break;

    Framing framing = response.framing;
    bool stamped = std::any_of(response.steps.begin(), response.steps.end(),
                               [](const Step& st) { return st.kind == Step::Kind::write_stamped; });
    if (stamped && framing == Framing::content_length) framing = Framing::chunked;
    const bool client_closes = lower(request.header("connection")) == "close";
    const bool keep = response.keep_alive && framing != Framing::close && !client_closes;

    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    for (const auto& [k, v] : response.headers) head += k + ": " + v + "\r\n";
    if (framing == Framing::content_length) {
      size_t total = 0;
      for (const Step& st : response.steps) {
        if (st.kind == Step::Kind::write || st.kind == Step::Kind::write_bytewise) total += st.bytes.size();
      }
      head += "Content-Length: " + std::to_string(total) + "\r\n";
    } else if (framing == Framing::chunked) {
      head += "Transfer-Encoding: chunked\r\n";
    }
    if (!keep) head += "Connection: close\r\n";
    head += "\r\n";
    if (!co_await send(s, std::move(head), false)) break;
    if (!co_await run_steps(s, response.steps, framing == Framing::chunked)) break;
    if (framing == Framing::chunked) {
      asio::error_code ec;
      co_await asio::async_write(s.socket, asio::buffer("0\r\n\r\n", 5), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    responded(request_index);
    if (!keep) {
      asio::error_code ec;
      s.socket.shutdown(tcp::socket::shutdown_send, ec);
      // Let the client read everything and close first; bounded by stop().
      co_await stall(s);
      break;
    }
  }
  asio::error_code ec;
  s.socket.close(ec);
  sessions.erase(session);
  {
    std::lock_guard lock(mu);
    --open;
    closed_at[s.index] = std::chrono::steady_clock::now();
  }
  cv.notify_all();
}

MockServer::MockServer() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  thread_ = std::thread([impl = impl_.get()] {
    try {
      impl->io.run();
    } catch (...) {
      // A test helper must not take the test process down; the destructor still joins.
    }
  });
}

MockServer::~MockServer() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->stopping = true;
    asio::error_code ec;
    impl->acceptor.close(ec);
    for (const auto& s : impl->sessions) {
      s->timer.cancel();
      s->socket.close(ec);
    }
  });
  {
    std::unique_lock lock(impl->mu);
    impl->cv.wait_for(lock, std::chrono::seconds(2), [impl] { return impl->open == 0; });
  }
  impl->io.stop();
  if (thread_.joinable()) thread_.join();
  // impl_ goes now: io (and any coroutine frame still in it) before the shared state.
}

std::string MockServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void MockServer::enqueue(Response response) {
  std::lock_guard lock(impl_->mu);
  impl_->queue.push_back(std::move(response));
}

void MockServer::enqueue(const std::string& path, Response response) {
  std::lock_guard lock(impl_->mu);
  impl_->path_queues[path].push_back(std::move(response));
}

void MockServer::set_responder(Responder responder) {
  std::lock_guard lock(impl_->mu);
  impl_->responder = std::move(responder);
}

void MockServer::set_on_request(std::function<void(const RecordedRequest&)> hook) {
  std::lock_guard lock(impl_->mu);
  impl_->on_request = std::move(hook);
}

std::vector<RecordedRequest> MockServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

bool MockServer::wait_for_requests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

size_t MockServer::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->accepted;
}

size_t MockServer::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

bool MockServer::wait_for_open_connections_at_most(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->open <= n; });
}

std::optional<std::chrono::steady_clock::time_point> MockServer::connection_closed_at(
    uint64_t index, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->closed_at.count(index) != 0; });
  auto it = impl_->closed_at.find(index);
  if (it == impl_->closed_at.end()) return std::nullopt;
  return it->second;
}

}  // namespace glm::mock
