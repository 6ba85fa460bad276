// The glm-server application: lifecycle (initialize/shutdown/exit), models/list, chat and explain.
// Owns the providers and the HTTP client. Loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "core/config.hpp"
#include "net/http_client.hpp"
#include "providers/provider.hpp"
#include "rpc/dispatcher.hpp"
#include "server/chat_session.hpp"

namespace glm {

class ChatSession;
class CompleteService;

class Server {
 public:
  // `exit` is called once when the process should end with the given code (after pending replies
  // are queued); main flushes stdout and exits. `http` replaces the libcurl client (fuzzing, tests);
  // null means the real one, created on first use.
  Server(asio::io_context& io, Config config, rpc::SendFn send, std::function<void(int)> exit,
         std::shared_ptr<net::HttpClient> http = nullptr);
  ~Server();

  rpc::Dispatcher& dispatcher() { return dispatcher_; }
  // The config file loaded at startup ("" for none), reported by initialize as `config_file`.
  void set_config_file(std::string path) { config_file_ = std::move(path); }

  // stdin reached EOF: cancel in-flight requests (each answers -32800), then exit 0; with `drain`,
  // let them finish first (transcripts and `echo ... | glm-server --drain`).
  void input_closed(bool drain = false);
  // stdout is gone: nobody can read replies; stop everything and exit.
  void output_closed();
  // Back-pressure from the transport: while the client does not read stdout, upstream transfers are
  // paused (and new ones start paused); they resume when the queue has drained.
  void set_output_congested(bool congested);

  asio::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  Provider* provider(const std::string& name);
  rpc::CancelMap& cancels() { return cancels_; }
  const std::shared_ptr<net::HttpClient>& http_client();

 private:
  // Method registration, one group per concern (as clangd's bindMethods).
  void register_methods();
  void register_lifecycle();
  void register_chat();
  void initialize(const Json& params, rpc::Reply& reply);
  Json models_json();
  void start_chat(ChatRequest request, rpc::Reply& reply, std::optional<EditView> edit = std::nullopt);
  void session_ended(ChatSession* session);
  bool idle() const;       // no request in flight
  void exit_if_drained();  // --drain: exit once the last request ended

  asio::io_context& io_;
  Config config_;
  std::string config_file_;
  std::function<void(int)> exit_;
  rpc::Dispatcher dispatcher_;
  rpc::CancelMap cancels_;
  std::shared_ptr<net::HttpClient> http_;
  std::map<std::string, std::unique_ptr<Provider>> providers_;
  std::vector<std::unique_ptr<Provider>> retired_providers_;  // replaced by initialize; sessions may use them
  struct RunningChat {
    std::shared_ptr<ChatSession> session;
    rpc::CancelMap::Cookie cancel;  // its own entry, even when the client reused its id
  };
  std::map<ChatSession*, RunningChat> sessions_;
  std::unique_ptr<CompleteService> complete_;  // `complete` (server/complete_session.hpp)
  bool output_congested_ = false;
  bool shutdown_requested_ = false;
  bool exiting_ = false;
  bool draining_ = false;
};

// Parses chat params into a ChatRequest; throws rpc::RpcError(-32602) naming the bad field.
ChatRequest parse_chat_params(const Json& params, const Config& config);
ChatRequest parse_explain_params(const Json& params, const Config& config);
struct EditRequest {
  ChatRequest request;
  EditView view;
};
EditRequest parse_edit_params(const Json& params, const Config& config);

}  // namespace glm
