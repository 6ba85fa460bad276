#include "providers/openai_like.hpp"

#include <cctype>
#include <limits>

namespace glm {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> number_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return json_to_int64(*it);
}

// prompt/completion win over input/output; total defaults to the sum.
Usage usage_from(const OpenAiUsageFields& f) {
  Usage u;
  u.input_tokens = f.prompt_tokens.value_or(f.input_tokens.value_or(0));
  u.output_tokens = f.completion_tokens.value_or(f.output_tokens.value_or(0));
  u.total_tokens = f.total_tokens ? *f.total_tokens : saturating_add(u.input_tokens, u.output_tokens);
  return u;
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

namespace {

OpenAiUsageFields usage_fields(const Json& usage) {
  OpenAiUsageFields f;
  f.prompt_tokens = number_field(usage, "prompt_tokens");
  f.input_tokens = number_field(usage, "input_tokens");
  f.completion_tokens = number_field(usage, "completion_tokens");
  f.output_tokens = number_field(usage, "output_tokens");
  f.total_tokens = number_field(usage, "total_tokens");
  return f;
}

}  // namespace

std::optional<Usage> parse_openai_usage(const Json& usage) {
  if (!usage.is_object()) return std::nullopt;
  return usage_from(usage_fields(usage));
}

void OpenAiLikeDecoder::ChunkFields::clear() {
  has_model = has_choice = has_delta = has_finish = has_usage = false;
  model.clear();
  content.clear();
  reasoning.clear();
  finish_reason.clear();
  usage = OpenAiUsageFields{};
  tool_calls = nullptr;
}

// nlohmann SAX handler for one stream chunk: follows the path down to the few members
// apply_choices() reads and skips everything else (ids, logprobs, tool_calls, later choices)
// without building anything. Any callback returning false stops the parse and sends the chunk to
// the DOM path, which is the reference behaviour; that happens for:
//  - a root that is not an object, or a parse error (the DOM path reports it);
//  - a top-level `error` that is not null, or any top-level `code` (DashScope's bare error);
//  - choices[0] that is not an object, or `message` inside it (the DOM path's stand-in for a
//    missing `delta`);
//  - a repeated key among the ones read: the DOM keeps the last value, and going there is simpler
//    than mirroring that (no real upstream repeats them).
class OpenAiLikeDecoder::ChunkScanner {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit ChunkScanner(ChunkFields& fields) : f_(fields) {}

  bool null() {
    Slot s = take();
    return s != Slot::root && s != Slot::choice;
  }
  bool boolean(bool /*value*/) { return plain(take()); }
  bool number_integer(number_integer_t value) { return number(take(), value); }
  bool number_unsigned(number_unsigned_t value) {
    // Above INT64_MAX saturates, as json_to_int64 does on the DOM path.
    constexpr auto kMax = static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max());
    return number(take(), value > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(value));
  }
  bool number_float(number_float_t value, const string_t& /*text*/) { return number(take(), saturate_to_int64(value)); }
  bool binary(binary_t& /*value*/) { return plain(take()); }
  bool string(string_t& value) {
    // assign(), not move: the members keep their capacity from one event to the next.
    switch (Slot s = take()) {
      case Slot::model:
        f_.has_model = true;
        f_.model.assign(value);
        return true;
      case Slot::content:
        f_.content.assign(value);
        return true;
      case Slot::reasoning:
        f_.reasoning.assign(value);
        return true;
      case Slot::finish:
        f_.has_finish = true;
        f_.finish_reason.assign(value);
        return true;
      default:
        return plain(s);
    }
  }
  bool start_object(std::size_t /*elements*/) {
    switch (take()) {
      case Slot::root:
        return push(Ctx::root);
      case Slot::choice:
        f_.has_choice = true;
        return push(Ctx::choice);
      case Slot::delta:
        f_.has_delta = true;
        return push(Ctx::delta);
      case Slot::usage:
        f_.has_usage = true;
        return push(Ctx::usage);
      case Slot::error:
        return false;
      default:
        ++skip_;
        return true;
    }
  }
  bool start_array(std::size_t /*elements*/) {
    switch (Slot s = take()) {
      case Slot::choices:
        choices_index_ = 0;
        return push(Ctx::choices);
      default:
        if (!plain(s)) return false;
        ++skip_;
        return true;
    }
  }
  bool end_object() { return pop(); }
  bool end_array() { return pop(); }
  bool key(string_t& name) {
    pending_ = Slot::none;
    if (skip_ != 0 || depth_ == 0) return true;
    std::string_view k = name;
    Slot s = Slot::none;
    switch (stack_[depth_ - 1]) {
      case Ctx::root:
        if (k == "model")
          s = Slot::model;
        else if (k == "choices")
          s = Slot::choices;
        else if (k == "usage")
          s = Slot::usage;
        else if (k == "error")
          s = Slot::error;
        else if (k == "code")
          return false;
        break;
      case Ctx::choice:
        if (k == "delta")
          s = Slot::delta;
        else if (k == "finish_reason")
          s = Slot::finish;
        else if (k == "message")
          return false;
        break;
      case Ctx::delta:
        if (k == "content")
          s = Slot::content;
        else if (k == "reasoning_content")
          s = Slot::reasoning;
        else if (k == "tool_calls")
          return false;  // assembled on the DOM path
        break;
      case Ctx::usage:
        if (k == "prompt_tokens")
          s = Slot::prompt_tokens;
        else if (k == "input_tokens")
          s = Slot::input_tokens;
        else if (k == "completion_tokens")
          s = Slot::completion_tokens;
        else if (k == "output_tokens")
          s = Slot::output_tokens;
        else if (k == "total_tokens")
          s = Slot::total_tokens;
        break;
      case Ctx::choices:
        break;  // arrays have no keys
    }
    if (s == Slot::none) return true;
    // Every tracked key lives in exactly one tracked object, so one bit per slot finds repeats.
    uint32_t bit = 1u << static_cast<unsigned>(s);
    if (seen_ & bit) return false;
    seen_ |= bit;
    pending_ = s;
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const Json::exception& /*error*/) {
    return false;
  }

 private:
  // The objects/arrays on the path to a tracked member; anything else is counted in skip_.
  enum class Ctx : uint8_t { root, choices, choice, delta, usage };
  // What the next value is: set by key() in a tracked object, by position in `choices`.
  enum class Slot : uint8_t {
    none,
    root,
    model,
    choices,
    usage,
    error,
    choice,
    delta,
    finish,
    content,
    reasoning,
    prompt_tokens,
    input_tokens,
    completion_tokens,
    output_tokens,
    total_tokens,
  };

  // The slot of the value that is starting (consumes it).
  Slot take() {
    if (skip_ != 0) return Slot::none;
    if (depth_ == 0) return Slot::root;
    if (stack_[depth_ - 1] == Ctx::choices) return choices_index_++ == 0 ? Slot::choice : Slot::none;
    Slot s = pending_;
    pending_ = Slot::none;
    return s;
  }
  // A scalar (or skipped container) in slot `s` that is not a type the slot records.
  static bool plain(Slot s) { return s != Slot::root && s != Slot::choice && s != Slot::error; }
  bool number(Slot s, int64_t value) {
    switch (s) {
      case Slot::prompt_tokens:
        f_.usage.prompt_tokens = value;
        return true;
      case Slot::input_tokens:
        f_.usage.input_tokens = value;
        return true;
      case Slot::completion_tokens:
        f_.usage.completion_tokens = value;
        return true;
      case Slot::output_tokens:
        f_.usage.output_tokens = value;
        return true;
      case Slot::total_tokens:
        f_.usage.total_tokens = value;
        return true;
      default:
        return plain(s);
    }
  }
  bool push(Ctx c) {
    if (depth_ == kMaxDepth) return false;  // cannot happen: tracked paths are at most 4 deep
    stack_[depth_++] = c;
    return true;
  }
  bool pop() {
    if (skip_ != 0) {
      --skip_;
    } else if (depth_ != 0) {
      --depth_;
    }
    return true;
  }

  static constexpr size_t kMaxDepth = 4;  // root > choices > choice > delta
  ChunkFields& f_;
  Ctx stack_[kMaxDepth] = {};
  size_t depth_ = 0;
  size_t skip_ = 0;  // depth inside untracked containers
  size_t choices_index_ = 0;
  Slot pending_ = Slot::none;
  uint32_t seen_ = 0;
};

bool OpenAiLikeDecoder::scan_chunk(std::string_view data, ChunkFields& fields) {
  fields.clear();
  ChunkScanner scanner(fields);
  return Json::sax_parse(data.data(), data.data() + data.size(), &scanner, Json::input_format_t::json,
                         /*strict=*/true);
}

OpenAiLikeDecoder::OpenAiLikeDecoder(OpenAiLikeDialect dialect, ChatResult& result, DeltaSink& sink, Limits limits)
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
  if (fast_path_enabled_.load(std::memory_order_relaxed) && scan_chunk(data, fields_)) {
    fast_path_chunks_.fetch_add(1, std::memory_order_relaxed);
    apply_choices(fields_);
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
  extract_choices(body, delta_key, fields_);
  apply_choices(fields_);
}

void OpenAiLikeDecoder::extract_choices(const Json& body, const char* delta_key, ChunkFields& f) {
  f.clear();
  if (auto m = body.find("model"); m != body.end() && m->is_string()) {
    f.has_model = true;
    f.model = m->get_ref<const std::string&>();
  }
  auto choices = body.find("choices");
  if (choices != body.end() && choices->is_array() && !choices->empty() && (*choices)[0].is_object()) {
    f.has_choice = true;
    const Json& choice = (*choices)[0];
    auto delta = choice.find(delta_key);
    if (delta == choice.end()) delta = choice.find(delta_key[0] == 'd' ? "message" : "delta");
    if (delta != choice.end() && delta->is_object()) {
      f.has_delta = true;
      if (auto c = delta->find("content"); c != delta->end() && c->is_string())
        f.content = c->get_ref<const std::string&>();
      if (auto r = delta->find("reasoning_content"); r != delta->end() && r->is_string())
        f.reasoning = r->get_ref<const std::string&>();
      if (auto t = delta->find("tool_calls"); t != delta->end() && !t->is_null()) f.tool_calls = *t;
    }
    if (auto r = choice.find("finish_reason"); r != choice.end() && r->is_string()) {
      f.has_finish = true;
      f.finish_reason = r->get_ref<const std::string&>();
    }
  }
  if (auto u = body.find("usage"); u != body.end() && u->is_object()) {
    f.has_usage = true;
    f.usage = usage_fields(*u);
  }
}

void OpenAiLikeDecoder::apply_choices(const ChunkFields& f) {
  if (f.has_model && !f.model.empty() && result_.model != f.model) result_.model = f.model;
  if (f.has_choice) {
    if (f.has_delta) emit(f.content, f.reasoning);
    if (!f.tool_calls.is_null()) {
      emit_tool_calls(f.tool_calls);
      if (finished()) return;
    }
    if (f.has_finish) handle_finish(f.finish_reason);
  }
  if (f.has_usage) result_.usage = usage_from(f.usage);
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
