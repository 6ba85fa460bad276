// provider_replay(): answers a chat request the way each vendor would (docs/providers.md),
// with faults selected by `mock:` directives in the last user message (see mock_server.hpp).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "mock_server.hpp"

namespace glm::mock {

namespace {

using Json = nlohmann::json;

struct Directives {
  std::optional<int> chunks;
  int delay_ms = 0;
  int ttft_ms = 0;
  int stall_first_ms = 0;
  int stall_mid_ms = 0;
  int drop_after = -1;
  int reasoning = 0;
  bool ts = false;
  bool bytewise = false;
  std::optional<int> error;
  bool error_http = false;
  std::string code;
  std::optional<int> retry_after;
  std::string finish = "stop";
  std::string reply_file;
  std::string tool;   // OpenAI/Zhipu: answer with a call of this function instead of text
  int per_write = 1;  // events per write (and per HTTP chunk): a fast upstream that batches
  std::string
      gzip;  // "1": Content-Encoding: gzip, flushed per event; "corrupt": that header on bytes that are not gzip
};

// `mock:k=v,k=v` anywhere in the text; unknown keys are ignored.
Directives parse_directives(const std::string& text) {
  Directives d;
  size_t at = text.find("mock:");
  if (at == std::string::npos) return d;
  size_t end = text.find_first_of(" \t\r\n", at);
  std::string spec = text.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string kv = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? spec.size() : comma + 1;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    int n = std::atoi(v.c_str());
    if (n < 0) n = 0;
    if (k == "chunks")
      d.chunks = std::min(n, 1000000);
    else if (k == "delay_ms")
      d.delay_ms = n;
    else if (k == "ttft_ms")
      d.ttft_ms = n;
    else if (k == "stall_first_ms")
      d.stall_first_ms = n;
    else if (k == "stall_mid_ms")
      d.stall_mid_ms = n;
    else if (k == "drop_after")
      d.drop_after = n;
    else if (k == "reasoning")
      d.reasoning = std::min(n, 1000000);
    else if (k == "ts")
      d.ts = n == 1;
    else if (k == "bytewise")
      d.bytewise = n == 1;
    else if (k == "error")
      d.error = n;
    else if (k == "http")
      d.error_http = n == 1;
    else if (k == "code")
      d.code = v;
    else if (k == "retry_after")
      d.retry_after = n;
    else if (k == "finish")
      d.finish = v;
    else if (k == "reply_file")
      d.reply_file = v;
    else if (k == "tool")
      d.tool = v;
    else if (k == "gzip")
      d.gzip = v;
    else if (k == "per_write")
      d.per_write = std::max(1, n);
  }
  return d;
}

std::string message_text(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        if (!out.empty()) out += "\n";
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

std::string last_user_text(const Json& messages) {
  if (!messages.is_array()) return {};
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->is_object() && it->value("role", "") == "user" && it->contains("content")) {
      return message_text((*it)["content"]);
    }
  }
  return {};
}

// "You said: ..." cut into small pieces at spaces (or every ~12 bytes, on UTF-8 boundaries).
std::vector<std::string> split_echo(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool boundary = (c & 0xC0) != 0x80;
    if (boundary && cur.size() >= 12) {
      out.push_back(std::move(cur));
      cur.clear();
    }
    cur += text[i];
    if (c == ' ') {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// A provider-style error per HTTP status: {zhipu code, openai code, openai type, dashscope code, qianfan code}.
struct ErrorRow {
  int status;
  const char* zhipu;
  const char* openai;
  const char* type;
  const char* dashscope;
  int qianfan;
  const char* message;
};
constexpr ErrorRow kErrors[] = {
    {400, "1210", "invalid_parameter_error", "invalid_request_error", "InvalidParameter", 336003,
     "Invalid parameter (mock)"},
    {401, "1001", "invalid_api_key", "invalid_request_error", "InvalidApiKey", 110, "Invalid API key (mock)"},
    {403, "1220", "access_denied", "invalid_request_error", "AccessDenied", 6, "Access denied (mock)"},
    {404, "1211", "model_not_found", "invalid_request_error", "ModelNotFound", 336005, "Model not found (mock)"},
    {429, "1302", "rate_limit_exceeded", "rate_limit_error", "Throttling.RateQuota", 18, "Rate limit reached (mock)"},
    {500, "500", "internal_error", "server_error", "InternalError", 336000, "Internal error (mock)"},
    {503, "1305", "service_unavailable", "server_error", "ServiceUnavailable", 2, "Service unavailable (mock)"},
};

const ErrorRow& error_row(int status) {
  for (const auto& row : kErrors) {
    if (row.status == status) return row;
  }
  return kErrors[5];
}

enum class Vendor { openai, zhipu, dashscope, qianfan, completions };

struct Plan {
  Vendor vendor = Vendor::openai;
  bool stream = true;
  bool usage_chunk = false;  // openai/compat: a separate choices:[] usage chunk (include_usage)
  bool incremental = true;   // dashscope: false = every frame carries the whole text so far
  bool text_format = false;  // dashscope result_format "text"
  std::string model = "mock-model";
  std::vector<std::string> reasoning;
  std::vector<std::string> content;
  int64_t prompt_tokens = 1;
  std::string tool_name;  // openai/zhipu: a tool call (arguments tool_args, streamed in pieces)
  std::string tool_args;
  int n = 1;  // completions: choices in a non-stream body
};

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

Json usage_openai(const Plan& p, int64_t completion) {
  return {{"prompt_tokens", p.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", p.prompt_tokens + completion}};
}
Json usage_dashscope(const Plan& p, int64_t output) {
  return {{"input_tokens", p.prompt_tokens}, {"output_tokens", output}, {"total_tokens", p.prompt_tokens + output}};
}

// --- one function per wire format: (piece index, reasoning?, text, last?) -> event bytes

std::string openai_chunk(const Plan& p, const Json& delta, const Json& finish, const Json* usage) {
  Json j = {{"id", "chatcmpl-mock"},
            {"object", "chat.completion.chunk"},
            {"created", 1700000000},
            {"model", p.model},
            {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  if (usage) j["usage"] = *usage;
  return "data: " + j.dump() + "\n\n";
}

// OpenAI-style `/completions` (text_completion) chunk.
std::string completions_chunk(const Plan& p, const std::string& text, const Json& finish, const Json* usage) {
  Json j = {
      {"id", "cmpl-mock"},
      {"object", "text_completion"},
      {"created", 1700000000},
      {"model", p.model},
      {"choices", Json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
  if (usage) j["usage"] = *usage;
  return "data: " + j.dump() + "\n\n";
}

std::string dashscope_frame(const Plan& p, int id, const std::string& content, const std::string& reasoning,
                            const std::string& finish, int64_t output_tokens) {
  Json output;
  if (p.text_format) {
    output = {{"text", content}, {"finish_reason", finish}};
  } else {
    Json message = {{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    output = {{"choices", Json::array({{{"message", message}, {"finish_reason", finish}}})}};
  }
  Json j = {{"output", output}, {"usage", usage_dashscope(p, output_tokens)}, {"request_id", "mock-request-1"}};
  return "id:" + std::to_string(id) + "\nevent:result\n:HTTP_STATUS/200\ndata:" + j.dump() + "\n\n";
}

std::string qianfan_event(const Plan& p, int sentence, const std::string& text, bool end, int64_t completion) {
  Json j = {{"id", "as-mock"},
            {"object", "chat.completion"},
            {"created", 1700000000},
            {"sentence_id", sentence},
            {"is_end", end},
            {"is_truncated", false},
            {"result", text},
            {"need_clear_history", false},
            {"finish_reason", "normal"},
            {"usage", usage_openai(p, completion)}};
  return "data: " + j.dump() + "\n\n";
}

// The stream as a list of events, plus where the content pieces are (for drop/stall/timestamps).
std::vector<std::string> stream_events(const Plan& p, const Directives& d) {
  std::vector<std::string> ev;
  const std::string piece_marker = d.ts ? "@TS@;" : "";
  const int64_t total = int64_t(p.reasoning.size() + p.content.size());
  int64_t sent = 0;
  std::string acc_content, acc_reasoning;
  auto piece = [&](const std::string& text) { return d.ts ? piece_marker : text; };
  const std::string& finish = d.finish;
  switch (p.vendor) {
    case Vendor::openai:
    case Vendor::zhipu: {
      if (!p.tool_name.empty()) {
        // The call's head, then its arguments in three pieces, as OpenAI-style servers stream them.
        ev.push_back(
            openai_chunk(p,
                         {{"role", "assistant"},
                          {"content", nullptr},
                          {"tool_calls", Json::array({{{"index", 0},
                                                       {"id", "call_mock_1"},
                                                       {"type", "function"},
                                                       {"function", {{"name", p.tool_name}, {"arguments", ""}}}}})}},
                         nullptr, nullptr));
        const size_t third = p.tool_args.size() / 3;
        for (size_t i = 0, at = 0; i < 3; ++i) {
          size_t n = i == 2 ? std::string::npos : third;
          ev.push_back(openai_chunk(
              p,
              {{"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", p.tool_args.substr(at, n)}}}}})}},
              nullptr, nullptr));
          at += third;
        }
        Json usage = usage_openai(p, 3);
        ev.push_back(openai_chunk(p, Json::object(), "tool_calls", &usage));
        ev.push_back("data: [DONE]\n\n");
        break;
      }
      for (const auto& r : p.reasoning)
        ev.push_back(openai_chunk(p, {{"role", "assistant"}, {"content", nullptr}, {"reasoning_content", piece(r)}},
                                  nullptr, nullptr));
      for (const auto& c : p.content)
        ev.push_back(openai_chunk(p, {{"role", "assistant"}, {"content", piece(c)}}, nullptr, nullptr));
      Json usage = usage_openai(p, total);
      if (p.usage_chunk) {
        ev.push_back(openai_chunk(p, {{"role", "assistant"}, {"content", ""}}, finish, nullptr));
        Json j = {{"id", "chatcmpl-mock"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                  {"model", p.model},      {"choices", Json::array()},          {"usage", usage}};
        ev.push_back("data: " + j.dump() + "\n\n");
      } else {
        ev.push_back(openai_chunk(p, {{"role", "assistant"}, {"content", ""}}, finish, &usage));
      }
      ev.push_back("data: [DONE]\n\n");
      break;
    }
    case Vendor::completions: {
      for (const auto& c : p.content) ev.push_back(completions_chunk(p, piece(c), nullptr, nullptr));
      Json usage = usage_openai(p, total);
      ev.push_back(completions_chunk(p, "", finish, &usage));
      ev.push_back("data: [DONE]\n\n");
      break;
    }
    case Vendor::dashscope: {
      int id = 0;
      for (const auto& r : p.reasoning) {
        acc_reasoning += piece(r);
        ev.push_back(dashscope_frame(p, ++id, "", p.incremental ? piece(r) : acc_reasoning, "null", ++sent));
      }
      for (const auto& c : p.content) {
        acc_content += piece(c);
        ev.push_back(dashscope_frame(p, ++id, p.incremental ? piece(c) : acc_content, "", "null", ++sent));
      }
      ev.push_back(dashscope_frame(p, ++id, p.incremental ? "" : acc_content, "", finish, total));
      break;
    }
    case Vendor::qianfan: {
      int sentence = 0;
      for (const auto& c : p.content) {
        ev.push_back(qianfan_event(p, sentence, piece(c), false, ++sent));
        ++sentence;
      }
      ev.push_back(qianfan_event(p, sentence, "", true, total));
      break;
    }
  }
  return ev;
}

std::string whole_body(const Plan& p, const Directives& d) {
  const std::string content = join(p.content);
  const std::string reasoning = join(p.reasoning);
  const int64_t total = int64_t(p.reasoning.size() + p.content.size());
  switch (p.vendor) {
    case Vendor::openai:
    case Vendor::zhipu: {
      Json message = {{"role", "assistant"}, {"content", content}};
      if (!reasoning.empty()) message["reasoning_content"] = reasoning;
      std::string finish = d.finish;
      if (!p.tool_name.empty()) {
        message["content"] = nullptr;
        message["tool_calls"] = Json::array({{{"id", "call_mock_1"},
                                              {"type", "function"},
                                              {"function", {{"name", p.tool_name}, {"arguments", p.tool_args}}}}});
        finish = "tool_calls";
      }
      Json j = {{"id", "chatcmpl-mock"},
                {"object", "chat.completion"},
                {"created", 1700000000},
                {"model", p.model},
                {"choices", Json::array({{{"index", 0}, {"finish_reason", finish}, {"message", message}}})},
                {"usage", usage_openai(p, total)}};
      return j.dump();
    }
    case Vendor::completions: {
      // n choices: the reply, then the reply with " /*alt i*/" appended, so candidates differ.
      Json choices = Json::array();
      for (int i = 0; i < std::max(1, p.n); ++i) {
        std::string text = i == 0 ? content : content + " /*alt " + std::to_string(i) + "*/";
        choices.push_back({{"index", i}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", d.finish}});
      }
      return Json{{"id", "cmpl-mock"}, {"object", "text_completion"}, {"created", 1700000000},
                  {"model", p.model},  {"choices", choices},          {"usage", usage_openai(p, total)}}
          .dump();
    }
    case Vendor::dashscope: {
      Json output;
      if (p.text_format) {
        output = {{"text", content}, {"finish_reason", d.finish}};
      } else {
        Json message = {{"role", "assistant"}, {"content", content}};
        if (!reasoning.empty()) message["reasoning_content"] = reasoning;
        output = {{"choices", Json::array({{{"finish_reason", d.finish}, {"message", message}}})}};
      }
      return Json{{"output", output}, {"usage", usage_dashscope(p, total)}, {"request_id", "mock-request-1"}}.dump();
    }
    case Vendor::qianfan:
      return Json{{"id", "as-mock"},           {"object", "chat.completion"},    {"created", 1700000000},
                  {"result", content},         {"is_truncated", false},          {"need_clear_history", false},
                  {"finish_reason", "normal"}, {"usage", usage_openai(p, total)}}
          .dump();
  }
  return {};
}

Response error_response(Vendor vendor, const Directives& d) {
  const int status = *d.error;
  const ErrorRow& row = error_row(status);
  Json body;
  int http = status;
  switch (vendor) {
    case Vendor::zhipu:
      body = {{"error", {{"code", d.code.empty() ? row.zhipu : d.code}, {"message", row.message}}}};
      break;
    case Vendor::openai:
    case Vendor::completions:
      body = {{"error",
               {{"message", row.message},
                {"type", row.type},
                {"param", nullptr},
                {"code", d.code.empty() ? row.openai : d.code}}},
              {"request_id", "mock-request-1"}};
      break;
    case Vendor::dashscope:
      body = {{"code", d.code.empty() ? row.dashscope : d.code},
              {"message", row.message},
              {"request_id", "mock-request-1"}};
      break;
    case Vendor::qianfan: {
      int code = d.code.empty() ? row.qianfan : std::atoi(d.code.c_str());
      body = {{"error_code", code}, {"error_msg", row.message}};
      if (!d.error_http) http = 200;  // Qianfan reports errors in a 200 response
      break;
    }
  }
  Response r = Response::body(http, body.dump());
  if (d.retry_after) r.headers.emplace_back("Retry-After", std::to_string(*d.retry_after));
  return r;
}

// ---- fill-in-the-middle (`complete`) ----

// The text the mock "model" fills in: what follows "mock-reply:" on its line in the prefix (with "\n"
// and "\t" escapes; "{temperature}" becomes the request's temperature, "%g", so that requests differing
// only in sampling get different answers), else a marker naming what arrived:
// <fim lang=L prefix=P suffix=S> (lengths in bytes).
std::string fim_reply(const std::string& prefix, const std::string& suffix, const std::string& language,
                      const Json& body) {
  size_t at = prefix.find("mock-reply:");
  if (at != std::string::npos) {
    size_t start = at + 11;
    size_t end = prefix.find('\n', start);
    std::string raw = prefix.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == 'n' || raw[i + 1] == 't')) {
        out += raw[i + 1] == 'n' ? '\n' : '\t';
        ++i;
      } else {
        out += raw[i];
      }
    }
    const std::string placeholder = "{temperature}";
    for (size_t p = out.find(placeholder); p != std::string::npos; p = out.find(placeholder, p)) {
      char t[32] = "none";
      if (body.contains("temperature") && body["temperature"].is_number())
        std::snprintf(t, sizeof t, "%g", body["temperature"].get<double>());
      out.replace(p, placeholder.size(), t);
      p += std::char_traits<char>::length(t);
    }
    return out;
  }
  return "<fim lang=" + language + " prefix=" + std::to_string(prefix.size()) +
         " suffix=" + std::to_string(suffix.size()) + ">";
}

Response zhipu_error(int status, const std::string& code, const std::string& message) {
  return Response::body(status, Json{{"error", {{"code", code}, {"message", message}}}}.dump());
}

// CodeGeeX FIM as this project settled it (docs/providers.md): `messages` empty, every target field a
// string, `language` in the SDK's lower-case spelling, contexts [{path, code}]. Anything else is a
// Zhipu-style 400 (code 1210) naming the problem, so a regression in the request shows up in tests.
std::optional<Response> check_codegeex(const Json& body) {
  if (!body.value("model", "").starts_with("codegeex"))
    return zhipu_error(400, "1211", "mock: extra.target is only for codegeex models");
  if (!body.contains("messages") || !body["messages"].is_array() || !body["messages"].empty())
    return zhipu_error(400, "1210", "mock: codegeex FIM takes \"messages\":[] (the prompt is extra.target)");
  const Json& extra = body["extra"];
  if (!extra.is_object() || !extra.contains("target") || !extra["target"].is_object())
    return zhipu_error(400, "1210", "mock: extra.target is required");
  const Json& t = extra["target"];
  for (const char* k : {"path", "language", "code_prefix", "code_suffix"}) {
    if (!t.contains(k) || !t[k].is_string())
      return zhipu_error(400, "1210", std::string("mock: extra.target.") + k + " is required (a string)");
  }
  const std::string lang = t["language"].get<std::string>();
  for (char c : lang) {
    if (c >= 'A' && c <= 'Z') return zhipu_error(400, "1210", "mock: extra.target.language must be lower case");
  }
  if (lang.empty()) return zhipu_error(400, "1210", "mock: extra.target.language must not be empty");
  if (extra.contains("contexts")) {
    if (!extra["contexts"].is_array()) return zhipu_error(400, "1210", "mock: extra.contexts must be an array");
    for (const auto& c : extra["contexts"]) {
      if (!c.is_object() || !c.contains("path") || !c["path"].is_string() || !c.contains("code") ||
          !c["code"].is_string())
        return zhipu_error(400, "1210", "mock: extra.contexts[] needs path and code strings");
    }
  }
  for (const char* k : {"temperature", "top_p"}) {
    if (body.contains(k) && body[k].is_number() && (body[k].get<double>() <= 0 || body[k].get<double>() >= 1))
      return zhipu_error(400, "1214",
                         std::string("mock: ") + k + " must be in the open interval (0, 1) for codegeex-4");
  }
  return std::nullopt;
}

// The text between the chat FIM prompt's tags (core/prompts.cpp).
std::string between(const std::string& text, const std::string& open, const std::string& close) {
  size_t a = text.find(open);
  if (a == std::string::npos) return {};
  a += open.size();
  size_t b = text.find(close, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

Response not_found(const std::string& path) {
  return Response::body(404,
                        Json{{"error", {{"code", "not_found"}, {"message", "mock: no such endpoint " + path}}}}.dump());
}

// Content-Encoding: gzip on the body's write steps: one gzip member, each write flushed (Z_SYNC_FLUSH) so
// a stream still arrives event by event; "corrupt" sends the header on plain bytes that do not inflate.
void gzip_steps(Response& r, const std::string& mode) {
  r.headers.emplace_back("Content-Encoding", "gzip");
  if (mode == "corrupt") {
    r.steps = {Step::write("\x1f\x8b this is not a gzip stream at all\n")};
    return;
  }
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::vector<Step> out;
  auto compress = [&](const std::string& in, int flush) {
    std::string bytes;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      bytes.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    return bytes;
  };
  for (auto& step : r.steps) {
    if (step.kind == Step::Kind::write) step.bytes = compress(step.bytes, Z_SYNC_FLUSH);
    out.push_back(std::move(step));
  }
  out.push_back(Step::write(compress("", Z_FINISH)));
  deflateEnd(&z);
  r.steps = std::move(out);
}

}  // namespace

Response provider_replay(const RecordedRequest& request, bool demo) {
  const std::string path = request.path();
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };

  if (path == "/oauth/2.0/token" || ends_with("/oauth/2.0/token")) {
    // The parameters come in the URL query or (OAuth 2.0 form body) in the body.
    if (request.target.find("client_id=bad") != std::string::npos ||
        request.body.find("client_id=bad") != std::string::npos) {
      return Response::body(401, R"({"error":"invalid_client","error_description":"unknown client id"})");
    }
    return Response::body(200, R"({"refresh_token":"25.mock-refresh","expires_in":2592000,"session_key":"mock",)"
                               R"("access_token":"24.mock-token.2592000.1700000000.mock","scope":"public",)"
                               R"("session_secret":"mock"})");
  }

  Plan p;
  Json body = Json::parse(request.body, nullptr, false);
  if (!body.is_object()) body = Json::object();
  Json messages;
  // Fill-in-the-middle: the text the reply is made of, and the text directives are read from.
  std::optional<std::string> fim_text;
  std::string directive_text;
  std::string fim_language;  // for the demo's answer
  if (ends_with("/chat/completions")) {
    p.vendor = path.find("/paas/") != std::string::npos ? Vendor::zhipu : Vendor::openai;
    p.stream = body.value("stream", false);
    p.usage_chunk = body.contains("stream_options") && body["stream_options"].is_object() &&
                    body["stream_options"].value("include_usage", false);
    if (body.contains("extra")) {
      if (auto bad = check_codegeex(body)) return *bad;
      const Json& t = body["extra"]["target"];
      directive_text = t["code_prefix"].get<std::string>();
      fim_language = t["language"].get<std::string>();
      fim_text = fim_reply(directive_text, t["code_suffix"].get<std::string>(), t["language"].get<std::string>(), body);
    } else {
      messages = body.value("messages", Json::array());
      const std::string user = last_user_text(messages);
      if (user.find("<code_before_cursor>") != std::string::npos) {
        // A chat model asked to fill the middle answers the way chat models do: prose and a fence.
        const std::string prefix = between(user, "<code_before_cursor>", "</code_before_cursor>");
        const std::string suffix = between(user, "<code_after_cursor>", "</code_after_cursor>");
        const std::string lang = between(user, "Language: ", "\n");
        directive_text = prefix;
        fim_language = lang;
        fim_text = "Here is the code to insert:\n```" + lang + "\n" + fim_reply(prefix, suffix, lang, body) + "\n```";
      }
    }
  } else if (ends_with("/completions")) {
    p.vendor = Vendor::completions;
    p.stream = body.value("stream", false);
    if (!body.contains("prompt") || !body["prompt"].is_string())
      return Response::body(400, Json{{"error",
                                       {{"message", "mock: prompt must be a string"},
                                        {"type", "invalid_request_error"},
                                        {"code", "invalid_prompt"}}}}
                                     .dump());
    if (body.contains("suffix") && !body["suffix"].is_string())
      return Response::body(400, Json{{"error",
                                       {{"message", "mock: suffix must be a string"},
                                        {"type", "invalid_request_error"},
                                        {"code", "invalid_suffix"}}}}
                                     .dump());
    p.n = body.contains("n") && body["n"].is_number_integer() ? std::clamp(body["n"].get<int>(), 1, 8) : 1;
    directive_text = body["prompt"].get<std::string>();
    fim_text = fim_reply(directive_text, body.value("suffix", ""), "", body);
  } else if (path.find("/services/aigc/") != std::string::npos && ends_with("/generation")) {
    p.vendor = Vendor::dashscope;
    Json params = body.value("parameters", Json::object());
    if (!params.is_object()) params = Json::object();
    p.stream = request.header("x-dashscope-sse") == "enable" ||
               request.header("accept").find("text/event-stream") != std::string::npos || params.value("stream", false);
    p.incremental = params.value("incremental_output", false);
    p.text_format = params.value("result_format", "") == "text";
    Json input = body.value("input", Json::object());
    if (input.is_object()) {
      messages = input.value("messages", Json::array());
      if (input.contains("prompt") && input["prompt"].is_string()) {
        messages.push_back({{"role", "user"}, {"content", input["prompt"]}});
      }
    }
  } else if (path.rfind("/rpc/2.0/ai_custom/", 0) == 0) {
    p.vendor = Vendor::qianfan;
    p.stream = body.value("stream", false);
    messages = body.value("messages", Json::array());
  } else {
    return not_found(path);
  }
  if (body.contains("model") && body["model"].is_string()) p.model = body["model"].get<std::string>();

  std::string text = fim_text ? directive_text : last_user_text(messages);
  Directives d = parse_directives(text);
  // The second step of a tool conversation: the last message is the tool's result. Answer with it
  // (directives in the earlier user message do not apply again).
  const bool after_tool = messages.is_array() && !messages.empty() && messages.back().is_object() &&
                          messages.back().value("role", "") == "tool";
  if (after_tool) {
    d = Directives{};
    text = "Tool said: " + message_text(messages.back().value("content", Json("")));
  }
  if (demo) {
    // ./scripts/run.sh without a key: answers a person can try the plugin with (mock_demo.cpp); no
    // directive applies.
    d = Directives{};
    if (fim_text) {
      fim_text = demo_fim_reply(directive_text, fim_language);
    } else if (!after_tool) {
      text = demo_chat_reply(last_user_text(messages));
      d.delay_ms = 15;  // streams visibly, as a model would
    }
  }
  if (d.error) return error_response(p.vendor, d);

  p.prompt_tokens = int64_t(text.size() / 4 + 1);
  if (fim_text && !d.chunks) {
    p.content = split_echo(*fim_text);
  } else if (d.chunks) {
    for (int i = 0; i < *d.chunks; ++i) p.content.push_back("tok" + std::to_string(i) + " ");
  } else if (!d.reply_file.empty()) {
    // A scripted answer (e.g. prose around a fenced code block), streamed in small pieces.
    std::ifstream in(d.reply_file, std::ios::binary);
    std::ostringstream text_in;
    text_in << in.rdbuf();
    p.content = split_echo(in ? text_in.str() : "mock: cannot read " + d.reply_file);
  } else {
    // Echo without the directive itself.
    std::string echo = text;
    size_t at = echo.find("mock:");
    if (at != std::string::npos) {
      size_t end = echo.find_first_of(" \t\r\n", at);
      echo.erase(at, end == std::string::npos ? std::string::npos : end - at);
      while (!echo.empty() && echo.back() == ' ') echo.pop_back();
    }
    p.content = split_echo(after_tool || demo ? text : "You said: " + echo);
    if (!d.tool.empty() && (p.vendor == Vendor::openai || p.vendor == Vendor::zhipu)) {
      p.tool_name = d.tool;
      p.tool_args = Json{{"q", echo}}.dump();
      p.content.clear();
    }
  }
  if (p.vendor != Vendor::qianfan) {
    for (int i = 0; i < d.reasoning; ++i) p.reasoning.push_back("think" + std::to_string(i) + " ");
  }

  Response r;
  r.headers.emplace_back("X-Request-Id", "mock-request-1");
  if (d.retry_after) r.headers.emplace_back("Retry-After", std::to_string(*d.retry_after));
  if (d.stall_first_ms > 0) r.before_head.push_back(Step::sleep(d.stall_first_ms));
  if (!p.stream) {
    r.headers.emplace_back("Content-Type", "application/json");
    if (d.ttft_ms > 0) r.before_head.push_back(Step::sleep(d.ttft_ms));
    std::string whole = whole_body(p, d);
    r.steps.push_back(d.bytewise ? Step::bytewise(std::move(whole)) : Step::write(std::move(whole)));
    if (!d.gzip.empty()) {
      r.framing = Framing::chunked;
      gzip_steps(r, d.gzip);
    }
    return r;
  }

  r.headers.emplace_back("Content-Type", "text/event-stream; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.framing = Framing::chunked;
  if (d.ttft_ms > 0) r.steps.push_back(Step::sleep(d.ttft_ms));
  const std::vector<std::string> events = stream_events(p, d);
  const size_t pieces = p.reasoning.size() + p.content.size();
  const size_t mid = pieces / 2;
  for (size_t i = 0; i < events.size(); ++i) {
    if (d.drop_after >= 0 && i == size_t(d.drop_after)) {
      r.steps.push_back(Step::drop());
      return r;
    }
    if (d.stall_mid_ms > 0 && i == mid && i > 0) r.steps.push_back(Step::sleep(d.stall_mid_ms));
    if (i > 0 && i < pieces && d.delay_ms > 0) r.steps.push_back(Step::sleep(d.delay_ms));
    if (d.bytewise) {
      r.steps.push_back(Step::bytewise(events[i]));
    } else if (d.ts && i < pieces) {
      r.steps.push_back(Step::stamped(events[i]));
    } else {
      r.steps.push_back(Step::write(events[i]));
    }
  }
  if (d.per_write > 1) {
    // Coalesce runs of plain writes, per_write events each.
    std::vector<Step> merged;
    int in_run = 0;
    for (auto& step : r.steps) {
      if (step.kind == Step::Kind::write && !merged.empty() && merged.back().kind == Step::Kind::write &&
          in_run < d.per_write) {
        merged.back().bytes += step.bytes;
        ++in_run;
        continue;
      }
      in_run = step.kind == Step::Kind::write ? 1 : 0;
      merged.push_back(std::move(step));
    }
    r.steps = std::move(merged);
  }
  if (!d.gzip.empty()) gzip_steps(r, d.gzip);
  return r;
}

}  // namespace glm::mock
