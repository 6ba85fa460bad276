#include "providers/openai_like.hpp"

#include <cctype>

namespace glm {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A readable, bounded, valid-UTF-8 excerpt of a body that was not JSON (an HTML error page from a
// proxy, plain text from a local server), for the error message.
std::string body_excerpt(std::string_view raw) {
  constexpr size_t kMax = 200;
  std::string out;
  bool space = false;
  for (size_t i = 0; i < raw.size() && out.size() < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c < 0x80) {
      out += std::iscntrl(c) ? '?' : static_cast<char>(c);
      continue;
    }
    // Copy a whole well-formed UTF-8 sequence or one '?'.
    size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    bool ok = len != 0 && i + len <= raw.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(raw[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(raw.substr(i, len));
      i += len - 1;
    } else {
      out += '?';
    }
  }
  return out;
}

int64_t int_field(const Json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return fallback;
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  return it->get<int64_t>();
}

}  // namespace

void classify_openai_error(UpstreamError& e, const ErrorInfo& info) {
  const std::string& code = info.code;
  const std::string& type = info.type;
  if (code == "invalid_api_key" || type == "authentication_error" || code == "invalid_authentication") {
    e.kind = ErrorKind::auth;
    e.retryable = false;
  } else if (code == "insufficient_quota" || type == "insufficient_quota") {
    e.kind = ErrorKind::quota;
    e.retryable = false;
  } else if (code == "context_length_exceeded") {
    e.kind = ErrorKind::context_length;
    e.retryable = false;
  } else if (code == "rate_limit_exceeded" || type == "rate_limit_exceeded" || type == "rate_limit_error") {
    e.kind = ErrorKind::rate_limit;
    e.retryable = true;
  } else if (code == "content_filter" || code == "content_policy_violation") {
    e.kind = ErrorKind::content_filter;
    e.retryable = false;
  } else if (code == "model_not_found") {
    e.kind = ErrorKind::invalid_request;
    e.retryable = false;
  } else if (info.message.find("maximum context length") != std::string::npos) {
    // vLLM and llama.cpp say it only in words (code 400, type BadRequestError).
    e.kind = ErrorKind::context_length;
    e.retryable = false;
  } else if (!e.http_status && code.size() == 3 && code >= "400" && code <= "599" &&
             std::isdigit(static_cast<unsigned char>(code[1])) && std::isdigit(static_cast<unsigned char>(code[2]))) {
    // vLLM's mid-stream `data: {"error":{.., "code": 500}}` carries the HTTP status as its code.
    int status = std::stoi(code);
    e.kind = error_kind_for_status(status);
    e.retryable = status_retryable(status);
  }
}

std::string normalize_finish_reason(std::string_view vendor) {
  if (vendor == "sensitive") return "content_filter";
  if (vendor == "function_call") return "tool_calls";
  if (vendor == "model_context_window_exceeded" || vendor == "max_tokens") return "length";
  return std::string(vendor);
}

std::optional<Usage> parse_openai_usage(const Json& usage) {
  if (!usage.is_object()) return std::nullopt;
  Usage u;
  u.input_tokens = int_field(usage, "prompt_tokens", int_field(usage, "input_tokens", 0));
  u.output_tokens = int_field(usage, "completion_tokens", int_field(usage, "output_tokens", 0));
  u.total_tokens = int_field(usage, "total_tokens", u.input_tokens + u.output_tokens);
  return u;
}

OpenAiLikeDecoder::OpenAiLikeDecoder(OpenAiLikeDialect dialect, ChatResult& result, DeltaSink& sink,
                                     Limits limits)
    : SseChatStream(dialect.provider, result, sink, limits), dialect_(std::move(dialect)) {}

UpstreamError OpenAiLikeDecoder::error_from(const ErrorInfo& info) const {
  UpstreamError e;
  if (info.http_status) {
    e.http_status = info.http_status;
    e.kind = error_kind_for_status(*info.http_status);
    e.retryable = status_retryable(*info.http_status);
  } else {
    // An error inside a 200 stream without a status: the upstream failed while generating.
    e.kind = ErrorKind::server;
    e.retryable = false;
  }
  e.upstream_code = info.code;
  e.upstream_message = info.message;
  e.request_id = info.request_id;
  if (dialect_.classify) dialect_.classify(e, info);
  return e;
}

UpstreamError OpenAiLikeDecoder::map_error(int status, const Json* body, std::string_view raw) {
  ErrorInfo info;
  info.http_status = status;
  if (!body || !extract_error_info(*body, info)) info.message = body_excerpt(raw);
  return error_from(info);
}

void OpenAiLikeDecoder::on_stream_event(const sse::Event& event) {
  std::string_view data = trim_space(event.data);
  if (event.type == "error") {
    ErrorInfo info;
    info.mid_stream = true;
    info.http_status = comment_status();
    Json body = Json::parse(data, nullptr, false);
    if (!body.is_object() || !extract_error_info(body, info)) info.message = body_excerpt(data);
    fail(error_from(info));
    return;
  }
  if (event.type != "message" && event.type != "result") return;
  if (data.empty()) return;
  if (starts_with(data, "[DONE]")) {
    complete();
    return;
  }
  Json chunk = Json::parse(data, nullptr, false);
  if (!chunk.is_object()) {
    fail(ErrorKind::protocol, provider() + ": malformed JSON in stream event: " + body_excerpt(data));
    return;
  }
  // `data: {"error":{..}}` (Zhipu's SDK checks for it), or a bare DashScope-style {code, message}.
  bool bare_error = !chunk.contains("choices") && chunk.contains("code") && chunk.contains("message");
  if (auto it = chunk.find("error"); (it != chunk.end() && !it->is_null()) || bare_error) {
    ErrorInfo info;
    info.mid_stream = true;
    info.http_status = comment_status();
    extract_error_info(chunk, info);
    fail(error_from(info));
    return;
  }
  handle_choices(chunk, "delta");
}

void OpenAiLikeDecoder::on_json_body(const Json& body, std::string_view raw) {
  if (!body.is_object()) {
    fail(ErrorKind::protocol, provider() + ": unexpected response body: " + body_excerpt(raw));
    return;
  }
  if (auto it = body.find("error"); it != body.end() && !it->is_null()) {
    ErrorInfo info;
    info.http_status = status();
    extract_error_info(body, info);
    fail(error_from(info));
    return;
  }
  if (!body.contains("choices")) {
    ErrorInfo info;
    info.http_status = status();
    if (extract_error_info(body, info)) {
      fail(error_from(info));
    } else {
      fail(ErrorKind::protocol, provider() + ": response has no choices: " + body_excerpt(raw));
    }
    return;
  }
  handle_choices(body, "message");
  if (!finished()) complete();
}

void OpenAiLikeDecoder::handle_choices(const Json& body, const char* delta_key) {
  if (auto m = body.find("model"); m != body.end() && m->is_string() && !m->get_ref<const std::string&>().empty())
    result_.model = m->get<std::string>();
  auto choices = body.find("choices");
  if (choices != body.end() && choices->is_array() && !choices->empty() && (*choices)[0].is_object()) {
    const Json& choice = (*choices)[0];
    auto delta = choice.find(delta_key);
    if (delta == choice.end()) delta = choice.find(delta_key[0] == 'd' ? "message" : "delta");
    if (delta != choice.end() && delta->is_object()) {
      std::string_view content, reasoning;
      if (auto c = delta->find("content"); c != delta->end() && c->is_string())
        content = c->get_ref<const std::string&>();
      if (auto r = delta->find("reasoning_content"); r != delta->end() && r->is_string())
        reasoning = r->get_ref<const std::string&>();
      emit(content, reasoning);
    }
    if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string())
      handle_finish(f->get_ref<const std::string&>());
  }
  if (auto u = body.find("usage"); u != body.end()) {
    if (auto usage = parse_openai_usage(*u)) result_.usage = usage;
  }
}

void OpenAiLikeDecoder::handle_finish(std::string_view reason) {
  if (reason.empty()) return;
  if (reason == "network_error") {
    // Zhipu: inference failed after generation started. An error, not an end: the driver reports
    // it with the text so far as `partial`.
    UpstreamError e;
    e.kind = ErrorKind::server;
    e.upstream_code = "network_error";
    e.upstream_message = "inference failed during generation (finish_reason network_error)";
    e.retryable = false;  // generation had started: resending could repeat or change the answer
    fail(std::move(e));
    return;
  }
  result_.finish_reason = normalize_finish_reason(reason);
  finish_seen_ = true;
}

void OpenAiLikeDecoder::on_end() {
  if (finish_seen_) {
    complete();
    return;
  }
  SseChatStream::on_end();
}

}  // namespace glm
