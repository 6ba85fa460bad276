// net::HttpClient against the in-process mock provider (127.0.0.1 only).
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <thread>

#include <asio.hpp>
#include <catch2/catch.hpp>

#include "../mock/mock_server.hpp"
#include "net/http_client.hpp"

using namespace std::chrono_literals;
using glm::mock::Framing;
using glm::mock::MockServer;
using glm::mock::Response;
using glm::mock::Step;
using glm::net::Callbacks;
using glm::net::HttpClient;
using glm::net::NetError;
using glm::net::Request;

namespace {

using Clock = std::chrono::steady_clock;

// Runs the loop until `done` or the limit; false on the limit.
bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    io.restart();
    if (io.run_for(5ms) == 0) std::this_thread::sleep_for(1ms);
  }
  return true;
}

void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  const auto deadline = Clock::now() + d;
  while (Clock::now() < deadline) {
    io.restart();
    if (io.run_for(5ms) == 0) std::this_thread::sleep_for(1ms);
  }
}

struct Collected {
  int status = -1;
  glm::net::Headers headers;
  std::string body;
  int heads = 0;
  int datas = 0;
  int dones = 0;
  std::optional<NetError> error;
  bool done() const { return dones > 0; }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

Callbacks collect(Collected& c) {
  Callbacks cb;
  cb.on_head = [&c](int status, const glm::net::Headers& h) {
    ++c.heads;
    c.status = status;
    c.headers = h;
  };
  cb.on_data = [&c](std::string_view bytes) {
    ++c.datas;
    c.body.append(bytes);
  };
  cb.on_done = [&c](const NetError* e) {
    ++c.dones;
    if (e) c.error = *e;
  };
  return cb;
}

Request get(const std::string& url) {
  Request r;
  r.method = "GET";
  r.url = url;
  return r;
}

// A port on 127.0.0.1 with nothing listening (bound once, then released).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

const char* kind_name(NetError::Kind k) {
  switch (k) {
    case NetError::Kind::connect:
      return "connect";
    case NetError::Kind::tls:
      return "tls";
    case NetError::Kind::timeout:
      return "timeout";
    case NetError::Kind::dropped:
      return "dropped";
    case NetError::Kind::decoding:
      return "decoding";
    case NetError::Kind::other:
      return "other";
  }
  return "?";
}

}  // namespace

TEST_CASE("status, headers and body are delivered once, in order", "[net]") {
  MockServer server;
  Response r = Response::body(201, "hello world", "text/plain");
  r.headers.emplace_back("X-Custom-Thing", "Yes Indeed");
  server.enqueue(r);

  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  auto t = client->start(get(server.url() + "/thing"), collect(c));
  CHECK(t.active());
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.heads == 1);
  CHECK(c.dones == 1);
  CHECK(c.status == 201);
  CHECK(c.header("x-custom-thing") == "Yes Indeed");  // names lowercased, value untouched
  CHECK(c.header("content-type") == "text/plain");
  CHECK(c.body == "hello world");
  CHECK_FALSE(t.active());
  CHECK(client->active_count() == 0);
}

TEST_CASE("bodies arrive intact whatever the framing and however they are split", "[net]") {
  const std::string payload = "data: {\"k\":\"\xe4\xbd\xa0\xe5\xa5\xbd\"}\n\ndata: [DONE]\n\n";
  auto framing = GENERATE(Framing::content_length, Framing::chunked, Framing::close);
  auto bytewise = GENERATE(false, true);
  CAPTURE(int(framing), bytewise);

  MockServer server;
  Response r;
  r.framing = framing;
  if (bytewise) {
    r.steps = {Step::bytewise(payload, 1)};
  } else {
    r.steps = {Step::write(payload.substr(0, 10)), Step::sleep(20), Step::write(payload.substr(10))};
  }
  server.enqueue(r);

  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/s"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.status == 200);
  CHECK(c.body == payload);
  // 1-byte writes 1 ms apart reach the client as many pieces (curl hands them over as they come).
  if (bytewise) CHECK(c.datas >= 5);
  if (!bytewise) CHECK(c.datas >= 2);
}

TEST_CASE("a 1 MiB event arrives intact", "[net]") {
  MockServer server;
  std::string big = "data: " + std::string(1 << 20, 'x') + "\n\n";
  server.enqueue(Response::sse({"data: first\n\n", big, "data: [DONE]\n\n"}));
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/big"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.body == "data: first\n\n" + big + "data: [DONE]\n\n");
}

TEST_CASE("an HTTP error status with a body is a response, not a network error", "[net]") {
  MockServer server;
  Response r = Response::body(429, R"({"error":{"code":"1302","message":"slow down"}})");
  r.headers.emplace_back("Retry-After", "7");
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/v4/chat/completions"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.status == 429);
  CHECK(c.header("retry-after") == "7");
  CHECK(c.body == R"({"error":{"code":"1302","message":"slow down"}})");
}

TEST_CASE("POST body and headers reach the server exactly, without Expect: 100-continue", "[net]") {
  MockServer server;
  server.enqueue(Response::body(200, "{}"));
  asio::io_context io;
  auto client = HttpClient::create(io);
  Request req;
  req.url = server.url() + "/v1/chat/completions?x=1&y=two";
  req.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}, {"X-Trace", "a b  c"}};
  // Over 1 MiB: curl 7.88 would otherwise send Expect: 100-continue and wait up to 1 s for it.
  req.body = R"({"model":"m","messages":[{"role":"user","content":")" + std::string(2 << 20, 'z') + R"("}]})";
  Collected c;
  client->start(req, collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/chat/completions?x=1&y=two");
  CHECK(reqs[0].header("authorization") == "Bearer sk-test");
  CHECK(reqs[0].header("content-type") == "application/json");
  CHECK(reqs[0].header("x-trace") == "a b  c");
  CHECK(reqs[0].header("expect").empty());
  // Compressed replies are decoded (issue 11); a flushed gzip stream still arrives event by event
  // (test_server_hardening.cpp, defect 11).
  CHECK(reqs[0].header("accept-encoding").find("gzip") != std::string::npos);
  CHECK(reqs[0].body == req.body);
}

TEST_CASE("a header value with CR/LF is refused, not sent", "[net]") {
  MockServer server;
  asio::io_context io;
  auto client = HttpClient::create(io);
  Request req = get(server.url() + "/x");
  req.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  Collected c;
  client->start(req, collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::other);
  CHECK(c.heads == 0);
  CHECK(server.requests().empty());
}

TEST_CASE("nothing listening is a connect error", "[net]") {
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get("http://127.0.0.1:" + std::to_string(closed_port()) + "/"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::connect);
  CHECK(c.heads == 0);
  CHECK(c.datas == 0);
}

TEST_CASE("no response at all becomes a first-byte timeout, not a hang", "[net]") {
  MockServer server;
  Response r = Response::body(200, "late");
  r.before_head = {Step::stall()};
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Request req = get(server.url() + "/stall");
  req.options.first_byte_timeout_ms = 300;
  req.options.idle_timeout_ms = 60000;
  Collected c;
  const auto t0 = Clock::now();
  client->start(req, collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  const auto took = Clock::now() - t0;
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::timeout);
  CHECK_THAT(c.error->message, Catch::Contains("no response within 300 ms"));
  CHECK(took >= 250ms);
  CHECK(took < 5s);
  CHECK(c.heads == 0);
  // The client gave up on the connection: the mock sees it closed.
  CHECK(server.wait_for_open_connections_at_most(0, 3s));
}

TEST_CASE("a stream that stalls mid-body becomes an idle timeout", "[net]") {
  MockServer server;
  Response r;
  r.framing = Framing::chunked;
  r.steps = {Step::write("data: one\n\n"), Step::sleep(50), Step::write("data: two\n\n"), Step::stall()};
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Request req = get(server.url() + "/stall-mid");
  req.options.first_byte_timeout_ms = 20000;  // longer than the test: the idle limit must apply
  req.options.idle_timeout_ms = 300;
  Collected c;
  const auto t0 = Clock::now();
  client->start(req, collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::timeout);
  CHECK_THAT(c.error->message, Catch::Contains("stalled: no data for 300 ms"));
  CHECK(Clock::now() - t0 < 5s);
  CHECK(c.heads == 1);
  CHECK(c.body == "data: one\n\ndata: two\n\n");
}

TEST_CASE("slow but steady data does not trip the idle timeout", "[net]") {
  MockServer server;
  Response r;
  r.framing = Framing::chunked;
  for (int i = 0; i < 8; ++i) {
    r.steps.push_back(Step::write("x"));
    r.steps.push_back(Step::sleep(60));
  }
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Request req = get(server.url() + "/slow");
  req.options.first_byte_timeout_ms = 200;
  req.options.idle_timeout_ms = 200;  // total time (~480 ms) exceeds both limits; no gap does
  Collected c;
  client->start(req, collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.body == "xxxxxxxx");
}

TEST_CASE("a connection dropped mid-body is reported as dropped", "[net]") {
  auto framing = GENERATE(Framing::chunked, Framing::content_length);
  CAPTURE(int(framing));
  MockServer server;
  Response r;
  r.framing = framing;
  r.steps = {Step::write("data: partial\n\n"), Step::sleep(30), Step::drop(), Step::write("never sent")};
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/drop"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::dropped);
  CHECK(c.body == "data: partial\n\n");
}

TEST_CASE("a reset connection is reported as dropped", "[net]") {
  MockServer server;
  Response r;
  r.framing = Framing::close;
  r.steps = {Step::write("data: partial\n\n"), Step::sleep(50), Step::reset()};
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/reset"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::dropped);
}

TEST_CASE("cancel from inside on_data stops every callback and closes the connection", "[net]") {
  MockServer server;
  Response r;
  r.framing = Framing::chunked;
  for (int i = 0; i < 40; ++i) {
    r.steps.push_back(Step::write("chunk " + std::to_string(i) + "\n"));
    r.steps.push_back(Step::sleep(5));
  }
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  glm::net::Transfer t;
  int after_cancel = 0;
  bool cancelled = false;
  Callbacks cb = collect(c);
  cb.on_data = [&](std::string_view bytes) {
    if (cancelled) ++after_cancel;
    ++c.datas;
    c.body.append(bytes);
    t.cancel();
    cancelled = true;
    t.cancel();  // twice is harmless
  };
  auto on_done = cb.on_done;
  cb.on_done = [&](const NetError* e) {
    if (cancelled) ++after_cancel;
    on_done(e);
  };
  t = client->start(get(server.url() + "/cancel"), cb);
  REQUIRE(run_until(io, [&] { return cancelled; }));
  CHECK_FALSE(t.active());
  CHECK(client->active_count() == 0);
  run_for(io, 300ms);
  CHECK(after_cancel == 0);
  CHECK(c.datas == 1);
  CHECK(c.dones == 0);
  CHECK(server.wait_for_open_connections_at_most(0, 3s));
}

TEST_CASE("callbacks may start and cancel other transfers re-entrantly", "[net]") {
  MockServer server;
  Response slow;
  slow.framing = Framing::chunked;
  slow.steps = {Step::write("a"), Step::sleep(2000), Step::write("b")};
  // Per-path scripts: which transfer reaches the server first does not matter.
  server.enqueue("/victim", slow);
  Response first;
  first.framing = Framing::chunked;
  first.steps = {Step::sleep(100), Step::write("go"), Step::sleep(50), Step::write("more")};
  server.enqueue("/first", first);
  server.enqueue("/child", Response::body(200, "child body"));

  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected victim, parent, child;
  auto victim_t = client->start(get(server.url() + "/victim"), collect(victim));
  Callbacks cb = collect(parent);
  bool spawned = false;
  cb.on_data = [&](std::string_view bytes) {
    parent.body.append(bytes);
    if (!spawned) {
      spawned = true;
      victim_t.cancel();                                            // another transfer, from inside curl
      client->start(get(server.url() + "/child"), collect(child));  // a new one, from inside curl
    }
  };
  client->start(get(server.url() + "/first"), cb);
  REQUIRE(run_until(io, [&] { return parent.done() && child.done(); }));
  CHECK_FALSE(parent.error);
  CHECK(parent.body == "gomore");
  CHECK_FALSE(child.error);
  CHECK(child.body == "child body");
  CHECK(victim.dones == 0);
  CHECK_FALSE(victim_t.active());
}

TEST_CASE("on_done may start the next request; five in a row share one connection", "[net]") {
  MockServer server;
  for (int i = 0; i < 5; ++i) server.enqueue(Response::body(200, "r" + std::to_string(i)));
  asio::io_context io;
  auto client = HttpClient::create(io);
  std::vector<std::string> bodies;
  std::string current;
  std::function<void()> next = [&] {
    Callbacks cb;
    cb.on_data = [&](std::string_view b) { current.append(b); };
    cb.on_done = [&](const NetError* e) {
      REQUIRE(e == nullptr);
      bodies.push_back(current);
      current.clear();
      if (bodies.size() < 5) next();
    };
    client->start(get(server.url() + "/ka"), cb);
  };
  next();
  REQUIRE(run_until(io, [&] { return bodies.size() == 5; }));
  CHECK(bodies == std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"});
  CHECK(server.connections() == 1);
  for (const auto& r : server.requests()) CHECK(r.connection == 1);
}

TEST_CASE("100 concurrent streams complete on one thread with every byte in order", "[net]") {
  MockServer server;
  constexpr int kStreams = 100;
  constexpr int kEvents = 20;
  server.set_responder([](const glm::mock::RecordedRequest& req) {
    const std::string n = req.path().substr(req.path().rfind('/') + 1);
    Response r;
    r.framing = Framing::chunked;
    for (int k = 0; k < kEvents; ++k) {
      r.steps.push_back(Step::write("data: " + n + ":" + std::to_string(k) + "\n\n"));
      if (k % 5 == 4) r.steps.push_back(Step::sleep(2));
    }
    return r;
  });
  asio::io_context io;
  auto client = HttpClient::create(io);
  std::vector<Collected> results(kStreams);
  for (int i = 0; i < kStreams; ++i)
    client->start(get(server.url() + "/stream/" + std::to_string(i)), collect(results[i]));
  CHECK(client->active_count() == kStreams);
  REQUIRE(run_until(
      io,
      [&] {
        for (auto& r : results)
          if (!r.done()) return false;
        return true;
      },
      30s));
  for (int i = 0; i < kStreams; ++i) {
    std::string expected;
    for (int k = 0; k < kEvents; ++k) expected += "data: " + std::to_string(i) + ":" + std::to_string(k) + "\n\n";
    CAPTURE(i);
    CHECK_FALSE(results[i].error);
    CHECK(results[i].body == expected);
  }
  CHECK(client->active_count() == 0);
}

TEST_CASE("credentials never appear in error messages", "[net]") {
  const std::string secret = "sk-SECRET-abc123";
  MockServer server;
  Response stall = Response::body(200, "x");
  stall.before_head = {Step::stall()};
  server.enqueue("/stall", stall);
  Response drop;
  drop.framing = Framing::chunked;
  drop.steps = {Step::write("x"), Step::drop()};
  server.enqueue("/drop", drop);

  asio::io_context io;
  auto client = HttpClient::create(io);
  std::vector<std::string> urls = {"http://127.0.0.1:" + std::to_string(closed_port()) + "/v1?access_token=" + secret,
                                   server.url() + "/stall?access_token=" + secret,
                                   server.url() + "/drop?access_token=" + secret};
  std::vector<Collected> results(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    Request req = get(urls[i]);
    req.method = "POST";
    req.body = "{\"key\":\"" + secret + "\"}";
    req.headers = {{"Authorization", "Bearer " + secret}, {"X-Api-Key", secret}};
    req.options.first_byte_timeout_ms = 300;
    client->start(req, collect(results[i]));
  }
  REQUIRE(run_until(io, [&] {
    for (auto& r : results)
      if (!r.done()) return false;
    return true;
  }));
  std::vector<NetError::Kind> kinds = {NetError::Kind::connect, NetError::Kind::timeout, NetError::Kind::dropped};
  for (size_t i = 0; i < results.size(); ++i) {
    REQUIRE(results[i].error);
    CAPTURE(results[i].error->message);
    CHECK(kind_name(results[i].error->kind) == std::string(kind_name(kinds[i])));
    CHECK_FALSE(results[i].error->message.empty());
    CHECK(results[i].error->message.find("SECRET") == std::string::npos);
  }
}

TEST_CASE("cancel_all and destroying the client end transfers without callbacks", "[net]") {
  MockServer server;
  Response stall;
  stall.framing = Framing::chunked;
  stall.steps = {Step::write("x"), Step::stall()};
  for (int i = 0; i < 6; ++i) server.enqueue(stall);
  asio::io_context io;
  int callbacks_after = 0;
  bool ending = false;
  auto counting = [&] {
    Callbacks cb;
    cb.on_head = [&](int, const glm::net::Headers&) { callbacks_after += ending; };
    cb.on_data = [&](std::string_view) { callbacks_after += ending; };
    cb.on_done = [&](const NetError*) { callbacks_after += ending; };
    return cb;
  };

  SECTION("cancel_all") {
    auto client = HttpClient::create(io);
    for (int i = 0; i < 3; ++i) client->start(get(server.url() + "/s"), counting());
    REQUIRE(run_until(io, [&] { return server.requests().size() == 3; }));
    run_for(io, 50ms);
    ending = true;
    client->cancel_all();
    CHECK(client->active_count() == 0);
    run_for(io, 200ms);
    CHECK(server.wait_for_open_connections_at_most(0, 3s));
  }
  SECTION("destructor") {
    {
      auto client = HttpClient::create(io);
      for (int i = 0; i < 3; ++i) client->start(get(server.url() + "/s"), counting());
      REQUIRE(run_until(io, [&] { return server.requests().size() == 3; }));
      run_for(io, 50ms);
      ending = true;
    }
    run_for(io, 200ms);  // leftover handlers run and must do nothing
    CHECK(server.wait_for_open_connections_at_most(0, 3s));
  }
  CHECK(callbacks_after == 0);
}

TEST_CASE("a throwing callback fails its transfer, nothing else", "[net]") {
  MockServer server;
  server.enqueue(Response::body(200, "abc"));
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  Callbacks cb = collect(c);
  cb.on_data = [](std::string_view) { throw std::runtime_error("boom"); };
  client->start(get(server.url() + "/t"), cb);
  REQUIRE(run_until(io, [&] { return c.done(); }));
  REQUIRE(c.error);
  CHECK(c.error->kind == NetError::Kind::other);
  CHECK_THAT(c.error->message, Catch::Contains("boom"));
}

TEST_CASE("proxy: explicit option, and libcurl's http_proxy environment handling when empty", "[net]") {
  MockServer proxy;  // a forward proxy sees the absolute URL as the request target
  asio::io_context io;
  auto client = HttpClient::create(io);

  SECTION("explicit") {
    Request req = get("http://upstream.invalid/v1/models");
    req.options.proxy = proxy.url();
    Collected c;
    client->start(req, collect(c));
    REQUIRE(run_until(io, [&] { return c.done(); }));
  }
  SECTION("environment") {
    ::setenv("http_proxy", proxy.url().c_str(), 1);
    Collected c;
    client->start(get("http://upstream.invalid/v1/models"), collect(c));
    REQUIRE(run_until(io, [&] { return c.done(); }));
    ::unsetenv("http_proxy");
  }
  auto reqs = proxy.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].target == "http://upstream.invalid/v1/models");
  CHECK(reqs[0].header("host") == "upstream.invalid");
}

TEST_CASE("names resolved by curl's resolver thread work on fresh clients (fd numbers get reused)", "[net]") {
  // The resolver's socketpair is closed and its fd number handed to the connection socket right after:
  // asio must never mistake one for the other. Needs a name that resolves to 127.0.0.1 (not "localhost",
  // which curl answers without resolving).
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  bool loopback = false;
  if (name[0] && ::getaddrinfo(name, nullptr, &hints, &res) == 0) {
    auto* sin = reinterpret_cast<sockaddr_in*>(res->ai_addr);
    loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    ::freeaddrinfo(res);
  }
  if (!loopback) {
    WARN("hostname does not resolve to 127.x here; resolver path not exercised");
    return;
  }
  MockServer server;
  asio::io_context io;
  for (int i = 0; i < 10; ++i) {
    auto client = HttpClient::create(io);
    Collected c;
    Request req = get("http://" + std::string(name) + ":" + std::to_string(server.port()) + "/r");
    req.options.connect_timeout_ms = 3000;
    req.options.first_byte_timeout_ms = 3000;
    client->start(req, collect(c));
    REQUIRE(run_until(io, [&] { return c.done(); }));
    CAPTURE(i, c.error ? c.error->message : "");
    CHECK_FALSE(c.error);
    CHECK(c.status == 404);  // provider_replay() knows no such path: a real answer all the same
  }
}

TEST_CASE("interim 1xx responses are skipped: on_head sees only the final status and its headers", "[net]") {
  MockServer server;
  Response r = Response::body(200, "final", "text/plain");
  r.before_head = {Step::write("HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")};
  server.enqueue(r);
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  client->start(get(server.url() + "/hints"), collect(c));
  REQUIRE(run_until(io, [&] { return c.done(); }));
  CHECK_FALSE(c.error);
  CHECK(c.heads == 1);
  CHECK(c.status == 200);
  CHECK(c.headers.count("link") == 0);
  CHECK(c.header("content-type") == "text/plain");
  CHECK(c.body == "final");
}

TEST_CASE("https to a server that does not speak TLS is a tls error", "[net]") {
  // A plain-text peer answering the ClientHello with an HTTP error, as a misconfigured base_url would.
  asio::io_context server_io;
  asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = acceptor.local_endpoint().port();
  std::thread peer([&] {
    asio::error_code ec;
    asio::ip::tcp::socket s(server_io);
    acceptor.accept(s, ec);
    if (ec) return;
    char buf[1024];
    s.read_some(asio::buffer(buf), ec);
    asio::write(s, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")), ec);
    std::this_thread::sleep_for(200ms);
    s.close(ec);
  });
  asio::io_context io;
  auto client = HttpClient::create(io);
  Collected c;
  Request req = get("https://127.0.0.1:" + std::to_string(port) + "/v1");
  req.options.first_byte_timeout_ms = 5000;
  client->start(req, collect(c));
  const bool finished = run_until(io, [&] { return c.done(); });
  peer.join();
  REQUIRE(finished);
  REQUIRE(c.error);
  CAPTURE(c.error->message);
  CHECK(c.error->kind == NetError::Kind::tls);
}
