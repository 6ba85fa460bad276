// Decodes JSON-RPC messages, dispatches them to handlers and guarantees one reply per request.
// Loop thread only (handlers run on it; replies may be sent later, from the same thread).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "rpc/framing.hpp"
#include "rpc/message.hpp"

namespace glm::rpc {

// Sends one serialised JSON message in the given framing (the transport's write queue).
using SendFn = std::function<void(Framing, std::string&& message)>;

class BatchCollector;

// The right (and duty) to answer one request. Move-only. Answering twice is ignored (and logged);
// destroying it unanswered logs an error and answers -32603, so a client never waits forever.
class Reply {
 public:
  Reply() = default;
  Reply(Json id, Framing framing, SendFn send, std::shared_ptr<BatchCollector> batch);
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&&) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void result(Json value);
  void error(int code, const std::string& message, const Json& data = nullptr);
  bool answered() const { return !state_; }
  const Json& id() const;
  Framing framing() const;
  // Sends a notification in this request's framing (e.g. chat/delta), outside any batch reply.
  void notify(const std::string& method, Json params) const;
  // The same with a message already serialised (the streaming hot path builds its text directly).
  void notify_serialized(std::string&& message) const;

 private:
  struct State {
    Json id;
    Framing framing;
    SendFn send;
    std::shared_ptr<BatchCollector> batch;
  };
  void finish(Json message);
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
  // Called for any request whose method has no handler before the "method not found" reply;
  // returning true means it was handled (used to reject everything after shutdown).
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
  void dispatch_one(const Json& message, Framing framing, const std::shared_ptr<BatchCollector>& batch);

  SendFn send_;
  std::unordered_map<std::string, RequestHandler> requests_;
  std::unordered_map<std::string, NotificationHandler> notifications_;
  std::function<bool(const std::string&, Reply&)> gate_;
  size_t max_depth_ = kDefaultMaxDepth;
  std::function<void(const Json&)> response_handler_;
};

// In-flight requests that can be cancelled, keyed by their id exactly (1 and "1" differ).
// The cancel function answers the request (-32800) and stops its work.
class CancelMap {
 public:
  void add(const Json& id, std::function<void()> cancel);
  void remove(const Json& id);
  bool cancel(const Json& id);  // false if unknown (already answered or never existed)
  void cancel_all();
  size_t size() const { return map_.size(); }

 private:
  static std::string key(const Json& id);
  std::map<std::string, std::function<void()>> map_;
};

}  // namespace glm::rpc
