// libcurl multi *socket* API driven by asio (the pattern of curl's docs/examples/asiohiper.cpp and
// multi-uv.c): curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
// (CURLMOPT_TIMERFUNCTION); asio waits and calls curl_multi_socket_action. Everything runs on the one
// loop thread; there are no locks.
//
// Re-entrancy: user callbacks (on_head/on_data) run inside curl_multi_socket_action, where curl forbids
// curl_multi_add_handle/remove_handle. A transfer cancelled or started from there is marked at once and
// its curl call is deferred until socket_action returns (flush_deferred()). on_done always runs outside
// curl, after the transfer has been removed from the multi handle.
#include "net/http_client.hpp"

#include <sys/socket.h>
#include <unistd.h>
#include "net/curl_lib.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

namespace glm::net {

void Transfer::cancel() {
  if (auto client = client_.lock()) client->cancel(id_);
}

bool Transfer::active() const {
  auto client = client_.lock();
  return client && client->active(id_);
}

namespace {

using Clock = std::chrono::steady_clock;

// A timeout as a duration that cannot overflow the clock when added to now (at most a year).
std::chrono::milliseconds timeout(int64_t ms) {
  constexpr int64_t kMax = 365ll * 24 * 3600 * 1000;
  return std::chrono::milliseconds(std::clamp<int64_t>(ms, 0, kMax));
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_lib::curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_lib::curl_slist_free_all(list); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// The hashed CA directory used when a provider names no CA of its own: OpenSSL looks certificates up by
// subject hash on demand instead of parsing the whole bundle for every new connection.
const std::string& system_ca_path() {
  static const std::string path = [] {
    std::error_code ec;
    for (const char* dir : {"/etc/ssl/certs", "/etc/pki/tls/certs"}) {
      if (std::filesystem::is_directory(dir, ec)) return std::string(dir);
    }
    return std::string();
  }();
  return path;
}

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_lib::curl_global_init(CURL_GLOBAL_DEFAULT); });
}

NetError::Kind classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return NetError::Kind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return NetError::Kind::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return NetError::Kind::tls;
    case CURLE_BAD_CONTENT_ENCODING:
      return NetError::Kind::decoding;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return NetError::Kind::dropped;
    default:
      return NetError::Kind::other;
  }
}

// One in-flight request. Owned by the client's map; curl's CURLOPT_PRIVATE holds a raw pointer to it,
// valid until the easy handle is removed from the multi handle.
class CurlHttpClient;

struct TransferState {
  TransferState(CurlHttpClient& owner_in, asio::io_context& io, uint64_t id_in)
      : owner(owner_in), id(id_in), watchdog(io) {}

  CurlHttpClient& owner;
  uint64_t id;
  EasyPtr easy;
  SlistPtr request_headers;
  std::string body;  // CURLOPT_POSTFIELDS points into it: lives as long as the easy handle
  Callbacks callbacks;
  TransferOptions options;
  std::string host;  // for error messages (never the full URL: query strings can carry tokens)

  bool dead = false;   // cancelled or finished: no more callbacks, whatever curl still does
  bool added = false;  // attached to the multi handle
  bool head_sent = false;
  bool got_bytes = false;  // any response byte (status line included) seen
  bool paused = false;     // on_write returned CURL_WRITEFUNC_PAUSE: curl holds the data until resumed
  int status = 0;
  Headers headers;
  Clock::time_point last_activity{};
  asio::steady_timer watchdog;
  std::optional<NetError> callback_error;  // a user callback threw; reported through on_done
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// A socket curl asked us to watch. Handlers hold a shared_ptr, so a socket closed (and its fd number
// reused) while a wait is queued is recognised by `closed`, never confused with the new socket.
struct SocketState {
  SocketState(asio::io_context& io, curl_socket_t fd_in) : fd(fd_in), descriptor(io, fd_in) {}
  ~SocketState() { release(); }
  void release() {
    if (closed) return;
    closed = true;
    asio::error_code ec;
    descriptor.cancel(ec);
    descriptor.release();  // curl owns the fd: asio must never close it
  }

  curl_socket_t fd;
  asio::posix::stream_descriptor descriptor;
  int want = 0;  // CURL_POLL_IN / OUT / INOUT
  bool read_pending = false;
  bool write_pending = false;
  bool closed = false;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(asio::io_context& io) : io_(io), timer_(io) {
    global_init_once();
    multi_ = curl_lib::curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_lib::curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpClient::on_socket);
    curl_lib::curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_lib::curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpClient::on_timer);
    curl_lib::curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_lib::curl_multi_setopt(multi_, CURLMOPT_PIPELINING, long(CURLPIPE_MULTIPLEX));
  }

  ~CurlHttpClient() override {
    // No callbacks from here on: everything is dead before curl gets to run again.
    for (auto& [id, t] : transfers_) t->dead = true;
    for (auto& [id, t] : transfers_) {
      if (t->added) curl_lib::curl_multi_remove_handle(multi_, t->easy.get());
    }
    transfers_.clear();
    curl_lib::curl_multi_cleanup(multi_);  // closes cached connections through close_socket()
    for (auto& [fd, s] : sockets_) s->release();
    sockets_.clear();
  }

  Transfer start(Request request, Callbacks callbacks) override;
  void cancel(uint64_t id) override;
  bool active(uint64_t id) const override {
    auto it = transfers_.find(id);
    return it != transfers_.end() && !it->second->dead;
  }
  size_t active_count() const override { return live_; }
  void set_receive_paused(bool paused) override;
  void cancel_all() override {
    std::vector<uint64_t> ids;
    ids.reserve(transfers_.size());
    for (auto& [id, t] : transfers_) ids.push_back(id);
    for (uint64_t id : ids) cancel(id);
  }

 private:
  // --- curl callbacks (C ABI, static) ---
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);
  static curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address);
  static int close_socket(void* clientp, curl_socket_t fd);
  static size_t on_header(char* data, size_t size, size_t count, void* userp);
  static size_t on_write(char* data, size_t size, size_t count, void* userp);

  void watch(curl_socket_t fd, int what);
  void arm(const std::shared_ptr<SocketState>& s);
  void on_ready(const std::shared_ptr<SocketState>& s, int select);
  void socket_action(curl_socket_t fd, int select);
  void flush_deferred();
  void drain_done();
  void finish(std::unique_ptr<TransferState> t, CURLcode code);
  std::unique_ptr<TransferState> detach(uint64_t id);
  static void fire_head(TransferState& t);
  void arm_watchdog(TransferState& t, Clock::time_point deadline);
  void on_watchdog(uint64_t id);
  void note_bytes(TransferState& t);
  void kill(TransferState& t);
  std::optional<NetError> setup(TransferState& t, Request& request);
  std::optional<NetError> set_url(TransferState& t, const std::string& url);
  void set_callbacks(TransferState& t);
  void set_connection(TransferState& t);
  std::optional<NetError> set_payload(TransferState& t, Request& request);

  asio::io_context& io_;
  CURLM* multi_ = nullptr;
  asio::steady_timer timer_;
  std::unordered_map<uint64_t, std::unique_ptr<TransferState>> transfers_;
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketState>> sockets_;
  std::vector<uint64_t> pending_add_;     // started inside curl: added after socket_action returns
  std::vector<uint64_t> pending_remove_;  // cancelled inside curl: removed after socket_action returns
  uint64_t next_id_ = 1;
  size_t live_ = 0;
  int in_curl_ = 0;              // > 0 while curl_multi_socket_action runs (user callbacks may run inside it)
  bool receive_paused_ = false;  // set_receive_paused(true): every transfer stops at its next body bytes
};

// ---------------------------------------------------------------- starting and stopping transfers

// Setting up a transfer, in the order curl needs it: the URL, how we talk to curl, the connection (TLS,
// proxy, timeouts), then what we send.
std::optional<NetError> CurlHttpClient::setup(TransferState& t, Request& request) {
  CURL* easy = curl_lib::curl_easy_init();
  if (easy == nullptr) return NetError{NetError::Kind::other, "curl_easy_init failed"};
  t.easy.reset(easy);
  if (auto error = set_url(t, request.url)) return error;
  set_callbacks(t);
  set_connection(t);
  return set_payload(t, request);
}

std::optional<NetError> CurlHttpClient::set_url(TransferState& t, const std::string& url) {
  if (curl_lib::curl_easy_setopt(t.easy.get(), CURLOPT_URL, url.c_str()) != CURLE_OK) {
    return NetError{NetError::Kind::other, "invalid URL"};
  }
  // The host, for messages. curl_url parses exactly as the transfer will.
  CURLU* u = curl_lib::curl_url();
  char* host = nullptr;
  if (u && curl_lib::curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_lib::curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    t.host = host;
  }
  curl_lib::curl_free(host);
  curl_lib::curl_url_cleanup(u);
  return std::nullopt;
}

void CurlHttpClient::set_callbacks(TransferState& t) {
  CURL* easy = t.easy.get();
  auto set = [&](CURLoption opt, auto value) { return curl_lib::curl_easy_setopt(easy, opt, value); };
  set(CURLOPT_PRIVATE, static_cast<void*>(&t));
  set(CURLOPT_ERRORBUFFER, t.error_buffer);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_OPENSOCKETFUNCTION, &CurlHttpClient::open_socket);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
  set(CURLOPT_CLOSESOCKETFUNCTION, &CurlHttpClient::close_socket);
  set(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
  set(CURLOPT_HEADERFUNCTION, &CurlHttpClient::on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &CurlHttpClient::on_write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
}

void CurlHttpClient::set_connection(TransferState& t) {
  CURL* easy = t.easy.get();
  auto set = [&](CURLoption opt, auto value) { return curl_lib::curl_easy_setopt(easy, opt, value); };
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HTTP_VERSION, long(CURL_HTTP_VERSION_2TLS));
  set(CURLOPT_TCP_NODELAY, 1L);
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  // Request bodies are small JSON: the 64 KiB default upload buffer per transfer is memory for nothing
  // when a hundred streams run at once.
  set(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // a proxy's CONNECT reply is not the response
  // Every encoding this libcurl can decode (gzip, deflate, and br/zstd when built in) is offered and
  // decoded before on_data sees the body; a body that does not decode fails the transfer with
  // NetError::Kind::decoding.
  set(CURLOPT_ACCEPT_ENCODING, "");
  if (t.options.connect_timeout_ms > 0)
    set(CURLOPT_CONNECTTIMEOUT_MS, long(timeout(t.options.connect_timeout_ms).count()));

  // TLS: verification stays on unless asked by name. A provider's own CA file replaces the system
  // store; otherwise the hashed directory, so a new connection does not re-parse the whole bundle.
  set(CURLOPT_SSL_VERIFYPEER, t.options.verify_tls ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, t.options.verify_tls ? 2L : 0L);
  if (!t.options.ca_file.empty()) {
    set(CURLOPT_CAINFO, t.options.ca_file.c_str());
    set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  } else {
    const std::string& dir = t.options.ca_path.empty() ? system_ca_path() : t.options.ca_path;
    if (!dir.empty()) {
      set(CURLOPT_CAPATH, dir.c_str());
      set(CURLOPT_CAINFO, static_cast<const char*>(nullptr));
    }
  }
  // The parsed CA store is cached per multi handle (libcurl ≥ 7.87; the default, said explicitly): with
  // a ca_file only the first connection pays for parsing it.
  set(CURLOPT_CA_CACHE_TIMEOUT, 86400L);
  // An empty proxy leaves libcurl's own handling of http_proxy / https_proxy / no_proxy in place.
  if (!t.options.proxy.empty()) set(CURLOPT_PROXY, t.options.proxy.c_str());
}

std::optional<NetError> CurlHttpClient::set_payload(TransferState& t, Request& request) {
  CURL* easy = t.easy.get();
  auto set = [&](CURLoption opt, auto value) { return curl_lib::curl_easy_setopt(easy, opt, value); };
  curl_slist* list = nullptr;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_lib::curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  };
  bool ok = append("Expect:");  // never wait for 100-continue before sending a body
  for (const auto& [name, value] : request.headers) {
    // A header value with CR/LF would smuggle extra headers: refuse the request instead.
    if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
      curl_lib::curl_slist_free_all(list);
      return NetError{NetError::Kind::other, "invalid request header '" + name + "'"};
    }
    ok = ok && append(value.empty() ? name + ";" : name + ": " + value);
  }
  t.request_headers.reset(list);
  if (!ok) return NetError{NetError::Kind::other, "out of memory building request headers"};
  set(CURLOPT_HTTPHEADER, list);

  t.body = std::move(request.body);
  const std::string& method = request.method;
  if (method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else {
    set(CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(t.body.size()));
    set(CURLOPT_POSTFIELDS, t.body.data());
    if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  return std::nullopt;
}

Transfer CurlHttpClient::start(Request request, Callbacks callbacks) {
  const uint64_t id = next_id_++;
  auto owned = std::make_unique<TransferState>(*this, io_, id);
  TransferState& t = *owned;
  t.callbacks = std::move(callbacks);
  t.options = request.options;
  transfers_.emplace(id, std::move(owned));
  ++live_;

  auto fail_later = [&](NetError error) {
    // Never call back from inside start(): the caller has not even got its handle yet.
    asio::post(io_, [weak = weak_from_this(), id, error = std::move(error)] {
      auto self = weak.lock();
      if (!self) return;
      auto* client = static_cast<CurlHttpClient*>(self.get());
      auto t = client->detach(id);
      if (t && t->callbacks.on_done) t->callbacks.on_done(&error);
    });
  };

  if (auto error = setup(t, request)) {
    fail_later(std::move(*error));
    return make_handle(id);
  }
  t.last_activity = Clock::now();
  if (t.options.first_byte_timeout_ms > 0) {
    arm_watchdog(t, t.last_activity + timeout(t.options.first_byte_timeout_ms));
  }
  if (in_curl_ > 0) {
    pending_add_.push_back(id);
  } else {
    CURLMcode rc = curl_lib::curl_multi_add_handle(multi_, t.easy.get());
    if (rc != CURLM_OK) {
      fail_later(
          NetError{NetError::Kind::other, std::string("curl_multi_add_handle: ") + curl_lib::curl_multi_strerror(rc)});
    } else {
      t.added = true;
    }
  }
  return make_handle(id);
}

void CurlHttpClient::kill(TransferState& t) {
  if (!t.dead) {
    t.dead = true;
    --live_;
  }
  t.watchdog.cancel();
}

// Removes a transfer from curl and from the map; the caller owns what is left (to call on_done).
std::unique_ptr<TransferState> CurlHttpClient::detach(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return nullptr;
  std::unique_ptr<TransferState> t = std::move(it->second);
  transfers_.erase(it);
  kill(*t);
  if (t->added) {
    curl_lib::curl_multi_remove_handle(multi_, t->easy.get());
    t->added = false;
  }
  return t;
}

void CurlHttpClient::cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second->dead) return;
  TransferState& t = *it->second;
  kill(t);
  if (in_curl_ > 0) {
    // Inside curl (e.g. from this transfer's own on_data): curl may still hold the handle. Its write
    // callback now refuses data; the handle goes once socket_action returns.
    pending_remove_.push_back(id);
    return;
  }
  auto doomed = detach(id);  // destroyed here: no callbacks
}

void CurlHttpClient::flush_deferred() {
  while (!pending_remove_.empty() || !pending_add_.empty()) {
    std::vector<uint64_t> removes;
    removes.swap(pending_remove_);
    for (uint64_t id : removes) detach(id);
    std::vector<uint64_t> adds;
    adds.swap(pending_add_);
    for (uint64_t id : adds) {
      auto it = transfers_.find(id);
      if (it == transfers_.end() || it->second->dead) continue;
      TransferState& t = *it->second;
      CURLMcode rc = curl_lib::curl_multi_add_handle(multi_, t.easy.get());
      if (rc == CURLM_OK) {
        t.added = true;
        continue;
      }
      auto failed = detach(id);
      NetError error{NetError::Kind::other, std::string("curl_multi_add_handle: ") + curl_lib::curl_multi_strerror(rc)};
      if (failed->callbacks.on_done) failed->callbacks.on_done(&error);
    }
  }
}

// ---------------------------------------------------------------- back-pressure

void CurlHttpClient::set_receive_paused(bool paused) {
  if (paused == receive_paused_) return;
  receive_paused_ = paused;
  spdlog::debug("net: upstream reads {}", paused ? "paused" : "resumed");
  if (paused) return;  // each transfer stops by itself at its next body bytes (on_write)
  auto self = shared_from_this();
  std::vector<uint64_t> ids;
  for (auto& [id, t] : transfers_) {
    if (t->paused && !t->dead) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());  // oldest first
  for (uint64_t id : ids) {
    if (receive_paused_) break;  // what was just delivered filled the client's queue again
    auto it = transfers_.find(id);
    if (it == transfers_.end() || it->second->dead || !it->second->added) continue;
    TransferState& t = *it->second;
    t.paused = false;
    t.last_activity = Clock::now();
    // curl delivers what it held from inside this call: user callbacks run, as in socket_action.
    ++in_curl_;
    curl_lib::curl_easy_pause(t.easy.get(), CURLPAUSE_CONT);
    --in_curl_;
  }
  flush_deferred();
  drain_done();
}

// ---------------------------------------------------------------- completion

void CurlHttpClient::drain_done() {
  int left = 0;
  while (CURLMsg* msg = curl_lib::curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    TransferState* raw = nullptr;
    curl_lib::curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
    const CURLcode code = msg->data.result;
    if (raw == nullptr) continue;
    const uint64_t id = raw->id;
    if (code == CURLE_OK && !raw->head_sent && !raw->dead && !raw->callback_error) {
      // A response whose head curl never showed us line by line: report it before on_done, while the
      // transfer is still cancellable (on_head may cancel it; then nothing more is said).
      long status = 0;
      curl_lib::curl_easy_getinfo(raw->easy.get(), CURLINFO_RESPONSE_CODE, &status);
      raw->status = int(status);
      fire_head(*raw);
      auto it = transfers_.find(id);
      if (it == transfers_.end() || it->second->dead) continue;
    }
    auto t = detach(id);  // invalidates msg
    if (t) finish(std::move(t), code);
  }
}

void CurlHttpClient::finish(std::unique_ptr<TransferState> t, CURLcode code) {
  if (!t->callbacks.on_done) return;
  if (t->callback_error) {
    t->callbacks.on_done(&*t->callback_error);
    return;
  }
  if (code == CURLE_OK) {
    t->callbacks.on_done(nullptr);
    return;
  }
  NetError error;
  error.kind = classify(code);
  // curl's texts name host and port at most; the URL (which may carry a token) and headers never appear.
  error.message = curl_lib::curl_easy_strerror(code);
  if (t->error_buffer[0] != '\0') {
    error.message += ": ";
    error.message += t->error_buffer;
  }
  if (!t->host.empty() && error.message.find(t->host) == std::string::npos) {
    error.message += " (" + t->host + ")";
  }
  t->callbacks.on_done(&error);
}

// ---------------------------------------------------------------- first-byte and idle timeouts

void CurlHttpClient::arm_watchdog(TransferState& t, Clock::time_point deadline) {
  t.watchdog.expires_at(deadline);
  t.watchdog.async_wait([weak = weak_from_this(), id = t.id](const asio::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) static_cast<CurlHttpClient*>(self.get())->on_watchdog(id);
  });
}

void CurlHttpClient::on_watchdog(uint64_t id) {
  auto self = shared_from_this();  // a callback may drop the last outside reference
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second->dead) return;
  TransferState& t = *it->second;
  // Received bytes only stamp last_activity (cheap); the timer is moved here, lazily, not per chunk.
  const int64_t limit = t.got_bytes ? t.options.idle_timeout_ms : t.options.first_byte_timeout_ms;
  if (limit <= 0) return;
  if (t.paused) t.last_activity = Clock::now();  // held back by us (back-pressure), not a silent upstream
  const auto deadline = t.last_activity + timeout(limit);
  if (deadline > Clock::now()) {
    arm_watchdog(t, deadline);
    return;
  }
  const bool stalled = t.got_bytes;
  auto doomed = detach(id);
  NetError error{NetError::Kind::timeout, stalled ? "stalled: no data for " + std::to_string(limit) + " ms"
                                                  : "no response within " + std::to_string(limit) + " ms"};
  if (!doomed->host.empty()) error.message += " (" + doomed->host + ")";
  if (doomed->callbacks.on_done) doomed->callbacks.on_done(&error);
}

// Called for every received header line and body chunk, so it only stamps the time; the timer itself
// moves once, at the first byte, from the first-byte deadline to the idle one.
void CurlHttpClient::note_bytes(TransferState& t) {
  const auto now = Clock::now();
  t.last_activity = now;
  if (t.got_bytes) return;
  t.got_bytes = true;
  if (t.options.idle_timeout_ms > 0) {
    arm_watchdog(t, now + timeout(t.options.idle_timeout_ms));
  } else {
    t.watchdog.cancel();
  }
}

// ---------------------------------------------------------------- response data (inside curl)

void CurlHttpClient::fire_head(TransferState& t) {
  t.head_sent = true;
  if (!t.callbacks.on_head) return;
  try {
    t.callbacks.on_head(t.status, t.headers);
  } catch (const std::exception& e) {
    t.callback_error = NetError{NetError::Kind::other, std::string("response handler failed: ") + e.what()};
  } catch (...) {
    t.callback_error = NetError{NetError::Kind::other, "response handler failed"};
  }
}

size_t CurlHttpClient::on_header(char* data, size_t size, size_t count, void* userp) {
  auto& t = *static_cast<TransferState*>(userp);
  const size_t n = size * count;
  if (t.dead || t.callback_error) return 0;
  t.owner.note_bytes(t);
  if (t.head_sent) return n;  // trailers
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line: an interim (1xx) response or the final one.
    t.headers.clear();
    t.status = 0;
    auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      int code = 0;
      for (size_t i = sp + 1; i < line.size() && i < sp + 4 && std::isdigit(static_cast<unsigned char>(line[i])); ++i) {
        code = code * 10 + (line[i] - '0');
      }
      t.status = code;
    }
    return n;
  }
  if (line.empty()) {
    if (t.status >= 200 || t.status == 0) {
      if (t.status == 0) {
        long status = 0;
        curl_lib::curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
        t.status = int(status);
      }
      if (t.status >= 200) fire_head(t);
    }
    return (t.dead || t.callback_error) ? 0 : n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t.headers.emplace(std::move(name), std::string(value));
  return n;
}

size_t CurlHttpClient::on_write(char* data, size_t size, size_t count, void* userp) {
  auto& t = *static_cast<TransferState*>(userp);
  const size_t n = size * count;
  if (t.dead || t.callback_error) return 0;
  if (t.owner.receive_paused_) {
    // Back-pressure: curl keeps these bytes and stops reading the socket until set_receive_paused(false).
    t.paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  t.owner.note_bytes(t);
  if (!t.head_sent) {
    long status = 0;
    curl_lib::curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    t.status = int(status);
    fire_head(t);
    if (t.dead || t.callback_error) return 0;
  }
  if (t.callbacks.on_data) {
    try {
      t.callbacks.on_data(std::string_view(data, n));
    } catch (const std::exception& e) {
      t.callback_error = NetError{NetError::Kind::other, std::string("response handler failed: ") + e.what()};
    } catch (...) {
      t.callback_error = NetError{NetError::Kind::other, "response handler failed"};
    }
  }
  return (t.dead || t.callback_error) ? 0 : n;
}

// ---------------------------------------------------------------- sockets and curl's timer

curl_socket_t CurlHttpClient::open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  // A brand-new fd cannot be one we watch: an entry under its number belongs to a socket curl closed
  // without telling us (e.g. a resolver socketpair). Drop it before asio confuses the two.
  auto* self = static_cast<CurlHttpClient*>(clientp);
  auto it = self->sockets_.find(fd);
  if (it != self->sockets_.end()) {
    it->second->release();
    self->sockets_.erase(it);
  }
  return fd;
}

int CurlHttpClient::close_socket(void* clientp, curl_socket_t fd) {
  // Stop asio watching before the fd number is closed and can be handed out again.
  auto* self = static_cast<CurlHttpClient*>(clientp);
  auto it = self->sockets_.find(fd);
  if (it != self->sockets_.end()) {
    it->second->release();
    self->sockets_.erase(it);
  }
  return ::close(fd);
}

int CurlHttpClient::on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
  static_cast<CurlHttpClient*>(userp)->watch(fd, what);
  return 0;
}

void CurlHttpClient::watch(curl_socket_t fd, int what) {
  auto it = sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    // curl is done with the socket for now (idle in the connection cache, or about to close it).
    if (it != sockets_.end()) {
      it->second->release();
      sockets_.erase(it);
    }
    return;
  }
  if (it == sockets_.end()) {
    std::shared_ptr<SocketState> s;
    try {
      s = std::make_shared<SocketState>(io_, fd);
    } catch (const std::exception& e) {
      spdlog::error("net: cannot watch socket {}: {}", fd, e.what());
      return;
    }
    it = sockets_.emplace(fd, std::move(s)).first;
  }
  it->second->want = what;
  arm(it->second);
}

void CurlHttpClient::arm(const std::shared_ptr<SocketState>& s) {
  if (s->closed) return;
  auto weak = weak_from_this();
  if ((s->want & CURL_POLL_IN) && !s->read_pending) {
    s->read_pending = true;
    s->descriptor.async_wait(asio::posix::descriptor_base::wait_read, [weak, s](const asio::error_code& ec) {
      s->read_pending = false;
      if (ec == asio::error::operation_aborted || s->closed) return;
      if (auto self = weak.lock())
        static_cast<CurlHttpClient*>(self.get())->on_ready(s, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
    });
  }
  if ((s->want & CURL_POLL_OUT) && !s->write_pending) {
    s->write_pending = true;
    s->descriptor.async_wait(asio::posix::descriptor_base::wait_write, [weak, s](const asio::error_code& ec) {
      s->write_pending = false;
      if (ec == asio::error::operation_aborted || s->closed) return;
      if (auto self = weak.lock())
        static_cast<CurlHttpClient*>(self.get())->on_ready(s, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
    });
  }
}

void CurlHttpClient::on_ready(const std::shared_ptr<SocketState>& s, int select) {
  auto self = shared_from_this();
  if (select == CURL_CSELECT_ERR) {
    // asio could not wait on the fd (it should not happen): let curl fail the transfer rather than
    // leave it waiting for an event that never comes. No re-arm: it would fail the same way.
    s->want = 0;
    socket_action(s->fd, CURL_CSELECT_ERR);
    return;
  }
  // A wait for a direction curl no longer wants just lapses.
  if ((select == CURL_CSELECT_IN && !(s->want & CURL_POLL_IN)) ||
      (select == CURL_CSELECT_OUT && !(s->want & CURL_POLL_OUT))) {
    return;
  }
  socket_action(s->fd, select);
  arm(s);  // level-triggered: wait again while curl still wants this direction
}

int CurlHttpClient::on_timer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlHttpClient*>(userp);
  if (timeout_ms < 0) {
    self->timer_.cancel();
    return 0;
  }
  // Even a 0 ms timeout goes through the loop: curl forbids calling socket_action from here. A post
  // (no syscall while the loop is running) rather than the timer (timerfd + an epoll round) keeps a
  // new request's first send ~0.1 ms sooner.
  if (timeout_ms == 0) {
    self->timer_.cancel();
    asio::post(self->io_, [weak = self->weak_from_this()] {
      if (auto strong = weak.lock()) static_cast<CurlHttpClient*>(strong.get())->socket_action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([weak = self->weak_from_this()](const asio::error_code& ec) {
    if (ec) return;
    if (auto strong = weak.lock()) {
      static_cast<CurlHttpClient*>(strong.get())->socket_action(CURL_SOCKET_TIMEOUT, 0);
    }
  });
  return 0;
}

void CurlHttpClient::socket_action(curl_socket_t fd, int select) {
  auto self = shared_from_this();
  int running = 0;
  ++in_curl_;
  curl_lib::curl_multi_socket_action(multi_, fd, select, &running);
  --in_curl_;
  flush_deferred();
  drain_done();
}

}  // namespace

std::shared_ptr<HttpClient> HttpClient::create(asio::io_context& io) { return std::make_shared<CurlHttpClient>(io); }

}  // namespace glm::net
