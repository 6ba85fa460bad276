#include "server/server.hpp"

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "server/listing.hpp"
#include "server/chat_session.hpp"

namespace glm {

Server::Server(asio::io_context& io, Config config, rpc::SendFn send, std::function<void(int)> exit,
               std::shared_ptr<net::HttpClient> http)
    : io_(io),
      config_(std::move(config)),
      exit_(std::move(exit)),
      dispatcher_(std::move(send)),
      http_(std::move(http)) {
  dispatcher_.set_max_depth(static_cast<size_t>(config_.max_json_depth));
  register_methods();
}

Server::~Server() {
  for (auto& [p, s] : sessions_) s->cancel();
  if (http_) http_->cancel_all();
}

const std::shared_ptr<net::HttpClient>& Server::http_client() {
  // Created on first use: libcurl and OpenSSL initialisation stay off the cold-start path.
  if (!http_) http_ = net::HttpClient::create(io_);
  return http_;
}

Provider* Server::provider(const std::string& name) {
  auto it = providers_.find(name);
  if (it != providers_.end()) return it->second.get();
  auto cfg = config_.providers.find(name);
  if (cfg == config_.providers.end()) return nullptr;
  auto p = make_provider(cfg->second, ProviderContext{io_, http_client()});
  if (!p) return nullptr;
  return (providers_[name] = std::move(p)).get();
}

void Server::session_ended(ChatSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto keep = std::move(it->second);
  sessions_.erase(it);
  cancels_.remove(keep->id());
  if (draining_ && sessions_.empty() && !exiting_) {
    exiting_ = true;
    exit_(0);
  }
  // The session may still be on the stack; release it from the loop.
  asio::post(io_, [keep = std::move(keep)] {});
}

Json Server::models_json() { return list_models(config_); }

void Server::start_chat(ChatRequest request, rpc::Reply& reply) {
  Provider* p = provider(request.provider);
  if (!p) throw rpc::invalid_params("model: provider '" + request.provider + "' is not available");
  auto session = std::make_shared<ChatSession>(*this, *p, config_.providers.at(request.provider),
                                               std::move(request), std::move(reply));
  sessions_[session.get()] = session;
  Json id = session->id();
  std::weak_ptr<ChatSession> weak = session;
  cancels_.add(id, [weak] {
    if (auto s = weak.lock()) s->cancel();
  });
  session->start();
}

void Server::register_methods() {
  auto& d = dispatcher_;

  d.set_request_gate([this](const std::string& method, rpc::Reply& reply) {
    if (!shutdown_requested_) return false;
    reply.error(rpc::code::invalid_request, "Invalid Request: the server is shutting down ('" + method +
                                                "' after 'shutdown')");
    return true;
  });

  d.on_request("initialize", [this](const Json& params, rpc::Reply& reply) {
    if (params.is_object() && params.contains("config") && !params["config"].is_null()) {
      if (!params["config"].is_object()) throw rpc::invalid_params("config: expected an object");
      Config next = config_;
      if (auto err = apply_config(next, params["config"])) throw rpc::invalid_params("config." + *err);
      // New settings take effect for new requests; in-flight ones keep the provider they started with.
      for (auto& [name, p] : providers_) retired_providers_.push_back(std::move(p));
      providers_.clear();
      if (sessions_.empty()) retired_providers_.clear();
      config_ = std::move(next);
      dispatcher_.set_max_depth(static_cast<size_t>(config_.max_json_depth));
    }
    if (params.is_object() && params.contains("clientInfo") && params["clientInfo"].is_object())
      spdlog::info("client: {} {}", params["clientInfo"].value("name", "?"), params["clientInfo"].value("version", ""));
    Json caps = {
        {"methods", {"initialize", "shutdown", "chat", "explain", "models/list", "providers/list"}},
        {"notifications", {"chat/delta"}},
        {"framing", {"content-length", "ndjson"}},
        {"cancel", true},
    };
    // Where requests go, so a client can show which config is in effect (e.g. :checkhealth glm).
    Json providers = Json::object();
    for (const auto& [name, p] : config_.providers) providers[name] = {{"base_url", p.base_url}};
    reply.result({{"serverInfo", {{"name", "glm-server"}, {"version", GLM_VERSION}}},
                  {"capabilities", caps},
                  {"default_model", config_.default_model},
                  {"config_file", config_file_.empty() ? Json(nullptr) : Json(config_file_)},
                  {"providers", std::move(providers)},
                  {"models", models_json()}});
  });

  d.on_notification("initialized", [](const Json&) {});

  d.on_request("shutdown", [this](const Json&, rpc::Reply& reply) {
    shutdown_requested_ = true;
    cancels_.cancel_all();
    reply.result(nullptr);
  });

  d.on_notification("exit", [this](const Json&) {
    if (exiting_) return;
    exiting_ = true;
    cancels_.cancel_all();
    exit_(shutdown_requested_ ? 0 : 1);
  });

  d.on_notification("$/cancelRequest", [this](const Json& params) {
    if (!params.is_object() || !params.contains("id")) {
      spdlog::warn("$/cancelRequest without an id ignored");
      return;
    }
    if (!cancels_.cancel(params["id"])) spdlog::debug("$/cancelRequest for {}: not in flight", rpc::to_wire(params["id"]));
  });

  d.on_request("models/list", [this](const Json&, rpc::Reply& reply) { reply.result({{"models", models_json()}}); });
  d.on_request("providers/list", [this](const Json&, rpc::Reply& reply) { reply.result(list_providers(config_)); });

  d.on_request("chat", [this](const Json& params, rpc::Reply& reply) {
    start_chat(parse_chat_params(params, config_), reply);
  });
  d.on_request("explain", [this](const Json& params, rpc::Reply& reply) {
    start_chat(parse_explain_params(params, config_), reply);
  });
}

void Server::input_closed(bool drain) {
  if (drain && !sessions_.empty()) {
    spdlog::info("stdin closed; waiting for {} request(s) in flight", sessions_.size());
    draining_ = true;
    return;
  }
  spdlog::info("stdin closed; {} request(s) in flight are cancelled", cancels_.size());
  cancels_.cancel_all();
  if (!exiting_) {
    exiting_ = true;
    exit_(0);
  }
}

void Server::output_closed() {
  cancels_.cancel_all();
  if (http_) http_->cancel_all();
  if (!exiting_) {
    exiting_ = true;
    exit_(0);
  }
}

}  // namespace glm
