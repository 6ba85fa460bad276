// `glm-server --lsp`: a Language Server Protocol adapter in front of the JSON-RPC server (docs/lsp.md).
//
// The client talks LSP to this class's dispatcher. LSP requests become calls of the server's own
// methods (`complete`, `explain`, `chat`, `initialize`, `shutdown`) through CoreClient, so the engines,
// their parameter checks, latest-wins and cancellation are the same as in JSON-RPC mode; their results
// and `chat/delta` streams are turned into LSP shapes here (inline completion items, completion items,
// work-done progress, window/showDocument, workspace/applyEdit). Loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "core/config.hpp"
#include "lsp/answers.hpp"
#include "lsp/core_client.hpp"
#include "lsp/document.hpp"
#include "rpc/dispatcher.hpp"
#include "server/server.hpp"

namespace glm::lsp {

// LSP error codes beyond JSON-RPC's.
namespace lsp_code {
inline constexpr int server_not_initialized = -32002;
inline constexpr int request_failed = -32803;  // upstream failures (JSON-RPC mode: -32001), same data
inline constexpr int content_modified = -32801;
}  // namespace lsp_code

// What the client said it supports (initialize's capabilities and clientInfo).
struct ClientCaps {
  Encoding encoding = Encoding::utf16;
  bool offset_encoding_ext = false;  // clangd's `offsetEncoding` extension was used
  bool work_done_progress = false;
  bool show_document = false;
  bool show_message_request = true;  // every client in docs/lsp.md except Helix
  bool apply_edit = false;
  bool document_changes = false;
  bool configuration = false;  // workspace/configuration (pull)
  bool code_action_literals = false;
  // Completion items must be one line: Neovim before 0.11 completes through Vim's complete(), which
  // inserts a newline as a NUL byte.
  bool single_line_completion = false;
  std::string name, version;
};

class LspServer {
 public:
  // `send` writes to the client; `exit` ends the process (after queued output is flushed). `http`
  // replaces the core server's libcurl client (fuzzing); null means the real one.
  LspServer(asio::io_context& io, Config config, rpc::SendFn send, std::function<void(int)> exit,
            std::shared_ptr<net::HttpClient> http = nullptr);
  ~LspServer();

  // Frames from the client.
  void on_frame(rpc::Frame&& frame);
  void on_frame_error(const rpc::FrameError& error) { dispatcher_.framing_error(error); }
  void input_closed();
  void output_closed();

  const ClientCaps& client() const { return caps_; }
  // The cap on the bytes of all open documents together (--max-open-bytes): a document that would
  // take them over it is not tracked (window/showMessage; completion there answers empty).
  static constexpr int64_t kDefaultMaxOpenBytes = 256ll << 20;
  void set_max_open_bytes(int64_t n) { max_open_bytes_ = n; }
  // executeCommand is answered first; the command's own messages follow this much later, in writes of
  // their own (execute_command). The fuzzer, which runs only ready handlers, sets 0.
  void set_command_delay(std::chrono::milliseconds d) { command_delay_ = d; }
  Server& core() { return core_; }
  // Where explanations are written (AnswerStore::directory(); GLM_LSP_ANSWERS_DIR overrides it).
  std::string answers_dir();

  struct Job;

 private:
  void register_methods();
  // A request to the client; `done` gets (result, error-or-null).
  void request_client(const std::string& method, Json params, std::function<void(const Json&, const Json&)> done);
  void notify_client(const std::string& method, Json params);
  void on_client_response(const Json& response);
  void show_message(int type, const std::string& text);

  void apply_config(const Json& config, std::function<void(const Json* error)> done);
  void pull_configuration();

  void did_open(const Json& params);
  void untrack_document(const std::string& uri, size_t size);
  void add_root(const std::string& uri);
  // A document's path as sent upstream: relative to the innermost workspace root holding it, else its
  // file name (the plugin sends paths relative to its working directory, never absolute ones).
  std::string workspace_path(const std::string& uri) const;
  void did_change(const Json& params);

  void complete(const Json& params, rpc::Reply& reply, bool inline_items);
  void code_action(const Json& params, rpc::Reply& reply);
  void execute_command(const Json& params, rpc::Reply& reply);
  void begin_job(const std::shared_ptr<Job>& job);
  void start_job(const std::shared_ptr<Job>& job);
  void run_job(const std::shared_ptr<Job>& job);
  void job_delta(const std::shared_ptr<Job>& job, const Json& delta);
  void job_report(const std::shared_ptr<Job>& job);
  void job_done(const std::shared_ptr<Job>& job, const Json* result, const Json* error);
  void deliver_answer(const std::shared_ptr<Job>& job, const std::string& text, const Json& result);
  void deliver_edit(const std::shared_ptr<Job>& job, const std::string& text);
  void progress(const std::shared_ptr<Job>& job, Json value);

  // Tracks an LSP request answered by a core call, for $/cancelRequest.
  void track(const Json& lsp_id, int64_t core_id);
  void untrack(const Json& lsp_id);

  asio::io_context& io_;
  rpc::SendFn send_;
  std::function<void(int)> exit_;
  rpc::Dispatcher dispatcher_;
  AnswerStore answers_;
  CoreClient core_client_;
  Server core_;
  DocumentStore docs_;
  ClientCaps caps_;
  rpc::Framing framing_ = rpc::Framing::lsp;  // of the client's latest message; used for our own messages
  bool initialized_ = false;
  bool shutdown_ = false;
  int64_t max_document_bytes_;
  int64_t max_open_bytes_ = kDefaultMaxOpenBytes;
  std::chrono::milliseconds command_delay_{30};
  std::set<std::string> untracked_;  // URIs refused by max_open_bytes_ (bounded)
  std::vector<std::string> roots_;   // workspace folders, as paths without a trailing '/'

  std::map<std::string, int64_t> cancellable_;        // LSP request id (wire text) → core call id
  std::map<std::string, int64_t> latest_completion_;  // document URI → core call id in flight
  int64_t next_client_request_ = 1;
  std::map<int64_t, std::function<void(const Json&, const Json&)>> client_requests_;
  int64_t next_job_ = 1;
  std::map<int64_t, std::shared_ptr<Job>> jobs_;
};

// The config object carried by initializationOptions / didChangeConfiguration settings / the "glm"
// section of workspace/configuration: `{config: {...}}`, `{glm: {config: {...}}}`, `{glm: {...}}` or the
// config itself. Null when there is none.
Json extract_config(const Json& options);

}  // namespace glm::lsp
