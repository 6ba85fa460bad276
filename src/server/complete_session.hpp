// `complete`: inline code completion (docs/protocol.md, "Complete"). Loop thread only.
//
// CompleteService takes the requests: parses and trims them, answers from its LRU cache, applies
// "latest wins" per `document` (a newer request cancels the one in flight: it answers -32800 and its
// upstream transfer is removed at once, which closes the connection), and runs one CompleteSession per
// request that goes upstream. A session sends one HTTP request in the style the model needs
// (providers/fim.hpp), or, for `options.n` > 1 on a style that answers one candidate per request
// (CodeGeeX, chat models), n concurrent requests with spread temperatures (fim::candidate_temperature);
// it streams the first request's raw deltas when asked, and answers with the cleaned, distinct texts
// (core/fim_clean.hpp) once every request has ended (an error only when all of them failed).
// Completion is latency-bound: nothing is retried (a rate limit comes back at once with retry_after_ms,
// or, for one of n requests, just adds no candidate); only stale credentials (an expired Zhipu JWT) are
// refreshed and resent once.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>

#include "core/config.hpp"
#include "net/http_client.hpp"
#include "providers/fim.hpp"
#include "providers/provider.hpp"
#include "rpc/dispatcher.hpp"

namespace glm {

// What a successful completion answers (and what the cache keeps).
struct CompleteAnswer {
  std::vector<std::string> candidates;  // cleaned, distinct; never empty ([""] when there is nothing)
  std::string model;
  std::string provider;
  std::string finish_reason;
  Json usage = nullptr;
};

// A parsed `complete` request.
struct CompleteJob {
  fim::Request request;  // trimmed to the budgets
  fim::Style style = fim::Style::chat;
  std::string provider_kind;  // the instance's provider kind ("zhipu", "openai", ...)
  int max_lines = 0;
  std::string document;   // "" = no latest-wins grouping
  std::string cache_key;  // length-prefixed: model, style, path, language, trimmed text, n, max_lines,
                          // max_tokens, temperature, top_p, stop, contexts
};

// Parses `complete` params against the configuration; throws rpc::RpcError(-32602) naming the field.
// The style follows from the instance's provider kind (ProviderConfig::kind) and the model.
CompleteJob parse_complete_params(const Json& params, const Config& config);

// A small LRU map from cache key to answer.
class CompleteCache {
 public:
  explicit CompleteCache(size_t capacity = 64) : capacity_(capacity) {}
  const CompleteAnswer* find(const std::string& key);  // and marks it most recent
  void put(const std::string& key, CompleteAnswer answer);
  void clear();
  void set_capacity(size_t capacity);
  size_t size() const { return map_.size(); }

 private:
  using Entry = std::pair<std::string, CompleteAnswer>;
  void evict();
  size_t capacity_;
  std::list<Entry> order_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

class CompleteSession;

class CompleteService {
 public:
  struct Hooks {
    asio::io_context& io;
    std::function<Provider*(const std::string& name)> provider;  // nullptr when unavailable
    std::function<std::shared_ptr<net::HttpClient>()> http;
    rpc::CancelMap& cancels;
    std::function<void()> idle;  // called when the last session in flight ended
  };
  explicit CompleteService(Hooks hooks);
  ~CompleteService();

  // Handles one `complete` request: answers now (cache hit, bad params) or starts a session.
  void start(const Json& params, const Config& config, rpc::Reply& reply);
  // Configuration changed (initialize): cached answers may come from another endpoint now.
  void reconfigure(const Config& config);
  size_t active() const { return sessions_.size(); }
  const CompleteCache& cache() const { return cache_; }

 private:
  void ended(CompleteSession* session, const CompleteAnswer* answer);

  Hooks hooks_;
  CompleteCache cache_;
  struct Running {
    std::shared_ptr<CompleteSession> session;
    rpc::CancelMap::Cookie cancel;  // its own entry, even when the client reused its id
    uint64_t generation = 0;        // the configuration it was started under (generation_)
  };
  std::map<CompleteSession*, Running> sessions_;
  std::map<std::string, std::weak_ptr<CompleteSession>> by_document_;
  uint64_t generation_ = 0;  // bumped by reconfigure(): a session's answer is cached only in its generation
};

}  // namespace glm
