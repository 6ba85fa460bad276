#include "server/server.hpp"

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "providers/registry.hpp"
#include "server/chat_session.hpp"
#include "server/complete_session.hpp"
#include "server/listing.hpp"

namespace glm {

Server::Server(asio::io_context& io, Config config, rpc::SendFn send, std::function<void(int)> exit,
               std::shared_ptr<net::HttpClient> http)
    : io_(io),
      config_(std::move(config)),
      exit_(std::move(exit)),
      dispatcher_(std::move(send)),
      http_(std::move(http)) {
  dispatcher_.set_max_depth(static_cast<size_t>(config_.max_json_depth));
  for (const auto& w : config_.warnings) spdlog::warn("{}", w);
  complete_ = std::make_unique<CompleteService>(
      CompleteService::Hooks{io_, [this](const std::string& name) { return provider(name); },
                             [this] { return http_client(); }, cancels_, [this] { exit_if_drained(); }});
  complete_->reconfigure(config_);
  register_methods();
}

bool Server::idle() const { return sessions_.empty() && (!complete_ || complete_->active() == 0); }

void Server::exit_if_drained() {
  if (draining_ && idle() && !exiting_) {
    exiting_ = true;
    exit_(0);
  }
}

Server::~Server() {
  // Cancelling a session ends it, and an ended session leaves sessions_: walk a copy, not the map.
  complete_.reset();
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [p, running] : sessions) running.session->cancel();
  if (http_) http_->cancel_all();
}

const std::shared_ptr<net::HttpClient>& Server::http_client() {
  // Created on first use: libcurl and OpenSSL initialisation stay off the cold-start path.
  if (!http_) {
    http_ = net::HttpClient::create(io_);
    if (output_congested_) http_->set_receive_paused(true);
  }
  return http_;
}

void Server::set_output_congested(bool congested) {
  output_congested_ = congested;
  if (http_) http_->set_receive_paused(congested);
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
  auto keep = std::move(it->second.session);
  cancels_.remove(it->second.cancel);
  sessions_.erase(it);
  exit_if_drained();
  // The session may still be on the stack; release it from the loop.
  asio::post(io_, [keep = std::move(keep)] {});
}

Json Server::models_json() { return list_models(config_); }

void Server::start_chat(ChatRequest request, rpc::Reply& reply, std::optional<EditView> edit) {
  Provider* p = provider(request.provider);
  if (!p) throw rpc::invalid_params("model: provider '" + request.provider + "' is not available");
  SessionHooks hooks{io_, http_client(), [this](ChatSession* s) { session_ended(s); },
                     static_cast<size_t>(config_.max_response_bytes)};
  auto session = std::make_shared<ChatSession>(std::move(hooks), *p, config_.providers.at(request.provider),
                                               std::move(request), std::move(reply));
  std::weak_ptr<ChatSession> weak = session;
  auto cookie = cancels_.add(session->id(), [weak] {
    if (auto s = weak.lock()) s->cancel();
  });
  sessions_[session.get()] = RunningChat{session, cookie};
  if (edit) session->set_edit(std::move(*edit));
  session->start();
}

void Server::register_methods() {
  dispatcher_.set_request_gate([this](const std::string& method, rpc::Reply& reply) {
    if (!shutdown_requested_) return false;
    reply.error(rpc::code::invalid_request,
                "Invalid Request: the server is shutting down ('" + method + "' after 'shutdown')");
    return true;
  });
  register_lifecycle();
  register_chat();
}

void Server::initialize(const Json& params, rpc::Reply& reply) {
  if (params.is_object() && params.contains("config") && !params["config"].is_null()) {
    if (!params["config"].is_object()) throw rpc::invalid_params("config: expected an object");
    Config next = config_;
    if (auto err = apply_config(next, params["config"])) throw rpc::invalid_params("config." + *err);
    // New settings take effect for new requests; in-flight ones keep the provider they started with.
    for (auto& [name, p] : providers_) retired_providers_.push_back(std::move(p));
    providers_.clear();
    if (idle()) retired_providers_.clear();
    config_ = std::move(next);
    dispatcher_.set_max_depth(static_cast<size_t>(config_.max_json_depth));
    complete_->reconfigure(config_);
  }
  if (params.is_object() && params.contains("clientInfo") && params["clientInfo"].is_object())
    spdlog::info("client: {} {}", params["clientInfo"].value("name", "?"), params["clientInfo"].value("version", ""));
  Json caps = {
      {"methods", {"initialize", "shutdown", "chat", "explain", "edit", "complete", "models/list", "providers/list"}},
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
                {"models", models_json()},
                {"actions", actions_json(config_.actions)}});
}

void Server::register_lifecycle() {
  auto& d = dispatcher_;
  d.on_request("initialize", [this](const Json& params, rpc::Reply& reply) { initialize(params, reply); });
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

  // Cancels every request in flight under that id (a client may reuse one: each still gets one reply).
  d.on_notification("$/cancelRequest", [this](const Json& params) {
    if (!params.is_object() || !params.contains("id")) {
      spdlog::warn("$/cancelRequest without an id ignored");
      return;
    }
    if (!cancels_.cancel(params["id"]))
      spdlog::debug("$/cancelRequest for {}: not in flight", rpc::to_wire(params["id"]));
  });
}

void Server::register_chat() {
  auto& d = dispatcher_;
  d.on_request("models/list", [this](const Json&, rpc::Reply& reply) { reply.result({{"models", models_json()}}); });
  d.on_request("providers/list", [this](const Json&, rpc::Reply& reply) { reply.result(list_providers(config_)); });
  d.on_request("actions/list", [this](const Json&, rpc::Reply& reply) {
    reply.result({{"actions", actions_json(config_.actions)}});
  });

  d.on_request(
      "chat", [this](const Json& params, rpc::Reply& reply) { start_chat(parse_chat_params(params, config_), reply); });
  d.on_request("explain", [this](const Json& params, rpc::Reply& reply) {
    start_chat(parse_explain_params(params, config_), reply);
  });
  d.on_request("edit", [this](const Json& params, rpc::Reply& reply) {
    EditRequest e = parse_edit_params(params, config_);
    start_chat(std::move(e.request), reply, std::move(e.view));
  });
  d.on_request("complete", [this](const Json& params, rpc::Reply& reply) { complete_->start(params, config_, reply); });
}

void Server::input_closed(bool drain) {
  if (drain && !idle()) {
    spdlog::info("stdin closed; waiting for {} request(s) in flight", sessions_.size() + complete_->active());
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
