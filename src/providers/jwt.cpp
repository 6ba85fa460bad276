#include "providers/jwt.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

namespace glm {

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = bytes.size() - i; rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
  } else if (rest == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

Result<std::string> make_zhipu_jwt(std::string_view api_key, int64_t now_ms) {
  // The SDK insists on exactly one dot: "<id>.<secret>".
  auto dot = api_key.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == api_key.size() ||
      api_key.find('.', dot + 1) != std::string_view::npos) {
    UpstreamError e;
    e.kind = ErrorKind::auth;
    e.message = "zhipu: auth \"jwt\" needs an API key of the form <id>.<secret>";
    return e;
  }
  std::string id(api_key.substr(0, dot));
  std::string_view secret = api_key.substr(dot + 1);
  // Key order and spacing are the SDK's bytes (PyJWT sorts header keys); the payload's keys are
  // already sorted in nlohmann's object.
  static constexpr std::string_view kHeader = R"({"alg":"HS256","sign_type":"SIGN","typ":"JWT"})";
  Json payload = {{"api_key", id}, {"exp", now_ms + 210000}, {"timestamp", now_ms}};
  std::string signing_input = base64url(kHeader) + "." + base64url(payload.dump());
  return signing_input + "." + base64url(hmac_sha256(secret, signing_input));
}

ZhipuJwtCache::ZhipuJwtCache(Clock clock) : clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

Result<std::string> ZhipuJwtCache::token(std::string_view api_key) {
  int64_t now = clock_();
  // A clock that went backwards also means a fresh token: the cached one's window is unknown.
  if (!token_.empty() && key_ == api_key && now >= issued_ms_ && now - issued_ms_ < kReuseMs) return token_;
  auto made = make_zhipu_jwt(api_key, now);
  if (!made) return made;
  key_ = std::string(api_key);
  retire();
  token_ = made.value();
  issued_ms_ = now;
  return token_;
}

void ZhipuJwtCache::retire() {
  if (token_.empty()) return;
  if (previous_.size() == kKeepPrevious) previous_.erase(previous_.begin());
  previous_.push_back(token_);
}

void ZhipuJwtCache::invalidate() {
  retire();
  token_.clear();
  key_.clear();
  issued_ms_ = 0;
}

}  // namespace glm
