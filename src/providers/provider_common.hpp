// Helpers shared by the provider implementations: HTTP status → error defaults, Retry-After,
// option-range validation with user-facing messages, OpenAI-style message JSON, request plumbing.
// Pure functions and plain data; no I/O, no threads. Loop thread (any thread, in fact).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/types.hpp"
#include "net/http_client.hpp"

namespace glm {

// ---- errors -----------------------------------------------------------------------------------

// The default kind for an HTTP error status: 401/403 auth, 429 rate_limit, 408 timeout,
// 400/404/405/409/413/415/422 invalid_request, 5xx server (also any other status).
ErrorKind error_kind_for_status(int status);
// 408, 429 and 5xx may be resent as they are; everything else would fail the same way again.
bool status_retryable(int status);

// What an error response said, pulled out of whichever envelope carried it (OpenAI `{"error":{..}}`,
// Zhipu's string codes, DashScope's top-level `code`/`message`, FastAPI's `detail`).
struct ErrorInfo {
  std::optional<int> http_status;  // the HTTP status, or a mid-stream `:HTTP_STATUS/NNN` comment
  bool mid_stream = false;         // arrived inside a stream that opened with 2xx
  std::string code;                // numbers are turned into their decimal text
  std::string message;
  std::string type;
  std::string request_id;
};

// Extracts ErrorInfo from a JSON error body (any of the envelopes above). Returns false when the
// value does not look like an error at all (no `error`, no `code`+`message`, no `detail`).
bool extract_error_info(const Json& body, ErrorInfo& info);

// A short phrase for a kind ("authentication failed", "rate limited", ...).
std::string_view error_kind_phrase(ErrorKind kind);

// "<provider>: <phrase>[: <upstream message>] (HTTP 429, code 1302)": the sentence a person reads.
std::string describe_upstream_error(std::string_view provider, const UpstreamError& error);

// Retry-After value: delta-seconds ("120", "1.5") or an HTTP-date (IMF-fixdate, RFC 850, asctime),
// relative to `now`. nullopt when unparsable; a date in the past gives 0.
std::optional<int64_t> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

// First value of a (lowercase) header name, or "".
std::string header_value(const net::Headers& headers, std::string_view lowercase_name);

// ---- upstream numbers -------------------------------------------------------------------------
// Upstream JSON numbers are untrusted: `"prompt_tokens": 1e19` or 18446744073709551615 must not be
// undefined behaviour (a float→int64 cast out of range) nor wrap. Values saturate at the int64 range.

// A double as int64: truncated toward zero, saturated to [INT64_MIN, INT64_MAX]; NaN → 0.
int64_t saturate_to_int64(double value);
// A JSON number as int64 (integers exactly, unsigned above INT64_MAX and floats saturated);
// `fallback` when `value` is not a number.
int64_t json_to_int64(const Json& value, int64_t fallback = 0);
// a + b and a - b, saturated instead of overflowing.
int64_t saturating_add(int64_t a, int64_t b);
int64_t saturating_sub(int64_t a, int64_t b);

// ---- option validation ------------------------------------------------------------------------

// Number formatting for messages: shortest round-trip form ("0.01", "2", "131072").
std::string format_number(double value);

struct Range {
  double lo;
  double hi;
  bool lo_open = false;  // (lo, ...
  bool hi_open = false;  // ..., hi)
  bool contains(double v) const;
  std::string text() const;  // "[0, 1]", "(0, 1]", "[0, 2)"
};

// nullopt when `value` is unset or inside `range`; else
// "options.<field>: must be in [0, 1] for <provider>".
std::optional<std::string> check_range(std::string_view field, std::optional<double> value, const Range& range,
                                       std::string_view provider);
// "options.<field>: must be at least <min> for <provider>" when set and below `min`.
std::optional<std::string> check_min(std::string_view field, std::optional<double> value, double min,
                                     std::string_view provider);
// "options.<field>: not supported by <provider>" when set.
std::optional<std::string> reject_if_set(std::string_view field, bool is_set, std::string_view provider,
                                         std::string_view hint = {});

// Checks the message list's shape: non-empty; role system|user|assistant; content a string or an array
// of objects whose `type` is in `part_types` and carries the matching field (`text` string,
// `image_url.url` string, ...). Message like "messages[2].content[0].type: must be one of text, image_url".
// With `tools`, also role tool (needs tool_call_id and string content) and assistant messages with
// `tool_calls` (content may be null); without, such messages are rejected naming `provider`:
// "messages[2].role: tool messages are not supported by dashscope".
std::optional<std::string> validate_messages(const std::vector<Message>& messages,
                                             const std::vector<std::string_view>& part_types,
                                             std::string_view provider = {}, bool tools = false);

// Type check for one ChatOptions::extra entry (pass-through option): "options.do_sample: must be a boolean".
enum class ExtraType { boolean, string, integer, number, object, any };
std::optional<std::string> check_extra(const Json& extra, std::string_view key, ExtraType type);

// The numeric value of ChatOptions::extra[key], if present and a number (for check_range).
std::optional<double> extra_number(const Json& extra, std::string_view key);

// ---- request building -------------------------------------------------------------------------

struct MessageStyle {
  // Zhipu wants bare base64 in image_url.url: drop a leading "data:image/...;base64," as its SDK does.
  bool strip_image_data_prefix = false;
};

// OpenAI-style `messages` array from normalised messages. String content stays a string; parts are
// copied (unknown keys inside a part are kept: the provider's validate() decided what is allowed).
Json openai_messages(const std::vector<Message>& messages, const MessageStyle& style);

// "data:image/png;base64,AAAA" → "AAAA"; anything else unchanged.
std::string strip_image_data_prefix(std::string_view url);

// Copies the listed ChatOptions::extra keys that are present into `body` (the provider's
// pass-through whitelist; other keys are not sent).
void copy_extras(const Json& extra, Json& body, std::initializer_list<std::string_view> keys);

// base_url + path without doubling or dropping the '/'.
std::string join_url(std::string_view base_url, std::string_view path);

// libcurl transfer options from a provider's config (TLS, proxy, timeouts).
net::TransferOptions transfer_options(const ProviderConfig& config);

// A JSON request carrying `body`: method POST, JSON content type, Accept by streaming or not.
net::Request json_post(const ProviderConfig& config, std::string url, const Json& body, bool stream);

// Replaces every occurrence of each secret (as is, and percent-encoded as it would appear in a URL or
// form body), and every piece of one of 6 bytes or more anywhere (an excerpt cut inside a key and
// followed by more text), and a tail of 4 or 5 bytes that starts one (a field cut at its end), with
// "[redacted]" (one mark per run). Secrets shorter than 4 bytes are ignored (they would match ordinary
// text). Applied to upstream text before it is logged or returned (server/upstream_error.hpp).
std::string redact_secrets(std::string text, const std::vector<std::string>& secrets);
// redact_secrets over every text field of an error (message, upstream message/code, request id).
void redact_error(UpstreamError& error, const std::vector<std::string>& secrets);

// A readable, bounded (200 bytes), valid-UTF-8 excerpt of a body that was not JSON (an HTML error
// page from a proxy, plain text from a local server), for error messages.
std::string body_excerpt(std::string_view raw);

}  // namespace glm
