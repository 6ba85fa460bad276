// Shared helpers for the libFuzzer targets (CONTRIBUTING.md, "Fuzzing"): deterministic chunking of one input,
// the recorded-response format of tests/fixtures, and a process sandbox that forbids exec.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.hpp"

namespace glm::fuzz {

// Stops the process with a message; libFuzzer reports it as a crash and keeps the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

// Chunk boundaries derived from the input itself, so a crash reproduces from the input file alone.
// Mostly small pieces (1-64 bytes: splits inside UTF-8, CRLF, headers), sometimes large ones.
inline std::vector<std::string_view> chunks_of(std::string_view data) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the input seeds a xorshift generator
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < data.size()) {
    h ^= h << 13;
    h ^= h >> 7;
    h ^= h << 17;
    size_t len = (h & 7) == 0 ? 1 + (h >> 8) % 4096 : 1 + (h >> 8) % 64;
    len = std::min(len, data.size() - pos);
    out.push_back(data.substr(pos, len));
    pos += len;
  }
  return out;
}

// True when `s` is well-formed UTF-8.
inline bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char b = p[i];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (size_t k = 1; k <= need; ++k) {
      if (i + k >= n || p[i + k] < lo || p[i + k] > hi) return false;
      lo = 0x80;
      hi = 0xBF;
    }
    i += need + 1;
  }
  return true;
}

// A recorded HTTP response (tests/fixtures/*.http): "HTTP/1.1 <status> ..." line, header lines, a
// blank line, the body. Lenient, since the fuzzer mutates it: without a status line the whole input
// is a 200 body; a header line without ':' is skipped; a missing blank line leaves the body empty.
struct Response {
  int status = 200;
  net::Headers headers;
  std::string_view body;
};

inline Response parse_response(std::string_view text) {
  Response r;
  if (text.substr(0, 5) != "HTTP/") {
    r.body = text;
    return r;
  }
  size_t eol = text.find('\n');
  if (eol == std::string_view::npos) return r;
  std::string_view status_line = text.substr(0, eol);
  if (size_t sp = status_line.find(' '); sp != std::string_view::npos) {
    int status = 0;
    size_t i = sp + 1;
    for (int digits = 0;
         i < status_line.size() && digits < 3 && std::isdigit(static_cast<unsigned char>(status_line[i]));
         ++i, ++digits)
      status = status * 10 + (status_line[i] - '0');
    if (status >= 100) r.status = status;
  }
  size_t pos = eol + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return r;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      r.body = text.substr(pos);
      return r;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace(std::move(name), std::string(value));
  }
  return r;
}

// Forbids execve/execveat for the rest of the process (seccomp, EPERM): fuzzer-made configs may name
// an `api_key_cmd`, and no input may run a program on the machine doing the fuzzing.
inline void forbid_exec() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    std::perror("fuzz: cannot install the no-exec seccomp filter");
    std::exit(1);
  }
}

}  // namespace glm::fuzz
