#include "providers/provider_common.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace glm {

// ---- errors -----------------------------------------------------------------------------------

ErrorKind error_kind_for_status(int status) {
  switch (status) {
    case 401:
    case 403:
      return ErrorKind::auth;
    case 429:
      return ErrorKind::rate_limit;
    case 408:
      return ErrorKind::timeout;
    case 400:
    case 404:
    case 405:
    case 409:
    case 413:
    case 415:
    case 422:
      return ErrorKind::invalid_request;
    default:
      return ErrorKind::server;
  }
}

bool status_retryable(int status) { return status == 408 || status == 429 || status >= 500; }

namespace {

std::string json_scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number() || v.is_boolean()) return v.dump();
  return {};
}

std::string string_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return json_scalar_text(*it);
}

}  // namespace

bool extract_error_info(const Json& body, ErrorInfo& info) {
  if (!body.is_object()) return false;
  bool found = false;
  if (auto it = body.find("error"); it != body.end() && !it->is_null()) {
    if (it->is_object()) {
      info.code = string_field(*it, "code");
      info.message = string_field(*it, "message");
      info.type = string_field(*it, "type");
      if (info.request_id.empty()) info.request_id = string_field(*it, "request_id");
    } else if (it->is_string()) {
      info.message = it->get<std::string>();
    }
    found = true;
  } else if (body.contains("code") || body.contains("message")) {
    // DashScope native frames and vLLM's {"object":"error","message":..,"type":..,"code":400}.
    info.code = string_field(body, "code");
    info.message = string_field(body, "message");
    info.type = string_field(body, "type");
    found = !info.code.empty() || !info.message.empty();
  } else if (body.contains("error_code")) {
    info.code = string_field(body, "error_code");
    info.message = string_field(body, "error_msg");
    found = true;
  } else if (auto d = body.find("detail"); d != body.end()) {
    // FastAPI (e.g. the ChatGLM API demo): a string, or a list of validation problems.
    if (d->is_string()) {
      info.message = d->get<std::string>();
    } else if (d->is_array() && !d->empty() && (*d)[0].is_object()) {
      info.message = string_field((*d)[0], "msg");
    }
    found = true;
  }
  if (auto r = string_field(body, "request_id"); !r.empty()) info.request_id = r;
  return found;
}

std::string_view error_kind_phrase(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::auth:
      return "authentication failed";
    case ErrorKind::rate_limit:
      return "rate limited";
    case ErrorKind::quota:
      return "quota or balance exhausted";
    case ErrorKind::content_filter:
      return "blocked by the content filter";
    case ErrorKind::context_length:
      return "input too long for the model";
    case ErrorKind::invalid_request:
      return "request rejected";
    case ErrorKind::network:
      return "network error";
    case ErrorKind::timeout:
      return "timed out";
    case ErrorKind::server:
      return "server error";
    case ErrorKind::protocol:
      return "unexpected response";
  }
  return "error";
}

std::string describe_upstream_error(std::string_view provider, const UpstreamError& error) {
  std::string out(provider);
  out += ": ";
  out += error_kind_phrase(error.kind);
  if (!error.upstream_message.empty()) {
    out += ": ";
    // Vendors pad messages ("Incorrect API key provided. "): trim so the sentence reads cleanly.
    std::string_view m = error.upstream_message;
    while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.remove_suffix(1);
    out += m;
  }
  std::string detail;
  if (error.http_status) detail += "HTTP " + std::to_string(*error.http_status);
  if (!error.upstream_code.empty()) {
    if (!detail.empty()) detail += ", ";
    detail += "code " + error.upstream_code;
  }
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int month_index(std::string_view token) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (token.size() != 3) return 0;
  std::string lower;
  for (char c : token) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 12; ++i)
    if (kMonths[i] == lower) return i + 1;
  return 0;
}

// HTTP-date in any of the three forms of RFC 9110 §5.6.7, as seconds since the epoch.
std::optional<int64_t> parse_http_date(std::string_view s) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != ',' && s[i] != '-') ++i;
    if (i > start) tokens.push_back(s.substr(start, i - start));
  }
  int month = 0;
  std::vector<int> numbers;
  int hh = -1, mm = -1, ss = -1;
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::string_view tok = tokens[t];
    if (int m = month_index(tok); m != 0 && t > 0) {
      month = m;
    } else if (tok.size() == 8 && tok[2] == ':' && tok[5] == ':' && all_digits(tok.substr(0, 2)) &&
               all_digits(tok.substr(3, 2)) && all_digits(tok.substr(6, 2))) {
      hh = (tok[0] - '0') * 10 + (tok[1] - '0');
      mm = (tok[3] - '0') * 10 + (tok[4] - '0');
      ss = (tok[6] - '0') * 10 + (tok[7] - '0');
    } else if (all_digits(tok) && tok.size() <= 4) {
      int v = 0;
      std::from_chars(tok.data(), tok.data() + tok.size(), v);
      numbers.push_back(v);
    }
  }
  if (month == 0 || numbers.size() != 2 || hh < 0 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  int day = numbers[0];
  int year = numbers[1];
  if (year < 100) year += year >= 70 ? 1900 : 2000;  // RFC 850's two-digit years
  std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return static_cast<int64_t>(days) * 86400 + hh * 3600 + mm * 60 + ss;
}

}  // namespace

std::optional<int64_t> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value[0] >= '0' && value[0] <= '9') {
    // Delta-seconds; a fraction is not in the RFC but some gateways send "1.5".
    double seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(seconds)) return std::nullopt;
    constexpr double kMaxSeconds = 7 * 86400.0;  // anything longer is not a retry hint worth waiting on
    return static_cast<int64_t>(std::llround(std::min(seconds, kMaxSeconds) * 1000));
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return std::max<int64_t>(0, *when * 1000 - now_ms);
}

std::string header_value(const net::Headers& headers, std::string_view lowercase_name) {
  auto it = headers.find(std::string(lowercase_name));
  return it == headers.end() ? std::string() : it->second;
}

// ---- upstream numbers -------------------------------------------------------------------------

int64_t saturate_to_int64(double value) {
  if (std::isnan(value)) return 0;
  // 2^63 is exactly representable; every double below it converts without overflow.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (value >= kTwo63) return std::numeric_limits<int64_t>::max();
  if (value < -kTwo63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(value);
}

int64_t json_to_int64(const Json& value, int64_t fallback) {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                          : static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) return saturate_to_int64(value.get<double>());
  return fallback;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t saturating_sub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// ---- option validation ------------------------------------------------------------------------

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buf, ptr);
}

bool Range::contains(double v) const {
  if (std::isnan(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string Range::text() const {
  return std::string(lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) + (hi_open ? ")" : "]");
}

std::optional<std::string> check_range(std::string_view field, std::optional<double> value, const Range& range,
                                       std::string_view provider) {
  if (!value || range.contains(*value)) return std::nullopt;
  return "options." + std::string(field) + ": must be in " + range.text() + " for " + std::string(provider);
}

std::optional<std::string> check_min(std::string_view field, std::optional<double> value, double min,
                                     std::string_view provider) {
  if (!value || *value >= min) return std::nullopt;
  return "options." + std::string(field) + ": must be at least " + format_number(min) + " for " + std::string(provider);
}

std::optional<std::string> reject_if_set(std::string_view field, bool is_set, std::string_view provider,
                                         std::string_view hint) {
  if (!is_set) return std::nullopt;
  std::string out = "options." + std::string(field) + ": not supported by " + std::string(provider);
  if (!hint.empty()) out += " (" + std::string(hint) + ")";
  return out;
}

std::optional<std::string> validate_messages(const std::vector<Message>& messages,
                                             const std::vector<std::string_view>& part_types, std::string_view provider,
                                             bool tools) {
  if (messages.empty()) return std::string("messages: must contain at least one message");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    const bool tool_message = m.role == "tool";
    const bool calls_tools = !m.tool_calls.is_null();
    if ((tool_message || calls_tools) && !tools) {
      std::string who = provider.empty() ? std::string("this provider") : std::string(provider);
      return where + (tool_message ? ".role: tool messages are not supported by " : ".tool_calls: not supported by ") +
             who;
    }
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && !tool_message)
      return where +
             (tools ? ".role: must be system, user, assistant or tool" : ".role: must be system, user or assistant");
    if (tool_message) {
      if (m.tool_call_id.empty()) return where + ".tool_call_id: required for a tool message";
      if (!m.content.is_string()) return where + ".content: must be a string (the tool's result)";
      continue;
    }
    if (calls_tools) {
      if (m.role != "assistant") return where + ".tool_calls: only assistant messages carry tool calls";
      if (!m.tool_calls.is_array() || m.tool_calls.empty()) return where + ".tool_calls: must be a non-empty array";
      for (size_t c = 0; c < m.tool_calls.size(); ++c) {
        const Json& call = m.tool_calls[c];
        const std::string cw = where + ".tool_calls[" + std::to_string(c) + "]";
        if (!call.is_object() || !call.contains("id") || !call["id"].is_string()) return cw + ".id: must be a string";
        if (call.value("type", "function") == "function") {
          auto fn = call.find("function");
          if (fn == call.end() || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
            return cw + ".function.name: must be a string";
          if (fn->contains("arguments") && !(*fn)["arguments"].is_string())
            return cw + ".function.arguments: must be a string (JSON text)";
        }
      }
      if (m.content.is_null()) continue;
    }
    if (m.content.is_string()) continue;
    if (!m.content.is_array() || m.content.empty())
      return where + ".content: must be a string or a non-empty array of parts";
    for (size_t p = 0; p < m.content.size(); ++p) {
      const Json& part = m.content[p];
      std::string pw = where + ".content[" + std::to_string(p) + "]";
      if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
        return pw + ": must be an object with a string `type`";
      std::string type = part["type"].get<std::string>();
      if (std::find(part_types.begin(), part_types.end(), type) == part_types.end()) {
        std::string allowed;
        for (auto t : part_types) allowed += (allowed.empty() ? "" : ", ") + std::string(t);
        return pw + ".type: must be one of " + allowed;
      }
      if (type == "text") {
        if (!part.contains("text") || !part["text"].is_string()) return pw + ".text: must be a string";
      } else {
        // image_url / video_url / file_url: {"<type>": {"url": "..."}}
        auto it = part.find(type);
        if (it == part.end() || !it->is_object() || !it->contains("url") || !(*it)["url"].is_string())
          return pw + "." + type + ".url: must be a string";
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_extra(const Json& extra, std::string_view key, ExtraType type) {
  auto it = extra.find(std::string(key));
  if (it == extra.end()) return std::nullopt;
  const Json& v = *it;
  const char* want = nullptr;
  switch (type) {
    case ExtraType::boolean:
      want = v.is_boolean() ? nullptr : "a boolean";
      break;
    case ExtraType::string:
      want = v.is_string() ? nullptr : "a string";
      break;
    case ExtraType::integer:
      want = v.is_number_integer() ? nullptr : "an integer";
      break;
    case ExtraType::number:
      want = v.is_number() ? nullptr : "a number";
      break;
    case ExtraType::object:
      want = v.is_object() ? nullptr : "an object";
      break;
    case ExtraType::any:
      break;
  }
  if (!want) return std::nullopt;
  return "options." + std::string(key) + ": must be " + want;
}

std::optional<double> extra_number(const Json& extra, std::string_view key) {
  auto it = extra.find(std::string(key));
  if (it == extra.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

void copy_extras(const Json& extra, Json& body, std::initializer_list<std::string_view> keys) {
  if (!extra.is_object()) return;
  for (auto key : keys) {
    auto it = extra.find(std::string(key));
    if (it != extra.end()) body[std::string(key)] = *it;
  }
}

// ---- request building -------------------------------------------------------------------------

std::string strip_image_data_prefix(std::string_view url) {
  constexpr std::string_view kScheme = "data:image/";
  constexpr std::string_view kMarker = ";base64,";
  if (url.substr(0, kScheme.size()) != kScheme) return std::string(url);
  auto pos = url.find(kMarker);
  if (pos == std::string_view::npos) return std::string(url);
  return std::string(url.substr(pos + kMarker.size()));
}

Json openai_messages(const std::vector<Message>& messages, const MessageStyle& style) {
  Json out = Json::array();
  for (const Message& m : messages) {
    Json content = m.content;
    if (content.is_array() && style.strip_image_data_prefix) {
      for (Json& part : content) {
        if (!part.is_object() || part.value("type", "") != "image_url") continue;
        auto it = part.find("image_url");
        if (it == part.end() || !it->is_object()) continue;
        auto url = it->find("url");
        if (url != it->end() && url->is_string()) *url = strip_image_data_prefix(url->get<std::string>());
      }
    }
    Json msg = {{"role", m.role}, {"content", std::move(content)}};
    if (!m.tool_calls.is_null()) msg["tool_calls"] = m.tool_calls;
    if (!m.tool_call_id.empty()) msg["tool_call_id"] = m.tool_call_id;
    out.push_back(std::move(msg));
  }
  return out;
}

std::string join_url(std::string_view base_url, std::string_view path) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  std::string out(base_url);
  if (!path.empty() && path.front() != '/') out += '/';
  out += path;
  return out;
}

net::TransferOptions transfer_options(const ProviderConfig& config) {
  net::TransferOptions o;
  o.ca_file = config.ca_file;
  o.ca_path = config.ca_path;
  o.proxy = config.proxy;
  o.verify_tls = !config.insecure;
  if (config.timeout_ms > 0) {
    o.connect_timeout_ms = std::min<int64_t>(o.connect_timeout_ms, config.timeout_ms);
    o.first_byte_timeout_ms = config.timeout_ms;
    o.idle_timeout_ms = config.timeout_ms;
  }
  return o;
}

net::Request json_post(const ProviderConfig& config, std::string url, const Json& body, bool stream) {
  net::Request r;
  r.method = "POST";
  r.url = std::move(url);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  // Client strings were validated UTF-8 by the JSON reader; replace rather than throw if one was not.
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.options = transfer_options(config);
  // The instance's extra_headers (validated single-line by the config) come last: a provider's own
  // headers are added after this and are not overridden.
  for (const auto& [name, value] : config.extra_headers) r.headers.emplace_back(name, value);
  return r;
}

namespace {

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Marks every byte of `text` that belongs to `form` whole or to a piece of it of kSecretPiece or more
// bytes (an excerpt cut inside a key, then followed by more text), and a shorter tail that starts
// `form` (a field cut at its very end inside a key).
constexpr size_t kSecretPiece = 6;

void mark_secret(const std::string& text, const std::string& form, std::vector<char>& mark) {
  if (form.empty()) return;
  for (size_t pos = text.find(form); pos != std::string::npos; pos = text.find(form, pos + 1))
    std::fill(mark.begin() + static_cast<ptrdiff_t>(pos), mark.begin() + static_cast<ptrdiff_t>(pos + form.size()), 1);
  if (form.size() > kSecretPiece && text.size() >= kSecretPiece) {
    // Every kSecretPiece-byte window of the secret, hashed once: linear in the text and the secret.
    std::unordered_set<std::string_view> pieces;
    for (size_t i = 0; i + kSecretPiece <= form.size(); ++i)
      pieces.insert(std::string_view(form).substr(i, kSecretPiece));
    const std::string_view t(text);
    for (size_t i = 0; i + kSecretPiece <= t.size(); ++i)
      if (pieces.count(t.substr(i, kSecretPiece)))
        std::fill(mark.begin() + static_cast<ptrdiff_t>(i), mark.begin() + static_cast<ptrdiff_t>(i + kSecretPiece), 1);
  }
  for (size_t n = std::min(std::min(form.size() - 1, kSecretPiece - 1), text.size()); n >= 4; --n) {
    if (text.compare(text.size() - n, n, form, 0, n) == 0) {
      std::fill(mark.end() - static_cast<ptrdiff_t>(n), mark.end(), 1);
      break;
    }
  }
}

}  // namespace

std::string redact_secrets(std::string text, const std::vector<std::string>& secrets) {
  std::vector<char> mark(text.size(), 0);
  bool any = false;
  for (const auto& s : secrets) {
    if (s.size() < 4) continue;
    any = true;
    mark_secret(text, s, mark);
    std::string encoded = percent_encode(s);
    if (encoded != s) mark_secret(text, encoded, mark);
  }
  if (!any || std::find(mark.begin(), mark.end(), 1) == mark.end()) return text;
  // Each run of marked bytes (a secret, pieces of one, secrets side by side) becomes one mark.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!mark[i]) {
      out += text[i++];
      continue;
    }
    out += "[redacted]";
    while (i < text.size() && mark[i]) ++i;
  }
  return out;
}

void redact_error(UpstreamError& error, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return;
  for (std::string* field : {&error.message, &error.upstream_message, &error.upstream_code, &error.request_id})
    *field = redact_secrets(std::move(*field), secrets);
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
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(raw[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(raw.substr(i, len));
      i += len - 1;
    } else {
      out += '?';
    }
  }
  return out;
}

}  // namespace glm
