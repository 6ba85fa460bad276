// The LSP adapter's way into the server: JSON-RPC requests to the in-process Server's dispatcher,
// exactly as a client on stdin would send them (docs/protocol.md), with its replies and `chat/delta`
// notifications intercepted here instead of written to stdout. The chat/explain/complete engines are
// reused untouched, and every check they make on their params applies to LSP mode too.
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "rpc/dispatcher.hpp"

namespace glm::lsp {

using Json = rpc::Json;

class CoreClient {
 public:
  struct Handlers {
    std::function<void(const Json& delta)> on_delta;  // chat/delta params ({id, seq, content?, ...})
    std::function<void(Json result)> on_result;       // once, or on_error once
    std::function<void(const Json& error)> on_error;  // the error object {code, message, data?}
  };

  // Where requests go: the server's Dispatcher::dispatch.
  void set_target(std::function<void(rpc::Frame&&)> dispatch) { dispatch_ = std::move(dispatch); }

  // Sends a request; returns its id. Handlers may run before call() returns (a synchronous reply).
  int64_t call(const std::string& method, Json params, Handlers handlers);
  void notify(const std::string& method, Json params);
  // $/cancelRequest for a call in flight; the call still ends through on_error (-32800).
  void cancel(int64_t id);
  bool in_flight(int64_t id) const { return calls_.count(id) != 0; }
  size_t size() const { return calls_.size(); }

  // The server's output (its SendFn): replies and notifications for calls made here.
  void on_server_message(std::string&& text);

 private:
  std::function<void(rpc::Frame&&)> dispatch_;
  std::unordered_map<int64_t, std::shared_ptr<Handlers>> calls_;
  int64_t next_id_ = 1;
};

}  // namespace glm::lsp
