// libFuzzer target: the whole server behind the transport: client bytes → FrameReader → Dispatcher →
// Server (initialize, chat, explain, complete, models/list, cancel, shutdown...) → providers, with a fake
// HTTP client that answers every upstream request from the input. No sockets, no threads, no processes.
// Built twice: fuzz_server (the JSON-RPC protocol) and, with GLM_FUZZ_LSP, fuzz_lsp (`--lsp`: the LSP
// adapter, its document store and positions in every encoding, code actions and commands, in front of
// the same server).
//
// Input: the client's bytes, then optionally one or more upstream responses, each introduced by a
// line "#UPSTREAM"; the n-th upstream request gets response n (cycling). A response is in the
// tests/fixtures format; a header `x-fuzz-net-error: connect|tls|timeout|dropped|other` ends the
// transfer with that network error after the body instead of a clean end.
// "@AUTH@" anywhere in a response (body or header value) is replaced by what the request carried: its
// Authorization header, its URL and the start of its body, as an upstream error page that echoes the
// request does.
// Oracles: no crash/UB/leak; every message written to the client is one JSON object or array; the
// loop goes idle (bounded handler count) and everything is released when the client goes away; and
// (issue 16) no credential a provider sent upstream in this input (the configured keys below, a Zhipu
// JWT), nor any 6-byte piece of one, appears in that provider's upstream errors (-32001: message and
// data, but not data.partial, which is the model's own text) or its logged upstream errors; the input costs at most
// kBaseCpuMs + kCpuMsPerKiB per KiB of input in CPU time (GLM_FUZZ_MS_PER_KIB overrides the latter);
// the bytes written to the client stay within kOutPerIn times the bytes in (client bytes plus the
// upstream bytes delivered) plus kOutPerReply per reply (initialize and models/list replies are a few KiB).
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <sanitizer/common_interface_defs.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>

#include <ctime>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "fuzz_util.hpp"
#include "providers/registry.hpp"
#include "rpc/framing.hpp"
#include "server/server.hpp"
#ifdef GLM_FUZZ_LSP
#include "lsp/lsp_server.hpp"
#endif

namespace {

using namespace glm;

constexpr std::string_view kMarker = "\n#UPSTREAM\n";
constexpr size_t kMaxHandlers = 200000;  // a loop that never goes idle is a finding, not a hang
constexpr double kBaseCpuMs = 2000;      // generous: ASan+UBSan, a loaded CI machine (CPU time, not wall)
constexpr double kCpuMsPerKiB = 200;
constexpr size_t kOutPerIn = 16;
constexpr size_t kOutPerReply = 64 << 10;

// Credentials the harness configures, by provider instance (long and random-looking, so a 6-byte piece
// never occurs by chance).
const std::vector<std::pair<std::string, std::string>> kSecrets = {
    {"zhipu", "fz7c3e9a2f5b8d41e6.Fq7Lm2Vt9Rk4Wp8Zs3Nd"},
    {"zjwt", "fza81f4c0d9e2b73f5.Hn5Jc8Gy1Bf6Tv3Mq9Xe"},  // "auth": "jwt": its JWTs are checked too
    {"dashscope", "sk-fzDs7Hq2Vn9Lx4Pt8Kw3Rz6Mb1"},
    {"dashscope-compat", "sk-fzCm3Fw8Ty1Ud6Ej9Gp4Ha2Sk7"},
    {"qianfan", "fzAK9x2Lm7Vt4Rp8Yz5Wc"},  // api key
    {"qianfan", "fzSK3n8Wq5Zt1Ky6Bv2Dj"},  // secret key
    {"qianfan-v2", "bce-v3/ALTAK-fzPq8Xw2Ln7Rt4/9f8e7d6c5b4a3f2e1d0c"},
    {"openai", "sk-fzOp4Nh8Tq2Wm6Xr9Lz3Kv7Pb5"},
    {"fim", "sk-fzFm2Rb6Yc9Qe3Ws7Tx1Ug5Ih8"},  // an openai instance answering /completions
};

// The credentials sent upstream during the current input, by provider instance. An error is checked
// against its own provider's only: text from one upstream may legitimately hold anything, including
// what the fuzzer learned of another provider's key, and a provider cannot redact what it never held.
std::multimap<std::string, std::string>& sent_secrets() {
  static std::multimap<std::string, std::string> s;
  return s;
}

void note_credentials(const net::Request& request) {
  std::string seen = request.url + "\n" + request.body;
  for (const auto& [name, value] : request.headers) seen += "\n" + value;
  for (const auto& [provider, secret] : kSecrets)
    if (seen.find(secret) != std::string::npos) sent_secrets().emplace(provider, secret);
  // A bearer token the server made (a Zhipu JWT, only the zjwt instance makes them) is a secret too.
  for (const auto& [name, value] : request.headers)
    if (value.rfind("Bearer eyJ", 0) == 0 && value.size() >= 7 + 32) sent_secrets().emplace("zjwt", value.substr(7));
}

std::string echo_of(const net::Request& request) {
  std::string auth;
  for (const auto& [name, value] : request.headers)
    if (name == "Authorization" || name == "authorization") auth = value;
  return "Authorization: " + auth + " " + request.url + " " + request.body.substr(0, 1024);
}

// At most kMaxEchoes marks per text are replaced: the fuzzer must not turn 64 KiB into megabytes here.
std::string replace_echo(std::string_view text, const std::string& echo) {
  static constexpr std::string_view kMark = "@AUTH@";
  constexpr int kMaxEchoes = 4;
  std::string out;
  size_t pos = 0;
  int n = 0;
  for (size_t at; n < kMaxEchoes && (at = text.find(kMark, pos)) != std::string_view::npos;
       pos = at + kMark.size(), ++n) {
    out.append(text.substr(pos, at - pos));
    out += echo;
  }
  out.append(text.substr(pos));
  return out;
}

// The first secret of `provider` that has a 6-byte piece in `text`, or nullptr.
const std::string* leaked(const std::string& provider, std::string_view text) {
  auto [from, to] = sent_secrets().equal_range(provider);
  for (auto it = from; it != to; ++it) {
    const std::string& s = it->second;
    for (size_t i = 0; i + 6 <= s.size(); ++i)
      if (text.find(std::string_view(s).substr(i, 6)) != std::string_view::npos) return &s;
  }
  return nullptr;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Counters {
  size_t upstream_bytes = 0;  // response bytes delivered to the server
  size_t out_bytes = 0;
  size_t replies = 0;
};
Counters& counters() {
  static Counters c;
  return c;
}

// Replays the input's responses. Every callback is posted, one piece per handler, so cancellation
// and other requests interleave with a response the way they do with libcurl.
class FakeHttpClient : public net::HttpClient {
 public:
  FakeHttpClient(asio::io_context& io, std::vector<fuzz::Response> responses)
      : io_(io), responses_(std::move(responses)) {}

  net::Transfer start(net::Request request, net::Callbacks callbacks) override {
    const uint64_t id = ++next_id_;
    if (request.url.empty()) fuzz::fail("upstream request without a URL");
    live_[id] = std::move(callbacks);
    note_credentials(request);
    fuzz::Response response;
    if (!responses_.empty()) response = responses_[(id - 1) % responses_.size()];
    // The upstream echoes the request's credentials where the response says @AUTH@. The text is kept
    // alive by the client (pieces are string_views into it).
    const std::string echo = echo_of(request);
    for (auto& [name, value] : response.headers) value = replace_echo(value, echo);
    bodies_.push_back(std::make_unique<std::string>(replace_echo(response.body, echo)));
    response.body = *bodies_.back();
    counters().upstream_bytes += response.body.size();
    std::weak_ptr<HttpClient> weak = weak_from_this();
    auto step = [weak, id](auto&& f) {
      return [weak, id, f = std::forward<decltype(f)>(f)]() mutable {
        auto self = std::static_pointer_cast<FakeHttpClient>(weak.lock());
        if (!self) return;
        auto it = self->live_.find(id);
        if (it == self->live_.end()) return;
        // A copy: the callback may cancel its own transfer, which erases the map's entry.
        net::Callbacks cb = it->second;
        f(*self, cb);
      };
    };
    if (responses_.empty()) {
      asio::post(io_, step([id](FakeHttpClient& self, net::Callbacks& cb) {
                   net::NetError e{net::NetError::Kind::connect, "fuzz: no upstream response"};
                   auto done = cb.on_done;
                   self.live_.erase(id);
                   done(&e);
                 }));
      return make_handle(id);
    }
    asio::post(io_, step([status = response.status, headers = response.headers](FakeHttpClient&, net::Callbacks& cb) {
                 cb.on_head(status, headers);
               }));
    for (std::string_view piece : fuzz::chunks_of(response.body)) {
      asio::post(io_, step([piece](FakeHttpClient&, net::Callbacks& cb) { cb.on_data(piece); }));
    }
    std::string err;
    if (auto it = response.headers.find("x-fuzz-net-error"); it != response.headers.end()) err = it->second;
    asio::post(io_, step([id, err](FakeHttpClient& self, net::Callbacks& cb) {
                 auto done = cb.on_done;
                 self.live_.erase(id);
                 if (err.empty()) return done(nullptr);
                 net::NetError e{net::NetError::Kind::other, "fuzz: " + err};
                 if (err == "connect") e.kind = net::NetError::Kind::connect;
                 if (err == "tls") e.kind = net::NetError::Kind::tls;
                 if (err == "timeout") e.kind = net::NetError::Kind::timeout;
                 if (err == "dropped") e.kind = net::NetError::Kind::dropped;
                 done(&e);
               }));
    return make_handle(id);
  }
  void cancel(uint64_t id) override { live_.erase(id); }
  bool active(uint64_t id) const override { return live_.count(id) != 0; }
  size_t active_count() const override { return live_.size(); }
  void cancel_all() override { live_.clear(); }

 private:
  asio::io_context& io_;
  std::vector<fuzz::Response> responses_;
  std::map<uint64_t, net::Callbacks> live_;
  std::vector<std::unique_ptr<std::string>> bodies_;
  uint64_t next_id_ = 0;
};

Config fuzz_config() {
  Config config = Config::defaults(provider_kinds());
  Json overlay = {{"providers",
                   {{"zhipu", {{"api_key", kSecrets[0].second}}},
                    {"zjwt", {{"kind", "zhipu"}, {"auth", "jwt"}, {"api_key", kSecrets[1].second}}},
                    {"dashscope", {{"api_key", kSecrets[2].second}}},
                    {"dashscope-compat", {{"api_key", kSecrets[3].second}}},
                    {"qianfan", {{"api_key", kSecrets[4].second}, {"secret_key", kSecrets[5].second}}},
                    {"qianfan-v2", {{"api_key", kSecrets[6].second}}},
                    {"openai", {{"api_key", kSecrets[7].second}}},
                    {"fim", {{"kind", "openai"}, {"fim", "completions"}, {"api_key", kSecrets[8].second}}}}}};
  if (auto err = apply_config(config, overlay)) fuzz::fail(err->c_str());
  return config;
}

void check_reply(const Json& m) {
  if (!m.is_object()) return;
  if (m.contains("id") && !m.contains("method")) ++counters().replies;
  auto e = m.find("error");
  if (e == m.end() || !e->is_object()) return;
  auto code = e->find("code");
  if (code == e->end() || !code->is_number_integer() || code->get<int64_t>() != rpc::code::upstream_error) return;
  Json copy = *e;
  std::string provider;
  if (copy.contains("data") && copy["data"].is_object()) {
    copy["data"].erase("partial");
    if (copy["data"].contains("provider") && copy["data"]["provider"].is_string()) provider = copy["data"]["provider"];
  }
  if (const std::string* s = leaked(provider, copy.dump())) {
    std::fprintf(stderr, "secret %s in: %s\n", s->c_str(), copy.dump().c_str());
    fuzz::fail("a credential (or a 6-byte piece of one) reached the client in an upstream error");
  }
}

void check_message(const std::string& message) {
  static const bool verbose = std::getenv("GLM_FUZZ_VERBOSE") != nullptr;  // replaying one input by hand
  if (verbose) std::fprintf(stderr, "out: %s\n", message.c_str());
  counters().out_bytes += message.size();
  Json j = Json::parse(message, nullptr, false);
  if (j.is_discarded()) fuzz::fail("the server wrote a message that is not JSON");
  if (!j.is_object() && !j.is_array()) fuzz::fail("the server wrote a JSON value that is not a message");
  if (j.is_array())
    for (const auto& m : j) check_reply(m);
  else
    check_reply(j);
}

// The log, captured: the text after "error from " on each line is upstream text (the rest of a line
// may hold what the client chose, e.g. its request id).
std::ostringstream& log_text() {
  static std::ostringstream s;
  return s;
}

void check_log() {
  std::istringstream lines(log_text().str());
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.rfind("error from ");
    if (at == std::string::npos) continue;
    std::string_view tail = std::string_view(line).substr(at + 11);
    const std::string provider(tail.substr(0, tail.find_first_of(": ")));
    if (const std::string* s = leaked(provider, tail)) {
      std::fprintf(stderr, "secret %s in the log: %s\n", s->c_str(), line.c_str());
      fuzz::fail("a credential (or a 6-byte piece of one) reached the log in an upstream error");
    }
  }
  log_text().str({});
}

size_t drain(asio::io_context& io) {
  // poll_one() leaves the io_context stopped once it ran out of work, and a stopped io_context runs
  // nothing more: without restart(), everything posted after the first empty drain (upstream
  // responses, replies) never ran, and every request ended cancelled by the end of input.
  io.restart();
  size_t n = 0;
  while (n < kMaxHandlers && io.poll_one()) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text()));
  logger->set_level(spdlog::level::info);
  logger->set_pattern("%L %v");
  spdlog::set_default_logger(logger);
#ifdef GLM_FUZZ_LSP
  // Explain answers are markdown files (window/showDocument): keep them in a scratch directory.
  static std::string answers = "/tmp/glm-fuzz-lsp-answers-" + std::to_string(getpid());
  setenv("GLM_LSP_ANSWERS_DIR", answers.c_str(), 1);
#endif
  // Start ASan's symbolizer now: once exec is forbidden, crash reports still get function names.
  char buf[256];
  __sanitizer_symbolize_pc(reinterpret_cast<void*>(&fuzz_config), "%p %F %L", buf, sizeof buf);
  fuzz::forbid_exec();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Config config = fuzz_config();
  static const double ms_per_kib = [] {
    const char* v = std::getenv("GLM_FUZZ_MS_PER_KIB");
    return v && *v ? std::atof(v) : kCpuMsPerKiB;
  }();
  const double started = thread_cpu_ms();
  sent_secrets().clear();
  counters() = Counters{};
  log_text().str({});
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view client = input;
  std::vector<fuzz::Response> responses;
  if (size_t at = input.find(kMarker); at != std::string_view::npos) {
    client = input.substr(0, at);
    std::string_view rest = input.substr(at + kMarker.size());
    for (;;) {
      size_t next = rest.find(kMarker);
      responses.push_back(fuzz::parse_response(rest.substr(0, next)));
      if (next == std::string_view::npos) break;
      rest = rest.substr(next + kMarker.size());
    }
  }

  asio::io_context io(1);
  auto http = std::make_shared<FakeHttpClient>(io, std::move(responses));
  bool exited = false;
  {
    auto send = [](rpc::Framing, std::string&& message) { check_message(message); };
#ifdef GLM_FUZZ_LSP
    lsp::LspServer server(
        io, config, send, [&](int) { exited = true; }, http);
    server.set_command_delay(std::chrono::milliseconds(0));  // drain() runs ready handlers only
    auto dispatch = [&](rpc::Frame&& f) { server.on_frame(std::move(f)); };
    auto framing_error = [&](rpc::FrameError&& e) { server.on_frame_error(e); };
    auto input_closed = [&] { server.input_closed(); };
#else
    Server server(
        io, config, send, [&](int) { exited = true; }, http);
    auto dispatch = [&](rpc::Frame&& f) { server.dispatcher().dispatch(std::move(f)); };
    auto framing_error = [&](rpc::FrameError&& e) { server.dispatcher().framing_error(e); };
    auto input_closed = [&] { server.input_closed(); };
#endif
    rpc::FrameReader reader(dispatch, framing_error, static_cast<size_t>(config.max_message_bytes));
    for (std::string_view piece : fuzz::chunks_of(client)) {
      if (exited) break;
      reader.feed(piece);
      drain(io);
    }
    if (!exited) {
      reader.finish();
      drain(io);
      input_closed();
    }
    drain(io);
  }
  drain(io);
  check_log();
#ifndef GLM_FUZZ_LSP  // LSP mode writes notifications of its own (progress, documents): not bounded this way
  const size_t in = size + counters().upstream_bytes;
  if (counters().out_bytes > kOutPerIn * in + kOutPerReply * (counters().replies + 1)) {
    std::fprintf(stderr, "%zu bytes out for %zu in and %zu replies\n", counters().out_bytes, in, counters().replies);
    fuzz::fail("bytes out beyond bytes in times kOutPerIn plus kOutPerReply per reply");
  }
#endif
  const double used = thread_cpu_ms() - started;
  if (used > kBaseCpuMs + ms_per_kib * static_cast<double>(size) / 1024.0) {
    std::fprintf(stderr, "%.0f ms of CPU for %zu bytes of input\n", used, size);
    fuzz::fail("over the time budget per KiB of input");
  }
  return 0;
}
