#include "providers/bce_auth.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

namespace glm::bce {
namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    bool literal = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '~' ||
                   c == '-' || c == '_' || (keep_slash && c == '/');
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

Signature sign(const SignInput& in) {
  Signature s;
  const std::string prefix =
      "bce-auth-v1/" + in.access_key + "/" + in.timestamp + "/" + std::to_string(in.expiration_seconds);
  s.signing_key = hmac_sha256_hex(in.secret_key, prefix);

  std::vector<std::string> query;
  for (const auto& [k, v] : in.query) {
    if (lower(k) == "authorization") continue;
    query.push_back(uri_encode(k) + "=" + uri_encode(v));
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& q : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += q;
  }

  std::vector<std::string> header_lines, names;
  for (const auto& [k, v] : in.headers) {
    const std::string name = lower(trim(k));
    header_lines.push_back(uri_encode(name) + ":" + uri_encode(trim(v)));
    names.push_back(name);
  }
  std::sort(header_lines.begin(), header_lines.end());
  std::sort(names.begin(), names.end());
  std::string canonical_headers;
  for (const auto& line : header_lines) {
    if (!canonical_headers.empty()) canonical_headers += '\n';
    canonical_headers += line;
  }
  for (const auto& name : names) {
    if (!s.signed_headers.empty()) s.signed_headers += ';';
    s.signed_headers += name;
  }

  std::string path = in.path.empty() ? "/" : in.path;
  s.canonical_request = in.method + "\n" + uri_encode(path, true) + "\n" + canonical_query + "\n" + canonical_headers;
  s.signature = hmac_sha256_hex(s.signing_key, s.canonical_request);
  s.authorization = prefix + "/" + s.signed_headers + "/" + s.signature;
  return s;
}

}  // namespace glm::bce
