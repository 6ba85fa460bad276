// Qianfan provider: bce-auth-v1 signing (Baidu's published test vector), message normalisation, request
// building, stream/non-stream/bare-JSON-error decoding at every split, the error-code table, option
// validation, and the access token against the in-process mock provider: single flight for 20
// concurrent first requests, failure delivered to every waiter, cache reuse, early refresh, refresh on
// 110, QIANFAN_ACCESS_TOKEN, and AK/SK signing on the wire.
#include <algorithm>
#include <asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "../mock/mock_server.hpp"
#include "core/history.hpp"
#include "net/http_client.hpp"
#include "provider_test_util.hpp"
#include "providers/bce_auth.hpp"
#include "providers/qianfan.hpp"

using namespace glm;

namespace {

constexpr const char* kChatPath = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/chatglm2_6b_32k";
constexpr const char* kUnsetTokenEnv = "GLM_TEST_QIANFAN_TOKEN_NOT_SET";

std::string read_fixture(const std::string& name) {
  return test::read_file(std::string(GLM_FIXTURES_DIR) + "/qianfan/" + name);
}

using Recorded = test::RecordedResponse;

Recorded load(const std::string& name) { return test::load_response("qianfan/" + name); }

struct ClientSink : DeltaSink {
  std::string content;
  size_t deltas = 0, replaces = 0;
  void on_delta(std::string_view c, std::string_view) override {
    content += c;
    ++deltas;
  }
  void on_replace(std::string_view c, std::string_view) override {
    content = c;
    ++replaces;
  }
};

struct Outcome {
  ClientSink sink;
  ChatResult result;
  bool done = false;
  std::optional<UpstreamError> error;
  std::string summary() const {
    std::ostringstream o;
    o << sink.content << "|" << sink.deltas << "|" << sink.replaces << "|" << result.finish_reason << "|" << done << "|"
      << result.extra.dump();
    if (result.usage)
      o << "|" << result.usage->input_tokens << "/" << result.usage->output_tokens << "/" << result.usage->total_tokens;
    if (error)
      o << "|" << error_kind_name(error->kind) << "," << error->message << "," << error->upstream_code << ","
        << error->http_status.value_or(0) << "," << error->retryable << "," << error->refresh_credentials;
    return o.str();
  }
};

ChatRequest request_for(std::string text = "你好", std::string model = "chatglm2_6b_32k") {
  ChatRequest r;
  r.provider = "qianfan";
  r.model = std::move(model);
  r.messages.push_back(Message{"user", Json(std::move(text))});
  return r;
}

ProviderConfig config(std::string base_url = "https://aip.baidubce.com") {
  ProviderConfig c;
  c.name = "qianfan";
  c.base_url = std::move(base_url);
  c.api_key = "app-api-key";
  c.secret_key = "app-secret-key";
  c.extra = {{"access_token_env", kUnsetTokenEnv}};
  return c;
}

Outcome feed(Provider& provider, const ChatRequest& req, const Recorded& rec, std::vector<size_t> cuts = {}) {
  Outcome out;
  auto stream = provider.open_stream(req, out.result, out.sink);
  stream->on_head(rec.status, rec.headers);
  size_t start = 0;
  cuts.push_back(rec.body.size());
  for (size_t p : cuts) {
    if (stream->error() || stream->done()) break;
    stream->on_body(std::string_view(rec.body).substr(start, p - start));
    start = p;
  }
  if (!stream->error() && !stream->done()) stream->on_eof();
  out.done = stream->done();
  out.error = stream->error();
  return out;
}

Outcome feed_all_splits(Provider& provider, const ChatRequest& req, const Recorded& rec) {
  Outcome whole = feed(provider, req, rec);
  const std::string expected = whole.summary();
  for (size_t cut = 0; cut <= rec.body.size(); ++cut) {
    std::string got = feed(provider, req, rec, {cut}).summary();
    if (got != expected) {
      INFO("split at byte " << cut);
      REQUIRE(got == expected);
    }
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < rec.body.size(); ++i) every.push_back(i);
  REQUIRE(feed(provider, req, rec, every).summary() == expected);
  return whole;
}

std::string header(const net::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    std::string lower = n;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == name) return v;
  }
  return {};
}

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    if (io.run_for(std::chrono::milliseconds(5)) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

size_t count_path(const mock::MockServer& server, const std::string& path) {
  auto reqs = server.requests();
  return static_cast<size_t>(std::count_if(reqs.begin(), reqs.end(), [&](const auto& r) { return r.path() == path; }));
}

// prepare() to completion, running the loop while it waits for a token.
Result<net::Request> prepare_wait(asio::io_context& io, Provider& provider, const ChatRequest& req) {
  std::optional<Result<net::Request>> got;
  provider.prepare(req, [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  REQUIRE(run_until(io, [&] { return got.has_value(); }));
  return std::move(*got);
}

// Sends a prepared request and feeds the response to a stream, as the chat driver does.
Outcome send(asio::io_context& io, net::HttpClient& http, Provider& provider, const ChatRequest& req,
             const net::Request& prepared) {
  Outcome out;
  auto stream = provider.open_stream(req, out.result, out.sink);
  bool finished = false;
  net::Callbacks cb;
  cb.on_head = [&](int status, const net::Headers& h) { stream->on_head(status, h); };
  cb.on_data = [&](std::string_view b) { stream->on_body(b); };
  cb.on_done = [&](const net::NetError* e) {
    if (!e) stream->on_eof();
    finished = true;
  };
  http.start(prepared, std::move(cb));
  REQUIRE(run_until(io, [&] { return finished; }));
  out.done = stream->done();
  out.error = stream->error();
  return out;
}

}  // namespace

// ---- bce-auth-v1 -----------------------------------------------------------------------------

TEST_CASE("bce-auth-v1 matches Baidu's published test vector exactly", "[qianfan][bce]") {
  bce::SignInput in;
  in.access_key = "AKIDEXAMPLE";
  in.secret_key = "SKEXAMPLE";
  in.method = "POST";
  in.path = kChatPath;
  in.headers = {{"host", "aip.baidubce.com"}, {"x-bce-date", "2024-01-01T00:00:00Z"}};
  in.timestamp = "2024-01-01T00:00:00Z";
  in.expiration_seconds = 1800;
  bce::Signature s = bce::sign(in);
  CHECK(s.signing_key == "474a75fd355cec6514f6d66f2a3c7ea9b95c30441055f567d9569482d255a755");
  CHECK(s.canonical_request ==
        "POST\n/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/chatglm2_6b_32k\n\nhost:aip.baidubce.com\n"
        "x-bce-date:2024-01-01T00%3A00%3A00Z");
  CHECK(s.signature == "8615c6120a887a4598ddcf53316db29364382c2971f2dea80ee95120fc6af0e7");
  CHECK(s.authorization ==
        "bce-auth-v1/AKIDEXAMPLE/2024-01-01T00:00:00Z/1800/host;x-bce-date/"
        "8615c6120a887a4598ddcf53316db29364382c2971f2dea80ee95120fc6af0e7");

  // Header order and name case do not change the signature; values are trimmed.
  in.headers = {{"X-Bce-Date ", " 2024-01-01T00:00:00Z"}, {"Host", "aip.baidubce.com"}};
  CHECK(bce::sign(in).authorization == s.authorization);
}

TEST_CASE("bce canonical query, encoding and timestamps", "[qianfan][bce]") {
  CHECK(bce::uri_encode("a b/c~d-e_f.g*") == "a%20b%2Fc~d-e_f.g%2A");
  CHECK(bce::uri_encode("/x y/z", true) == "/x%20y/z");
  CHECK(bce::uri_encode("中") == "%E4%B8%AD");
  CHECK(bce::utc_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(1704067200))) ==
        "2024-01-01T00:00:00Z");
  bce::SignInput in;
  in.access_key = "ak";
  in.secret_key = "sk";
  in.method = "GET";
  in.path = "/v1/x";
  in.query = {{"b", "2 3"}, {"a", "1"}, {"authorization", "ignored"}};
  in.timestamp = "2024-01-01T00:00:00Z";
  bce::Signature s = bce::sign(in);
  CHECK(s.canonical_request == "GET\n/v1/x\na=1&b=2%203\n");
  CHECK(s.authorization.rfind("bce-auth-v1/ak/2024-01-01T00:00:00Z/1800//", 0) == 0);  // no signed headers
}

// ---- request building -------------------------------------------------------------------------

TEST_CASE("qianfan body: seed multi-turn example, stream flag and options", "[qianfan]") {
  ChatRequest req = request_for("我在北京,周末可以去哪里玩?");
  req.messages.insert(req.messages.begin(),
                      {Message{"user", Json("你好")},
                       Message{"assistant", Json("你好!有什么问题我可以帮助你解决的吗?请随时告诉我。")}});
  req.stream = true;
  req.options.temperature = 0.95;
  req.options.top_p = 0.8;
  req.options.top_k = 40;
  req.options.stop = {"。"};
  req.options.max_tokens = 512;  // ChatGLM2 has no output cap parameter: not sent
  req.options.extra = {{"penalty_score", 1.2}, {"user_id", "u-1"}, {"incremental_output", false}};
  auto body = qianfan_body(req, 4800);
  REQUIRE(body.ok());
  CHECK(body.value() == Json::parse(R"({
    "messages": [{"role":"user","content":"你好"},
                 {"role":"assistant","content":"你好!有什么问题我可以帮助你解决的吗?请随时告诉我。"},
                 {"role":"user","content":"我在北京,周末可以去哪里玩?"}],
    "stream": true, "temperature": 0.95, "top_p": 0.8, "top_k": 40, "stop": ["。"],
    "penalty_score": 1.2, "user_id": "u-1"})"));
}

TEST_CASE("qianfan normalisation: system folded, runs merged, odd alternation ending in user", "[qianfan]") {
  ChatRequest req = request_for("");
  req.messages = {Message{"assistant", Json("欢迎!")},  Message{"system", Json("你是导游。")},
                  Message{"user", Json("去哪?")},       Message{"user", Json("预算不多。")},
                  Message{"assistant", Json("西湖。")}, Message{"user", Json("怎么去?")}};
  size_t dropped = 0;
  auto body = qianfan_body(req, 4800, &dropped);
  REQUIRE(body.ok());
  const Json& ms = body.value()["messages"];
  REQUIRE(ms.size() == 3);
  CHECK(ms[0] == Json{{"role", "user"}, {"content", "你是导游。\n\n去哪?\n\n预算不多。"}});
  CHECK(ms[1]["role"] == "assistant");
  CHECK(ms[2] == Json{{"role", "user"}, {"content", "怎么去?"}});
  CHECK(dropped == 1);  // the greeting before any user message
  CHECK_FALSE(body.value().contains("system"));
}

TEST_CASE("qianfan normalisation meets 4800 characters by dropping the oldest whole turns", "[qianfan]") {
  std::string a(2000, 'a'), b(2000, 'b');
  ChatRequest req = request_for(std::string(1000, 'z'));
  req.messages.insert(req.messages.begin(), {Message{"user", Json(a)}, Message{"assistant", Json(b)},
                                             Message{"user", Json("short")}, Message{"assistant", Json("ok")}});
  size_t dropped = 0;
  auto body = qianfan_body(req, 4800, &dropped);
  REQUIRE(body.ok());
  CHECK(dropped == 2);
  CHECK(body.value()["messages"].size() == 3);
  CHECK(body.value()["messages"][0]["content"] == "short");

  auto too_big = qianfan_body(request_for(std::string(4801, 'x')), 4800);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().kind == ErrorKind::context_length);
  CHECK(too_big.error().message == "message is 4801 characters; chatglm2_6b_32k accepts at most 4800 input characters");
}

TEST_CASE("qianfan option validation names the field and range", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  auto why = [&](std::function<void(ChatRequest&)> edit) {
    ChatRequest req = request_for();
    edit(req);
    return provider.validate(req).value_or("");
  };
  CHECK(why([](auto&) {}).empty());
  CHECK(why([](auto& r) { r.options.temperature = 0.0; }) == "options.temperature: must be in (0, 1] for qianfan");
  CHECK(why([](auto& r) { r.options.temperature = 1.0; }).empty());
  CHECK(why([](auto& r) { r.options.temperature = 1.01; }) == "options.temperature: must be in (0, 1] for qianfan");
  CHECK(why([](auto& r) { r.options.top_p = 0.0; }).empty());
  CHECK(why([](auto& r) { r.options.top_p = 1.5; }) == "options.top_p: must be in [0, 1] for qianfan");
  CHECK(why([](auto& r) { r.options.top_k = 0; }) == "options.top_k: must be a positive integer for qianfan");
  CHECK(why([](auto& r) {
          r.options.extra = {{"penalty_score", 0.5}};
        }) == "options.penalty_score: must be in [1, 2] for qianfan");
  CHECK(why([](auto& r) {
          r.options.extra = {{"penalty_score", "high"}};
        }) == "options.penalty_score: must be a number");
  CHECK(why([](auto& r) {
          r.options.stop = {"a", "b", "c", "d", "e"};
        }) == "options.stop: at most 4 entries for qianfan");
  CHECK(why([](auto& r) { r.options.stop = {std::string(21, 's')}; }) ==
        "options.stop[0]: must be 1 to 20 characters for qianfan");
  CHECK(why([](auto& r) { r.options.thinking = true; }) ==
        "options.thinking: not supported by qianfan (ChatGLM2 has no thinking mode)");
  CHECK(why([](auto& r) { r.options.thinking = false; }).empty());
  CHECK(why([](auto& r) {
          r.messages.push_back(Message{"assistant", Json("prefill")});
        }) == "messages: the last message must be from the user for chatglm2_6b_32k");
}

TEST_CASE("open_stream reports messages dropped by normalisation in result.extra", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  ChatRequest req = request_for("q");
  req.messages.insert(req.messages.begin(), Message{"assistant", Json("greeting")});
  ClientSink sink;
  ChatResult result;
  auto stream = provider.open_stream(req, result, sink);
  CHECK(result.extra["normalised_dropped_messages"] == 1);
  auto resent = provider.open_stream(req, result, sink);  // the driver resends with the same result
  CHECK(result.extra["normalised_dropped_messages"] == 1);

  ChatResult clean;
  auto plain = provider.open_stream(request_for("q"), clean, sink);
  CHECK_FALSE(clean.extra.contains("normalised_dropped_messages"));
}

// ---- responses --------------------------------------------------------------------------------

TEST_CASE("seed stream: sentences concatenated, is_end ends, usage totals", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  ChatRequest req = request_for("给我推荐一些自驾游路线");
  Outcome o = feed_all_splits(provider, req, load("stream_seed.http"));
  REQUIRE_FALSE(o.error);
  CHECK(o.done);
  CHECK(o.sink.content == read_fixture("stream_seed.expected.txt"));
  CHECK(o.sink.deltas == 9);
  CHECK(o.result.finish_reason == "stop");
  REQUIRE(o.result.usage);
  CHECK(o.result.usage->input_tokens == 11);
  CHECK(o.result.usage->output_tokens == 401);  // per-event completion_tokens, running total_tokens
  CHECK(o.result.usage->total_tokens == 412);
  CHECK(o.result.extra["request_id"] == "as-ywwpgx4dt7");
  CHECK(o.result.model == "chatglm2_6b_32k");
}

TEST_CASE("non-stream seed response", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  ChatRequest req = request_for();
  req.stream = false;
  Outcome o = feed_all_splits(provider, req, load("nonstream_single.http"));
  REQUIRE_FALSE(o.error);
  CHECK(o.sink.content == "你好!有什么问题我可以帮助你解决的吗?请随时告诉我。");
  CHECK(o.result.usage->output_tokens == 12);
  CHECK(o.result.usage->total_tokens == 13);
  CHECK(o.result.finish_reason == "stop");
}

TEST_CASE("need_clear_history and ban_round reach the result; is_truncated is length", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  Outcome o = feed_all_splits(provider, request_for(), load("stream_need_clear_history.http"));
  REQUIRE_FALSE(o.error);
  CHECK(o.result.extra["need_clear_history"] == true);
  CHECK(o.result.extra["ban_round"] == -1);
  CHECK(o.result.finish_reason == "content_filter");

  Outcome t = feed_all_splits(provider, request_for(), load("stream_is_truncated.http"));
  REQUIRE_FALSE(t.error);
  CHECK(t.sink.content == "当然可以,……");
  CHECK(t.result.finish_reason == "length");
  CHECK_FALSE(t.result.extra.contains("need_clear_history"));
}

TEST_CASE("error codes map to kinds, from bare JSON bodies on HTTP 200 and real error statuses", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  struct Case {
    const char* file;
    ErrorKind kind;
    const char* code;
    bool retryable;
    bool refresh;
  };
  const Case cases[] = {
      {"error_110.http", ErrorKind::auth, "110", false, true},
      {"error_111_no_newline.http", ErrorKind::auth, "111", false, true},
      {"error_336103.http", ErrorKind::context_length, "336103", false, false},
      {"error_336003.http", ErrorKind::invalid_request, "336003", false, false},
      {"error_18.http", ErrorKind::rate_limit, "18", true, false},
      {"error_17.http", ErrorKind::quota, "17", false, false},
      {"error_336100.http", ErrorKind::server, "336100", true, false},
      {"error_14_http403.http", ErrorKind::auth, "14", false, false},
      {"error_502_html.http", ErrorKind::server, "BadGateway", true, false},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    for (bool stream : {true, false}) {
      ChatRequest req = request_for();
      req.stream = stream;
      Outcome o = feed_all_splits(provider, req, load(c.file));
      REQUIRE(o.error);
      CHECK(o.error->kind == c.kind);
      CHECK(o.error->upstream_code == c.code);
      CHECK(o.error->retryable == c.retryable);
      CHECK(o.error->refresh_credentials == c.refresh);
      CHECK(o.sink.deltas == 0);
    }
  }
  Outcome expired = feed(provider, request_for(), load("error_111_no_newline.http"));
  CHECK(expired.error->message == "qianfan: authentication failed: Access token expired (code 111)");
  Outcome sig = feed(provider, request_for(), load("error_14_http403.http"));
  CHECK(sig.error->http_status == 403);
}

TEST_CASE("a data: error after text keeps the text and is not retryable", "[qianfan]") {
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  Outcome o = feed_all_splits(provider, request_for(), load("stream_data_error.http"));
  REQUIRE(o.error);
  CHECK(o.sink.content == "当然可以,");
  CHECK(o.error->kind == ErrorKind::rate_limit);
  CHECK(o.error->upstream_code == "336501");
  CHECK_FALSE(o.error->retryable);

  Outcome cut = feed_all_splits(provider, request_for(), load("stream_truncated.http"));
  REQUIRE(cut.error);
  CHECK(cut.error->kind == ErrorKind::network);
}

TEST_CASE("a bare JSON error line between data events keeps its code (issue 10 item 4)", "[qianfan]") {
  // Baidu's SDK parses any non-`data:` line that is JSON as a possible error; without that the
  // error became "stream ended before completion" and lost its code.
  asio::io_context io;
  QianfanProvider provider(config(), ProviderContext{io, nullptr});
  Outcome o = feed_all_splits(provider, request_for(), load("stream_unframed_error.http"));
  REQUIRE(o.error);
  CHECK(o.sink.content == "第一句,");  // nothing after the error line
  CHECK(o.error->kind == ErrorKind::server);
  CHECK(o.error->upstream_code == "336100");
  CHECK(o.error->upstream_message == "Internal error, please retry later");
  CHECK_FALSE(o.error->retryable);  // text had streamed
}

// ---- access token against the mock provider ---------------------------------------------------

TEST_CASE("20 concurrent first requests share ONE token request", "[qianfan][mock]") {
  mock::MockServer server;
  // A slow token endpoint: requests keep arriving while it is in flight.
  mock::Response slow = mock::Response::body(
      200, R"({"refresh_token":"25.r","expires_in":2592000,"access_token":"24.shared-token","scope":"public"})");
  slow.before_head.push_back(mock::Step::sleep(150));
  server.enqueue("/oauth/2.0/token", slow);
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  QianfanProvider provider(config(server.url()), ProviderContext{io, http});

  std::vector<std::optional<Result<net::Request>>> got(20);
  for (size_t i = 0; i < 10; ++i) {
    provider.prepare(request_for("q" + std::to_string(i)),
                     [&got, i](Result<net::Request> r) { got[i].emplace(std::move(r)); });
  }
  // Half start while the fetch is already on the wire.
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  for (size_t i = 10; i < 20; ++i) {
    provider.prepare(request_for("q" + std::to_string(i)),
                     [&got, i](Result<net::Request> r) { got[i].emplace(std::move(r)); });
  }
  REQUIRE(
      run_until(io, [&] { return std::all_of(got.begin(), got.end(), [](const auto& g) { return g.has_value(); }); }));
  CHECK(count_path(server, "/oauth/2.0/token") == 1);
  CHECK(provider.token_requests() == 1);
  for (size_t i = 0; i < 20; ++i) {
    INFO(i);
    REQUIRE(got[i]->ok());
    CHECK(got[i]->value().url == server.url() + kChatPath + "?access_token=24.shared-token");
    CHECK(Json::parse(got[i]->value().body)["messages"][0]["content"] == "q" + std::to_string(i));
  }
  auto token_req = server.requests().at(0);
  CHECK(token_req.method == "POST");
  // The client credentials travel in a form body, never in the URL (issue 11 defect 6).
  CHECK(token_req.target == "/oauth/2.0/token");
  CHECK(token_req.body == "grant_type=client_credentials&client_id=app-api-key&client_secret=app-secret-key");
  CHECK(token_req.header("content-type") == "application/x-www-form-urlencoded");

  // Cached: the next request is prepared at once, with no new token request.
  std::optional<Result<net::Request>> again;
  provider.prepare(request_for("杭州"), [&](Result<net::Request> r) { again.emplace(std::move(r)); });
  REQUIRE(again.has_value());  // synchronous
  CHECK(again->value().url.find("access_token=24.shared-token") != std::string::npos);
  CHECK(count_path(server, "/oauth/2.0/token") == 1);

  // And the token works end to end.
  Outcome o = send(io, *http, provider, request_for("杭州"), again->value());
  REQUIRE_FALSE(o.error);
  CHECK(o.sink.content == "You said: 杭州");
  CHECK(o.done);
}

TEST_CASE("a failed token request fails every waiter with a clear auth error", "[qianfan][mock]") {
  mock::MockServer server;
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  ProviderConfig c = config(server.url());
  c.api_key = "bad";  // the mock answers client_id=bad with invalid_client / unknown client id
  QianfanProvider provider(c, ProviderContext{io, http});
  std::vector<std::optional<Result<net::Request>>> got(20);
  for (size_t i = 0; i < 20; ++i) {
    provider.prepare(request_for(), [&got, i](Result<net::Request> r) { got[i].emplace(std::move(r)); });
  }
  REQUIRE(
      run_until(io, [&] { return std::all_of(got.begin(), got.end(), [](const auto& g) { return g.has_value(); }); }));
  CHECK(count_path(server, "/oauth/2.0/token") == 1);
  for (const auto& g : got) {
    REQUIRE_FALSE(g->ok());
    CHECK(g->error().kind == ErrorKind::auth);
    CHECK(g->error().message == "qianfan: token request failed: unknown client id");
    CHECK(g->error().upstream_code == "invalid_client");
  }
  // Failures are not cached: the next request tries again.
  auto next = prepare_wait(io, provider, request_for());
  CHECK_FALSE(next.ok());
  CHECK(count_path(server, "/oauth/2.0/token") == 2);
}

TEST_CASE("error 110 on a chat request: invalidate, one new token, resend succeeds", "[qianfan][mock]") {
  mock::MockServer server;
  server.enqueue("/oauth/2.0/token", mock::Response::body(200, R"({"expires_in":2592000,"access_token":"24.old"})"));
  server.enqueue("/oauth/2.0/token", mock::Response::body(200, R"({"expires_in":2592000,"access_token":"24.new"})"));
  server.enqueue(kChatPath, mock::Response::body(
                                200, R"({"error_code":110,"error_msg":"Access token invalid or no longer valid"})",
                                "application/json;charset=utf-8"));
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  QianfanProvider provider(config(server.url()), ProviderContext{io, http});

  // The chat driver's refresh-once logic, in miniature.
  ChatRequest req = request_for("重试");
  auto first = prepare_wait(io, provider, req);
  REQUIRE(first.ok());
  Outcome o1 = send(io, *http, provider, req, first.value());
  REQUIRE(o1.error);
  REQUIRE(o1.error->refresh_credentials);
  provider.invalidate_credentials();
  auto second = prepare_wait(io, provider, req);
  REQUIRE(second.ok());
  CHECK(second.value().url.find("access_token=24.new") != std::string::npos);
  Outcome o2 = send(io, *http, provider, req, second.value());
  REQUIRE_FALSE(o2.error);
  CHECK(o2.sink.content == "You said: 重试");
  CHECK(count_path(server, "/oauth/2.0/token") == 2);
  auto reqs = server.requests();
  std::vector<std::string> chat_targets;
  for (const auto& r : reqs)
    if (r.path() == kChatPath) chat_targets.push_back(r.target);
  CHECK(chat_targets == std::vector<std::string>{std::string(kChatPath) + "?access_token=24.old",
                                                 std::string(kChatPath) + "?access_token=24.new"});
}

TEST_CASE("a token is refreshed 10 s before it expires", "[qianfan][mock]") {
  mock::MockServer server;
  // expires_in 5 s: already inside the 10 s refresh margin, so every request fetches anew.
  server.enqueue("/oauth/2.0/token", mock::Response::body(200, R"({"expires_in":5,"access_token":"24.short"})"));
  server.enqueue("/oauth/2.0/token", mock::Response::body(200, R"({"expires_in":5,"access_token":"24.short2"})"));
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  QianfanProvider provider(config(server.url()), ProviderContext{io, http});
  CHECK(prepare_wait(io, provider, request_for()).value().url.find("24.short") != std::string::npos);
  CHECK(prepare_wait(io, provider, request_for()).value().url.find("24.short2") != std::string::npos);
  CHECK(count_path(server, "/oauth/2.0/token") == 2);
}

TEST_CASE("a token endpoint that cannot be reached fails the waiters with a network error", "[qianfan][mock]") {
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  std::string url;
  {
    mock::MockServer gone;  // a port that was just listening and now is not
    url = gone.url();
  }
  QianfanProvider provider(config(url), ProviderContext{io, http});
  auto r = prepare_wait(io, provider, request_for());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::network);
  CHECK(r.error().message.rfind("qianfan: token request failed: ", 0) == 0);
  CHECK(r.error().retryable);
}

TEST_CASE("QIANFAN_ACCESS_TOKEN (or the configured variable) is used directly", "[qianfan]") {
  asio::io_context io;
  ProviderConfig c = config();
  c.extra["access_token_env"] = "GLM_TEST_QIANFAN_TOKEN_SET";
  ::setenv("GLM_TEST_QIANFAN_TOKEN_SET", "24.from-env", 1);
  QianfanProvider provider(c, ProviderContext{io, nullptr});  // no HTTP client: nothing may be fetched
  std::optional<Result<net::Request>> got;
  provider.prepare(request_for(), [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  ::unsetenv("GLM_TEST_QIANFAN_TOKEN_SET");
  REQUIRE(got);
  REQUIRE(got->ok());
  CHECK(got->value().url == std::string("https://aip.baidubce.com") + kChatPath + "?access_token=24.from-env");
  CHECK(provider.token_requests() == 0);
}

TEST_CASE("missing AK/SK fails at once with the variable to set", "[qianfan]") {
  asio::io_context io;
  ProviderConfig c = config();
  c.api_key.clear();
  c.api_key_env = "GLM_TEST_QIANFAN_AK_NOT_SET";
  QianfanProvider provider(c, ProviderContext{io, nullptr});
  std::optional<Result<net::Request>> got;
  provider.prepare(request_for(), [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  REQUIRE(got);
  REQUIRE_FALSE(got->ok());
  CHECK(got->error().kind == ErrorKind::auth);
  CHECK(got->error().message.find("GLM_TEST_QIANFAN_AK_NOT_SET") != std::string::npos);
}

TEST_CASE("destroying the provider answers requests still waiting for a token", "[qianfan][mock]") {
  mock::MockServer server;
  mock::Response stalled = mock::Response::body(200, "{}");
  stalled.before_head.push_back(mock::Step::stall());
  server.enqueue("/oauth/2.0/token", stalled);
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  auto provider = std::make_unique<QianfanProvider>(config(server.url()), ProviderContext{io, http});
  std::optional<Result<net::Request>> got;
  provider->prepare(request_for(), [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  REQUIRE(run_until(io, [&] { return server.requests().size() == 1; }));
  provider.reset();
  CHECK_FALSE(got.has_value());  // not from inside the destructor
  REQUIRE(run_until(io, [&] { return got.has_value(); }));
  REQUIRE_FALSE(got->ok());
  CHECK(got->error().message == "qianfan: provider shut down");
}

TEST_CASE("auth bce: requests are signed (host, x-bce-date) and carry no access_token", "[qianfan][bce][mock]") {
  mock::MockServer server;
  asio::io_context io;
  auto http = net::HttpClient::create(io);
  ProviderConfig c = config(server.url());
  c.auth = "bce";
  c.api_key = "AKIDEXAMPLE";
  c.secret_key = "SKEXAMPLE";
  QianfanProvider provider(c, ProviderContext{io, http});
  std::optional<Result<net::Request>> got;
  ChatRequest req = request_for("签名");
  provider.prepare(req, [&](Result<net::Request> r) { got.emplace(std::move(r)); });
  REQUIRE(got);  // synchronous: no token involved
  REQUIRE(got->ok());
  const net::Request& r = got->value();
  CHECK(r.url == server.url() + kChatPath);
  const std::string date = header(r, "x-bce-date");
  CHECK(std::regex_match(date, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  CHECK(header(r, "host") == host);

  Outcome o = send(io, *http, provider, req, r);
  REQUIRE_FALSE(o.error);
  CHECK(o.sink.content == "You said: 签名");
  CHECK(count_path(server, "/oauth/2.0/token") == 0);

  // Recompute the signature from what reached the server.
  auto seen = server.requests().back();
  bce::SignInput in;
  in.access_key = "AKIDEXAMPLE";
  in.secret_key = "SKEXAMPLE";
  in.method = seen.method;
  in.path = seen.path();
  in.headers = {{"host", seen.header("host")}, {"x-bce-date", seen.header("x-bce-date")}};
  in.timestamp = seen.header("x-bce-date");
  in.expiration_seconds = 1800;
  CHECK(seen.header("authorization") == bce::sign(in).authorization);
  CHECK(seen.header("authorization").find("/host;x-bce-date/") != std::string::npos);

  // An unknown auth mode is a clear configuration error.
  ProviderConfig odd = c;
  odd.auth = "jwt";
  QianfanProvider wrong(odd, ProviderContext{io, http});
  std::optional<Result<net::Request>> e;
  wrong.prepare(req, [&](Result<net::Request> x) { e.emplace(std::move(x)); });
  REQUIRE(e);
  REQUIRE_FALSE(e->ok());
  CHECK(e->error().message.find("unknown auth mode 'jwt'") != std::string::npos);
}
