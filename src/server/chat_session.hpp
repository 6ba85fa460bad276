// One chat/explain request from start to its single reply: history fitting, credential preparation,
// the upstream transfer, retries, streaming deltas to the client, cancellation. Loop thread only.
// Owned by the Server (sessions_) until it answers; callbacks hold weak references.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <asio/steady_timer.hpp>

#include "core/catalog.hpp"
#include "core/retry.hpp"
#include "providers/provider.hpp"
#include "rpc/dispatcher.hpp"

namespace glm {

class ChatSession;

// What a session needs from its owner: the loop, the HTTP client, its limits, and whom to tell when it
// has answered (once, possibly from inside one of its own callbacks).
struct SessionHooks {
  asio::io_context& io;
  std::shared_ptr<net::HttpClient> http;
  std::function<void(ChatSession*)> finished;
  size_t max_response_bytes = 8u << 20;  // content + reasoning; more ends the request (`response_too_large`)
};

// An `edit` request: the text the answer's code replaces, and the text around it. The session then
// streams the code taken out of the answer so far (core/extract) instead of the answer's raw text.
struct EditView {
  std::string original;
  std::string before;
  std::string after;
};

class ChatSession : public std::enable_shared_from_this<ChatSession>, public DeltaSink {
 public:
  ChatSession(SessionHooks hooks, Provider& provider, ProviderConfig config, ChatRequest request, rpc::Reply reply);

  // Before start(): answer with code, not text (`edit`).
  void set_edit(EditView view) { edit_ = std::move(view); }
  void start();
  const Json& id() const { return id_; }
  // $/cancelRequest, client EOF or shutdown: the transfer stops now and the request answers -32800.
  void cancel();

  void on_delta(std::string_view content, std::string_view reasoning) override;
  void on_replace(std::string_view content, std::string_view reasoning) override;
  void on_tool_calls(const Json& fragments) override;

 private:
  void prepare();
  void send(net::Request request);
  void check_stream();
  void on_transfer_done(const net::NetError* error);
  void fail(UpstreamError error);
  // Whether `more` bytes of text would take the response over max_response_bytes; if so it has answered.
  bool over_limit(size_t more);
  void succeed();
  // Ends the session: no callback has any effect after this. A successful stream's transfer may run
  // on to its natural end (keep-alive); the HttpClient owns it until then.
  void finish(bool stop_transfer = true);
  // `edit`: the code in the answer so far (partial: its unfinished last line left out).
  std::string edit_code(bool partial) const;
  // `edit`: sends the code so far as a replace delta when it changed.
  void send_edit_code();

  SessionHooks hooks_;
  Provider& provider_;
  ProviderConfig config_;
  ChatRequest request_;
  const ModelInfo* model_info_ = nullptr;
  rpc::Reply reply_;
  Json id_;
  std::string id_text_;  // the id as the client wrote it, for the deltas
  ChatResult result_;
  std::unique_ptr<ChatStream> stream_;
  net::Transfer transfer_;
  asio::steady_timer retry_timer_;
  RetrySchedule retry_;
  int64_t seq_ = 0;
  size_t dropped_messages_ = 0;
  size_t tool_call_bytes_ = 0;  // tool-call fragments so far, counted with the text against max_response_bytes
  int attempt_ = 0;
  bool refreshed_credentials_ = false;
  bool streamed_ = false;  // some text reached the client: never retry after that
  bool done_ = false;
  std::optional<EditView> edit_;
  std::string edit_sent_;  // the code last sent to the client
};

}  // namespace glm
