// Decodes JSON-RPC messages, dispatches them to handlers and guarantees one reply per request.
// Loop thread only (handlers run on it; replies may be sent later, from the same thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rpc/framing.hpp"
#include "rpc/message.hpp"

namespace glm::rpc {

// Sends one serialised JSON message in the given framing (the transport's write queue).
using SendFn = std::function<void(Framing, std::string&& message)>;

class BatchCollector;

// The right (and duty) to answer one request. Move-only. Answering twice is ignored (and logged);
// destroying it unanswered logs an error and answers -32603, so a client never waits forever.
// Replies carry the request's id as the client wrote it (`1E2` stays `1E2`, a 30-digit integer keeps
// its digits): the text is spliced into the reply, never re-serialised from a double.
class Reply {
 public:
  Reply() = default;
  // `id_text` is the id's JSON text as received; empty means to_wire(id).
  Reply(Json id, Framing framing, SendFn send, std::shared_ptr<BatchCollector> batch, std::string id_text = {});
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&&) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void result(Json value);
  void error(int code, const std::string& message, const Json& data = nullptr);
  bool answered() const { return !state_; }
  const Json& id() const;
  // The id's JSON text exactly as the client sent it (for replies and notifications built as text).
  const std::string& id_text() const;
  Framing framing() const;
  // Sends a notification in this request's framing (e.g. chat/delta), outside any batch reply.
  void notify(const std::string& method, Json params) const;
  // The same with a message already serialised (the streaming hot path builds its text directly).
  void notify_serialized(std::string&& message) const;

 private:
  struct State {
    Json id;
    std::string id_text;
    Framing framing;
    SendFn send;
    std::shared_ptr<BatchCollector> batch;
  };
  void finish(std::string message);
  std::unique_ptr<State> state_;
};

class Dispatcher {
 public:
  // A handler answers through `reply` now, or moves it out to answer later; if it throws without
  // having moved it, the exception becomes the error reply.
  using RequestHandler = std::function<void(const Json& params, Reply& reply)>;
  using NotificationHandler = std::function<void(const Json& params)>;

  explicit Dispatcher(SendFn send);

  void on_request(const std::string& method, RequestHandler handler);
  void on_notification(const std::string& method, NotificationHandler handler);
  // Called for every request, before its handler is looked up; returning true means the gate answered
  // it and no handler runs (the server rejects every request after `shutdown` this way).
  void set_request_gate(std::function<bool(const std::string& method, Reply& reply)> gate);
  // Responses from the client to requests the server sent it (LSP mode sends window/* and workspace/*
  // requests): a message with an id, no method and a result or error goes here instead of being
  // rejected as an invalid request. Without a handler they stay invalid requests.
  void set_response_handler(std::function<void(const Json& response)> handler);

  // One framed message from the client.
  void dispatch(Frame&& frame);
  // A framing error: reported to the client as a parse error with id null.
  void framing_error(const FrameError& error);
  // Messages nesting arrays/objects deeper than this are refused (-32700) before they are parsed.
  void set_max_depth(size_t depth) { max_depth_ = depth; }
  static constexpr size_t kDefaultMaxDepth = 512;

 private:
  // Where a message's text is: the whole frame, or one element of a batch array.
  struct MessageText {
    std::string_view body;
    std::optional<size_t> element;
  };
  void dispatch_one(const Json& message, const MessageText& text, Framing framing,
                    const std::shared_ptr<BatchCollector>& batch);
  void reject_unparsable(const Frame& frame, const std::string& why);
  static std::string id_text(const Json& id, const MessageText& text);

  SendFn send_;
  std::unordered_map<std::string, RequestHandler> requests_;
  std::unordered_map<std::string, NotificationHandler> notifications_;
  std::function<bool(const std::string&, Reply&)> gate_;
  size_t max_depth_ = kDefaultMaxDepth;
  std::function<void(const Json&)> response_handler_;
};

// In-flight requests that can be cancelled. Each registration gets its own cookie (as clangd does), so
// two requests that reuse one id are two entries: each is removed by its own cookie when it ends, and
// `$/cancelRequest` with that id cancels both. Ids compare as JSON values: 1 and "1" differ; the numbers
// 100, 100.0 and 1E2 are the same. The cancel function answers the request (-32800) and stops its work.
class CancelMap {
 public:
  struct Cookie {
    uint64_t value = 0;
  };
  Cookie add(const Json& id, std::function<void()> cancel);
  void remove(Cookie cookie);
  void remove(const Json& id) = delete;  // ambiguous when an id is reused: keep the cookie instead
  // Cancels every in-flight request with this id; returns how many (0: already answered or unknown).
  size_t cancel(const Json& id);
  void cancel_all();
  size_t size() const { return entries_.size(); }

 private:
  static std::string key(const Json& id);
  struct Entry {
    std::string key;
    std::function<void()> cancel;
  };
  std::map<uint64_t, Entry> entries_;  // by cookie, in registration order
  std::multimap<std::string, uint64_t> by_id_;
  uint64_t next_ = 1;
};

}  // namespace glm::rpc
