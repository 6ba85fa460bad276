#include "server/complete_session.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_set>

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "core/tool_calls.hpp"
#include "providers/provider_common.hpp"
#include "rpc/json_text.hpp"
#include "server/param_fields.hpp"
#include "server/upstream_error.hpp"

namespace glm {

namespace {

using rpc::invalid_params;

using param_fields::field;
using param_fields::string_field;

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
  // Each field is length-prefixed, so no two requests share a key however their text is split between
  // the fields (joining with a separator byte let path "x\0A" + prefix "B" meet path "x" + prefix "A\0B").
  std::string key;
  auto add = [&key](std::string_view v) {
    key += std::to_string(v.size());
    key += ':';
    key += v;
  };
  auto add_number = [&add](double v) { add(Json(v).dump()); };
  add(model);
  add(fim::style_name(job.style));
  add(r.path);
  add(r.language);
  add(r.prefix);
  add(r.suffix);
  add(std::to_string(r.n) + "/" + std::to_string(job.max_lines) + "/" + std::to_string(r.max_tokens));
  add_number(r.temperature);
  add_number(r.top_p);
  add(std::to_string(r.stop.size()));
  for (const auto& s : r.stop) add(s);
  add(std::to_string(r.contexts.size()));
  for (const auto& c : r.contexts) {
    add(c.path);
    add(c.code);
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

// ---- the requests upstream ----------------------------------------------------------------------

// One `complete` request: one HTTP request upstream, or n of them (one per candidate) when the style
// answers a single candidate per request (CodeGeeX, chat models) and `options.n` > 1. The requests run
// concurrently on the same HTTP client; the answer comes once every one has ended.
class CompleteSession : public std::enable_shared_from_this<CompleteSession> {
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
        ended_(std::move(ended)) {}

  const Json& id() const { return id_; }
  const CompleteJob& job() const { return job_; }

  void start() {
    const fim::Request& r = job_.request;
    // /completions servers answer n choices in one response; the other styles answer one per request.
    const int count = job_.style == fim::Style::completions ? 1 : std::max(1, r.n);
    for (int i = 0; i < count; ++i) {
      auto leg = std::make_unique<Leg>(*this, static_cast<size_t>(i));
      leg->request = r;
      if (count > 1) {
        leg->request.n = 1;
        leg->request.temperature = fim::candidate_temperature(r.temperature, i, count);
        leg->request.stream = r.stream && i == 0;  // only the first request streams deltas
      }
      if (job_.style == fim::Style::chat) {
        leg->chat = fim::chat_request(leg->request, job_.provider_kind);
        if (auto bad = provider_.validate(leg->chat)) {
          reply_.error(rpc::code::invalid_params, *bad);
          return finish();
        }
      } else {
        leg->chat.provider = r.provider;
        leg->chat.model = r.model;
        leg->chat.stream = leg->request.stream;
      }
      legs_.push_back(std::move(leg));
    }
    for (auto& leg : legs_) {
      if (done_) return;
      prepare(*leg);
    }
  }

  // $/cancelRequest, shutdown, end of input, or a newer request for the same document: every request
  // upstream is stopped at once.
  void cancel(const std::string& why) {
    if (done_) return;
    reply_.error(rpc::code::request_cancelled, why);
    finish();
  }

 private:
  struct Failure {
    std::string message;
    Json data;
  };

  // One HTTP request upstream and what came back.
  struct Leg : DeltaSink {
    Leg(CompleteSession& s, size_t i) : session(s), index(i) {}
    void on_delta(std::string_view content, std::string_view /*reasoning*/) override {
      session.on_delta(*this, content);
    }
    void on_replace(std::string_view content, std::string_view /*reasoning*/) override {
      session.on_replace(*this, content);
    }
    // A completion has no use for tool calls, but the decoder assembles them: they count against the cap.
    void on_tool_calls(const Json& fragments) override { session.on_tool_calls(*this, fragments); }

    CompleteSession& session;
    size_t index;
    fim::Request request;  // the session's, with this candidate's temperature and stream flag
    ChatRequest chat;
    ChatResult result;
    std::unique_ptr<ChatStream> stream;
    net::Transfer transfer;
    std::string body;
    size_t tool_call_bytes = 0;
    bool keep_body = false;
    bool refreshed = false;
    bool ended = false;
    std::vector<std::string> texts;  // raw texts, when it succeeded
    std::optional<Failure> failure;  // when it failed
  };

  void on_delta(Leg& leg, std::string_view content) {
    if (done_ || leg.ended || content.empty() || over_limit(leg, content.size())) return;
    leg.result.content.append(content);
    if (!leg.request.stream) return;
    reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, {}));
  }
  void on_replace(Leg& leg, std::string_view content) {
    if (done_ || leg.ended ||
        over_limit(leg, content.size() > leg.result.content.size() ? content.size() - leg.result.content.size() : 0))
      return;
    leg.result.content.assign(content);
    if (!leg.request.stream) return;
    reply_.notify_serialized(rpc::chat_delta_text(id_text_, seq_++, content, {}, /*replace=*/true));
  }

  void on_tool_calls(Leg& leg, const Json& fragments) {
    if (done_ || leg.ended) return;
    const size_t bytes = tool_call_bytes(fragments);
    if (over_limit(leg, bytes)) return;
    leg.tool_call_bytes += bytes;
  }

  // A stream that never ends must not take the process's memory with it (as chat: ChatSession::over_limit).
  // The limit is per request upstream; tool-call fragments count like text.
  bool over_limit(Leg& leg, size_t more) {
    if (leg.result.content.size() + leg.tool_call_bytes + more <= max_bytes_) return false;
    spdlog::warn("complete {}: {} response over max_response_bytes ({}); stopped", id_text_, job_.request.provider,
                 max_bytes_);
    leg_failed(leg, Failure{job_.request.provider + ": the completion is longer than max_response_bytes (" +
                                std::to_string(max_bytes_) + " bytes); the transfer was stopped",
                            Json{{"kind", "response_too_large"},
                                 {"provider", job_.request.provider},
                                 {"max_response_bytes", max_bytes_}}});
    return true;
  }

  // Callbacks find their request through the session (which owns it) and its index.
  Leg* find(size_t index) {
    return index < legs_.size() && !done_ && !legs_[index]->ended ? legs_[index].get() : nullptr;
  }

  void prepare(Leg& leg) {
    std::weak_ptr<CompleteSession> weak = weak_from_this();
    const size_t index = leg.index;
    auto done = [weak, index](Result<net::Request> r) {
      auto self = weak.lock();
      if (!self) return;
      Leg* leg = self->find(index);
      if (!leg) return;
      if (!r) return self->fail(*leg, r.error());
      self->send(*leg, std::move(r.value()));
    };
    const fim::Request& r = leg.request;
    switch (job_.style) {
      case fim::Style::chat:
        provider_.prepare(leg.chat, std::move(done));
        break;
      case fim::Style::codegeex:
        provider_.prepare_json("/chat/completions", fim::codegeex_body(r), r.stream, std::move(done));
        break;
      case fim::Style::completions:
        provider_.prepare_json("/completions", fim::completions_body(r), r.stream, std::move(done));
        break;
    }
  }

  void send(Leg& leg, net::Request request) {
    // TLS, proxy and the instance's timeouts came with the request (providers' transfer_options());
    // completion is latency-bound and has its own, shorter, timeout on top.
    auto cap = [this](int64_t& ms) { ms = ms <= 0 ? timeout_ms_ : std::min(ms, timeout_ms_); };  // <= 0: none
    cap(request.options.connect_timeout_ms);
    cap(request.options.first_byte_timeout_ms);
    cap(request.options.idle_timeout_ms);

    leg.result = ChatResult{};
    leg.tool_call_bytes = 0;
    leg.result.model = job_.request.model;
    leg.result.provider = job_.request.provider;
    leg.body.clear();
    leg.stream = job_.style == fim::Style::completions
                     ? fim::open_completions_stream(std::string(provider_.name()), leg.result, leg)
                     : provider_.open_stream(leg.chat, leg.result, leg);
    leg.keep_body = leg.request.n > 1 && !leg.request.stream;
    std::weak_ptr<CompleteSession> weak = weak_from_this();
    const size_t index = leg.index;
    net::Callbacks cb;
    cb.on_head = [weak, index](int status, const net::Headers& headers) {
      auto self = weak.lock();
      if (!self) return;
      Leg* leg = self->find(index);
      if (!leg) return;
      leg->keep_body = leg->keep_body && status / 100 == 2;
      leg->stream->on_head(status, headers);
      self->check_stream(*leg);
    };
    cb.on_data = [weak, index](std::string_view bytes) {
      auto self = weak.lock();
      if (!self) return;
      Leg* leg = self->find(index);
      if (!leg) return;
      if (leg->keep_body) {
        if (leg->body.size() + bytes.size() <= kMaxCandidateBody)
          leg->body.append(bytes);
        else
          leg->keep_body = false, leg->body.clear();
      }
      leg->stream->on_body(bytes);
      if (self->find(index)) self->check_stream(*leg);
    };
    cb.on_done = [weak, index](const net::NetError* error) {
      auto self = weak.lock();
      if (!self) return;
      Leg* leg = self->find(index);
      if (!leg) return;
      self->on_transfer_done(*leg, error);
    };
    leg.transfer = http_->start(std::move(request), std::move(cb));
  }

  void check_stream(Leg& leg) {
    if (done_ || leg.ended) return;
    if (leg.stream->error()) {
      leg.transfer.cancel();
      return fail(leg, *leg.stream->error());
    }
    // A non-stream body needs its last byte before the other choices can be read; a stream is done
    // at its logical end, and the transfer finishes reading the terminator for connection reuse.
    if (leg.stream->done() && !leg.keep_body) succeed(leg);
  }

  void on_transfer_done(Leg& leg, const net::NetError* error) {
    if (error) return fail(leg, from_net_error(*error, job_.request.provider));
    leg.stream->on_eof();
    if (leg.stream->error()) return fail(leg, *leg.stream->error());
    if (leg.stream->done()) return succeed(leg);
    UpstreamError e;
    e.kind = ErrorKind::network;
    e.message = job_.request.provider + ": the response ended before the model finished";
    fail(leg, std::move(e));
  }

  void fail(Leg& leg, UpstreamError error) {
    if (done_ || leg.ended) return;
    // Stale credentials (an expired Zhipu JWT, a Qianfan token): refresh once and resend. This is not a
    // retry of a failed generation; nothing else is resent (completion is latency-bound).
    if (error.refresh_credentials && !leg.refreshed && leg.result.content.empty()) {
      leg.refreshed = true;
      provider_.invalidate_credentials();
      return prepare(leg);
    }
    const std::string_view kind = error_kind_name(error.kind);
    UpstreamReport report = report_upstream_error(std::move(error), provider_, job_.request.provider);
    if (legs_.size() > 1)
      spdlog::info("complete {}: {} error from {} (request {} of {}): {}", id_text_, kind, job_.request.provider,
                   leg.index + 1, legs_.size(), report.message);
    else
      spdlog::info("complete {}: {} error from {}: {}", id_text_, kind, job_.request.provider, report.message);
    leg_failed(leg, Failure{std::move(report.message), std::move(report.data)});
  }

  void leg_failed(Leg& leg, Failure failure) {
    if (done_ || leg.ended) return;
    leg.ended = true;
    leg.transfer.cancel();
    leg.failure = std::move(failure);
    leg_ended();
  }

  void succeed(Leg& leg) {
    if (done_ || leg.ended) return;
    leg.ended = true;  // the transfer may still read the stream's terminator (connection reuse)
    // At most n choices: a reply with more (or with indexes >= n) must not cost time or cache room.
    if (!leg.body.empty()) leg.texts = fim::choice_texts(leg.body, static_cast<size_t>(std::max(1, leg.request.n)));
    if (leg.texts.empty()) leg.texts.push_back(leg.result.content);
    leg_ended();
  }

  // Answers once every request upstream has ended: the candidates that arrived (the first request's
  // first), or, when every request failed, the first request's error.
  void leg_ended() {
    for (const auto& leg : legs_)
      if (!leg->ended) return;
    const fim::Request& r = job_.request;
    fim::CleanOptions opts;
    opts.chat = job_.style == fim::Style::chat;
    opts.max_lines = job_.max_lines;
    CompleteAnswer answer;
    const Leg* first = nullptr;
    std::optional<Usage> usage;
    std::unordered_set<std::string> seen;  // distinct candidates in O(1) each
    for (const auto& leg : legs_) {
      if (leg->result.usage) {
        Usage& u = usage ? *usage : usage.emplace();
        u.input_tokens = saturating_add(u.input_tokens, leg->result.usage->input_tokens);
        u.output_tokens = saturating_add(u.output_tokens, leg->result.usage->output_tokens);
        u.total_tokens = saturating_add(u.total_tokens, leg->result.usage->total_tokens);
      }
      if (leg->failure) continue;
      if (!first) first = leg.get();
      for (const auto& t : leg->texts) {
        std::string c = fim::clean_completion(t, r.prefix, r.suffix, opts);
        if (c.empty() || !seen.insert(c).second) continue;
        answer.candidates.push_back(std::move(c));
      }
    }
    if (!first) {
      const Failure& f = *legs_.front()->failure;
      reply_.error(rpc::code::upstream_error, f.message, f.data);
      return finish();
    }
    if (answer.candidates.empty()) answer.candidates.emplace_back();
    answer.model = first->result.model.empty() ? r.model : first->result.model;
    answer.provider = first->result.provider.empty() ? r.provider : first->result.provider;
    answer.finish_reason = first->result.finish_reason.empty() ? "stop" : first->result.finish_reason;
    answer.usage = usage_json(usage);
    reply_.result(answer_json(answer, false));
    finish(&answer);
  }

  // Stops every request still running (one that succeeded may still be reading its stream's terminator,
  // for connection reuse: it is left alone).
  void finish(const CompleteAnswer* answer = nullptr) {
    if (done_) return;
    done_ = true;
    for (auto& leg : legs_)
      if (!leg->ended || leg->failure) leg->transfer.cancel();
    ended_(this, answer);
  }

  std::shared_ptr<net::HttpClient> http_;
  Provider& provider_;
  int64_t timeout_ms_;
  size_t max_bytes_;  // config.max_response_bytes, per request upstream: a completion that never ends is stopped
  CompleteJob job_;
  rpc::Reply reply_;
  Json id_;
  std::string id_text_;
  Ended ended_;
  std::vector<std::unique_ptr<Leg>> legs_;
  int64_t seq_ = 0;
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
  // Answers still in flight were asked of the old configuration: they must not fill the new cache.
  ++generation_;
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
      hooks_.http(), *provider, config.completion.timeout_ms, static_cast<size_t>(config.max_response_bytes),
      std::move(job), std::move(reply), [this](CompleteSession* s, const CompleteAnswer* answer) { ended(s, answer); });
  if (!document.empty()) by_document_[document] = session;
  std::weak_ptr<CompleteSession> weak = session;
  auto cookie = hooks_.cancels.add(session->id(), [weak] {
    if (auto s = weak.lock()) s->cancel("Request cancelled");
  });
  sessions_[session.get()] = Running{session, cookie, generation_};
  session->start();
}

void CompleteService::ended(CompleteSession* session, const CompleteAnswer* answer) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto keep = std::move(it->second.session);
  const bool current = it->second.generation == generation_;
  hooks_.cancels.remove(it->second.cancel);
  sessions_.erase(it);
  const CompleteJob& job = keep->job();
  if (!job.document.empty()) {
    auto d = by_document_.find(job.document);
    if (d != by_document_.end() && d->second.lock() == keep) by_document_.erase(d);
  }
  if (answer && current && !answer->candidates.front().empty()) cache_.put(job.cache_key, *answer);
  if (sessions_.empty() && hooks_.idle) hooks_.idle();
  // The session may still be on the stack; release it from the loop.
  asio::post(hooks_.io, [keep = std::move(keep)] {});
}

}  // namespace glm
