#include "lsp/core_client.hpp"

#include <spdlog/spdlog.h>

namespace glm::lsp {

int64_t CoreClient::call(const std::string& method, Json params, Handlers handlers) {
  int64_t id = next_id_++;
  calls_[id] = std::make_shared<Handlers>(std::move(handlers));
  Json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  dispatch_(rpc::Frame{rpc::Framing::ndjson, rpc::to_wire(req)});
  return id;
}

void CoreClient::notify(const std::string& method, Json params) {
  dispatch_(rpc::Frame{rpc::Framing::ndjson, rpc::to_wire(rpc::make_notification(method, std::move(params)))});
}

void CoreClient::cancel(int64_t id) {
  if (calls_.count(id)) notify("$/cancelRequest", {{"id", id}});
}

void CoreClient::on_server_message(std::string&& text) {
  Json m;
  try {
    m = Json::parse(text);
  } catch (const std::exception& e) {
    spdlog::error("lsp: unparseable message from the server: {}", e.what());
    return;
  }
  if (!m.is_object()) return;
  auto method = m.find("method");
  if (method != m.end()) {
    if (*method != "chat/delta") return;  // nothing else is sent to callers here
    const Json& params = m["params"];
    if (!params.is_object() || !params.contains("id") || !params["id"].is_number_integer()) return;
    auto it = calls_.find(params["id"].get<int64_t>());
    if (it == calls_.end()) return;
    auto h = it->second;  // a handler may end the call (cancel) while it runs
    // Handlers run inside the server's send path: nothing they throw may unwind into it.
    try {
      if (h->on_delta) h->on_delta(params);
    } catch (const std::exception& e) {
      spdlog::error("lsp: delta handler failed: {}", e.what());
    }
    return;
  }
  auto id = m.find("id");
  if (id == m.end() || !id->is_number_integer()) {
    spdlog::warn("lsp: server message without a call id: {}", text.substr(0, 200));
    return;
  }
  auto it = calls_.find(id->get<int64_t>());
  if (it == calls_.end()) return;
  auto h = std::move(it->second);
  calls_.erase(it);
  try {
    if (m.contains("error")) {
      if (h->on_error) h->on_error(m["error"]);
    } else if (h->on_result) {
      h->on_result(std::move(m["result"]));
    }
  } catch (const std::exception& e) {
    spdlog::error("lsp: handler for call {} failed: {}", id->dump(), e.what());
  }
}

}  // namespace glm::lsp
