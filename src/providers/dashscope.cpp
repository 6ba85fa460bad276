#include "providers/dashscope.hpp"

#include "providers/registry.hpp"

#include <cctype>
#include <limits>

#include "core/history.hpp"
#include "providers/openai_like.hpp"

namespace glm {
namespace {

constexpr std::string_view kProvider = "dashscope";
constexpr std::string_view kPath = "/services/aigc/text-generation/generation";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A bounded, printable excerpt of a body that was not JSON (a proxy's HTML page), for the message.

std::optional<std::string> string_or_absent(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// An error frame or body: a non-empty `code` and no `output`.
bool looks_like_error(const Json& body) {
  if (!body.is_object() || body.contains("output")) return false;
  auto it = body.find("code");
  return it != body.end() && ((it->is_string() && !it->get<std::string>().empty()) || it->is_number());
}

}  // namespace

// ---- request ----------------------------------------------------------------------------------

DashScopeWire dashscope_wire(const ChatRequest& request, const ModelInfo* model) {
  DashScopeWire w;
  w.prompt_format = model && model->input_format == "prompt";
  w.stream = request.stream || (model && model->stream_only);
  w.thinking = !w.prompt_format && request.options.thinking.value_or(model ? model->thinking_default : false);
  auto inc = request.options.extra.find("incremental_output");
  w.incremental = inc == request.options.extra.end() || !inc->is_boolean() || inc->get<bool>();
  // Thinking mode only works with incremental output in message format (DashScope's API reference).
  if (w.thinking) w.incremental = true;
  return w;
}

Result<Json> dashscope_body(const ChatRequest& request, const ModelInfo* model) {
  const DashScopeWire wire = dashscope_wire(request, model);
  const ChatOptions& o = request.options;
  Json input = Json::object();
  Json parameters = Json::object();
  if (wire.prompt_format) {
    // chatglm-6b-v2: the newest user message is the prompt, earlier turns are history pairs; the
    // system text is folded into the first user turn (the model has no system role).
    auto turns = to_alternating(request.messages, std::nullopt, request.model);
    if (!turns) return turns.error();
    const auto& ms = turns.value().messages;
    Json history = Json::array();
    for (size_t i = 0; i + 1 < ms.size(); i += 2) {
      history.push_back(Json{{"user", ms[i].text()}, {"bot", ms[i + 1].text()}});
    }
    input["prompt"] = ms.back().text();
    input["history"] = std::move(history);
  } else {
    Json messages = Json::array();
    for (const auto& m : request.messages) messages.push_back(Json{{"role", m.role}, {"content", m.text()}});
    input["messages"] = std::move(messages);
    parameters["result_format"] = "message";
  }
  if (wire.stream) parameters["incremental_output"] = wire.incremental;
  if (o.thinking && !wire.prompt_format) parameters["enable_thinking"] = *o.thinking;
  if (o.temperature) parameters["temperature"] = *o.temperature;
  if (o.top_p) parameters["top_p"] = *o.top_p;
  if (o.top_k) parameters["top_k"] = *o.top_k;
  if (o.max_tokens) parameters["max_tokens"] = *o.max_tokens;
  if (o.seed) parameters["seed"] = *o.seed;
  if (!o.stop.empty()) parameters["stop"] = o.stop;
  for (const char* key : {"repetition_penalty", "presence_penalty", "thinking_budget"}) {
    if (auto it = o.extra.find(key); it != o.extra.end() && !it->is_null()) parameters[key] = *it;
  }
  return Json{{"model", request.model}, {"input", std::move(input)}, {"parameters", std::move(parameters)}};
}

// ---- errors -----------------------------------------------------------------------------------

void classify_dashscope_error(UpstreamError& e, const ErrorInfo& info) {
  const std::string& code = info.code;
  const std::string text = code + " " + info.message;  // codes also hide in messages: "<400> InternalError.Algo.X: .."
  auto set = [&](ErrorKind kind, bool retryable) {
    e.kind = kind;
    e.retryable = retryable;
  };
  // Throttling.AllocationQuota is the per-minute token allotment: it recovers within a minute, so it
  // is a rate limit (resent). Only the exhausted free tier and arrears are an empty wallet.
  if (code == "AllocationQuota.FreeTierOnly" || contains(info.message, "Free allocated quota exceeded")) {
    set(ErrorKind::quota, false);
  } else if (starts_with(code, "Throttling")) {
    set(ErrorKind::rate_limit, true);
  } else if (code == "InvalidApiKey" || code == "invalid_api_key") {
    set(ErrorKind::auth, false);
  } else if (contains(text, "DataInspectionFailed") || contains(text, "data_inspection_failed")) {
    set(ErrorKind::content_filter, false);
  } else if (code == "Arrearage") {
    set(ErrorKind::quota, false);
  } else if (contains(text, "InvalidParameter") || code == "invalid_parameter_error") {
    set(contains(info.message, "Range of input length") ? ErrorKind::context_length : ErrorKind::invalid_request,
        false);
  } else if (starts_with(code, "InternalError")) {
    set(ErrorKind::server, true);
  } else if (code == "ModelNotFound" || code == "model_not_found" || starts_with(code, "BadRequest") ||
             code == "InvalidURL" || code == "UnsupportedOperation") {
    set(ErrorKind::invalid_request, false);
  } else if (starts_with(code, "AccessDenied") || code == "Model.AccessDenied") {
    set(ErrorKind::auth, false);
  }
}

UpstreamError dashscope_error(const ErrorInfo& info) {
  UpstreamError e;
  const int status = info.http_status.value_or(0);
  e.http_status = info.http_status;
  e.kind = status >= 400 ? error_kind_for_status(status) : ErrorKind::server;
  e.retryable = status >= 400 && status_retryable(status);
  e.upstream_code = info.code;
  e.upstream_message = info.message;
  e.request_id = info.request_id;
  classify_dashscope_error(e, info);
  return e;
}

// ---- response ---------------------------------------------------------------------------------

DashScopeStream::DashScopeStream(bool incremental, ChatResult& result, DeltaSink& sink)
    : SseChatStream(std::string(kProvider), result, sink), incremental_(incremental), replace_sink_(sink) {}

void DashScopeStream::on_stream_event(const sse::Event& event) {
  std::string_view data = trim_space(event.data);
  if (event.type == "error") {
    ErrorInfo info;
    info.mid_stream = true;
    // Normal frames carry `:HTTP_STATUS/200`; only an error status describes this frame.
    if (auto s = comment_status(); s && *s >= 400) info.http_status = s;
    Json body = Json::parse(data, nullptr, false);
    if (!body.is_object() || !extract_error_info(body, info)) info.message = body_excerpt(data);
    fail(dashscope_error(info));
    return;
  }
  if (event.type != "result" && event.type != "message") return;
  if (data.empty()) return;
  Json body = Json::parse(data, nullptr, false);
  if (!body.is_object()) {
    fail(ErrorKind::protocol, "dashscope: malformed stream frame: " + body_excerpt(data));
    return;
  }
  if (looks_like_error(body)) {
    ErrorInfo info;
    info.mid_stream = true;
    if (auto s = comment_status(); s && *s >= 400) info.http_status = s;
    extract_error_info(body, info);
    fail(dashscope_error(info));
    return;
  }
  handle_output(body, /*whole=*/false);
}

void DashScopeStream::on_json_body(const Json& body, std::string_view raw) {
  if (looks_like_error(body)) {
    ErrorInfo info;
    info.http_status = status();
    extract_error_info(body, info);
    fail(dashscope_error(info));
    return;
  }
  if (!body.is_object() || !body.contains("output")) {
    fail(ErrorKind::protocol, "dashscope: response has no output: " + body_excerpt(raw));
    return;
  }
  handle_output(body, /*whole=*/true);
}

UpstreamError DashScopeStream::map_error(int status, const Json* body, std::string_view raw) {
  ErrorInfo info;
  info.http_status = status;
  if (!body || !extract_error_info(*body, info)) info.message = body_excerpt(raw);
  return dashscope_error(info);
}

void DashScopeStream::handle_output(const Json& body, bool whole) {
  if (auto rid = string_or_absent(body, "request_id"); rid && !rid->empty()) result_.extra["request_id"] = *rid;
  // usage is cumulative on every frame: the last one wins.
  if (auto u = body.find("usage"); u != body.end()) {
    if (auto usage = parse_openai_usage(*u)) result_.usage = usage;
  }
  auto out = body.find("output");
  if (out == body.end() || !out->is_object()) return;  // a frame without output carries nothing for us

  std::optional<std::string> content, reasoning;
  const Json* finish = nullptr;
  auto choices = out->find("choices");
  if (choices != out->end() && choices->is_array() && !choices->empty() && (*choices)[0].is_object()) {
    const Json& choice = (*choices)[0];
    if (auto m = choice.find("message"); m != choice.end() && m->is_object()) {
      content = string_or_absent(*m, "content");
      reasoning = string_or_absent(*m, "reasoning_content");
    }
    if (auto f = choice.find("finish_reason"); f != choice.end()) finish = &*f;
  } else {
    // text format: output.text is the text, or (chatglm-6b-v2 non-stream) {"response", "history"}.
    if (auto t = out->find("text"); t != out->end()) {
      if (t->is_string()) {
        content = t->get<std::string>();
      } else if (t->is_object()) {
        content = string_or_absent(*t, "response");
      }
    }
    if (auto f = out->find("finish_reason"); f != out->end()) finish = &*f;
  }

  if (whole || incremental_) {
    emit(content.value_or(""), reasoning.value_or(""));
  } else {
    show(content, reasoning);
  }

  // finish_reason is the string "null" until the last frame.
  std::string reason = finish && finish->is_string() ? finish->get<std::string>() : std::string();
  if (!reason.empty() && reason != "null") {
    result_.finish_reason = normalize_finish_reason(reason);
    complete();
  } else if (whole) {
    // A whole response is complete by definition; chatglm-6b-v2's text form names no reason.
    result_.finish_reason = "stop";
    complete();
  }
}

void DashScopeStream::show(const std::optional<std::string>& content, const std::optional<std::string>& reasoning) {
  // A frame without a field leaves that text as it was (cumulative frames repeat what they carry).
  std::string c = content.value_or(shown_content_);
  std::string r = reasoning.value_or(shown_reasoning_);
  if (starts_with(c, shown_content_) && starts_with(r, shown_reasoning_)) {
    emit(std::string_view(c).substr(shown_content_.size()), std::string_view(r).substr(shown_reasoning_.size()));
  } else {
    // The server rewrote text it had already sent: replace, never duplicate or lose.
    replace_sink_.on_replace(c, r);
  }
  shown_content_ = std::move(c);
  shown_reasoning_ = std::move(r);
}

// ---- provider ---------------------------------------------------------------------------------

DashScopeProvider::DashScopeProvider(const ProviderConfig& config, ProviderContext context)
    : config_(config), context_(std::move(context)), credentials_(config) {}

std::optional<std::string> DashScopeProvider::validate(const ChatRequest& request) const {
  if (auto e = validate_messages(request.messages, {"text"}, config_.name.empty() ? kProvider : config_.name)) return e;
  if (!request.tools.is_null() || !request.tool_choice.is_null())
    return "tools: not supported by " + (config_.name.empty() ? std::string(kProvider) : config_.name) +
           " (the native API documents tools for Qwen only; use dashscope-compat)";
  const ChatOptions& o = request.options;
  const ModelInfo* model = find_model(config_, request.model);
  const std::string provider(kProvider);
  if (auto e = check_range("temperature", o.temperature, Range{0, 2, false, true}, provider)) return e;
  if (auto e = check_range("top_p", o.top_p, Range{0, 1, true, false}, provider)) return e;
  if (o.top_k && *o.top_k < 0) return std::string("options.top_k: must be a non-negative integer for dashscope");
  if (o.max_tokens) {
    const double hi = model && model->max_output_tokens ? static_cast<double>(*model->max_output_tokens)
                                                        : static_cast<double>(std::numeric_limits<int>::max());
    std::string where = model && model->max_output_tokens ? "dashscope " + request.model : provider;
    if (auto e = check_range("max_tokens", static_cast<double>(*o.max_tokens), Range{1, hi}, where)) return e;
  }
  if (o.seed && (*o.seed < 0 || *o.seed > std::numeric_limits<int32_t>::max())) {
    return std::string("options.seed: must be in [0, 2147483647] for dashscope");
  }
  for (size_t i = 0; i < o.stop.size(); ++i) {
    if (o.stop[i].empty()) return "options.stop[" + std::to_string(i) + "]: must not be empty";
  }
  if (o.thinking && *o.thinking && model && !model->thinking) {
    return "options.thinking: " + request.model + " has no thinking mode on dashscope";
  }
  if (auto e = check_extra(o.extra, "incremental_output", ExtraType::boolean)) return e;
  if (auto e = check_extra(o.extra, "repetition_penalty", ExtraType::number)) return e;
  if (auto it = o.extra.find("repetition_penalty"); it != o.extra.end() && it->get<double>() <= 0) {
    return std::string("options.repetition_penalty: must be greater than 0 for dashscope");
  }
  if (auto e = check_extra(o.extra, "presence_penalty", ExtraType::number)) return e;
  if (auto it = o.extra.find("presence_penalty"); it != o.extra.end()) {
    if (auto e = check_range("presence_penalty", it->get<double>(), Range{-2, 2}, provider)) return e;
  }
  if (auto e = check_extra(o.extra, "thinking_budget", ExtraType::integer)) return e;
  if (auto it = o.extra.find("thinking_budget"); it != o.extra.end() && it->get<int64_t>() < 1) {
    return std::string("options.thinking_budget: must be a positive integer for dashscope");
  }
  if (model && model->input_format == "prompt") {
    if (auto turns = to_alternating(request.messages, std::nullopt, request.model); !turns) {
      return turns.error().message;
    }
  }
  return std::nullopt;
}

void DashScopeProvider::prepare(const ChatRequest& request, PrepareDone done) {
  // api_key_cmd runs off the loop; the error path must not touch `this` (see Credentials).
  credentials_.resolve(context_.io, [this, request, done = std::move(done)](std::optional<UpstreamError> e) mutable {
    if (e) return done(std::move(*e));
    prepare_ready(request, std::move(done));
  });
}

void DashScopeProvider::prepare_ready(const ChatRequest& request, PrepareDone done) {
  auto key = credentials_.api_key();
  if (!key) {
    done(key.error());
    return;
  }
  const ModelInfo* model = find_model(config_, request.model);
  auto body = dashscope_body(request, model);
  if (!body) {
    done(body.error());
    return;
  }
  const DashScopeWire wire = dashscope_wire(request, model);
  net::Request r = json_post(config_, join_url(config_.base_url, kPath), body.value(), wire.stream);
  r.headers.emplace_back("Authorization", "Bearer " + key.value());
  if (wire.stream) r.headers.emplace_back("X-DashScope-SSE", "enable");
  if (auto ws = config_.extra.find("workspace"); ws != config_.extra.end() && ws->is_string()) {
    // A header value from the config: control characters would split the header.
    const std::string id = ws->get<std::string>();
    bool clean = !id.empty();
    for (unsigned char c : id) clean = clean && c >= 0x20 && c != 0x7f;
    if (clean) r.headers.emplace_back("X-DashScope-WorkSpace", id);
  }
  done(std::move(r));
}

std::unique_ptr<ChatStream> DashScopeProvider::open_stream(const ChatRequest& request, ChatResult& result,
                                                           DeltaSink& sink) {
  const DashScopeWire wire = dashscope_wire(request, find_model(config_, request.model));
  if (result.model.empty()) result.model = request.model;
  if (result.provider.empty()) result.provider = std::string(kProvider);
  return std::make_unique<DashScopeStream>(!wire.stream || wire.incremental, result, sink);
}

std::unique_ptr<Provider> make_dashscope_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<DashScopeProvider>(config, std::move(context));
}

// GLM-4.x on DashScope (Bailian): streaming only, thinking on by default.
// glm-4.5 / glm-4.5-air share merged table cells with glm-4.6 in Bailian's model table: context 131,072 and
// max input 98,304 are explicit; the 16,384 reply limit is read from the merged cell (UNCERTAIN).
std::vector<ModelInfo> dashscope_glm4_models(const std::string& kind) {
  std::vector<ModelInfo> out;
  {
    // Model Studio "GLM" page: 202,752 context, 169,984 input, 32,768 chain of thought, 16,384 reply.
    auto m = model_entry(kind, "glm-4.7");
    m.context_window = 202752;
    m.max_input_tokens = 169984;
    m.max_output_tokens = 16384;
    m.thinking = m.thinking_default = true;
    m.stream_only = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}, {"top_k", 20}};
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry(kind, "glm-4.6");
    m.context_window = 202752;
    m.max_input_tokens = 169984;
    m.max_output_tokens = 16384;
    m.thinking = m.thinking_default = true;
    m.stream_only = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}, {"top_k", 20}};
    out.push_back(std::move(m));
  }
  for (const char* id : {"glm-4.5", "glm-4.5-air"}) {
    auto m = model_entry(kind, id);
    m.context_window = 131072;
    m.max_input_tokens = 98304;
    m.max_output_tokens = 16384;  // UNCERTAIN (merged table cell)
    m.uncertain = true;
    m.thinking = m.thinking_default = true;
    m.stream_only = true;
    m.defaults = {{"temperature", 0.6}, {"top_p", 0.95}, {"top_k", 20}};
    out.push_back(std::move(m));
  }
  return out;
}

ProviderSpec dashscope_spec() {
  ProviderSpec s;
  s.kind = std::string(kProvider);
  s.summary = "Alibaba DashScope (Bailian) native API";
  s.defaults = {{"base_url", "https://dashscope.aliyuncs.com/api/v1"}};
  s.credentials = {{"api_key_env", "DASHSCOPE_API_KEY"}};
  s.options = {{"temperature", "[0, 2)"},
               {"top_p", "(0, 1]"},
               {"top_k", ">= 0"},
               {"max_tokens", "[1, the model's max output]"},
               {"seed", "[0, 2147483647]"},
               {"stop", "any number, non-empty"},
               {"thinking", "enable_thinking (models with a thinking mode)"},
               {"message_parts", {"text"}},
               {"extras",
                {{"incremental_output", "boolean"},
                 {"repetition_penalty", "number > 0"},
                 {"presence_penalty", "number [-2, 2]"},
                 {"thinking_budget", "integer >= 1"}}}};
  // ChatGLM on DashScope (DashScope's ChatGLM model page).
  {
    auto m = model_entry(s.kind, "chatglm3-6b");
    m.context_window = 7500;  // input + output
    m.max_input_tokens = 6000;
    m.max_output_tokens = 1500;
    s.models.push_back(std::move(m));
  }
  {
    auto m = model_entry(s.kind, "chatglm-6b-v2");
    m.context_window = 6500;  // output limit not documented; fitting reserves the request's max_tokens
    m.input_format = "prompt";
    s.models.push_back(std::move(m));
  }
  for (auto& m : dashscope_glm4_models(s.kind)) s.models.push_back(std::move(m));
  s.make = &make_dashscope_provider;
  return s;
}

}  // namespace glm
