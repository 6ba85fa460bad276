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
// Oracles: no crash/UB/leak; every message written to the client is one JSON object or array; the
// loop goes idle (bounded handler count) and everything is released when the client goes away.
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <sanitizer/common_interface_defs.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <map>
#include <memory>
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
    fuzz::Response response;
    if (!responses_.empty()) response = responses_[(id - 1) % responses_.size()];
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
  uint64_t next_id_ = 0;
};

Config fuzz_config() {
  Config config = Config::defaults(provider_kinds());
  Json overlay = {{"providers",
                   {{"zhipu", {{"api_key", "fuzz-id.fuzz-secret"}}},
                    {"dashscope", {{"api_key", "fuzz-key"}}},
                    {"dashscope-compat", {{"api_key", "fuzz-key"}}},
                    {"qianfan", {{"api_key", "fuzz-ak"}, {"secret_key", "fuzz-sk"}}},
                    {"openai", {{"api_key", "fuzz-key"}}}}}};
  if (auto err = apply_config(config, overlay)) fuzz::fail(err->c_str());
  return config;
}

void check_message(const std::string& message) {
  Json j = Json::parse(message, nullptr, false);
  if (j.is_discarded()) fuzz::fail("the server wrote a message that is not JSON");
  if (!j.is_object() && !j.is_array()) fuzz::fail("the server wrote a JSON value that is not a message");
}

size_t drain(asio::io_context& io) {
  size_t n = 0;
  while (n < kMaxHandlers && io.poll_one()) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
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
  return 0;
}
