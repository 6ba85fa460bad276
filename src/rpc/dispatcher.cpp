#include "rpc/dispatcher.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

#include "rpc/json_scan.hpp"
#include "rpc/json_text.hpp"

namespace glm::rpc {

// Collects the replies of one batch and sends them as one array once the last request is answered.
class BatchCollector {
 public:
  BatchCollector(Framing framing, SendFn send) : framing_(framing), send_(std::move(send)) {}
  void expect() { ++pending_; }
  void add(std::string reply) {
    if (!replies_.empty()) replies_ += ',';
    replies_ += reply;
    done_one();
  }
  void done_one() {
    if (--pending_ == 0 && sealed_) flush();
  }
  // All members are dispatched; flush now if every reply is already in.
  void seal() {
    sealed_ = true;
    if (pending_ == 0) flush();
  }

 private:
  void flush() {
    if (!replies_.empty()) send_(framing_, '[' + replies_ + ']');
    replies_.clear();
  }
  Framing framing_;
  SendFn send_;
  std::string replies_;  // the replies so far, comma-separated
  int pending_ = 0;
  bool sealed_ = false;
};

Reply::Reply(Json id, Framing framing, SendFn send, std::shared_ptr<BatchCollector> batch, std::string id_text)
    : state_(std::make_unique<State>(
          State{std::move(id), std::move(id_text), framing, std::move(send), std::move(batch)})) {
  if (state_->id_text.empty()) state_->id_text = to_wire(state_->id);
  if (state_->batch) state_->batch->expect();
}

Reply& Reply::operator=(Reply&& other) noexcept {
  if (this != &other) {
    if (state_) error(code::internal_error, "internal error: request was dropped without a reply");
    state_ = std::move(other.state_);
  }
  return *this;
}

Reply::~Reply() {
  if (state_) {
    spdlog::error("request {} was dropped without a reply", state_->id_text);
    error(code::internal_error, "internal error: request was dropped without a reply");
  }
}

const Json& Reply::id() const {
  static const Json null_id;
  return state_ ? state_->id : null_id;
}

const std::string& Reply::id_text() const {
  static const std::string null_text = "null";
  return state_ ? state_->id_text : null_text;
}

Framing Reply::framing() const { return state_ ? state_->framing : Framing::lsp; }

void Reply::finish(std::string message) {
  auto state = std::move(state_);
  if (state->batch)
    state->batch->add(std::move(message));
  else
    state->send(state->framing, std::move(message));
}

void Reply::result(Json value) {
  if (!state_) {
    spdlog::error("a request was answered twice; the second answer was dropped");
    return;
  }
  finish(response_text(state_->id_text, value));
}

void Reply::error(int code, const std::string& message, const Json& data) {
  if (!state_) {
    spdlog::error("a request was answered twice; the second answer was dropped");
    return;
  }
  finish(error_text(state_->id_text, code, message, data));
}

void Reply::notify(const std::string& method, Json params) const {
  if (state_) state_->send(state_->framing, to_wire(make_notification(method, std::move(params))));
}

void Reply::notify_serialized(std::string&& message) const {
  if (state_) state_->send(state_->framing, std::move(message));
}

Dispatcher::Dispatcher(SendFn send) : send_(std::move(send)) {}

void Dispatcher::on_request(const std::string& method, RequestHandler handler) {
  requests_[method] = std::move(handler);
}

void Dispatcher::on_notification(const std::string& method, NotificationHandler handler) {
  notifications_[method] = std::move(handler);
}

void Dispatcher::set_request_gate(std::function<bool(const std::string&, Reply&)> gate) { gate_ = std::move(gate); }

void Dispatcher::set_response_handler(std::function<void(const Json&)> handler) {
  response_handler_ = std::move(handler);
}

void Dispatcher::framing_error(const FrameError& error) {
  spdlog::warn("framing error: {}", error.message);
  send_(error.framing, to_wire(make_error(nullptr, code::parse_error, "Parse error: " + error.message)));
}

void Dispatcher::reject_unparsable(const Frame& frame, const std::string& why) {
  send_(frame.framing, to_wire(make_error(nullptr, code::parse_error, "Parse error: " + why)));
}

void Dispatcher::dispatch(Frame&& frame) {
  // The DOM is copied and serialised recursively: refuse deep nesting before building it.
  if (nesting_exceeds(frame.body, max_depth_))
    return reject_unparsable(frame, "arrays/objects nested deeper than " + std::to_string(max_depth_) +
                                        " levels (the max_json_depth limit)");
  Json message;
  try {
    message = Json::parse(frame.body);
  } catch (const std::exception& e) {
    // nlohmann's message says where and why (ill-formed UTF-8, or out_of_range.406 for a number too
    // large for a double, e.g. 1e400); the body is not echoed. Nothing thrown here may end the process.
    return reject_unparsable(frame, e.what());
  }
  if (message.is_array()) {
    if (message.empty()) {
      send_(frame.framing, to_wire(make_error(nullptr, code::invalid_request, "Invalid Request: empty batch")));
      return;
    }
    auto batch = std::make_shared<BatchCollector>(frame.framing, send_);
    batch->expect();  // held until every member is dispatched
    for (size_t i = 0; i < message.size(); ++i)
      dispatch_one(message[i], MessageText{frame.body, i}, frame.framing, batch);
    batch->seal();
    batch->done_one();
    return;
  }
  dispatch_one(message, MessageText{frame.body, std::nullopt}, frame.framing, nullptr);
}

std::string Dispatcher::id_text(const Json& id, const MessageText& text) {
  // Integers are serialised back exactly as written, except -0; a number nlohmann holds as a double
  // (1E2, 0.5, 30 digits) may not be: take those from the message text.
  if (id.is_number_float() || (id.is_number_integer() && id == 0)) {
    if (auto raw = member_text(text.body, text.element, "id")) return std::string(*raw);
  }
  return to_wire(id);
}

void Dispatcher::dispatch_one(const Json& m, const MessageText& text, Framing framing,
                              const std::shared_ptr<BatchCollector>& batch) {
  std::string id_str = "null";
  auto invalid = [&](const std::string& why) {
    std::string reply = error_text(id_str, code::invalid_request, "Invalid Request: " + why);
    if (batch) {
      batch->expect();
      batch->add(std::move(reply));
    } else {
      send_(framing, std::move(reply));
    }
  };
  if (!m.is_object()) return invalid("a message must be a JSON object");
  Json id = nullptr;
  bool has_id = m.contains("id");
  if (has_id) {
    id = m["id"];
    if (!(id.is_string() || id.is_number() || id.is_null())) return invalid("id must be a string, number or null");
    id_str = id_text(id, text);
  }
  auto jsonrpc = m.find("jsonrpc");
  if (jsonrpc == m.end() || *jsonrpc != "2.0") return invalid("\"jsonrpc\" must be \"2.0\"");
  auto method_it = m.find("method");
  if (method_it == m.end() && has_id && response_handler_ && (m.contains("result") || m.contains("error"))) {
    try {
      response_handler_(m);
    } catch (const std::exception& e) {
      spdlog::warn("response {} failed: {}", to_wire(id), e.what());
    }
    return;
  }
  if (method_it == m.end() || !method_it->is_string()) {
    // A response from the client with no response handler set (only LSP mode sends requests to the
    // client): not a valid request.
    return invalid("missing \"method\" string");
  }
  const std::string method = method_it->get<std::string>();
  // Absent or null params are "no params" (several LSP clients send `params: null` for shutdown).
  Json params = m.contains("params") && !m["params"].is_null() ? m["params"] : Json::object();
  if (!(params.is_object() || params.is_array())) return invalid("params must be an object or array");

  if (!has_id) {  // notification: never answered, errors only logged
    auto h = notifications_.find(method);
    if (h == notifications_.end()) {
      if (method.rfind("$/", 0) != 0) spdlog::warn("unknown notification '{}' ignored", method);
      return;
    }
    try {
      h->second(params);
    } catch (const std::exception& e) {
      spdlog::warn("notification '{}' failed: {}", method, e.what());
    }
    return;
  }

  Reply reply(id, framing, send_, batch, std::move(id_str));
  if (gate_ && gate_(method, reply)) return;
  auto h = requests_.find(method);
  if (h == requests_.end()) {
    reply.error(code::method_not_found, "Method not found: '" + method + "'");
    return;
  }
  try {
    h->second(params, reply);
  } catch (const RpcError& e) {
    // The handler threw before taking ownership of the reply (moved-from replies are empty).
    if (!reply.answered())
      reply.error(e.code, e.what(), e.data);
    else
      spdlog::error("handler for '{}' threw after taking its reply: {}", method, e.what());
  } catch (const std::exception& e) {
    spdlog::error("handler for '{}' failed: {}", method, e.what());
    if (!reply.answered()) reply.error(code::internal_error, std::string("Internal error: ") + e.what());
  }
}

std::string CancelMap::key(const Json& id) {
  // Numbers by value: 100, 100.0 and 1E2 name the same request.
  if (id.is_number_float()) {
    const double d = id.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) return std::to_string(static_cast<int64_t>(d));
  }
  return to_wire(id);
}

CancelMap::Cookie CancelMap::add(const Json& id, std::function<void()> cancel) {
  const uint64_t cookie = next_++;
  std::string k = key(id);
  by_id_.emplace(k, cookie);
  entries_.emplace(cookie, Entry{std::move(k), std::move(cancel)});
  return Cookie{cookie};
}

void CancelMap::remove(Cookie cookie) {
  auto it = entries_.find(cookie.value);
  if (it == entries_.end()) return;
  auto [first, last] = by_id_.equal_range(it->second.key);
  for (auto i = first; i != last; ++i) {
    if (i->second == cookie.value) {
      by_id_.erase(i);
      break;
    }
  }
  entries_.erase(it);
}

size_t CancelMap::cancel(const Json& id) {
  // Collect first: a cancel function ends its request, which removes its entry (and may add others).
  std::vector<std::function<void()>> doomed;
  auto [first, last] = by_id_.equal_range(key(id));
  for (auto i = first; i != last; ++i) {
    auto e = entries_.find(i->second);
    if (e != entries_.end()) {
      doomed.push_back(std::move(e->second.cancel));
      entries_.erase(e);
    }
  }
  by_id_.erase(first, last);
  for (auto& fn : doomed) fn();
  return doomed.size();
}

void CancelMap::cancel_all() {
  auto all = std::move(entries_);
  entries_.clear();
  by_id_.clear();
  for (auto& [cookie, e] : all) e.cancel();
}

}  // namespace glm::rpc
