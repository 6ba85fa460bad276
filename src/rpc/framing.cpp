#include "rpc/framing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace glm::rpc {
namespace {

constexpr size_t kMaxHeaderBlock = 8192;

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A line that can start a message: a header we know or a JSON value.
bool starts_message(std::string_view line) {
  return iequals_prefix(line, "content-length") || iequals_prefix(line, "content-type") ||
         (!line.empty() && (line[0] == '{' || line[0] == '['));
}

}  // namespace

FrameReader::FrameReader(OnFrame on_frame, OnError on_error, size_t max_message)
    : on_frame_(std::move(on_frame)), on_error_(std::move(on_error)), max_message_(max_message) {}

void FrameReader::fail(Framing framing, std::string message, State next) {
  buf_.clear();
  state_ = next;
  at_line_start_ = true;
  on_error_(FrameError{framing, std::move(message)});
}

// One state's step each (as clangd's readStandardMessage/readDelimitedMessage): consume what it can from
// the front of `in`, possibly change state_, and say whether to go on (false: wait for more input).
void FrameReader::feed(std::string_view in) {
  while (!in.empty()) {
    bool more = true;
    switch (state_) {
      case State::idle:
        more = feed_idle(in);
        break;
      case State::headers:
        feed_headers(in);
        break;
      case State::body:
        feed_body(in);
        break;
      case State::ndjson:
        feed_ndjson(in);
        break;
      case State::skip_bytes:
        feed_skip_bytes(in);
        break;
      case State::skip_line:
        more = feed_skip_line(in);
        break;
      case State::resync:
        more = feed_resync(in);
        break;
    }
    if (!more) return;
  }
}

bool FrameReader::feed_idle(std::string_view& in) {
  // Whitespace between messages (a trailing "\r\n", blank NDJSON lines) is not a message.
  size_t i = 0;
  while (i < in.size() && is_space(in[i])) ++i;
  in.remove_prefix(i);
  if (in.empty()) return false;
  state_ = (in[0] == '{' || in[0] == '[') ? State::ndjson : State::headers;
  return true;
}

void FrameReader::feed_headers(std::string_view& in) {
  // Look for the blank line ending the header block; accept "\n\n" from hand-typed input too.
  size_t old = buf_.size();
  size_t take = std::min(in.size(), kMaxHeaderBlock + 4 - std::min(old, kMaxHeaderBlock + 4));
  buf_.append(in.substr(0, take));
  size_t from = old >= 3 ? old - 3 : 0;
  size_t end = buf_.find("\r\n\r\n", from);
  size_t sep = 4;
  if (size_t lf = buf_.find("\n\n", from); lf != std::string::npos && lf < end) {
    end = lf;
    sep = 2;
  }
  if (end == std::string::npos) {
    in.remove_prefix(take);
    if (buf_.size() > kMaxHeaderBlock) fail(Framing::lsp, "header block longer than 8192 bytes", State::resync);
    return;
  }
  size_t consumed_from_in = end + sep - old;
  std::string block = buf_.substr(0, end);
  buf_.clear();
  in.remove_prefix(consumed_from_in);
  on_header_block(block);
}

void FrameReader::feed_body(std::string_view& in) {
  size_t want = body_len_ - buf_.size();
  size_t take = std::min(want, in.size());
  buf_.append(in.substr(0, take));
  in.remove_prefix(take);
  if (buf_.size() == body_len_) emit(Framing::lsp);
}

void FrameReader::feed_ndjson(std::string_view& in) {
  size_t nl = in.find('\n');
  size_t take = nl == std::string_view::npos ? in.size() : nl;
  if (buf_.size() + take > max_message_) {
    // Drop this line without storing it; keep discarding to its end.
    in.remove_prefix(take);
    fail(Framing::ndjson, "message longer than the " + std::to_string(max_message_) + "-byte limit",
         nl == std::string_view::npos ? State::skip_line : State::idle);
    return;
  }
  buf_.append(in.substr(0, take));
  in.remove_prefix(take);
  if (nl != std::string_view::npos) {
    in.remove_prefix(1);
    if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
    emit(Framing::ndjson);
  }
}

void FrameReader::feed_skip_bytes(std::string_view& in) {
  size_t take = static_cast<size_t>(std::min<uint64_t>(skip_left_, in.size()));
  skip_left_ -= take;
  in.remove_prefix(take);
  if (skip_left_ == 0) state_ = State::idle;
}

bool FrameReader::feed_skip_line(std::string_view& in) {
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return false;
  in.remove_prefix(nl + 1);
  state_ = State::idle;
  return true;
}

bool FrameReader::feed_resync(std::string_view& in) {
  // Discard line by line until a line that can start a message: a Content-Length/Content-Type
  // header or a JSON value. Only the first few bytes of a line are kept, to recognise it.
  if (!at_line_start_) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) return false;
    in.remove_prefix(nl + 1);
    at_line_start_ = true;
    return true;
  }
  while (!in.empty() && buf_.size() < 14 && in[0] != '\n') {
    buf_.push_back(in[0]);
    in.remove_prefix(1);
  }
  bool line_ended = !in.empty() && in[0] == '\n';
  std::string_view probe(buf_);
  if (probe.empty() || probe == "\r") {
    if (line_ended) {
      in.remove_prefix(1);
      buf_.clear();
    }
    return true;
  }
  // Whether the shorter of probe/word is a case-insensitive prefix of the other.
  auto may_be = [&](std::string_view word) {
    size_t n = std::min(probe.size(), word.size());
    return iequals_prefix(probe.substr(0, n), word.substr(0, n));
  };
  bool json = probe[0] == '{' || probe[0] == '[';
  if (json || starts_message(probe)) {
    std::string replay = std::move(buf_);
    buf_.clear();
    state_ = State::idle;
    feed(replay);
    return true;
  }
  bool undecided = (may_be("content-length") || may_be("content-type")) && !line_ended && buf_.size() < 14;
  if (undecided) return false;  // every byte of `in` is in buf_; wait for more
  buf_.clear();
  at_line_start_ = false;
  return true;
}

void FrameReader::emit(Framing framing) {
  Frame f{framing, std::move(buf_)};
  buf_.clear();
  state_ = State::idle;
  on_frame_(std::move(f));
}

void FrameReader::on_header_block(std::string_view block) {
  bool have_length = false;
  bool bad_length = false;
  uint64_t length = 0;
  std::string bad_value;
  while (!block.empty()) {
    size_t nl = block.find('\n');
    std::string_view line = trim(block.substr(0, nl));
    block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      fail(Framing::lsp, "malformed header line (no ':')", State::resync);
      return;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (name.size() == 14 && iequals_prefix(name, "content-length")) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      have_length = true;
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
        bad_length = true;
        bad_value = std::string(value.substr(0, 32));
      } else {
        length = v;
      }
    }
    // Content-Type and unknown headers are accepted and ignored (the body is always UTF-8 JSON).
  }
  if (!have_length) {
    fail(Framing::lsp, "missing Content-Length header", State::idle);
    return;
  }
  if (bad_length) {
    fail(Framing::lsp, "invalid Content-Length '" + bad_value + "'", State::resync);
    return;
  }
  if (length > max_message_) {
    // We know where the message ends: skip it without storing it.
    skip_left_ = length;
    fail(Framing::lsp,
         "Content-Length " + std::to_string(length) + " exceeds the " + std::to_string(max_message_) + "-byte limit",
         length ? State::skip_bytes : State::idle);
    return;
  }
  body_len_ = static_cast<size_t>(length);
  buf_.clear();
  buf_.reserve(body_len_);
  state_ = State::body;
  if (body_len_ == 0) {
    state_ = State::idle;
    on_frame_(Frame{Framing::lsp, std::string()});
  }
}

bool FrameReader::finish() {
  switch (state_) {
    case State::body:
      fail(Framing::lsp, "input ended " + std::to_string(body_len_ - buf_.size()) + " bytes short of Content-Length",
           State::idle);
      return false;
    case State::headers:
      if (!buf_.empty() && buf_.find_first_not_of(" \t\r\n") != std::string::npos) {
        fail(Framing::lsp, "input ended inside a header block", State::idle);
        return false;
      }
      return true;
    case State::ndjson:
      // A last line without '\n' is still a whole message for `printf '{...}' | glm-server`.
      if (!buf_.empty()) emit(Framing::ndjson);
      return true;
    default:
      return true;
  }
}

}  // namespace glm::rpc
