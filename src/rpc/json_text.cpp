#include "rpc/json_text.hpp"

#include <cstdint>

namespace glm::rpc {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid (overlongs,
// surrogates and code points above U+10FFFF are invalid, as in RFC 3629).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Bytes of an invalid sequence at s[i] replaced by one U+FFFD: the "maximal subpart" (a lead byte
// and the continuation bytes that could still have completed it), as WHATWG decoders and nlohmann do.
size_t invalid_run(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
  size_t k = 1;
  while (k < len && i + k < s.size()) {
    unsigned char b = byte(i + k);
    unsigned char lo = 0x80, hi = 0xBF;
    if (k == 1) {
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (b < lo || b > hi) break;
    ++k;
  }
  return k;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static const char* const hex = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes copied verbatim
  auto flush = [&](size_t i) { out.append(s.data() + run, i - run); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t len = utf8_sequence(s, i);
      if (len) {
        i += len;
        continue;
      }
      flush(i);
      out.append("\xEF\xBF\xBD");  // U+FFFD
      i += invalid_run(s, i);
      run = i;
      continue;
    }
    flush(i);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
    run = ++i;
  }
  flush(s.size());
  out.push_back('"');
}

std::string chat_delta_text(std::string_view id_text, int64_t seq, std::string_view content, std::string_view reasoning,
                            bool replace) {
  std::string msg;
  msg.reserve(96 + id_text.size() + content.size() + reasoning.size());
  msg.append(R"({"jsonrpc":"2.0","method":"chat/delta","params":{"id":)");
  msg.append(id_text);
  msg.append(R"(,"seq":)");
  msg.append(std::to_string(seq));
  if (replace) msg.append(R"(,"replace":true)");
  if (replace || !content.empty()) {
    msg.append(R"(,"content":)");
    append_json_string(msg, content);
  }
  if (replace || !reasoning.empty()) {
    msg.append(R"(,"reasoning":)");
    append_json_string(msg, reasoning);
  }
  msg.append("}}");
  return msg;
}

}  // namespace glm::rpc
