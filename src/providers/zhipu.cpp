#include "providers/zhipu.hpp"

#include <charconv>

namespace glm {

namespace {

constexpr std::string_view kName = "zhipu";

int code_number(const std::string& code) {
  int v = -1;
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), v);
  return ec == std::errc() && ptr == code.data() + code.size() ? v : -1;
}

void set(UpstreamError& e, ErrorKind kind, bool retryable) {
  e.kind = kind;
  e.retryable = retryable;
}

}  // namespace

void classify_zhipu_error(UpstreamError& e, const ErrorInfo& info, bool jwt) {
  const int code = code_number(info.code);
  if (code >= 1000 && code <= 1005) {
    set(e, ErrorKind::auth, false);
    if (code == 1003 && jwt) e.refresh_credentials = true;
  } else if (code == 1113) {
    set(e, ErrorKind::quota, false);  // arrears; arrives as 429 but waiting does not help
  } else if (code >= 1110 && code <= 1121) {
    set(e, ErrorKind::auth, false);  // account inactive / locked / banned
  } else if (code == 500 || code == 1200 || code == 1230 || code == 1234) {
    set(e, ErrorKind::server, true);
  } else if (code >= 1210 && code <= 1215) {
    set(e, ErrorKind::invalid_request, false);
  } else if (code == 1220) {
    set(e, ErrorKind::auth, false);
  } else if (code == 1221 || code == 1222 || code == 1231) {
    set(e, ErrorKind::invalid_request, false);
  } else if (code == 1261) {
    set(e, ErrorKind::context_length, false);
  } else if (code == 1301) {
    set(e, ErrorKind::content_filter, false);
  } else if (code == 1302 || code == 1303 || code == 1305) {
    set(e, ErrorKind::rate_limit, true);
  } else if (code == 1304 || (code >= 1308 && code <= 1321)) {
    // Daily/weekly caps, coding-plan limits: the account's allowance, not a momentary rate.
    set(e, ErrorKind::quota, false);
  }
}

ZhipuProvider::ZhipuProvider(const ProviderConfig& config, ProviderContext context,
                             ZhipuJwtCache::Clock clock)
    : config_(config), context_(std::move(context)), credentials_(config), jwt_(std::move(clock)) {}

std::optional<std::string> ZhipuProvider::validate(const ChatRequest& request) const {
  if (auto m = validate_messages(request.messages, {"text", "image_url", "video_url", "file_url"})) return m;
  const ChatOptions& o = request.options;
  if (auto m = check_range("temperature", o.temperature, {0, 1}, kName)) return m;
  if (auto m = check_range("top_p", o.top_p, {0.01, 1}, kName)) return m;
  if (o.max_tokens) {
    if (auto m = check_range("max_tokens", static_cast<double>(*o.max_tokens), {1, 131072}, kName)) return m;
  }
  if (o.stop.size() > 1) return std::string("options.stop: at most 1 stop sequence for zhipu");
  if (auto m = reject_if_set("top_k", o.top_k.has_value(), kName)) return m;
  if (auto m = check_extra(o.extra, "do_sample", ExtraType::boolean)) return m;
  if (auto m = check_extra(o.extra, "user_id", ExtraType::string)) return m;
  if (auto m = check_extra(o.extra, "request_id", ExtraType::string)) return m;
  if (auto m = check_extra(o.extra, "response_format", ExtraType::object)) return m;
  if (auto it = o.extra.find("user_id"); it != o.extra.end()) {
    size_t n = it->get_ref<const std::string&>().size();
    if (n < 6 || n > 128) return std::string("options.user_id: must be 6 to 128 characters for zhipu");
  }
  return std::nullopt;
}

Json ZhipuProvider::build_body(const ChatRequest& request) const {
  const ChatOptions& o = request.options;
  Json body = {{"model", request.model},
               {"messages", openai_messages(request.messages, {.strip_image_data_prefix = true})},
               {"stream", request.stream}};
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.max_tokens) body["max_tokens"] = *o.max_tokens;
  if (!o.stop.empty()) body["stop"] = o.stop;
  if (o.seed) body["seed"] = *o.seed;
  if (o.thinking) body["thinking"] = {{"type", *o.thinking ? "enabled" : "disabled"}};
  copy_extras(o.extra, body, {"do_sample", "user_id", "request_id", "response_format"});
  return body;
}

void ZhipuProvider::prepare(const ChatRequest& request, PrepareDone done) {
  auto key = credentials_.api_key();
  if (!key) {
    done(key.error());
    return;
  }
  std::string bearer;
  if (config_.auth.empty() || config_.auth == "key") {
    bearer = key.value();
  } else if (config_.auth == "jwt") {
    auto token = jwt_.token(key.value());
    if (!token) {
      done(token.error());
      return;
    }
    bearer = token.value();
  } else {
    UpstreamError e;
    e.kind = ErrorKind::auth;
    e.message = "zhipu: unknown auth mode \"" + config_.auth + "\" (use \"key\" or \"jwt\")";
    done(std::move(e));
    return;
  }
  net::Request r = json_post(config_, join_url(config_.base_url, "/chat/completions"), build_body(request),
                             request.stream);
  r.headers.emplace_back("Authorization", "Bearer " + bearer);
  done(std::move(r));
}

std::unique_ptr<ChatStream> ZhipuProvider::open_stream(const ChatRequest&, ChatResult& result,
                                                       DeltaSink& sink) {
  bool jwt = config_.auth == "jwt";
  OpenAiLikeDialect dialect{std::string(kName), [jwt](UpstreamError& e, const ErrorInfo& info) {
                              classify_zhipu_error(e, info, jwt);
                            }};
  return std::make_unique<OpenAiLikeDecoder>(std::move(dialect), result, sink);
}

void ZhipuProvider::invalidate_credentials() {
  jwt_.invalidate();
  credentials_.invalidate();
}

std::unique_ptr<Provider> make_zhipu_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<ZhipuProvider>(config, std::move(context));
}

}  // namespace glm
