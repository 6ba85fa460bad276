#include "providers/qianfan.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <cctype>
#include <cstdlib>

#include "core/history.hpp"
#include "providers/bce_auth.hpp"
#include "providers/registry.hpp"

namespace glm {
namespace {

constexpr std::string_view kProvider = "qianfan";
constexpr std::string_view kChatPath = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/";
constexpr size_t kMaxTokenBody = 64 * 1024;  // a token response is a few hundred bytes

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A bounded, printable excerpt of a body that was not JSON, for a message; never cut mid-character.

std::string string_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

int64_t int_field(const Json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return fallback;
  return json_to_int64(*it, fallback);
}

bool bool_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

UpstreamError make_error(ErrorKind kind, std::string message) {
  UpstreamError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

std::string env_value(const std::string& name) {
  if (name.empty()) return {};
  const char* v = std::getenv(name.c_str());
  return v ? std::string(v) : std::string();
}

// stop | length | tool_calls | content_filter from Qianfan's finish_reason ("normal" on ERNIE) and
// is_truncated (ChatGLM responses may name no reason at all).
std::string finish_reason_of(const Json& body) {
  std::string reason = string_field(body, "finish_reason");
  if (reason == "length" || (reason.empty() && bool_field(body, "is_truncated"))) return "length";
  if (reason == "content_filter") return "content_filter";
  if (reason == "function_call" || reason == "tool_calls") return "tool_calls";
  return "stop";
}

}  // namespace

// ---- request ----------------------------------------------------------------------------------

Result<Json> qianfan_body(const ChatRequest& request, std::optional<int64_t> max_chars, size_t* dropped) {
  auto turns = to_alternating(request.messages, max_chars, request.model);
  if (!turns) return turns.error();
  if (dropped) *dropped = turns.value().dropped_messages;
  Json messages = Json::array();
  for (const auto& m : turns.value().messages) messages.push_back(Json{{"role", m.role}, {"content", m.text()}});
  Json body{{"messages", std::move(messages)}, {"stream", request.stream}};
  const ChatOptions& o = request.options;
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.top_k) body["top_k"] = *o.top_k;
  if (!o.stop.empty()) body["stop"] = o.stop;
  for (const char* key : {"penalty_score", "user_id"}) {
    if (auto it = o.extra.find(key); it != o.extra.end() && !it->is_null()) body[key] = *it;
  }
  return body;
}

// ---- errors -----------------------------------------------------------------------------------

UpstreamError qianfan_error(std::optional<int> http_status, const Json& body) {
  UpstreamError e;
  e.http_status = http_status;
  const int status = http_status.value_or(0);
  e.kind = status >= 400 ? error_kind_for_status(status) : ErrorKind::server;
  e.retryable = status >= 400 && status_retryable(status);
  const int64_t code = int_field(body, "error_code", -1);
  e.upstream_code = string_field(body, "error_code");
  e.upstream_message = string_field(body, "error_msg");
  e.request_id = string_field(body, "id");
  auto set = [&](ErrorKind kind, bool retryable) {
    e.kind = kind;
    e.retryable = retryable;
  };
  switch (code) {
    case 4:
    case 18:
    case 336501:
    case 336502:
      set(ErrorKind::rate_limit, true);
      break;
    case 17:
    case 19:
      set(ErrorKind::quota, false);
      break;
    case 110:
    case 111:
      set(ErrorKind::auth, false);
      e.refresh_credentials = true;  // the driver refreshes the token and resends once
      break;
    case 336103:
    case 336007:
      set(ErrorKind::context_length, false);
      break;
    case 3:
    case 100:
    case 336001:
    case 336002:
    case 336003:
    case 336005:
    case 336101:
    case 336104:
    case 336105:
      set(ErrorKind::invalid_request, false);
      break;
    case 2:
    case 15:
    case 336100:
      set(ErrorKind::server, true);
      break;
    case 1:
    case 336000:
      set(ErrorKind::server, false);
      break;
    case 6:
    case 13:
    case 14:
    case 336004:
      set(ErrorKind::auth, false);
      break;
    default:
      break;
  }
  return e;
}

Result<QianfanToken> parse_qianfan_token(int status, std::string_view raw) {
  Json body = Json::parse(raw, nullptr, false);
  if (body.is_object()) {
    auto token = body.find("access_token");
    if (status >= 200 && status < 300 && token != body.end() && token->is_string() &&
        !token->get<std::string>().empty()) {
      QianfanToken t;
      t.access_token = token->get<std::string>();
      // Tokens last 30 days; anything longer (or negative) is not believed: the refresh time is
      // computed with chrono arithmetic that must not overflow.
      t.expires_in_s = std::clamp<int64_t>(int_field(body, "expires_in", t.expires_in_s), 0, 2592000);
      return t;
    }
    if (body.contains("error") || body.contains("error_description")) {
      // {"error":"invalid_client","error_description":"unknown client id"}
      std::string what = string_field(body, "error_description");
      if (what.empty()) what = string_field(body, "error");
      UpstreamError e = make_error(ErrorKind::auth, "qianfan: token request failed: " + what);
      e.upstream_code = string_field(body, "error");
      e.upstream_message = string_field(body, "error_description");
      if (status >= 400) e.http_status = status;
      if (status >= 500) {
        e.kind = ErrorKind::server;
        e.retryable = true;
      }
      return e;
    }
  }
  UpstreamError e;
  e.http_status = status;
  if (status >= 500 || status == 429) {
    e.kind = status == 429 ? ErrorKind::rate_limit : ErrorKind::server;
    e.retryable = true;
  } else if (status >= 400) {
    e.kind = ErrorKind::auth;
  } else {
    e.kind = ErrorKind::protocol;
  }
  e.message = "qianfan: token request failed: HTTP " + std::to_string(status) +
              (raw.empty() ? std::string() : ": " + body_excerpt(raw));
  return e;
}

// ---- response ---------------------------------------------------------------------------------

QianfanStream::QianfanStream(ChatResult& result, DeltaSink& sink)
    : SseChatStream(std::string(kProvider), result, sink) {
  scan_unframed_lines();
}

void QianfanStream::on_unframed_line(std::string_view line) {
  // As Baidu's SDK does: a line between events that is not `data:` but JSON may be an error
  // ({"error_code":336003,...} mid-stream); anything else is ignored.
  Json body = Json::parse(trim_space(line), nullptr, false);
  if (body.is_object() && body.contains("error_code")) fail(qianfan_error(std::nullopt, body));
}

void QianfanStream::on_stream_event(const sse::Event& event) {
  std::string_view data = trim_space(event.data);
  if (data.empty()) return;
  Json body = Json::parse(data, nullptr, false);
  if (!body.is_object()) {
    fail(ErrorKind::protocol, "qianfan: malformed stream event: " + body_excerpt(data));
    return;
  }
  if (body.contains("error_code")) {
    fail(qianfan_error(status() >= 400 ? std::optional<int>(status()) : std::nullopt, body));
    return;
  }
  handle(body, /*whole=*/false);
}

void QianfanStream::on_json_body(const Json& body, std::string_view raw) {
  // Qianfan answers errors with HTTP 200 and a bare JSON body, also to stream requests.
  if (body.is_object() && body.contains("error_code")) {
    fail(qianfan_error(std::nullopt, body));
    return;
  }
  if (!body.is_object() || !body.contains("result")) {
    fail(ErrorKind::protocol, "qianfan: response has no result: " + body_excerpt(raw));
    return;
  }
  handle(body, /*whole=*/true);
}

void QianfanStream::on_end() {
  // Endpoints that never send is_end (UNCERTAIN for some custom deployments) end by closing.
  if (events_seen_ && !is_end_field_seen_) {
    if (result_.finish_reason.empty()) result_.finish_reason = "stop";
    complete();
    return;
  }
  SseChatStream::on_end();
}

UpstreamError QianfanStream::map_error(int status, const Json* body, std::string_view raw) {
  if (body && body->is_object() && body->contains("error_code")) return qianfan_error(status, *body);
  UpstreamError e;
  e.http_status = status;
  e.kind = error_kind_for_status(status);
  e.retryable = status_retryable(status);
  e.upstream_code = header_value(headers(), "x-bce-error-code");
  e.upstream_message = body_excerpt(raw);
  return e;
}

void QianfanStream::handle(const Json& body, bool whole) {
  events_seen_ = true;
  if (auto id = string_field(body, "id"); !id.empty()) result_.extra["request_id"] = id;
  if (auto u = body.find("usage"); u != body.end() && u->is_object()) {
    // ChatGLM streams give completion_tokens per event but a running total_tokens (Qianfan's ChatGLM2-6B example);
    // ERNIE gives running totals on the last event. total - prompt is right for both.
    Usage usage;
    usage.input_tokens = int_field(*u, "prompt_tokens", 0);
    usage.total_tokens = int_field(*u, "total_tokens", 0);
    usage.output_tokens =
        std::max(int_field(*u, "completion_tokens", 0), saturating_sub(usage.total_tokens, usage.input_tokens));
    // Saturating: a provider's counts are untrusted (a completion_tokens near INT64_MAX overflowed here).
    const int64_t sum = saturating_add(usage.input_tokens, usage.output_tokens);
    if (usage.total_tokens < sum) usage.total_tokens = sum;
    result_.usage = usage;
  }
  if (bool_field(body, "need_clear_history")) {
    // The input tripped Qianfan's safety check: the client should clear the conversation.
    result_.extra["need_clear_history"] = true;
    if (auto b = body.find("ban_round"); b != body.end() && b->is_number_integer()) result_.extra["ban_round"] = *b;
  }
  if (auto r = body.find("result"); r != body.end() && r->is_string()) emit(r->get<std::string>(), {});
  auto is_end = body.find("is_end");
  if (is_end != body.end()) is_end_field_seen_ = true;
  if (whole || (is_end != body.end() && is_end->is_boolean() && is_end->get<bool>())) {
    result_.finish_reason = finish_reason_of(body);
    complete();
  }
}

// ---- provider ---------------------------------------------------------------------------------

struct QianfanProvider::TokenFetch {
  int status = 0;
  std::string body;
};

QianfanProvider::QianfanProvider(const ProviderConfig& config, ProviderContext context)
    : config_(config), context_(std::move(context)), credentials_(config) {}

QianfanProvider::~QianfanProvider() {
  token_transfer_.cancel();
  if (waiters_.empty()) return;
  // Every prepare() gets its one answer, but not from inside a destructor: posted to the loop.
  std::vector<PrepareDone> dones;
  for (auto& w : waiters_) dones.push_back(std::move(w.done));
  asio::post(context_.io, [dones = std::move(dones)] {
    for (const auto& done : dones) done(make_error(ErrorKind::network, "qianfan: provider shut down"));
  });
}

std::optional<int64_t> QianfanProvider::max_chars(const std::string& model) const {
  if (auto it = config_.extra.find("max_input_chars");
      it != config_.extra.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
    return it->get<int64_t>();
  }
  if (const ModelInfo* m = find_model(config_, model)) return m->max_input_chars;
  return std::nullopt;
}

std::optional<std::string> QianfanProvider::validate(const ChatRequest& request) const {
  if (auto e = validate_messages(request.messages, {"text"}, config_.name.empty() ? kProvider : config_.name)) return e;
  if (!request.tools.is_null() || !request.tool_choice.is_null())
    return "tools: not supported by " + (config_.name.empty() ? std::string(kProvider) : config_.name) +
           " (ChatGLM2 on Qianfan v1 has no function calling; use qianfan-v2)";
  const ChatOptions& o = request.options;
  const std::string provider(kProvider);
  if (auto e = check_range("temperature", o.temperature, Range{0, 1, true, false}, provider)) return e;
  if (auto e = check_range("top_p", o.top_p, Range{0, 1}, provider)) return e;
  if (o.top_k && *o.top_k < 1) return std::string("options.top_k: must be a positive integer for qianfan");
  if (o.stop.size() > 4) return std::string("options.stop: at most 4 entries for qianfan");
  for (size_t i = 0; i < o.stop.size(); ++i) {
    int64_t n = count_chars(o.stop[i]);
    if (n == 0 || n > 20) return "options.stop[" + std::to_string(i) + "]: must be 1 to 20 characters for qianfan";
  }
  if (auto e = reject_if_set("thinking", o.thinking.value_or(false), provider, "ChatGLM2 has no thinking mode"))
    return e;
  if (auto e = check_extra(o.extra, "penalty_score", ExtraType::number)) return e;
  if (auto it = o.extra.find("penalty_score"); it != o.extra.end()) {
    if (auto e = check_range("penalty_score", it->get<double>(), Range{1, 2}, provider)) return e;
  }
  if (auto e = check_extra(o.extra, "user_id", ExtraType::string)) return e;
  // The alternation rules (ends with a user message) without the length cap: that one is
  // fit_history's job, and prepare() enforces it again.
  if (auto turns = to_alternating(request.messages, std::nullopt, request.model); !turns) {
    return turns.error().message;
  }
  return std::nullopt;
}

void QianfanProvider::prepare(const ChatRequest& request, PrepareDone done) {
  // api_key_cmd runs off the loop; the error path must not touch `this` (see Credentials).
  credentials_.resolve(context_.io, [this, request, done = std::move(done)](std::optional<UpstreamError> e) mutable {
    if (e) return done(std::move(*e));
    prepare_ready(request, std::move(done));
  });
}

void QianfanProvider::prepare_ready(const ChatRequest& request, PrepareDone done) {
  const std::string& mode = config_.auth;
  if (mode == "bce") {
    done(build_request(request, nullptr));
    return;
  }
  if (!mode.empty() && mode != "oauth") {
    done(make_error(ErrorKind::invalid_request,
                    "qianfan: unknown auth mode '" + mode + "' (providers.qianfan.auth: \"oauth\" or \"bce\")"));
    return;
  }
  std::string env_name = "QIANFAN_ACCESS_TOKEN";
  if (auto it = config_.extra.find("access_token_env"); it != config_.extra.end() && it->is_string()) {
    env_name = it->get<std::string>();
  }
  if (std::string env_token = env_value(env_name); !env_token.empty()) {
    done(build_request(request, &env_token));
    return;
  }
  if (token_ && std::chrono::steady_clock::now() < token_refresh_at_) {
    const std::string token = *token_;
    done(build_request(request, &token));
    return;
  }
  token_.reset();
  // Single flight: every request that needs a token while one is being fetched waits for that one.
  waiters_.push_back(Waiter{request, std::move(done)});
  if (!fetching_) start_token_fetch();
}

void QianfanProvider::start_token_fetch() {
  auto ak = credentials_.api_key();
  if (!ak) {
    finish_token_fetch(ak.error());
    return;
  }
  auto sk = credentials_.secret_key();
  if (!sk) {
    finish_token_fetch(sk.error());
    return;
  }
  if (!context_.http) {
    finish_token_fetch(make_error(ErrorKind::network, "qianfan: no HTTP client for the token request"));
    return;
  }
  net::Request r;
  r.method = "POST";
  // The OAuth 2.0 client-credentials parameters go in a form body (RFC 6749 §4.4.2), which the
  // endpoint accepts, not in the URL: a URL ends up in proxy logs and in error pages that echo the
  // request line.
  r.url = join_url(config_.base_url, "/oauth/2.0/token");
  r.body = "grant_type=client_credentials&client_id=" + bce::uri_encode(ak.value()) +
           "&client_secret=" + bce::uri_encode(sk.value());
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.headers.emplace_back("Accept", "application/json");
  r.options = transfer_options(config_);

  auto fetch = std::make_shared<TokenFetch>();
  net::Callbacks cb;
  cb.on_head = [fetch](int status, const net::Headers&) { fetch->status = status; };
  cb.on_data = [fetch](std::string_view bytes) {
    size_t room = kMaxTokenBody - std::min(kMaxTokenBody, fetch->body.size());
    fetch->body.append(bytes.substr(0, room));
  };
  // The destructor cancels the transfer, after which no callback runs: `this` is alive here.
  cb.on_done = [this, fetch](const net::NetError* error) {
    if (error) {
      UpstreamError e =
          make_error(error->kind == net::NetError::Kind::timeout ? ErrorKind::timeout : ErrorKind::network,
                     "qianfan: token request failed: " + error->message);
      e.retryable = true;
      finish_token_fetch(std::move(e));
      return;
    }
    finish_token_fetch(parse_qianfan_token(fetch->status, fetch->body));
  };
  fetching_ = true;
  ++token_requests_;
  token_transfer_ = context_.http->start(std::move(r), std::move(cb));
}

void QianfanProvider::finish_token_fetch(Result<QianfanToken> token) {
  fetching_ = false;
  token_transfer_ = net::Transfer();
  if (token) {
    token_ = token.value().access_token;
    // Refresh 10 s early, as the SDK does, so a token never expires in flight.
    const int64_t valid_s = std::max<int64_t>(0, token.value().expires_in_s - 10);
    token_refresh_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(valid_s);
  }
  // A waiter's callback may call prepare() again (a new fetch then queues fresh waiters).
  std::vector<Waiter> waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    if (token) {
      const std::string t = token.value().access_token;
      w.done(build_request(w.request, &t));
    } else {
      w.done(token.error());
    }
  }
}

std::vector<std::string> QianfanProvider::secrets() const {
  std::vector<std::string> out = credentials_.known_secrets();
  if (token_) out.push_back(*token_);
  std::string env_name = "QIANFAN_ACCESS_TOKEN";
  if (auto it = config_.extra.find("access_token_env"); it != config_.extra.end() && it->is_string())
    env_name = it->get<std::string>();
  if (std::string t = env_value(env_name); !t.empty()) out.push_back(std::move(t));
  return out;
}

void QianfanProvider::invalidate_credentials() {
  token_.reset();
  credentials_.invalidate();
}

Result<net::Request> QianfanProvider::build_request(const ChatRequest& request, const std::string* access_token) {
  auto body = qianfan_body(request, max_chars(request.model));
  if (!body) return body.error();
  std::string url = join_url(config_.base_url, std::string(kChatPath) + bce::uri_encode(request.model));
  if (access_token) url += "?access_token=" + bce::uri_encode(*access_token);
  net::Request r = json_post(config_, url, body.value(), request.stream);
  if (access_token) return r;

  // bce-auth-v1 with the IAM access key / secret key, signing host and x-bce-date as the Java SDK does.
  auto ak = credentials_.api_key();
  if (!ak) return ak.error();
  auto sk = credentials_.secret_key();
  if (!sk) return sk.error();
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return make_error(ErrorKind::invalid_request, "qianfan: base_url must start with http:// or https://");
  }
  const std::string scheme = url.substr(0, scheme_end);
  const size_t host_begin = scheme_end + 3;
  const size_t path_begin = url.find('/', host_begin);
  std::string host =
      url.substr(host_begin, path_begin == std::string::npos ? std::string::npos : path_begin - host_begin);
  const std::string path = path_begin == std::string::npos ? "/" : url.substr(path_begin);
  auto strip_port = [&](std::string_view port) {
    if (host.size() > port.size() && host.compare(host.size() - port.size(), port.size(), port) == 0)
      host.resize(host.size() - port.size());
  };
  if (scheme == "https") strip_port(":443");
  if (scheme == "http") strip_port(":80");

  bce::SignInput in;
  in.access_key = ak.value();
  in.secret_key = sk.value();
  in.method = r.method;
  in.path = path;
  in.timestamp = bce::utc_timestamp(std::chrono::system_clock::now());
  in.headers = {{"host", host}, {"x-bce-date", in.timestamp}};
  if (auto it = config_.extra.find("bce_expiration_seconds");
      it != config_.extra.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
    in.expiration_seconds = it->get<int64_t>();
  }
  const bce::Signature sig = bce::sign(in);
  // Send exactly the Host value that was signed.
  r.headers.emplace_back("Host", host);
  r.headers.emplace_back("x-bce-date", in.timestamp);
  r.headers.emplace_back("Authorization", sig.authorization);
  return r;
}

std::unique_ptr<ChatStream> QianfanProvider::open_stream(const ChatRequest& request, ChatResult& result,
                                                         DeltaSink& sink) {
  if (result.model.empty()) result.model = request.model;
  if (result.provider.empty()) result.provider = std::string(kProvider);
  // Normalisation may have dropped messages (empty ones, leading assistant replies, turns over the
  // character cap) beyond what fit_history dropped: never silently. Assigned, not added: the driver
  // reuses `result` when it resends.
  size_t dropped = 0;
  if (qianfan_body(request, max_chars(request.model), &dropped) && dropped > 0) {
    result.extra["normalised_dropped_messages"] = dropped;
  }
  return std::make_unique<QianfanStream>(result, sink);
}

std::unique_ptr<Provider> make_qianfan_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<QianfanProvider>(config, std::move(context));
}

ProviderSpec qianfan_spec() {
  ProviderSpec s;
  s.kind = std::string(kProvider);
  s.summary = "Baidu Qianfan v1 (wenxinworkshop; application API Key + Secret Key, or IAM AK/SK with auth \"bce\")";
  s.defaults = {{"base_url", "https://aip.baidubce.com"}};
  s.credentials = {{"api_key_env", "QIANFAN_AK"}, {"secret_key_env", "QIANFAN_SK"}};
  s.options = {{"temperature", "(0, 1]"},
               {"top_p", "[0, 1]"},
               {"top_k", ">= 1"},
               {"max_tokens", "not sent"},
               {"stop", "at most 4, each 1 to 20 characters"},
               {"thinking", "not supported"},
               {"message_parts", {"text"}},
               {"extras", {{"penalty_score", "number [1, 2]"}, {"user_id", "string"}}}};
  {
    auto m = model_entry(s.kind, "chatglm2_6b_32k");  // Qianfan's ChatGLM2-6B API page
    m.max_input_chars = 4800;                         // total `content` characters per request
    m.context_window = 32768;  // UNCERTAIN: from the model name; the 4800-character cap binds first
    m.uncertain = true;
    s.models.push_back(std::move(m));
  }
  s.make = &make_qianfan_provider;
  return s;
}

}  // namespace glm
