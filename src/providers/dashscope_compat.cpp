#include "providers/dashscope_compat.hpp"

namespace glm {

namespace {

constexpr std::string_view kName = "dashscope-compat";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

}  // namespace

void classify_dashscope_compat_error(UpstreamError& e, const ErrorInfo& info) {
  classify_openai_error(e, info);
  const std::string& code = info.code;
  auto set = [&](ErrorKind kind, bool retryable) {
    e.kind = kind;
    e.retryable = retryable;
  };
  if (code == "invalid_api_key" || code == "InvalidApiKey") {
    set(ErrorKind::auth, false);
  } else if (code == "data_inspection_failed" || info.type == "data_inspection_failed" ||
             contains(code, "DataInspectionFailed") || contains(info.message, "DataInspectionFailed")) {
    set(ErrorKind::content_filter, false);
  } else if (code == "Throttling.AllocationQuota") {
    set(ErrorKind::quota, false);  // the allotted quota is used up: waiting seconds does not help
  } else if (starts_with(code, "Throttling")) {
    set(ErrorKind::rate_limit, true);
  } else if (code == "Arrearage") {
    set(ErrorKind::quota, false);
  } else if (contains(info.message, "Range of input length")) {
    set(ErrorKind::context_length, false);
  } else if (code == "model_not_found" || code == "ModelNotFound") {
    set(ErrorKind::invalid_request, false);
  } else if (starts_with(code, "AccessDenied")) {
    set(ErrorKind::auth, false);
  } else if (starts_with(code, "InvalidParameter") || code == "invalid_parameter_error") {
    set(ErrorKind::invalid_request, false);
  }
}

DashScopeCompatProvider::DashScopeCompatProvider(const ProviderConfig& config, ProviderContext context)
    : config_(config), context_(std::move(context)), credentials_(config) {}

std::optional<std::string> DashScopeCompatProvider::validate(const ChatRequest& request) const {
  if (auto m = validate_messages(request.messages, {"text", "image_url"})) return m;
  const ChatOptions& o = request.options;
  if (auto m = check_range("temperature", o.temperature, {0, 2, false, true}, kName)) return m;
  if (auto m = check_range("top_p", o.top_p, {0, 1, true, false}, kName)) return m;
  if (o.top_k) {
    if (auto m = check_min("top_k", static_cast<double>(*o.top_k), 0, kName)) return m;
  }
  if (o.max_tokens) {
    if (auto m = check_min("max_tokens", static_cast<double>(*o.max_tokens), 1, kName)) return m;
  }
  if (o.seed) {
    if (auto m = check_range("seed", static_cast<double>(*o.seed), {0, 2147483647}, kName)) return m;
  }
  if (auto m = check_extra(o.extra, "thinking_budget", ExtraType::integer)) return m;
  if (auto m = check_min("thinking_budget", extra_number(o.extra, "thinking_budget"), 1, kName)) return m;
  if (auto m = check_extra(o.extra, "enable_search", ExtraType::boolean)) return m;
  if (auto m = check_extra(o.extra, "search_options", ExtraType::object)) return m;
  if (auto m = check_extra(o.extra, "repetition_penalty", ExtraType::number)) return m;
  if (auto v = extra_number(o.extra, "repetition_penalty"); v && !(*v > 0))
    return std::string("options.repetition_penalty: must be greater than 0 for dashscope-compat");
  if (auto m = check_extra(o.extra, "presence_penalty", ExtraType::number)) return m;
  if (auto m = check_range("presence_penalty", extra_number(o.extra, "presence_penalty"), {-2, 2}, kName))
    return m;
  if (auto m = check_extra(o.extra, "response_format", ExtraType::object)) return m;
  return std::nullopt;
}

Json DashScopeCompatProvider::build_body(const ChatRequest& request) const {
  const ChatOptions& o = request.options;
  Json body = {{"model", request.model},
               {"messages", openai_messages(request.messages, {})},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.top_k) body["top_k"] = *o.top_k;
  if (o.max_tokens) body["max_tokens"] = *o.max_tokens;
  if (!o.stop.empty()) body["stop"] = o.stop;
  if (o.seed) body["seed"] = *o.seed;
  if (o.thinking) body["enable_thinking"] = *o.thinking;
  copy_extras(o.extra, body,
              {"thinking_budget", "enable_search", "search_options", "repetition_penalty", "presence_penalty",
               "response_format"});
  return body;
}

void DashScopeCompatProvider::prepare(const ChatRequest& request, PrepareDone done) {
  auto key = credentials_.api_key();
  if (!key) {
    done(key.error());
    return;
  }
  net::Request r =
      json_post(config_, join_url(config_.base_url, "/chat/completions"), build_body(request), true);
  r.headers.emplace_back("Authorization", "Bearer " + key.value());
  done(std::move(r));
}

std::unique_ptr<ChatStream> DashScopeCompatProvider::open_stream(const ChatRequest&, ChatResult& result,
                                                                 DeltaSink& sink) {
  return std::make_unique<OpenAiLikeDecoder>(
      OpenAiLikeDialect{std::string(kName), classify_dashscope_compat_error}, result, sink);
}

std::unique_ptr<Provider> make_dashscope_compat_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<DashScopeCompatProvider>(config, std::move(context));
}

}  // namespace glm
