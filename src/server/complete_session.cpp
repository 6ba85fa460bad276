#include "server/complete_session.hpp"

#include <algorithm>
#include <cmath>

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "providers/provider_common.hpp"
#include "rpc/json_text.hpp"
#include "server/upstream_error.hpp"

namespace glm {

namespace {

using rpc::invalid_params;

const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string string_field(const Json& obj, const char* key, const std::string& path, bool required) {
  const Json* v = field(obj, key);
  if (!v) {
    if (required) throw invalid_params(path + key + ": required");
    return {};
  }
  if (!v->is_string()) throw invalid_params(path + key + ": expected a string");
  return v->get<std::string>();
}

Json usage_json(const std::optional<Usage>& u) {
  if (!u) return nullptr;
  return {{"input_tokens", u->input_tokens}, {"output_tokens", u->output_tokens}, {"total_tokens", u->total_tokens}};
}

Json answer_json(const CompleteAnswer& a, bool cached) {
  Json out = {{"text", a.candidates.front()}, {"candidates", a.candidates},       {"model", a.model},
              {"provider", a.provider},       {"finish_reason", a.finish_reason}, {"usage", a.usage}};
  if (cached) out["cached"] = true;
  return out;
}

constexpr size_t kMaxCandidateBody = 4u << 20;  // a non-stream body kept to read choices[1..]

}  // namespace

// ---- params -------------------------------------------------------------------------------------

CompleteJob parse_complete_params(const Json& params, const Config& config) {
  if (!params.is_object()) throw invalid_params("params: expected an object");
  const CompletionConfig& cc = config.completion;
  CompleteJob job;
  fim::Request& r = job.request;

  std::string model = string_field(params, "model", "", false);
  if (model.empty()) model = cc.model;
  const size_t slash = model.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == model.size())
    throw invalid_params("model: expected \"<provider>/<model>\", e.g. \"zhipu/codegeex-4\", got \"" + model + "\"");
  r.provider = model.substr(0, slash);
  r.model = model.substr(slash + 1);
  auto pc = config.providers.find(r.provider);
  if (pc == config.providers.end()) throw invalid_params("model: unknown provider '" + r.provider + "'");

  const std::string prefix = string_field(params, "prefix", "", true);
  const std::string suffix = string_field(params, "suffix", "", false);
  r.prefix = std::string(fim::trim_prefix(prefix, static_cast<size_t>(cc.prefix_chars)));
  r.suffix = std::string(fim::trim_suffix(suffix, static_cast<size_t>(cc.suffix_chars)));
  r.language = string_field(params, "language", "", false);
  r.path = string_field(params, "path", "", false);
  job.document = string_field(params, "document", "", false);

  if (const Json* cs = field(params, "contexts")) {
    if (!cs->is_array()) throw invalid_params("contexts: expected an array of {path, code}");
    std::vector<fim::Context> contexts;
    for (size_t i = 0; i < cs->size(); ++i) {
      const Json& c = (*cs)[i];
      const std::string path = "contexts[" + std::to_string(i) + "].";
      if (!c.is_object()) throw invalid_params("contexts[" + std::to_string(i) + "]: expected an object {path, code}");
      contexts.push_back({string_field(c, "path", path, true), string_field(c, "code", path, true)});
    }
    r.contexts = fim::trim_contexts(std::move(contexts), static_cast<size_t>(cc.contexts_chars));
  }

  r.max_tokens = cc.max_tokens;
  r.temperature = cc.temperature;
  r.top_p = cc.top_p;
  job.max_lines = cc.max_lines;
  if (const Json* o = field(params, "options")) {
    if (!o->is_object()) throw invalid_params("options: expected an object");
    for (auto it = o->begin(); it != o->end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      const std::string path = "options." + k;
      if (v.is_null()) continue;
      auto integer = [&](int64_t lo, int64_t hi) {
        if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
          throw invalid_params(path + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                               "]");
        return static_cast<int>(v.get<int64_t>());
      };
      if (k == "max_tokens") {
        r.max_tokens = integer(1, 131072);
      } else if (k == "max_lines") {
        job.max_lines = integer(0, 100000);
      } else if (k == "n") {
        r.n = integer(1, 8);
      } else if (k == "temperature" || k == "top_p") {
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
          throw invalid_params(path + ": expected a number >= 0");
        (k == "temperature" ? r.temperature : r.top_p) = v.get<double>();
      } else if (k == "stop") {
        if (v.is_string()) {
          r.stop.push_back(v.get<std::string>());
        } else if (v.is_array()) {
          for (const auto& s : v) {
            if (!s.is_string()) throw invalid_params(path + ": expected a string or an array of strings");
            r.stop.push_back(s.get<std::string>());
          }
        } else {
          throw invalid_params(path + ": expected a string or an array of strings");
        }
      } else {
        throw invalid_params(path + ": unknown option (known: max_tokens, temperature, top_p, stop, max_lines, n)");
      }
    }
  }
  if (const Json* s = field(params, "stream")) {
    if (!s->is_boolean()) throw invalid_params("stream: expected true or false");
    r.stream = s->get<bool>();
  }

  job.provider_kind = pc->second.kind.empty() ? r.provider : pc->second.kind;
  job.style = fim::style_for(job.provider_kind, r.model, pc->second);
  if (job.style == fim::Style::codegeex) {
    if (r.temperature > 1) throw invalid_params("options.temperature: must be in (0, 1) for codegeex");
    if (r.top_p > 1) throw invalid_params("options.top_p: must be in (0, 1) for codegeex");
  }

  // Everything that changes the answer: the model, the trimmed text, and the options that shape it.
  std::string key = model;
  key += '\0';
  key += fim::style_name(job.style);
  key += '\0';
  key += r.path;
  key += '\0';
  key += r.prefix;
  key += '\0';
  key += r.suffix;
  key += '\0';
  key += std::to_string(r.n) + "/" + std::to_string(job.max_lines) + "/" + std::to_string(r.max_tokens);
  for (const auto& c : r.contexts) {
    key += '\0';
    key += c.path;
    key += '\0';
    key += c.code;
  }
  job.cache_key = std::move(key);
  return job;
}

// ---- cache --------------------------------------------------------------------------------------

const CompleteAnswer* CompleteCache::find(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second);
  return &it->second->second;
}

void CompleteCache::put(const std::string& key, CompleteAnswer answer) {
  if (capacity_ == 0) return;
  if (auto it = map_.find(key); it != map_.end()) {
    it->second->second = std::move(answer);
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  order_.emplace_front(key, std::move(answer));
  map_[key] = order_.begin();
  evict();
}

void CompleteCache::clear() {
  map_.clear();
  order_.clear();
}

void CompleteCache::set_capacity(size_t capacity) {
  capacity_ = capacity;
  evict();
}

void CompleteCache::evict() {
  while (map_.size() > capacity_) {
    map_.erase(order_.back().first);
    order_.pop_back();
  }
}

// ---- one request upstream -----------------------------------------------------------------------

class CompleteSession : public std::enable_shared_from_this<CompleteSession>, public DeltaSink {
 public:
  using Ended = std::function<void(CompleteSession*, const CompleteAnswer*)>;

  CompleteSession(std::shared_ptr<net::HttpClient> http, Provider& provider, int64_t timeout_ms, size_t max_bytes,
                  CompleteJob job, rpc::Reply reply, Ended ended)
      : http_(std::move(http)),
        provider_(provider),
        timeout_ms_(timeout_ms),
        max_bytes_(max_bytes),
        job_(std::move(job)),
        reply_(std::move(reply)),
        id_(reply_.id()),
        id_text_(reply_.id_text()),
        ended_(std::move(ended)) {
    result_.model = job_.request.model;
    result_.provider = job_.request.provider;
  }

  const Json& id() const { return id_; }
  const CompleteJob& job() const { return job_; }

  void start() {
    const fim::Request& r = job_.request;
    if (job_.style == fim::Style::chat) {
      chat_ = fim::chat_request(r, job_.provider_kind);
      if (auto bad = provider_.validate(chat_)) {
        reply_.error(rpc::code::invalid_params, *bad);
        return finish(nullptr);
      }
    } else {
      chat_.provider = r.provider;
      chat_.model = r.model;
      chat_.stream = r.stream;
    }
    prepare();
  }

  // $/cancelRequest, shutdown, end of input, or a newer request for the same document.
  void cancel(const std::string& why) {
    if (done_) return;
    reply_.error(rpc::code::request_cancelled, why);
    finish(nullptr);
  }

  void on_delta(std::string_view content, std::string_view /*reasoning*/) override {
    if (done_ || content.empty() || over_limit(content.size())) return;
    result_.content.append(content);
    if (!job_.request.stream) return;
    reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, {}));
  }
  void on_replace(std::string_view content, std::string_view /*reasoning*/) override {
    if (done_ || over_limit(content.size() > result_.content.size() ? content.size() - result_.content.size() : 0))
      return;
    result_.content.assign(content);
    if (!job_.request.stream) return;
    reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, {}, /*replace=*/true));
  }

 private:
  // A stream that never ends must not take the process's memory with it (as chat: ChatSession::over_limit).
  bool over_limit(size_t more) {
    if (result_.content.size() + more <= max_bytes_) return false;
    spdlog::warn("complete {}: {} response over max_response_bytes ({}); stopped", id_text_, job_.request.provider,
                 max_bytes_);
    reply_.error(rpc::code::upstream_error,
                 job_.request.provider + ": the completion is longer than max_response_bytes (" +
                     std::to_string(max_bytes_) + " bytes); the transfer was stopped",
                 Json{{"kind", "response_too_large"},
                      {"provider", job_.request.provider},
                      {"max_response_bytes", max_bytes_}});
    finish(nullptr);
    return true;
  }

  void prepare() {
    std::weak_ptr<CompleteSession> weak = weak_from_this();
    auto done = [weak](Result<net::Request> r) {
      auto self = weak.lock();
      if (!self || self->done_) return;
      if (!r) return self->fail(r.error());
      self->send(std::move(r.value()));
    };
    const fim::Request& r = job_.request;
    switch (job_.style) {
      case fim::Style::chat:
        provider_.prepare(chat_, std::move(done));
        break;
      case fim::Style::codegeex:
        provider_.prepare_json("/chat/completions", fim::codegeex_body(r), r.stream, std::move(done));
        break;
      case fim::Style::completions:
        provider_.prepare_json("/completions", fim::completions_body(r), r.stream, std::move(done));
        break;
    }
  }

  void send(net::Request request) {
    // TLS, proxy and the instance's timeouts came with the request (providers' transfer_options());
    // completion is latency-bound and has its own, shorter, timeout on top.
    auto cap = [this](int64_t& ms) { ms = ms <= 0 ? timeout_ms_ : std::min(ms, timeout_ms_); };  // <= 0: none
    cap(request.options.connect_timeout_ms);
    cap(request.options.first_byte_timeout_ms);
    cap(request.options.idle_timeout_ms);

    result_ = ChatResult{};
    result_.model = job_.request.model;
    result_.provider = job_.request.provider;
    body_.clear();
    stream_ = job_.style == fim::Style::completions
                  ? fim::open_completions_stream(std::string(provider_.name()), result_, *this)
                  : provider_.open_stream(chat_, result_, *this);
    keep_body_ = job_.request.n > 1 && !job_.request.stream;
    std::weak_ptr<CompleteSession> weak = weak_from_this();
    net::Callbacks cb;
    cb.on_head = [weak](int status, const net::Headers& headers) {
      auto self = weak.lock();
      if (!self || self->done_) return;
      self->keep_body_ = self->keep_body_ && status / 100 == 2;
      self->stream_->on_head(status, headers);
      self->check_stream();
    };
    cb.on_data = [weak](std::string_view bytes) {
      auto self = weak.lock();
      if (!self || self->done_) return;
      if (self->keep_body_) {
        if (self->body_.size() + bytes.size() <= kMaxCandidateBody)
          self->body_.append(bytes);
        else
          self->keep_body_ = false, self->body_.clear();
      }
      self->stream_->on_body(bytes);
      self->check_stream();
    };
    cb.on_done = [weak](const net::NetError* error) {
      auto self = weak.lock();
      if (!self || self->done_) return;
      self->on_transfer_done(error);
    };
    transfer_ = http_->start(std::move(request), std::move(cb));
  }

  void check_stream() {
    if (done_) return;
    if (stream_->error()) {
      transfer_.cancel();
      return fail(*stream_->error());
    }
    // A non-stream body needs its last byte before the other choices can be read; a stream is done
    // at its logical end, and the transfer finishes reading the terminator for connection reuse.
    if (stream_->done() && !keep_body_) succeed();
  }

  void on_transfer_done(const net::NetError* error) {
    if (error) {
      return fail(from_net_error(*error, job_.request.provider));
    }
    stream_->on_eof();
    if (stream_->error()) return fail(*stream_->error());
    if (stream_->done()) return succeed();
    UpstreamError e;
    e.kind = ErrorKind::network;
    e.message = job_.request.provider + ": the response ended before the model finished";
    fail(std::move(e));
  }

  void fail(UpstreamError error) {
    if (done_) return;
    // Stale credentials (an expired Zhipu JWT, a Qianfan token): refresh once and resend. This is not a
    // retry of a failed generation; nothing else is resent (completion is latency-bound).
    if (error.refresh_credentials && !refreshed_ && result_.content.empty()) {
      refreshed_ = true;
      provider_.invalidate_credentials();
      return prepare();
    }
    spdlog::info("complete {}: {} error from {}: {}", id_text_, error_kind_name(error.kind), job_.request.provider,
                 error.message);
    std::string message = error.message;
    if (message.rfind(job_.request.provider, 0) != 0) message = job_.request.provider + ": " + message;
    reply_.error(rpc::code::upstream_error, message, upstream_error_data(error, job_.request.provider));
    finish(nullptr);
  }

  void succeed() {
    const fim::Request& r = job_.request;
    fim::CleanOptions opts;
    opts.chat = job_.style == fim::Style::chat;
    opts.max_lines = job_.max_lines;
    std::vector<std::string> raw;
    if (!body_.empty()) raw = fim::choice_texts(body_);
    if (raw.empty()) raw.push_back(result_.content);
    CompleteAnswer answer;
    for (const auto& t : raw) {
      std::string c = fim::clean_completion(t, r.prefix, r.suffix, opts);
      if (c.empty() || std::find(answer.candidates.begin(), answer.candidates.end(), c) != answer.candidates.end())
        continue;
      answer.candidates.push_back(std::move(c));
    }
    if (answer.candidates.empty()) answer.candidates.emplace_back();
    answer.model = result_.model;
    answer.provider = result_.provider;
    answer.finish_reason = result_.finish_reason.empty() ? "stop" : result_.finish_reason;
    answer.usage = usage_json(result_.usage);
    reply_.result(answer_json(answer, false));
    finish(&answer, /*stop_transfer=*/false);
  }

  void finish(const CompleteAnswer* answer, bool stop_transfer = true) {
    if (done_) return;
    done_ = true;
    if (stop_transfer) transfer_.cancel();
    ended_(this, answer);
  }

  std::shared_ptr<net::HttpClient> http_;
  Provider& provider_;
  int64_t timeout_ms_;
  size_t max_bytes_;  // config.max_response_bytes: a completion that never ends is stopped
  CompleteJob job_;
  rpc::Reply reply_;
  Json id_;
  std::string id_text_;
  Ended ended_;
  ChatRequest chat_;
  ChatResult result_;
  std::unique_ptr<ChatStream> stream_;
  net::Transfer transfer_;
  std::string body_;
  bool keep_body_ = false;
  int64_t seq_ = 0;
  bool refreshed_ = false;
  bool done_ = false;
};

// ---- the service --------------------------------------------------------------------------------

CompleteService::CompleteService(Hooks hooks) : hooks_(std::move(hooks)) {}

CompleteService::~CompleteService() {
  hooks_.idle = nullptr;
  auto sessions = sessions_;
  for (auto& [p, running] : sessions) running.session->cancel("Request cancelled");
}

void CompleteService::reconfigure(const Config& config) {
  cache_.clear();
  cache_.set_capacity(static_cast<size_t>(config.completion.cache_size));
}

void CompleteService::start(const Json& params, const Config& config, rpc::Reply& reply) {
  CompleteJob job = parse_complete_params(params, config);
  cache_.set_capacity(static_cast<size_t>(config.completion.cache_size));

  // Latest wins: whatever happens to this request, the older one for the same document is obsolete.
  if (!job.document.empty()) {
    auto it = by_document_.find(job.document);
    if (it != by_document_.end()) {
      if (auto older = it->second.lock())
        older->cancel("Request cancelled: superseded by a newer complete for the same document");
      by_document_.erase(job.document);
    }
  }

  if (const CompleteAnswer* hit = cache_.find(job.cache_key)) {
    reply.result(answer_json(*hit, true));
    return;
  }

  Provider* provider = hooks_.provider(job.request.provider);
  if (!provider) throw invalid_params("model: provider '" + job.request.provider + "' is not available");
  const std::string document = job.document;
  auto session = std::make_shared<CompleteSession>(
      hooks_.http(), *provider, config.completion.timeout_ms, static_cast<size_t>(config.max_response_bytes), std::move(job),
      std::move(reply), [this](CompleteSession* s, const CompleteAnswer* answer) { ended(s, answer); });
  if (!document.empty()) by_document_[document] = session;
  std::weak_ptr<CompleteSession> weak = session;
  auto cookie = hooks_.cancels.add(session->id(), [weak] {
    if (auto s = weak.lock()) s->cancel("Request cancelled");
  });
  sessions_[session.get()] = Running{session, cookie};
  session->start();
}

void CompleteService::ended(CompleteSession* session, const CompleteAnswer* answer) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto keep = std::move(it->second.session);
  hooks_.cancels.remove(it->second.cancel);
  sessions_.erase(it);
  const CompleteJob& job = keep->job();
  if (!job.document.empty()) {
    auto d = by_document_.find(job.document);
    if (d != by_document_.end() && d->second.lock() == keep) by_document_.erase(d);
  }
  if (answer && !answer->candidates.front().empty()) cache_.put(job.cache_key, *answer);
  if (sessions_.empty() && hooks_.idle) hooks_.idle();
  // The session may still be on the stack; release it from the loop.
  asio::post(hooks_.io, [keep = std::move(keep)] {});
}

}  // namespace glm
