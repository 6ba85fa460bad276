#include "server/chat_session.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "core/extract.hpp"
#include "core/history.hpp"
#include "core/tool_calls.hpp"
#include "providers/provider_common.hpp"
#include "providers/registry.hpp"
#include "rpc/json_text.hpp"
#include "server/upstream_error.hpp"

namespace glm {
namespace {

// Room left for the reply when fitting history: the request's max_tokens, else the model's max output,
// else a modest default (the model may still stop earlier).
int64_t reserved_output(const ChatRequest& req, const ModelInfo& info) {
  if (req.options.max_tokens) return *req.options.max_tokens;
  if (info.max_output_tokens) return std::min<int64_t>(*info.max_output_tokens, 4096);
  return 1024;
}

}  // namespace

ChatSession::ChatSession(SessionHooks hooks, Provider& provider, ProviderConfig config, ChatRequest request,
                         rpc::Reply reply)
    : hooks_(std::move(hooks)),
      provider_(provider),
      config_(std::move(config)),
      request_(std::move(request)),
      reply_(std::move(reply)),
      id_(reply_.id()),
      id_text_(reply_.id_text()),
      retry_timer_(hooks_.io),
      retry_(RetryPolicy{config_.max_retries, config_.retry_initial_delay_ms, config_.retry_max_delay_ms,
                         config_.retry_max_total_ms},
             std::random_device{}()) {
  result_.model = request_.model;
  result_.provider = request_.provider;
}

void ChatSession::start() {
  if (auto bad = provider_.validate(request_)) {
    reply_.error(rpc::code::invalid_params, *bad);
    return finish();
  }
  model_info_ = find_model(config_, request_.model);
  if (model_info_) {
    auto fitted = fit_history(request_.messages, *model_info_, reserved_output(request_, *model_info_));
    if (!fitted) return fail(fitted.error());
    dropped_messages_ = fitted.value().dropped_messages;
    if (dropped_messages_)
      spdlog::info("request {}: dropped {} oldest messages to fit {}/{}", id_text_, dropped_messages_,
                   request_.provider, request_.model);
  }
  prepare();
}

void ChatSession::prepare() {
  std::weak_ptr<ChatSession> weak = weak_from_this();
  provider_.prepare(request_, [weak](Result<net::Request> r) {
    auto self = weak.lock();
    if (!self || self->done_) return;
    if (!r) return self->fail(r.error());
    self->send(std::move(r.value()));
  });
}

void ChatSession::send(net::Request request) {
  // Transfer options (TLS, proxy, timeouts) are the provider's: transfer_options() in
  // providers/provider_common.cpp sets them for every request a provider builds, token requests included.
  ++attempt_;
  spdlog::debug("request {}: {} {} attempt {}", id_text_, request_.provider, request_.model, attempt_);
  stream_ = provider_.open_stream(request_, result_, *this);
  std::weak_ptr<ChatSession> weak = weak_from_this();
  net::Callbacks cb;
  cb.on_head = [weak](int status, const net::Headers& headers) {
    auto self = weak.lock();
    if (!self || self->done_) return;
    self->stream_->on_head(status, headers);
    self->check_stream();
  };
  cb.on_data = [weak](std::string_view bytes) {
    auto self = weak.lock();
    if (!self || self->done_) return;
    self->stream_->on_body(bytes);
    self->check_stream();
  };
  cb.on_done = [weak](const net::NetError* error) {
    auto self = weak.lock();
    if (!self || self->done_) return;
    self->on_transfer_done(error);
  };
  transfer_ = hooks_.http->start(std::move(request), std::move(cb));
}

void ChatSession::check_stream() {
  if (done_) return;
  if (stream_->error()) {
    transfer_.cancel();
    return fail(*stream_->error());
  }
  // The logical end ([DONE], is_end, a final finish_reason): answer now. The transfer is left to read
  // the last bytes of the body (the chunked terminator) so the connection can be reused; removing it
  // mid-body would make curl close the connection and the next request pay a new TLS handshake.
  if (stream_->done()) succeed();
}

void ChatSession::on_transfer_done(const net::NetError* error) {
  if (error) return fail(from_net_error(*error, request_.provider));
  stream_->on_eof();
  if (stream_->error()) return fail(*stream_->error());
  if (stream_->done()) return succeed();
  {
    UpstreamError e;
    e.kind = ErrorKind::network;
    e.message = request_.provider + ": the response ended before the model finished";
    fail(std::move(e));
  }
}

void ChatSession::on_delta(std::string_view content, std::string_view reasoning) {
  if (done_ || (content.empty() && reasoning.empty())) return;
  if (over_limit(content.size() + reasoning.size())) return;
  result_.content.append(content);
  result_.reasoning.append(reasoning);
  streamed_ = true;
  if (!request_.stream) return;
  if (edit_) {
    if (!reasoning.empty()) reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, {}, reasoning));
    // The code can only change when a line is complete (the unfinished last line is left out).
    if (content.find('\n') != std::string_view::npos) send_edit_code();
    return;
  }
  // Built as text: this runs once per token, and a JSON DOM round trip costs several times more than
  // the rest of the per-token path (tests/unit/test_e2e_chat.cpp checks the output parses).
  reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, reasoning));
}

void ChatSession::on_replace(std::string_view content, std::string_view reasoning) {
  if (done_) return;
  const size_t had = result_.content.size() + result_.reasoning.size();
  const size_t now = content.size() + reasoning.size();
  if (now > had && over_limit(now - had)) return;
  result_.content.assign(content);
  result_.reasoning.assign(reasoning);
  streamed_ = true;
  if (!request_.stream) return;
  if (edit_) {
    edit_sent_.clear();  // the reasoning may have changed too: send both again
    return send_edit_code();
  }
  reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, reasoning, /*replace=*/true));
}

std::string ChatSession::edit_code(bool partial) const {
  extract::CodeOptions o;
  o.original = edit_->original;
  std::string_view indent_from;
  if (o.original.empty()) {
    // An insertion is indented like the line it goes after (the last line of `before`).
    std::string_view before = edit_->before;
    while (!before.empty() && before.back() == '\n') before.remove_suffix(1);
    indent_from = before.substr(before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1);
    o.indent_like = indent_from;
  }
  o.before = edit_->before;
  o.after = edit_->after;
  o.partial = partial;
  return extract::code_from_answer(result_.content, o);
}

void ChatSession::send_edit_code() {
  std::string code = edit_code(/*partial=*/true);
  if (code == edit_sent_ && !edit_sent_.empty()) return;
  reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, code, result_.reasoning, /*replace=*/true));
  edit_sent_ = std::move(code);
}

bool ChatSession::over_limit(size_t more) {
  const size_t have = result_.content.size() + result_.reasoning.size() + tool_call_bytes_;
  if (have + more <= hooks_.max_response_bytes) return false;
  // A stream that never ends must not take the process's memory with it: stop the transfer and answer
  // with what the client already has (the partial text is exactly the deltas sent so far).
  spdlog::warn("request {}: {} response over max_response_bytes ({}); stopped", id_text_, request_.provider,
               hooks_.max_response_bytes);
  Json data = {{"kind", "response_too_large"},
               {"provider", request_.provider},
               {"max_response_bytes", hooks_.max_response_bytes},
               {"partial", {{"content", result_.content}, {"reasoning", result_.reasoning}}}};
  reply_.error(rpc::code::upstream_error,
               request_.provider + ": the response is longer than max_response_bytes (" +
                   std::to_string(hooks_.max_response_bytes) + " bytes); the transfer was stopped",
               data);
  finish();
  return true;
}

void ChatSession::on_tool_calls(const Json& fragments) {
  if (done_) return;
  // Tool-call fragments are part of the reply like text: they count against max_response_bytes.
  const size_t bytes = tool_call_bytes(fragments);
  if (over_limit(bytes)) return;
  tool_call_bytes_ += bytes;
  streamed_ = true;  // like text: a resend could call the tools twice
  if (!request_.stream) return;
  reply_.notify("chat/delta", Json{{"id", id_}, {"seq", seq_++}, {"tool_calls", fragments}});
}

void ChatSession::fail(UpstreamError error) {
  if (done_) return;
  // Upstream text (error pages that echo the request, token endpoint replies) reaches the log and the
  // client only through report_upstream_error, which redacts it; the decisions below read no text.
  // Stale credentials: refresh once and resend (Qianfan 110/111, an expired Zhipu JWT).
  if (error.refresh_credentials && !refreshed_credentials_ && !streamed_) {
    refreshed_credentials_ = true;
    spdlog::info("request {}: {} credentials rejected; refreshing once", id_text_, request_.provider);
    provider_.invalidate_credentials();
    return prepare();
  }
  // Retry only what is safe: nothing streamed yet, a connect failure, 429 or 5xx the provider calls
  // retryable (never business codes like Zhipu 1113), within the retry budget (core/retry.hpp). A
  // failed credential step (token request, api_key_cmd) is an attempt like a failed send.
  if (error.retryable && !streamed_) {
    if (auto delay = retry_.next_delay(error.retry_after_ms)) {
      spdlog::info("request {}: {} ({}); retry {} in {} ms", id_text_, error_kind_name(error.kind),
                   error.http_status.value_or(0), retry_.retries(), *delay);
      retry_timer_.expires_after(std::chrono::milliseconds(*delay));
      std::weak_ptr<ChatSession> weak = weak_from_this();
      retry_timer_.async_wait([weak](const asio::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->done_) return;
        self->prepare();
      });
      return;
    }
  }
  const std::string_view kind = error_kind_name(error.kind);
  UpstreamReport report = report_upstream_error(std::move(error), provider_, request_.provider);
  spdlog::warn("request {}: {} error from {}: {}", id_text_, kind, request_.provider, report.message);
  Json& data = report.data;
  if (!result_.content.empty() || !result_.reasoning.empty() || !result_.tool_calls.empty()) {
    data["partial"] = {{"content", edit_ ? edit_code(/*partial=*/false) : result_.content},
                       {"reasoning", result_.reasoning}};
    if (edit_) data["partial"]["answer"] = result_.content;
    if (!result_.tool_calls.empty()) data["partial"]["tool_calls"] = result_.tool_calls;
  }
  reply_.error(rpc::code::upstream_error, report.message, data);
  finish();
}

void ChatSession::succeed() {
  Json usage = nullptr;
  if (result_.usage)
    usage = {{"input_tokens", result_.usage->input_tokens},
             {"output_tokens", result_.usage->output_tokens},
             {"total_tokens", result_.usage->total_tokens}};
  // Providers that reshape the conversation (Qianfan's alternation rules) report their own drops.
  size_t dropped = dropped_messages_ + result_.extra.value("normalised_dropped_messages", size_t{0});
  Json out = {{"content", result_.content},
              {"reasoning", result_.reasoning},
              {"finish_reason", result_.finish_reason.empty() ? "stop" : result_.finish_reason},
              {"usage", usage},
              {"model", result_.model},
              {"provider", result_.provider},
              {"dropped_messages", dropped}};
  if (edit_) {
    out["answer"] = std::move(out["content"]);
    out["content"] = edit_code(/*partial=*/false);
  }
  if (!result_.extra.empty()) out["extra"] = result_.extra;
  if (!result_.tool_calls.empty()) out["tool_calls"] = result_.tool_calls;
  reply_.result(std::move(out));
  finish(/*stop_transfer=*/false);
}

void ChatSession::cancel() {
  if (done_) return;
  reply_.error(rpc::code::request_cancelled, "Request cancelled");
  finish();
}

void ChatSession::finish(bool stop_transfer) {
  if (done_) return;
  done_ = true;
  if (stop_transfer) transfer_.cancel();
  retry_timer_.cancel();
  if (hooks_.finished) hooks_.finished(this);
}

}  // namespace glm
