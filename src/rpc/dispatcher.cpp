#include "rpc/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "rpc/json_scan.hpp"

namespace glm::rpc {

// Collects the replies of one batch and sends them as one array once the last request is answered.
class BatchCollector {
 public:
  BatchCollector(Framing framing, SendFn send) : framing_(framing), send_(std::move(send)) {}
  void expect() { ++pending_; }
  void add(Json reply) {
    replies_.push_back(std::move(reply));
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
    if (!replies_.empty()) send_(framing_, to_wire(Json(std::move(replies_))));
    replies_.clear();
  }
  Framing framing_;
  SendFn send_;
  Json::array_t replies_;
  int pending_ = 0;
  bool sealed_ = false;
};

Reply::Reply(Json id, Framing framing, SendFn send, std::shared_ptr<BatchCollector> batch)
    : state_(std::make_unique<State>(State{std::move(id), framing, std::move(send), std::move(batch)})) {
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
    spdlog::error("request {} was dropped without a reply", to_wire(state_->id));
    error(code::internal_error, "internal error: request was dropped without a reply");
  }
}

const Json& Reply::id() const {
  static const Json null_id;
  return state_ ? state_->id : null_id;
}

Framing Reply::framing() const { return state_ ? state_->framing : Framing::lsp; }

void Reply::finish(Json message) {
  if (!state_) {
    spdlog::error("a request was answered twice; the second answer was dropped");
    return;
  }
  auto state = std::move(state_);
  if (state->batch)
    state->batch->add(std::move(message));
  else
    state->send(state->framing, to_wire(message));
}

void Reply::result(Json value) {
  if (!state_) return finish(nullptr);
  Json id = state_->id;
  finish(make_response(id, std::move(value)));
}

void Reply::error(int code, const std::string& message, const Json& data) {
  if (!state_) return finish(nullptr);
  Json id = state_->id;
  finish(make_error(id, code, message, data));
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

void Dispatcher::set_request_gate(std::function<bool(const std::string&, Reply&)> gate) {
  gate_ = std::move(gate);
}

void Dispatcher::set_response_handler(std::function<void(const Json&)> handler) {
  response_handler_ = std::move(handler);
}

void Dispatcher::framing_error(const FrameError& error) {
  spdlog::warn("framing error: {}", error.message);
  send_(error.framing, to_wire(make_error(nullptr, code::parse_error, "Parse error: " + error.message)));
}

void Dispatcher::dispatch(Frame&& frame) {
  auto parse_error = [&](const std::string& why) {
    send_(frame.framing, to_wire(make_error(nullptr, code::parse_error, "Parse error: " + why)));
  };
  // The DOM is copied and serialised recursively: refuse deep nesting before building it.
  if (nesting_exceeds(frame.body, max_depth_))
    return parse_error("arrays/objects nested deeper than " + std::to_string(max_depth_) +
                       " levels (the max_json_depth limit)");
  Json message;
  try {
    message = Json::parse(frame.body);
  } catch (const std::exception& e) {
    // nlohmann's message says where and why (ill-formed UTF-8, or out_of_range.406 for a number too
    // large for a double, e.g. 1e400); the body is not echoed. Nothing thrown here may end the process.
    return parse_error(e.what());
  }
  if (message.is_array()) {
    if (message.empty()) {
      send_(frame.framing, to_wire(make_error(nullptr, code::invalid_request, "Invalid Request: empty batch")));
      return;
    }
    auto batch = std::make_shared<BatchCollector>(frame.framing, send_);
    batch->expect();  // held until every member is dispatched
    for (const auto& m : message) dispatch_one(m, frame.framing, batch);
    batch->seal();
    batch->done_one();
    return;
  }
  dispatch_one(message, frame.framing, nullptr);
}

void Dispatcher::dispatch_one(const Json& m, Framing framing, const std::shared_ptr<BatchCollector>& batch) {
  auto invalid = [&](const Json& id, const std::string& why) {
    Json reply = make_error(id, code::invalid_request, "Invalid Request: " + why);
    if (batch) {
      batch->expect();
      batch->add(std::move(reply));
    } else {
      send_(framing, to_wire(reply));
    }
  };
  if (!m.is_object()) return invalid(nullptr, "a message must be a JSON object");
  Json id = nullptr;
  bool has_id = m.contains("id");
  if (has_id) {
    id = m["id"];
    if (!(id.is_string() || id.is_number() || id.is_null())) return invalid(nullptr, "id must be a string, number or null");
  }
  auto jsonrpc = m.find("jsonrpc");
  if (jsonrpc == m.end() || *jsonrpc != "2.0") return invalid(id, "\"jsonrpc\" must be \"2.0\"");
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
    // A response object from the client (we never send requests): not a request.
    return invalid(id, "missing \"method\" string");
  }
  const std::string method = method_it->get<std::string>();
  // Absent or null params are "no params" (several LSP clients send `params: null` for shutdown).
  Json params = m.contains("params") && !m["params"].is_null() ? m["params"] : Json::object();
  if (!(params.is_object() || params.is_array())) return invalid(id, "params must be an object or array");

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

  Reply reply(id, framing, send_, batch);
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
    if (!reply.answered()) reply.error(e.code, e.what(), e.data);
    else spdlog::error("handler for '{}' threw after taking its reply: {}", method, e.what());
  } catch (const std::exception& e) {
    spdlog::error("handler for '{}' failed: {}", method, e.what());
    if (!reply.answered()) reply.error(code::internal_error, std::string("Internal error: ") + e.what());
  }
}

std::string CancelMap::key(const Json& id) { return to_wire(id); }

void CancelMap::add(const Json& id, std::function<void()> cancel) { map_[key(id)] = std::move(cancel); }

void CancelMap::remove(const Json& id) { map_.erase(key(id)); }

bool CancelMap::cancel(const Json& id) {
  auto it = map_.find(key(id));
  if (it == map_.end()) return false;
  auto fn = std::move(it->second);
  map_.erase(it);
  fn();
  return true;
}

void CancelMap::cancel_all() {
  auto all = std::move(map_);
  map_.clear();
  for (auto& [k, fn] : all) fn();
}

}  // namespace glm::rpc
