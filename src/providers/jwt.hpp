// Zhipu's self-signed JWT (docs/providers.md, "zhipu", `auth`): HS256 over a header/payload whose times are in
// *milliseconds*, as the vendor's SDKs make it. Only used when a provider is configured with
// `"auth": "jwt"`; the default is the raw key. Loop thread only (ZhipuJwtCache is not thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace glm {

// Base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view bytes);

// HMAC-SHA256(key, message) as raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

// The token for `api_key` ("<id>.<secret>") issued at `now_ms`, valid until now_ms + 210000, exactly as
// the Python SDK builds it: header bytes {"alg":"HS256","sign_type":"SIGN","typ":"JWT"}, payload
// {"api_key":"<id>","exp":<ms>,"timestamp":<ms>}. Error (kind auth) when the key is not <id>.<secret>.
Result<std::string> make_zhipu_jwt(std::string_view api_key, int64_t now_ms);

// Caches the token and makes a new one before the old one expires: tokens live 210 s and are reused
// for at most 180 s (the SDK's cache time), so a token never reaches the server with < 30 s left.
class ZhipuJwtCache {
 public:
  using Clock = std::function<int64_t()>;  // unix time in ms
  static constexpr int64_t kReuseMs = 180000;

  explicit ZhipuJwtCache(Clock clock = {});
  Result<std::string> token(std::string_view api_key);
  void invalidate();
  const std::string& current() const { return token_; }  // the cached token ("" when none)
  // The tokens made before it (the last kKeepPrevious, oldest first): requests sent with them may still
  // be answered (and their errors echo them) after the cache was invalidated or renewed — n concurrent
  // completion requests may each refresh once — so they are redacted too.
  static constexpr size_t kKeepPrevious = 8;
  const std::vector<std::string>& previous() const { return previous_; }

 private:
  Clock clock_;
  std::string key_;
  std::string token_;
  std::vector<std::string> previous_;
  void retire();  // moves token_ to previous_
  int64_t issued_ms_ = 0;
};

}  // namespace glm
