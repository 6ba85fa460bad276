// chat / explain / edit params → ChatRequest, with -32602 errors that name the field.
#include <cmath>

#include "core/prompts.hpp"
#include "core/tool_calls.hpp"
#include "server/param_fields.hpp"
#include "server/server.hpp"

namespace glm {
namespace {

using rpc::invalid_params;

using param_fields::field;
using param_fields::string_field;

void parse_model(const Json& params, const Config& config, ChatRequest& req) {
  std::string model = string_field(params, "model", "", false);
  if (model.empty()) model = config.default_model;
  auto slash = model.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == model.size())
    throw invalid_params("model: expected \"<provider>/<model>\", e.g. \"zhipu/glm-4.6\", got \"" + model + "\"");
  req.provider = model.substr(0, slash);
  req.model = model.substr(slash + 1);
  if (!config.providers.count(req.provider)) {
    std::string known;
    for (const auto& [name, p] : config.providers) known += (known.empty() ? "" : ", ") + name;
    throw invalid_params("model: unknown provider '" + req.provider + "' (known: " + known + ")");
  }
}

void parse_options(const Json& params, ChatRequest& req) {
  const Json* opts = field(params, "options");
  if (!opts) return;
  if (!opts->is_object()) throw invalid_params("options: expected an object");
  auto& o = req.options;
  for (auto it = opts->begin(); it != opts->end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    const std::string path = "options." + k;
    if (v.is_null()) continue;
    if (k == "temperature" || k == "top_p") {
      if (!v.is_number() || !std::isfinite(v.get<double>())) throw invalid_params(path + ": expected a number");
      (k == "temperature" ? o.temperature : o.top_p) = v.get<double>();
    } else if (k == "top_k" || k == "max_tokens") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > (1 << 30))
        throw invalid_params(path + ": expected a positive integer");
      (k == "top_k" ? o.top_k : o.max_tokens) = v.get<int>();
    } else if (k == "seed") {
      if (!v.is_number_integer()) throw invalid_params(path + ": expected an integer");
      o.seed = v.get<int64_t>();
    } else if (k == "thinking") {
      if (!v.is_boolean()) throw invalid_params(path + ": expected true or false");
      o.thinking = v.get<bool>();
    } else if (k == "stop") {
      if (v.is_string()) {
        o.stop.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const auto& s : v) {
          if (!s.is_string()) throw invalid_params(path + ": expected a string or an array of strings");
          o.stop.push_back(s.get<std::string>());
        }
      } else {
        throw invalid_params(path + ": expected a string or an array of strings");
      }
    } else {
      o.extra[k] = v;  // provider-specific; each provider passes through what it supports
    }
  }
}

void parse_stream(const Json& params, ChatRequest& req) {
  if (const Json* s = field(params, "stream")) {
    if (!s->is_boolean()) throw invalid_params("stream: expected true or false");
    req.stream = s->get<bool>();
  }
}

Message parse_message(const Json& m, size_t i) {
  const std::string path = "messages[" + std::to_string(i) + "].";
  if (!m.is_object()) throw invalid_params("messages[" + std::to_string(i) + "]: expected an object");
  Message msg;
  msg.role = string_field(m, "role", path, true);
  if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
    throw invalid_params(path + "role: expected \"system\", \"user\", \"assistant\" or \"tool\", got \"" + msg.role +
                         "\"");
  if (msg.role == "tool") {
    msg.tool_call_id = string_field(m, "tool_call_id", path, true);
    if (msg.tool_call_id.empty()) throw invalid_params(path + "tool_call_id: must not be empty");
  }
  if (const Json* calls = field(m, "tool_calls")) {
    if (msg.role != "assistant") throw invalid_params(path + "tool_calls: only assistant messages carry tool calls");
    if (!calls->is_array() || calls->empty())
      throw invalid_params(path + "tool_calls: expected a non-empty array of {id, type, function:{name, arguments}}");
    msg.tool_calls = *calls;
  }
  const Json* c = field(m, "content");
  if (!c) {
    // An assistant message that only calls tools has no text.
    if (!msg.tool_calls.is_null()) return msg;
    throw invalid_params(path + "content: required");
  }
  if (c->is_array()) {
    for (size_t j = 0; j < c->size(); ++j) {
      const Json& part = (*c)[j];
      const std::string ppath = path + "content[" + std::to_string(j) + "]";
      if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
        throw invalid_params(ppath + ": expected {type:\"text\",text} or {type:\"image_url\",image_url:{url}}");
      const std::string type = part["type"];
      if (type == "text" && !(part.contains("text") && part["text"].is_string()))
        throw invalid_params(ppath + ".text: expected a string");
      if (type == "image_url" && !(part.contains("image_url") && part["image_url"].is_object() &&
                                   part["image_url"].contains("url") && part["image_url"]["url"].is_string()))
        throw invalid_params(ppath + ".image_url.url: expected a string");
    }
  } else if (!c->is_string()) {
    throw invalid_params(path + "content: expected a string or an array of parts");
  }
  msg.content = *c;
  return msg;
}

}  // namespace

ChatRequest parse_chat_params(const Json& params, const Config& config) {
  if (!params.is_object()) throw invalid_params("params: expected an object");
  ChatRequest req;
  parse_model(params, config, req);
  const Json* msgs = field(params, "messages");
  if (!msgs) throw invalid_params("messages: required");
  if (!msgs->is_array() || msgs->empty()) throw invalid_params("messages: expected a non-empty array");
  for (size_t i = 0; i < msgs->size(); ++i) req.messages.push_back(parse_message((*msgs)[i], i));
  bool any_user = false;
  for (const auto& m : req.messages) any_user |= m.role == "user";
  if (!any_user) throw invalid_params("messages: needs at least one \"user\" message");
  parse_options(params, req);
  parse_stream(params, req);
  if (const Json* t = field(params, "tools")) req.tools = *t;
  if (const Json* t = field(params, "tool_choice")) req.tool_choice = *t;
  if (auto bad = check_tools(req.tools, req.tool_choice)) throw invalid_params(*bad);
  return req;
}

ChatRequest parse_explain_params(const Json& params, const Config& config) {
  if (!params.is_object()) throw invalid_params("params: expected an object");
  ChatRequest req;
  parse_model(params, config, req);
  ExplainInput in;
  in.code = string_field(params, "code", "", true);
  if (in.code.find_first_not_of(" \t\r\n") == std::string::npos) throw invalid_params("code: must not be empty");
  in.language = string_field(params, "language", "", false);
  in.path = string_field(params, "path", "", false);
  in.question = string_field(params, "question", "", false);
  req.messages = build_explain_messages(in);
  parse_options(params, req);
  parse_stream(params, req);
  return req;
}

EditRequest parse_edit_params(const Json& params, const Config& config) {
  if (!params.is_object()) throw invalid_params("params: expected an object");
  EditRequest out;
  ChatRequest& req = out.request;
  parse_model(params, config, req);
  EditInput in;
  in.instruction = string_field(params, "instruction", "", true);
  if (in.instruction.find_first_not_of(" \t\r\n") == std::string::npos)
    throw invalid_params("instruction: must not be empty");
  in.code = string_field(params, "code", "", false);
  in.before = string_field(params, "before", "", false);
  in.after = string_field(params, "after", "", false);
  in.language = string_field(params, "language", "", false);
  in.path = string_field(params, "path", "", false);
  req.messages = build_edit_messages(in, config.prompts.edit);
  parse_options(params, req);
  parse_stream(params, req);
  out.view = EditView{in.code, in.before, in.after};
  return out;
}

}  // namespace glm
