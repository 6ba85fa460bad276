// Baidu Cloud "bce-auth-v1" request signing with an IAM Access Key / Secret Key
// (Baidu Cloud's "Generating an authentication string" spec; its published test vector is in
// tests/unit/test_providers_qianfan.cpp).
// Pure functions (HMAC-SHA256 via OpenSSL); safe on any thread. Secrets go in, only the signature and
// the Authorization value come out; nothing is logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glm::bce {

// RFC 3986 percent-encoding as the BCE SDKs do it: only A-Z a-z 0-9 . ~ - _ stay literal, uppercase hex.
// With keep_slash, '/' stays literal too (the canonical URI).
std::string uri_encode(std::string_view text, bool keep_slash = false);

// "YYYY-MM-DDTHH:MM:SSZ" in UTC: the x-bce-date header and the auth string's timestamp.
std::string utc_timestamp(std::chrono::system_clock::time_point when);

struct SignInput {
  std::string access_key;
  std::string secret_key;
  std::string method;  // "POST"
  std::string path;    // "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/chatglm2_6b_32k" (not yet encoded)
  std::vector<std::pair<std::string, std::string>> query;    // decoded name, value
  std::vector<std::pair<std::string, std::string>> headers;  // the headers to sign (name, value)
  std::string timestamp;                                     // utc_timestamp(); also sent as x-bce-date
  int64_t expiration_seconds = 1800;
};

struct Signature {
  std::string signing_key;  // lowercase hex
  std::string canonical_request;
  std::string signed_headers;  // "host;x-bce-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header value
};

Signature sign(const SignInput& input);

// Lowercase hex HMAC-SHA256.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace glm::bce
