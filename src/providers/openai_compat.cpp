#include "providers/openai_compat.hpp"

#include <algorithm>

namespace glm {

namespace {

// System messages first, as one: their texts joined with a blank line, in order.
Json system_first(Json messages) {
  std::string system;
  bool any = false;
  Json rest = Json::array();
  for (auto& m : messages) {
    if (m.value("role", "") != "system") {
      rest.push_back(std::move(m));
      continue;
    }
    std::string text;
    const Json& c = m["content"];
    if (c.is_string()) {
      text = c.get<std::string>();
    } else if (c.is_array()) {
      for (const auto& part : c)
        if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
    }
    if (any) system += "\n\n";
    system += text;
    any = true;
  }
  if (!any) return rest;
  Json out = Json::array({Json{{"role", "system"}, {"content", system}}});
  for (auto& m : rest) out.push_back(std::move(m));
  return out;
}

std::string range_text(const std::optional<Range>& r) { return r ? r->text() : std::string("any"); }

const char* type_name(ExtraType t) {
  switch (t) {
    case ExtraType::boolean:
      return "boolean";
    case ExtraType::string:
      return "string";
    case ExtraType::integer:
      return "integer";
    case ExtraType::number:
      return "number";
    case ExtraType::object:
      return "object";
    case ExtraType::any:
      return "any";
  }
  return "any";
}

}  // namespace

Json OpenAiCompatDialect::describe_options() const {
  Json o = Json::object();
  o["temperature"] = range_text(temperature);
  o["top_p"] = range_text(top_p);
  o["max_tokens"] =
      max_tokens_max ? "[1, " + format_number(static_cast<double>(*max_tokens_max)) + "]" : std::string(">= 1");
  o["top_k"] = top_k ? (top_k_min ? ">= " + format_number(static_cast<double>(*top_k_min)) : std::string("any"))
                     : std::string("not supported");
  o["seed"] = range_text(seed);
  o["stop"] = max_stop == std::numeric_limits<size_t>::max() ? std::string("any number")
                                                             : "at most " + std::to_string(max_stop);
  if (max_stop_chars)
    o["stop"] = o["stop"].get<std::string>() + ", each 1 to " + std::to_string(max_stop_chars) + " characters";
  switch (thinking) {
    case Thinking::none:
      o["thinking"] = "not supported";
      break;
    case Thinking::type_object:
      o["thinking"] = "thinking.type";
      break;
    case Thinking::enable_thinking:
      o["thinking"] = "enable_thinking";
      break;
    case Thinking::configurable:
      o["thinking"] = "per instance (thinking_param)";
      break;
  }
  Json parts = Json::array();
  for (auto p : part_types) parts.push_back(std::string(p));
  o["message_parts"] = parts;
  Json ex = Json::object();
  for (const Extra& e : extras) {
    std::string d = type_name(e.type);
    if (e.range) d += " " + e.range->text();
    if (e.positive) d += " > 0";
    if (e.min) d += " >= " + format_number(*e.min);
    if (e.max_len) d += " of " + std::to_string(e.min_len) + " to " + std::to_string(e.max_len) + " characters";
    ex[std::string(e.name)] = d;
  }
  o["extras"] = ex;
  return o;
}

OpenAiCompatProvider::OpenAiCompatProvider(OpenAiCompatDialect dialect, const ProviderConfig& config,
                                           ProviderContext context, ZhipuJwtCache::Clock clock)
    : dialect_(std::move(dialect)),
      config_(config),
      context_(std::move(context)),
      name_(config.name.empty() ? dialect_.kind : config.name),
      credentials_(config),
      jwt_(std::move(clock)) {
  if (auto it = config.extra.find("thinking_param"); it != config.extra.end() && it->is_string())
    thinking_param_ = it->get<std::string>();
  include_usage_ = dialect_.include_usage;
  if (dialect_.include_usage_configurable) {
    if (auto it = config.extra.find("include_usage"); it != config.extra.end() && it->is_boolean())
      include_usage_ = it->get<bool>();
  }
}

std::optional<std::string> OpenAiCompatProvider::validate(const ChatRequest& request) const {
  const OpenAiCompatDialect& d = dialect_;
  const bool tools = !d.tool_types.empty();
  if (auto m = validate_messages(request.messages, d.part_types, name_, tools)) return m;
  if (!request.tools.is_null() || !request.tool_choice.is_null()) {
    if (!tools) return "tools: not supported by " + name_;
    for (size_t i = 0; request.tools.is_array() && i < request.tools.size(); ++i) {
      const Json& t = request.tools[i];
      std::string type = t.is_object() ? t.value("type", "") : "";
      if (std::find(d.tool_types.begin(), d.tool_types.end(), type) == d.tool_types.end()) {
        std::string allowed;
        for (auto a : d.tool_types) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
        return "tools[" + std::to_string(i) + "].type: must be one of " + allowed + " for " + name_;
      }
    }
    if (d.tool_choice_auto_only && !request.tool_choice.is_null() && request.tool_choice != "auto")
      return "tool_choice: " + name_ + " accepts only \"auto\"";
  }
  const ChatOptions& o = request.options;
  if (d.temperature) {
    if (auto m = check_range("temperature", o.temperature, *d.temperature, name_)) return m;
  }
  if (d.top_p) {
    if (auto m = check_range("top_p", o.top_p, *d.top_p, name_)) return m;
  }
  if (o.top_k) {
    if (!d.top_k) return reject_if_set("top_k", true, name_);
    if (d.top_k_min) {
      if (auto m = check_min("top_k", static_cast<double>(*o.top_k), static_cast<double>(*d.top_k_min), name_))
        return m;
    }
  }
  if (o.max_tokens) {
    if (d.max_tokens_max) {
      Range r{1, static_cast<double>(*d.max_tokens_max)};
      if (auto m = check_range("max_tokens", static_cast<double>(*o.max_tokens), r, name_)) return m;
    } else if (auto m = check_min("max_tokens", static_cast<double>(*o.max_tokens), 1, name_)) {
      return m;
    }
  }
  size_t max_stop = d.max_stop;
  if (d.max_stop_for) {
    if (size_t m = d.max_stop_for(request.model)) max_stop = m;
  }
  if (o.stop.size() > max_stop) {
    return "options.stop: at most " + std::to_string(max_stop) + " stop sequence" + (max_stop == 1 ? "" : "s") +
           " for " + (max_stop != d.max_stop ? request.model + " on " : std::string()) + name_;
  }
  if (d.max_stop_chars) {
    for (size_t i = 0; i < o.stop.size(); ++i) {
      int64_t n = 0;
      for (unsigned char c : o.stop[i]) n += (c & 0xC0) != 0x80;
      if (n == 0 || n > static_cast<int64_t>(d.max_stop_chars))
        return "options.stop[" + std::to_string(i) + "]: must be 1 to " + std::to_string(d.max_stop_chars) +
               " characters for " + name_;
    }
  }
  if (o.seed && d.seed) {
    if (auto m = check_range("seed", static_cast<double>(*o.seed), *d.seed, name_)) return m;
  }
  if (o.thinking) {
    if (d.thinking == OpenAiCompatDialect::Thinking::none) return reject_if_set("thinking", true, name_);
    if (d.thinking == OpenAiCompatDialect::Thinking::configurable && thinking_param_ != "chat_template_kwargs" &&
        thinking_param_ != "enable_thinking" && thinking_param_ != "thinking") {
      return "options.thinking: not supported by " + name_ + " unless providers." + name_ +
             ".thinking_param is set (chat_template_kwargs, enable_thinking or thinking)";
    }
  }
  for (const auto& e : d.extras) {
    if (auto m = check_extra(o.extra, e.name, e.type)) return m;
    auto it = o.extra.find(std::string(e.name));
    if (it == o.extra.end()) continue;
    if (it->is_number()) {
      const double v = it->get<double>();
      if (e.range) {
        if (auto m = check_range(e.name, v, *e.range, name_)) return m;
      }
      if (e.positive && !(v > 0)) return "options." + std::string(e.name) + ": must be greater than 0 for " + name_;
      if (e.min) {
        if (auto m = check_min(e.name, v, *e.min, name_)) return m;
      }
    }
    if (it->is_string() && e.max_len) {
      size_t n = it->get_ref<const std::string&>().size();
      if (n < e.min_len || n > e.max_len)
        return "options." + std::string(e.name) + ": must be " + std::to_string(e.min_len) + " to " +
               std::to_string(e.max_len) + " characters for " + name_;
    }
  }
  if (d.validate_more) {
    if (auto m = d.validate_more(request, name_)) return m;
  }
  return std::nullopt;
}

Json OpenAiCompatProvider::build_body(const ChatRequest& request) const {
  const OpenAiCompatDialect& d = dialect_;
  const ChatOptions& o = request.options;
  const bool stream = d.always_stream || request.stream;
  Json messages = openai_messages(request.messages, {.strip_image_data_prefix = d.strip_image_data_prefix});
  if (d.system_first) messages = system_first(std::move(messages));
  Json body = {{"model", request.model}, {"messages", std::move(messages)}, {"stream", stream}};
  if (stream && include_usage_) body["stream_options"] = {{"include_usage", true}};
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.top_k && d.top_k) body["top_k"] = *o.top_k;
  if (o.max_tokens) body["max_tokens"] = *o.max_tokens;
  if (!o.stop.empty()) body["stop"] = o.stop;
  if (o.seed) body["seed"] = *o.seed;
  if (!request.tools.is_null()) body["tools"] = request.tools;  // as given: Zhipu's web_search passes through
  if (!request.tool_choice.is_null()) body["tool_choice"] = request.tool_choice;
  if (o.thinking) {
    using T = OpenAiCompatDialect::Thinking;
    T mode = d.thinking;
    if (mode == T::configurable) {
      if (thinking_param_ == "chat_template_kwargs") {
        body["chat_template_kwargs"] = {{"enable_thinking", *o.thinking}};
      } else if (thinking_param_ == "enable_thinking") {
        mode = T::enable_thinking;
      } else if (thinking_param_ == "thinking") {
        mode = T::type_object;
      }
    }
    if (mode == T::type_object) body["thinking"] = {{"type", *o.thinking ? "enabled" : "disabled"}};
    if (mode == T::enable_thinking) body["enable_thinking"] = *o.thinking;
  }
  for (const auto& e : d.extras) {
    auto it = o.extra.find(std::string(e.name));
    if (it != o.extra.end()) body[std::string(e.name)] = *it;
  }
  if (d.adjust_body) d.adjust_body(body, request);
  return body;
}

Result<std::string> OpenAiCompatProvider::bearer() {
  auto key = credentials_.api_key();
  if (!key) return key.error();
  if (dialect_.auth != OpenAiCompatDialect::Auth::zhipu || config_.auth.empty() || config_.auth == "key")
    return key.value();
  if (config_.auth == "jwt") return jwt_.token(key.value());
  UpstreamError e;
  e.kind = ErrorKind::auth;
  e.message = name_ + ": unknown auth mode \"" + config_.auth + "\" (use \"key\" or \"jwt\")";
  return e;
}

void OpenAiCompatProvider::prepare(const ChatRequest& request, PrepareDone done) {
  // api_key_cmd runs off the loop; the error path of the callback must not touch `this` (the
  // credentials may post it after this provider is gone).
  credentials_.resolve(context_.io, [this, request, done = std::move(done)](std::optional<UpstreamError> e) mutable {
    if (e) return done(std::move(*e));
    prepare_ready(request, std::move(done));
  });
}

void OpenAiCompatProvider::prepare_ready(const ChatRequest& request, PrepareDone done) {
  post_json(dialect_.path, build_body(request), dialect_.always_stream || request.stream, std::move(done));
}

void OpenAiCompatProvider::prepare_json(const std::string& path, const Json& body, bool stream, PrepareDone done) {
  credentials_.resolve(context_.io,
                       [this, path, body, stream, done = std::move(done)](std::optional<UpstreamError> e) mutable {
                         if (e) return done(std::move(*e));
                         post_json(path, body, stream, std::move(done));
                       });
}

void OpenAiCompatProvider::post_json(const std::string& path, const Json& body, bool stream, PrepareDone done) {
  net::Request r = json_post(config_, join_url(config_.base_url, path), body, stream);
  // Local servers (vLLM, Ollama) need no key; send one only when the user configured one.
  const bool send_key =
      dialect_.auth != OpenAiCompatDialect::Auth::bearer_optional || credentials_.has_api_key_source();
  if (send_key) {
    auto b = bearer();
    if (!b) {
      done(b.error());
      return;
    }
    r.headers.emplace_back("Authorization", "Bearer " + b.value());
  }
  for (const auto& [key, header] : dialect_.config_headers) {
    auto it = config_.extra.find(std::string(key));
    if (it == config_.extra.end() || it->is_null()) continue;
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().find_first_of("\r\n") != std::string::npos) {
      UpstreamError e;
      e.kind = ErrorKind::invalid_request;
      e.message = name_ + ": providers." + name_ + "." + std::string(key) + " must be a non-empty single-line string";
      done(std::move(e));
      return;
    }
    r.headers.emplace_back(std::string(header), it->get<std::string>());
  }
  done(std::move(r));
}

std::unique_ptr<ChatStream> OpenAiCompatProvider::open_stream(const ChatRequest&, ChatResult& result, DeltaSink& sink) {
  OpenAiLikeDialect dialect{name_, {}};
  if (dialect_.classify) {
    auto classify = dialect_.classify;
    dialect.classify = [classify, config = config_](UpstreamError& e, const ErrorInfo& info) {
      classify(e, info, config);
    };
  }
  return std::make_unique<OpenAiLikeDecoder>(std::move(dialect), result, sink);
}

std::vector<std::string> OpenAiCompatProvider::secrets() const {
  std::vector<std::string> out = credentials_.known_secrets();
  if (!jwt_.current().empty()) out.push_back(jwt_.current());
  for (const auto& t : jwt_.previous()) out.push_back(t);
  return out;
}

void OpenAiCompatProvider::invalidate_credentials() {
  jwt_.invalidate();
  credentials_.invalidate();
}

ProviderSpec openai_compat_spec(const OpenAiCompatDialect& dialect, std::string summary, Json defaults,
                                Json credentials, std::vector<ModelInfo> models, ProviderSpec::Factory make) {
  ProviderSpec s;
  s.kind = dialect.kind;
  s.summary = std::move(summary);
  s.defaults = std::move(defaults);
  s.credentials = std::move(credentials);
  s.key_optional = dialect.auth == OpenAiCompatDialect::Auth::bearer_optional;
  s.options = dialect.describe_options();
  s.models = std::move(models);
  s.make = make;
  return s;
}

}  // namespace glm
