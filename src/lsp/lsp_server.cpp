#include "lsp/lsp_server.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "lsp/text_util.hpp"

namespace glm::lsp {

namespace {

constexpr const char* kExplain = "glm.explain";
constexpr const char* kAsk = "glm.ask";
constexpr const char* kRewrite = "glm.rewrite";
constexpr const char* kFix = "glm.fix";
constexpr const char* kAction = "glm.action";  // an action of the library (core/actions.hpp) by name

// Text sent to `complete` on each side of the cursor; the engine trims further to its own budget.
constexpr size_t kCompletionWindow = 32 * 1024;
// Lines of context around a rewritten selection.
constexpr size_t kRewriteContextLines = 30;
// Work-done progress: at most one report per interval, with at most this much of the text so far.
constexpr auto kReportInterval = std::chrono::milliseconds(100);
constexpr size_t kReportTailBytes = 1000;
// The "started" window/logMessage after a command's first messages (execute_command).
constexpr auto kNudgeDelay = std::chrono::milliseconds(300);
// Answers kept in the answers directory.
constexpr size_t kKeepAnswers = 50;
// Documents refused by the --max-open-bytes cap that are remembered (to answer completion empty there).
constexpr size_t kMaxUntracked = 10000;

const Json& member(const Json& j, const char* key) {
  static const Json null_json;
  if (!j.is_object()) return null_json;
  auto it = j.find(key);
  return it == j.end() ? null_json : *it;
}

std::string need_string(const Json& j, const char* key, const std::string& where) {
  const Json& v = member(j, key);
  if (!v.is_string()) throw rpc::invalid_params(where + key + ": expected a string");
  return v.get<std::string>();
}

int64_t to_int(const Json& v, const std::string& what) {
  if (v.is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX));
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d != d) return 0;
    return d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(d);
  }
  throw rpc::invalid_params(what + ": expected an integer");
}

Position parse_position(const Json& j, const std::string& what) {
  if (!j.is_object()) throw rpc::invalid_params(what + ": expected a position {line, character}");
  return {to_int(member(j, "line"), what + ".line"), to_int(member(j, "character"), what + ".character")};
}

struct Range {
  Position start, end;
};

Range parse_range(const Json& j, const std::string& what) {
  if (!j.is_object()) throw rpc::invalid_params(what + ": expected a range {start, end}");
  return {parse_position(member(j, "start"), what + ".start"), parse_position(member(j, "end"), what + ".end")};
}

Json position_json(Position p) { return {{"line", p.line}, {"character", p.character}}; }
Json range_json(Position a, Position b) { return {{"start", position_json(a)}, {"end", position_json(b)}}; }

// An error from the server's methods as an LSP error: upstream failures become RequestFailed with the
// same data (kind, provider, http_status, ...); everything else keeps its code.
std::pair<int, Json> lsp_error(const Json& error) {
  int code = error.value("code", rpc::code::internal_error);
  if (code == rpc::code::upstream_error) code = lsp_code::request_failed;
  Json data = error.contains("data") ? error["data"] : Json(nullptr);
  return {code, data};
}

void reply_error(rpc::Reply& reply, const Json& error) {
  auto [code, data] = lsp_error(error);
  reply.error(code, error.value("message", std::string("error")), data);
}

bool word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

}  // namespace

Json extract_config(const Json& options) {
  if (!options.is_object()) return nullptr;
  const Json* o = &options;
  if (o->contains("glm")) {
    o = &(*o)["glm"];
    if (!o->is_object()) return nullptr;
  }
  if (o->contains("config")) return (*o)["config"];
  if (o->empty()) return nullptr;
  return *o;
}

// One Explain/Ask/Rewrite/Fix run: from executeCommand to the answer shown or the edit applied.
struct LspServer::Job {
  int64_t id = 0;
  std::string command;  // glm.explain, ...
  std::string title;    // "GLM: Explain"
  std::string uri, path, language;
  std::string where;  // "file.lua:12", for messages
  int64_t version = 0;
  Position start, end;  // the range rewritten / explained (after expansion)
  std::string code, before, after;
  std::string question;  // ask; instruction for rewrite/fix
  Json work_done_token;  // from the client, or created here
  bool token_ready = false;
  bool begun = false;
  int64_t core_id = 0;
  bool done = false;
  std::string outcome;  // "done", "cancelled" or "failed", once done (the progress end's message)
  std::string text;     // the answer so far
  std::unique_ptr<asio::steady_timer> report_timer;
  bool report_pending = false;
  std::chrono::steady_clock::time_point last_report{};
};

LspServer::LspServer(asio::io_context& io, Config config, rpc::SendFn send, std::function<void(int)> exit,
                     std::shared_ptr<net::HttpClient> http)
    : io_(io),
      send_(send),
      exit_(exit),
      dispatcher_(send),
      answers_([] {
        const char* d = std::getenv("GLM_LSP_ANSWERS_DIR");
        return std::string(d && *d ? d : "");
      }()),
      core_(
          io, config, [this](rpc::Framing, std::string&& m) { core_client_.on_server_message(std::move(m)); }, exit,
          std::move(http)),
      max_document_bytes_(config.max_message_bytes) {
  core_client_.set_target([this](rpc::Frame&& f) { core_.dispatcher().dispatch(std::move(f)); });
  dispatcher_.set_response_handler([this](const Json& r) { on_client_response(r); });
  dispatcher_.set_max_depth(static_cast<size_t>(config.max_json_depth));
  register_methods();
}

LspServer::~LspServer() {
  for (auto& [id, job] : jobs_) {
    if (job->report_timer) job->report_timer->cancel();
  }
}

std::string LspServer::answers_dir() { return answers_.directory(); }

void LspServer::add_root(const std::string& uri) {
  std::string root = uri_to_path(uri);
  if (root.empty() || root[0] != '/') return;  // not a file:// URI
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (std::find(roots_.begin(), roots_.end(), root) == roots_.end()) roots_.push_back(std::move(root));
}

std::string LspServer::workspace_path(const std::string& uri) const {
  const std::string path = uri_to_path(uri);
  // The innermost root that contains the file (nested workspace folders).
  size_t best = 0;
  for (const auto& root : roots_) {
    const size_t n = root == "/" ? 0 : root.size();
    if (path.size() > n + 1 && path.compare(0, n, root, 0, n) == 0 && path[n] == '/' && (best == 0 || n + 1 > best))
      best = n + 1;
  }
  if (best > 0) return path.substr(best);
  return std::filesystem::path(path).filename().string();  // outside the workspace: the name only
}

void LspServer::on_frame(rpc::Frame&& frame) {
  framing_ = frame.framing;
  dispatcher_.dispatch(std::move(frame));
}

void LspServer::notify_client(const std::string& method, Json params) {
  send_(framing_, rpc::to_wire(rpc::make_notification(method, std::move(params))));
}

void LspServer::request_client(const std::string& method, Json params,
                               std::function<void(const Json&, const Json&)> done) {
  int64_t id = next_client_request_++;
  client_requests_[id] = std::move(done);
  send_(framing_,
        rpc::to_wire(Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}));
}

void LspServer::on_client_response(const Json& r) {
  const Json& id = r["id"];
  if (!id.is_number_integer()) {
    spdlog::warn("lsp: response to an unknown request {}", rpc::to_wire(id));
    return;
  }
  auto it = client_requests_.find(id.get<int64_t>());
  if (it == client_requests_.end()) {
    spdlog::warn("lsp: response to an unknown request {}", rpc::to_wire(id));
    return;
  }
  auto done = std::move(it->second);
  client_requests_.erase(it);
  static const Json null_json;
  if (r.contains("error")) {
    done(null_json, r["error"]);
  } else {
    done(r.contains("result") ? r["result"] : null_json, null_json);
  }
}

void LspServer::show_message(int type, const std::string& text) {
  notify_client("window/showMessage", {{"type", type}, {"message", text}});
}

void LspServer::track(const Json& lsp_id, int64_t core_id) { cancellable_[rpc::to_wire(lsp_id)] = core_id; }
void LspServer::untrack(const Json& lsp_id) { cancellable_.erase(rpc::to_wire(lsp_id)); }

void LspServer::apply_config(const Json& config, std::function<void(const Json* error)> done) {
  auto cb = std::make_shared<std::function<void(const Json*)>>(std::move(done));
  CoreClient::Handlers h;
  h.on_result = [this, cb](Json) {
    dispatcher_.set_max_depth(static_cast<size_t>(core_.config().max_json_depth));
    (*cb)(nullptr);
  };
  h.on_error = [cb](const Json& e) { (*cb)(&e); };
  core_client_.call("initialize", {{"config", config}}, std::move(h));
}

void LspServer::pull_configuration() {
  if (!caps_.configuration) return;
  request_client("workspace/configuration", {{"items", Json::array({{{"section", "glm"}}})}},
                 [this](const Json& result, const Json& error) {
                   if (!error.is_null() || !result.is_array() || result.empty()) return;
                   Json cfg = extract_config(
                       result[0].is_object() && !result[0].contains("glm") ? Json{{"glm", result[0]}} : result[0]);
                   if (cfg.is_null()) return;
                   apply_config(cfg, [this](const Json* e) {
                     if (e) show_message(1, "GLM: invalid configuration: " + e->value("message", std::string()));
                   });
                 });
}

void LspServer::register_methods() {
  auto& d = dispatcher_;

  d.set_request_gate([this](const std::string& method, rpc::Reply& reply) {
    if (shutdown_) {
      reply.error(rpc::code::invalid_request,
                  "Invalid Request: the server is shutting down ('" + method + "' after 'shutdown')");
      return true;
    }
    if (!initialized_ && method != "initialize") {
      reply.error(lsp_code::server_not_initialized, "Server not initialized: send 'initialize' first");
      return true;
    }
    return false;
  });

  d.on_request("initialize", [this](const Json& params, rpc::Reply& reply) {
    if (initialized_) throw rpc::RpcError(rpc::code::invalid_request, "Invalid Request: 'initialize' was already sent");
    const Json& caps = member(params, "capabilities");
    // Position encoding: utf-8 when offered (our text is UTF-8: no conversion), else utf-32 when offered,
    // else the mandatory utf-16. clangd's `offsetEncoding` extension (older clients) works the same way.
    Json offered = member(member(caps, "general"), "positionEncodings");
    if (!offered.is_array() && member(caps, "offsetEncoding").is_array()) {
      offered = caps["offsetEncoding"];
      caps_.offset_encoding_ext = true;
    }
    caps_.encoding = Encoding::utf16;
    if (offered.is_array()) {
      bool has8 = false, has32 = false;
      for (const auto& e : offered) {
        if (e == "utf-8") has8 = true;
        if (e == "utf-32") has32 = true;
      }
      caps_.encoding = has8 ? Encoding::utf8 : has32 ? Encoding::utf32 : Encoding::utf16;
    }
    const Json& window = member(caps, "window");
    caps_.work_done_progress = member(window, "workDoneProgress") == true;
    caps_.show_document = member(member(window, "showDocument"), "support") == true;
    const Json& ws = member(caps, "workspace");
    caps_.apply_edit = member(ws, "applyEdit") == true;
    caps_.document_changes = member(member(ws, "workspaceEdit"), "documentChanges") == true;
    caps_.configuration = member(ws, "configuration") == true;
    caps_.code_action_literals =
        !member(member(member(caps, "textDocument"), "codeAction"), "codeActionLiteralSupport").is_null();
    // Workspace roots: paths sent upstream are relative to them (as the plugin sends them).
    roots_.clear();
    if (member(params, "workspaceFolders").is_array()) {
      for (const auto& f : params["workspaceFolders"])
        if (member(f, "uri").is_string()) add_root(f["uri"].get<std::string>());
    }
    if (roots_.empty() && member(params, "rootUri").is_string()) add_root(params["rootUri"].get<std::string>());
    if (roots_.empty() && member(params, "rootPath").is_string())
      add_root(path_to_uri(params["rootPath"].get<std::string>()));
    const Json& info = member(params, "clientInfo");
    caps_.name = member(info, "name").is_string() ? info["name"].get<std::string>() : "";
    caps_.version = member(info, "version").is_string() ? info["version"].get<std::string>() : "";
    if (caps_.name == "Neovim") {
      int major = 0, minor = 0;
      if (std::sscanf(caps_.version.c_str(), "%d.%d", &major, &minor) != 2 || (major == 0 && minor < 11))
        caps_.single_line_completion = true;
    }
    // Helix shows no window/showMessageRequest (it answers it with an error).
    std::string lower = caps_.name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    caps_.show_message_request = lower.find("helix") == std::string::npos;
    spdlog::info("lsp client: {} {} (position encoding {}, progress {}, showDocument {}, applyEdit {})", caps_.name,
                 caps_.version, encoding_name(caps_.encoding), caps_.work_done_progress, caps_.show_document,
                 caps_.apply_edit);

    Json core_params = Json::object();
    if (info.is_object()) core_params["clientInfo"] = info;
    Json cfg = extract_config(member(params, "initializationOptions"));
    if (!cfg.is_null()) core_params["config"] = cfg;
    auto r = std::make_shared<rpc::Reply>(std::move(reply));
    CoreClient::Handlers h;
    h.on_error = [r](const Json& e) { reply_error(*r, e); };
    h.on_result = [this, r](Json core_result) {
      initialized_ = true;
      dispatcher_.set_max_depth(static_cast<size_t>(core_.config().max_json_depth));
      Json capabilities = {
          {"positionEncoding", encoding_name(caps_.encoding)},
          {"textDocumentSync", {{"openClose", true}, {"change", 2}}},
          {"codeActionProvider", {{"codeActionKinds", {"quickfix", "refactor.rewrite"}}, {"resolveProvider", false}}},
          {"executeCommandProvider", {{"commands", {kExplain, kAsk, kRewrite, kFix, kAction}}}},
      };
      // Completion is served by the server's `complete` method: offered when the server has it.
      const Json& methods = member(member(core_result, "capabilities"), "methods");
      if (methods.is_array() && std::find(methods.begin(), methods.end(), Json("complete")) != methods.end()) {
        capabilities["completionProvider"] = {{"resolveProvider", false}};
        capabilities["inlineCompletionProvider"] = Json::object();
      }
      Json result = {{"capabilities", capabilities},
                     {"serverInfo", {{"name", "glm-server"}, {"version", GLM_VERSION}}}};
      if (caps_.offset_encoding_ext) result["offsetEncoding"] = encoding_name(caps_.encoding);
      r->result(std::move(result));
    };
    core_client_.call("initialize", std::move(core_params), std::move(h));
  });

  d.on_notification("initialized", [this](const Json&) {
    if (initialized_) pull_configuration();
  });

  d.on_request("shutdown", [this](const Json&, rpc::Reply& reply) {
    shutdown_ = true;
    auto r = std::make_shared<rpc::Reply>(std::move(reply));
    CoreClient::Handlers h;  // the server's shutdown cancels every call in flight (each answers -32800)
    h.on_result = [r](Json) { r->result(nullptr); };
    h.on_error = [r](const Json& e) { reply_error(*r, e); };
    core_client_.call("shutdown", Json::object(), std::move(h));
  });

  d.on_notification("exit", [this](const Json&) {
    // The server exits 0 after shutdown, 1 otherwise (LSP: the same rule).
    core_client_.notify("exit", Json::object());
  });

  d.on_notification("$/cancelRequest", [this](const Json& params) {
    auto it = cancellable_.find(rpc::to_wire(member(params, "id")));
    if (it == cancellable_.end()) return;
    core_client_.cancel(it->second);
  });
  d.on_notification("$/setTrace", [](const Json&) {});

  d.on_notification("workspace/didChangeConfiguration", [this](const Json& params) {
    if (!initialized_) return;
    Json cfg = extract_config(member(params, "settings"));
    if (cfg.is_null()) return pull_configuration();
    apply_config(cfg, [this](const Json* e) {
      if (e) show_message(1, "GLM: invalid configuration: " + e->value("message", std::string()));
    });
  });

  d.on_notification("textDocument/didOpen", [this](const Json& params) {
    if (initialized_) did_open(params);
  });
  d.on_notification("textDocument/didChange", [this](const Json& params) {
    if (initialized_) did_change(params);
  });
  d.on_notification("textDocument/didClose", [this](const Json& params) {
    const Json& td = member(params, "textDocument");
    if (!member(td, "uri").is_string()) return;
    docs_.close(td["uri"].get<std::string>());
    untracked_.erase(td["uri"].get<std::string>());
  });
  d.on_notification("workspace/didChangeWorkspaceFolders", [this](const Json& params) {
    const Json& event = member(params, "event");
    if (member(event, "removed").is_array()) {
      for (const auto& f : event["removed"]) {
        if (!member(f, "uri").is_string()) continue;
        std::string root = uri_to_path(f["uri"].get<std::string>());
        while (root.size() > 1 && root.back() == '/') root.pop_back();
        roots_.erase(std::remove(roots_.begin(), roots_.end(), root), roots_.end());
      }
    }
    if (member(event, "added").is_array()) {
      for (const auto& f : event["added"])
        if (member(f, "uri").is_string()) add_root(f["uri"].get<std::string>());
    }
  });
  for (const char* m : {"textDocument/didSave", "textDocument/willSave", "workspace/didChangeWatchedFiles"})
    d.on_notification(m, [](const Json&) {});

  d.on_notification("window/workDoneProgress/cancel", [this](const Json& params) {
    const Json& token = member(params, "token");
    for (auto& [id, entry] : jobs_) {
      auto job = entry;  // job_done erases the map's entry
      if (!token.is_null() && job->work_done_token == token && !job->done) {
        if (job->core_id && core_client_.in_flight(job->core_id))
          core_client_.cancel(job->core_id);
        else
          job_done(job, nullptr, nullptr);
        return;
      }
    }
  });

  d.on_request("textDocument/inlineCompletion",
               [this](const Json& params, rpc::Reply& reply) { complete(params, reply, true); });
  d.on_request("textDocument/completion",
               [this](const Json& params, rpc::Reply& reply) { complete(params, reply, false); });
  d.on_request("textDocument/codeAction",
               [this](const Json& params, rpc::Reply& reply) { code_action(params, reply); });
  d.on_request("workspace/executeCommand",
               [this](const Json& params, rpc::Reply& reply) { execute_command(params, reply); });
}

void LspServer::did_open(const Json& params) {
  const Json& td = member(params, "textDocument");
  if (!member(td, "uri").is_string() || !member(td, "text").is_string()) {
    spdlog::warn("lsp: didOpen without textDocument.uri/text ignored");
    return;
  }
  std::string lang = member(td, "languageId").is_string() ? td["languageId"].get<std::string>() : "";
  int64_t version = member(td, "version").is_number() ? to_int(td["version"], "version") : 0;
  const std::string& uri = td["uri"].get_ref<const std::string&>();
  docs_.close(uri);  // a repeated didOpen replaces the document: its old text does not count
  const size_t size = td["text"].get_ref<const std::string&>().size();
  if (docs_.total_bytes() + size > static_cast<uint64_t>(max_open_bytes_)) return untrack_document(uri, size);
  untracked_.erase(uri);
  docs_.open(uri, td["text"].get<std::string>(), version, std::move(lang));
}

void LspServer::untrack_document(const std::string& uri, size_t size) {
  docs_.close(uri);
  // Remembered (bounded) so that completion there answers empty instead of "not open".
  if (untracked_.size() < kMaxUntracked) untracked_.insert(uri);
  const std::string why = std::to_string(size) + " bytes would take the open documents over " +
                          std::to_string(max_open_bytes_) + " bytes (--max-open-bytes)";
  spdlog::warn("lsp: {} not tracked: {}", uri, why);
  show_message(2, "GLM: " + uri + " is not tracked (" + why +
                      "); GLM offers nothing in it until other documents are closed and it is reopened");
}

void LspServer::did_change(const Json& params) {
  const Json& td = member(params, "textDocument");
  if (!member(td, "uri").is_string()) return;
  const std::string uri = td["uri"].get<std::string>();
  Document* doc = docs_.find(uri);
  if (!doc) {
    spdlog::warn("lsp: didChange for {} which is not open: ignored", uri);
    return;
  }
  const Json& changes = member(params, "contentChanges");
  if (!changes.is_array()) return;
  // All changes are applied in one pass (Document::apply_changes); the ones before a bad change apply.
  std::vector<Document::Change> batch;
  batch.reserve(changes.size());
  try {
    for (const auto& c : changes) {
      if (!member(c, "text").is_string()) throw rpc::invalid_params("contentChanges[].text: expected a string");
      Document::Change one;
      one.text = c["text"].get_ref<const std::string&>();
      if (c.contains("range") && !c["range"].is_null()) {
        Range r = parse_range(c["range"], "contentChanges[].range");
        one.start = r.start;
        one.end = r.end;
      } else {
        one.full = true;
      }
      batch.push_back(one);
    }
  } catch (const rpc::RpcError& e) {
    spdlog::warn("lsp: bad didChange for {}: {}", uri, e.what());
  }
  doc->apply_changes(batch, caps_.encoding);
  if (member(td, "version").is_number()) doc->set_version(to_int(td["version"], "version"));
  const size_t size = doc->text().size();
  if (static_cast<int64_t>(size) > max_document_bytes_) {
    spdlog::warn("lsp: {} grew over {} bytes; no longer tracked", uri, max_document_bytes_);
    docs_.close(uri);
    show_message(2, "GLM: " + uri + " is too large; GLM ignores it until it is reopened");
  } else if (docs_.total_bytes() > static_cast<uint64_t>(max_open_bytes_)) {
    untrack_document(uri, size);
  }
}

void LspServer::complete(const Json& params, rpc::Reply& reply, bool inline_items) {
  const std::string uri = need_string(member(params, "textDocument"), "uri", "textDocument.");
  Document* doc = docs_.find(uri);
  if (!doc && untracked_.count(uri)) {
    spdlog::debug("lsp: no completion in {}: not tracked (over --max-open-bytes)", uri);
    if (inline_items)
      reply.result({{"items", Json::array()}});
    else
      reply.result({{"isIncomplete", false}, {"items", Json::array()}});
    return;
  }
  if (!doc) throw rpc::invalid_params("textDocument.uri: " + uri + " is not open (send textDocument/didOpen first)");
  Position pos = parse_position(member(params, "position"), "position");
  const std::string& text = doc->text();
  const size_t off = doc->offset_of(pos, caps_.encoding);
  pos = doc->position_of(off, caps_.encoding);  // the clamped position is the one answered

  // The text around the cursor, cut at line starts/ends so the engine sees whole lines.
  size_t from = off > kCompletionWindow ? off - kCompletionWindow : 0;
  if (from > 0) {
    size_t nl = text.find('\n', from);
    from = nl == std::string::npos || nl >= off ? utf8_floor(text, from) : nl + 1;
  }
  size_t to = std::min(text.size(), off + kCompletionWindow);
  if (to < text.size()) {
    size_t nl = text.rfind('\n', to);
    to = nl == std::string::npos || nl < off ? utf8_floor(text, to) : nl + 1;
  }
  Json core_params = {{"prefix", text.substr(from, off - from)},
                      {"suffix", text.substr(off, to - off)},
                      {"path", workspace_path(uri)},
                      {"document", uri},
                      {"stream", false}};
  if (!doc->language_id().empty()) core_params["language"] = doc->language_id();

  // The word before the cursor (textDocument/completion replaces it with word + suggestion, so clients
  // that filter items by the typed word keep ours).
  auto [line_start, line_end] = doc->line_span(static_cast<size_t>(pos.line));
  (void)line_end;
  size_t word = off;
  while (word > line_start && word_byte(static_cast<unsigned char>(text[word - 1]))) --word;
  std::string typed = text.substr(word, off - word);
  Position word_pos = doc->position_of(word, caps_.encoding);

  // Latest wins per document: a newer completion request cancels the one in flight.
  if (auto it = latest_completion_.find(uri); it != latest_completion_.end()) {
    int64_t old = it->second;
    latest_completion_.erase(it);
    core_client_.cancel(old);
  }

  auto r = std::make_shared<rpc::Reply>(std::move(reply));
  Json lsp_id = r->id();
  auto finish = [this, uri, lsp_id](int64_t core_id) {
    untrack(lsp_id);
    auto it = latest_completion_.find(uri);
    if (it != latest_completion_.end() && it->second == core_id) latest_completion_.erase(it);
  };
  auto core_id = std::make_shared<int64_t>(0);
  CoreClient::Handlers h;
  h.on_error = [r, finish, core_id](const Json& e) {
    finish(*core_id);
    reply_error(*r, e);
  };
  h.on_result = [this, r, finish, core_id, inline_items, pos, word_pos, typed](Json result) {
    finish(*core_id);
    std::vector<std::string> texts;
    if (result.contains("candidates") && result["candidates"].is_array()) {
      for (const auto& c : result["candidates"]) {
        if (c.is_string())
          texts.push_back(c.get<std::string>());
        else if (c.is_object() && c.contains("text") && c["text"].is_string())
          texts.push_back(c["text"].get<std::string>());
      }
    }
    if (texts.empty() && result.contains("text") && result["text"].is_string())
      texts.push_back(result["text"].get<std::string>());
    texts.erase(std::remove(texts.begin(), texts.end(), std::string()), texts.end());
    Json items = Json::array();
    for (const auto& t : texts) {
      if (inline_items) {
        items.push_back({{"insertText", t}, {"range", range_json(pos, pos)}});
      } else if (caps_.single_line_completion && first_line(t, t.size()).empty()) {
        continue;  // the suggestion starts on the next line: nothing a one-line item can insert
      } else {
        std::string label = first_line(typed + t, 80);
        if (label.empty())
          label = first_line(
              t.substr(t.find_first_not_of("\r\n") == std::string::npos ? 0 : t.find_first_not_of("\r\n")), 80);
        Json item = {{"label", label},
                     {"kind", 1},
                     {"detail", "GLM"},
                     {"sortText", "0"},
                     {"insertTextFormat", 1},
                     {"textEdit",
                      {{"range", range_json(word_pos, pos)},
                       {"newText", caps_.single_line_completion ? typed + first_line(t, t.size()) : typed + t}}}};
        if (t.find('\n') != std::string::npos)
          item["documentation"] = {{"kind", "markdown"}, {"value", "```\n" + typed + t + "\n```"}};
        items.push_back(std::move(item));
      }
    }
    if (inline_items)
      r->result({{"items", std::move(items)}});
    else
      r->result({{"isIncomplete", true}, {"items", std::move(items)}});
  };
  *core_id = core_client_.call("complete", std::move(core_params), std::move(h));
  if (core_client_.in_flight(*core_id)) {
    latest_completion_[uri] = *core_id;
    track(lsp_id, *core_id);
  }
}

void LspServer::code_action(const Json& params, rpc::Reply& reply) {
  const std::string uri = need_string(member(params, "textDocument"), "uri", "textDocument.");
  Range range = parse_range(member(params, "range"), "range");
  const Json& context = member(params, "context");
  const Json& only = member(context, "only");
  auto wanted = [&](const std::string& kind) {
    if (!only.is_array()) return true;
    for (const auto& k : only) {
      if (!k.is_string()) continue;
      const std::string& s = k.get_ref<const std::string&>();
      if (!kind.empty() && (kind == s || kind.rfind(s + ".", 0) == 0)) return true;
    }
    return false;
  };
  Document* doc = docs_.find(uri);
  Json base = {{"uri", uri}, {"range", range_json(range.start, range.end)}};
  if (doc) base["version"] = doc->version();
  Json actions = Json::array();
  auto add = [&](const std::string& title, const char* command, const std::string& kind, Json args) {
    if (!wanted(kind)) return;
    Json cmd = {{"title", title}, {"command", command}, {"arguments", Json::array({std::move(args)})}};
    if (!caps_.code_action_literals) {
      actions.push_back(std::move(cmd));
      return;
    }
    Json a = {{"title", title}, {"command", std::move(cmd)}};
    if (!kind.empty()) a["kind"] = kind;
    actions.push_back(std::move(a));
  };
  const Json& diags = member(context, "diagnostics");
  if (diags.is_array()) {
    size_t n = 0;
    for (const auto& dg : diags) {
      if (!member(dg, "message").is_string() || !member(dg, "range").is_object() || n++ >= 5) continue;
      Json args = base;
      args["diagnostics"] = Json::array({dg});
      args["range"] = dg["range"];
      add("GLM: Fix this diagnostic: " + first_line(dg["message"].get<std::string>(), 60), kFix, "quickfix",
          std::move(args));
    }
  }
  add("GLM: Explain", kExplain, "", base);
  add("GLM: Ask\xE2\x80\xA6", kAsk, "", base);
  add("GLM: Rewrite\xE2\x80\xA6", kRewrite, "refactor.rewrite", base);
  // The action library (the server's config): those that run on code; explain is the entry above.
  for (const Action& a : core_.config().actions) {
    if (a.context != "code" || a.name == "explain") continue;
    Json args = base;
    args["name"] = a.name;
    if (a.diagnostics && diags.is_array() && !diags.empty()) {
      args["diagnostics"] = Json::array();
      for (size_t i = 0; i < diags.size() && i < 5; ++i) args["diagnostics"].push_back(diags[i]);
    }
    add("GLM: " + a.description, kAction, a.kind == "edit" ? "refactor.rewrite" : "", std::move(args));
  }
  reply.result(std::move(actions));
}

void LspServer::execute_command(const Json& params, rpc::Reply& reply) {
  std::string command = need_string(params, "command", "");
  if (command != kExplain && command != kAsk && command != kRewrite && command != kFix && command != kAction)
    throw rpc::invalid_params("command: unknown command '" + command +
                              "' (glm.explain, glm.ask, glm.rewrite, glm.fix, glm.action)");
  const Json& arguments = member(params, "arguments");
  if (!arguments.is_array() || arguments.empty() || !arguments[0].is_object())
    throw rpc::invalid_params("arguments: expected [{uri, range, ...}]");
  const Json& a = arguments[0];
  // A library action runs as the command of its kind: an edit as a rewrite, the others as a question.
  const Action* action = nullptr;
  if (command == kAction) {
    const std::string name = need_string(a, "name", "arguments[0].");
    for (const Action& x : core_.config().actions)
      if (x.name == name) action = &x;
    if (!action || action->context != "code")
      throw rpc::invalid_params("arguments[0].name: no action '" + name + "' that runs on code");
    command = action->kind == "edit" ? kRewrite : kAsk;
  }
  auto job = std::make_shared<Job>();
  job->command = command;
  job->uri = need_string(a, "uri", "arguments[0].");
  Document* doc = docs_.find(job->uri);
  if (!doc && untracked_.count(job->uri))
    throw rpc::invalid_params("arguments[0].uri: " + job->uri +
                              " is not tracked: the open documents are over --max-open-bytes");
  if (!doc) throw rpc::invalid_params("arguments[0].uri: " + job->uri + " is not open");
  Range range = parse_range(member(a, "range"), "arguments[0].range");
  size_t s = doc->offset_of(range.start, caps_.encoding), e = doc->offset_of(range.end, caps_.encoding);
  if (s > e) std::swap(s, e);
  const std::string& text = doc->text();
  // An empty range (a cursor) means its line; a fix covers the diagnostic's whole lines.
  if (s == e || command == kFix) {
    Position ps = doc->position_of(s, caps_.encoding), pe = doc->position_of(e, caps_.encoding);
    auto first = doc->line_span(static_cast<size_t>(ps.line));
    s = first.first;
    size_t last_line = static_cast<size_t>(pe.line);
    if (pe.line > ps.line && pe.character == 0 && e == doc->line_span(last_line).first) --last_line;
    size_t next = last_line + 1 < doc->line_count() ? doc->line_span(last_line + 1).first : text.size();
    e = next;
  }
  job->start = doc->position_of(s, caps_.encoding);
  job->end = doc->position_of(e, caps_.encoding);  // at the text's end: the start of its empty last line
  job->code = text.substr(s, e - s);
  if (job->code.find_first_not_of(" \t\r\n") == std::string::npos)
    throw rpc::invalid_params("arguments[0].range: the selection is empty");
  // Context around a rewrite.
  if (command == kRewrite || command == kFix) {
    size_t l0 = static_cast<size_t>(job->start.line);
    size_t b = doc->line_span(l0 > kRewriteContextLines ? l0 - kRewriteContextLines : 0).first;
    job->before = text.substr(b, s - b);
    size_t l1 = static_cast<size_t>(job->end.line) + kRewriteContextLines;
    size_t a_end = l1 < doc->line_count() ? doc->line_span(l1).first : text.size();
    job->after = e < a_end ? text.substr(e, a_end - e) : "";
  }
  job->version = doc->version();
  job->language = doc->language_id();
  job->path = workspace_path(job->uri);
  job->where = std::filesystem::path(job->path).filename().string() + ":" + std::to_string(job->start.line + 1);
  if (member(a, "question").is_string()) job->question = a["question"].get<std::string>();
  if (member(a, "instruction").is_string()) job->question = a["instruction"].get<std::string>();
  if (command == kFix || (action && action->diagnostics)) {
    std::vector<std::string> msgs;
    const Json& diags = member(a, "diagnostics");
    if (diags.is_array()) {
      for (const auto& dg : diags) {
        if (!member(dg, "message").is_string()) continue;
        Position dp =
            member(dg, "range").is_object() ? parse_range(dg["range"], "diagnostics[].range").start : Position{};
        // The client's line may be anything up to INT64_MAX: it is clamped into the document before
        // any arithmetic (line + 1 overflowed).
        dp = doc->position_of(doc->offset_of(dp, caps_.encoding), caps_.encoding);
        std::string line = "line " + std::to_string(dp.line + 1) + ": " + dg["message"].get<std::string>();
        if (member(dg, "source").is_string()) line += " (" + dg["source"].get<std::string>() + ")";
        msgs.push_back(std::move(line));
      }
    }
    if (command == kFix) {
      if (msgs.empty()) throw rpc::invalid_params("arguments[0].diagnostics: expected [{range, message}]");
      // The library's fix prompt (config `actions.fix`), as the plugin's "fix" action sends it.
      std::string prompt = "Fix the problems in the diagnostics listed, changing as little as possible.";
      for (const Action& x : core_.config().actions)
        if (x.name == "fix" && x.kind == "edit") prompt = x.prompt;
      job->question = with_diagnostics(prompt, msgs);
    } else {
      job->question = with_diagnostics(action->prompt, msgs);
    }
  } else if (action) {
    job->question = action->prompt;
  }
  job->title = action                ? "GLM: " + action->description
               : command == kExplain ? "GLM: Explain"
               : command == kAsk     ? "GLM: Ask"
               : command == kRewrite ? "GLM: Rewrite"
                                     : "GLM: Fix";
  if (params.contains("workDoneToken") &&
      (params["workDoneToken"].is_string() || params["workDoneToken"].is_number_integer())) {
    job->work_done_token = params["workDoneToken"];
    job->token_ready = true;
  }
  job->id = next_job_++;
  // The command is accepted and answered now: no LSP request waits on the user or the model. Some
  // clients wait for executeCommand synchronously with a timeout (eglot: 10 s, and a prompt open in
  // that wait dies with it). The rest (the showMessageRequest prompt, progress, then showDocument /
  // showMessage / applyEdit) follows after a short delay, in writes of its own: eglot's jsonrpc.el
  // stops reading a batch of messages at the reply it waits for, so a request read in the same batch
  // as the reply would stay unprocessed until the server next writes. A `window/logMessage` shortly
  // after is that next write, in case the two were read together anyway.
  reply.result(nullptr);
  jobs_[job->id] = job;
  job->report_timer = std::make_unique<asio::steady_timer>(io_);
  job->report_timer->expires_after(command_delay_);
  std::weak_ptr<Job> weak = job;
  job->report_timer->async_wait([this, weak](const asio::error_code& ec) {
    auto j = weak.lock();
    if (ec || !j || j->done) return;
    begin_job(j);
    if (j->done) return;
    j->report_timer->expires_after(kNudgeDelay);
    j->report_timer->async_wait([this, weak](const asio::error_code& ec2) {
      auto j2 = weak.lock();
      if (ec2 || !j2 || j2->report_pending) return;
      notify_client("window/logMessage", {{"type", 4}, {"message", j2->title + ": started on " + j2->where}});
    });
  });
}

void LspServer::begin_job(const std::shared_ptr<Job>& job) {
  const std::string& command = job->command;
  if (!job->question.empty() || command == kExplain || command == kFix) return start_job(job);
  static const std::vector<std::string> kQuestions = {"What does this code do?",
                                                      "Are there bugs or unhandled edge cases?",
                                                      "How could it be simpler or faster?", "How would I test it?"};
  static const std::vector<std::string> kInstructions = {"Improve it: fix bugs and simplify, keeping its behaviour",
                                                         "Simplify it", "Add comments", "Add error handling",
                                                         "Make it more idiomatic"};
  const auto& choices = command == kAsk ? kQuestions : kInstructions;
  if (!caps_.show_message_request) {
    job->question = choices[0];
    return start_job(job);
  }
  Json actions = Json::array();
  for (const auto& c : choices) actions.push_back({{"title", c}});
  std::string message = command == kAsk ? "GLM: what do you want to know about " + job->where + "?"
                                        : "GLM: how should " + job->where + " be rewritten?";
  request_client("window/showMessageRequest", {{"type", 3}, {"message", message}, {"actions", std::move(actions)}},
                 [this, job](const Json& result, const Json& error) {
                   if (job->done) return;
                   if (!error.is_null() || !member(result, "title").is_string()) {  // dismissed
                     job->done = true;
                     job->report_timer->cancel();
                     jobs_.erase(job->id);
                     return;
                   }
                   job->question = result["title"].get<std::string>();
                   start_job(job);
                 });
}

void LspServer::start_job(const std::shared_ptr<Job>& job) {
  jobs_[job->id] = job;
  if (!job->report_timer) job->report_timer = std::make_unique<asio::steady_timer>(io_);
  job->report_timer->cancel();  // the nudge (execute_command): progress reports use the timer now
  if (!job->token_ready && caps_.work_done_progress) {
    job->work_done_token = "glm-" + std::to_string(job->id);
    // The job is held until the client answers: a token it created is always ended, even when the
    // answer arrived before the client's reply (a fast model): then begin and end follow at once.
    request_client("window/workDoneProgress/create", {{"token", job->work_done_token}},
                   [this, j = job](const Json&, const Json& error) {
                     if (!error.is_null()) return;
                     j->token_ready = true;
                     progress(j, {{"kind", "begin"},
                                  {"title", j->title},
                                  {"cancellable", !j->done},
                                  {"message", std::filesystem::path(j->path).filename().string()}});
                     j->begun = true;
                     if (j->done) return progress(j, {{"kind", "end"}, {"message", j->outcome}});
                     if (!j->text.empty()) job_report(j);
                   });
  } else if (job->token_ready) {
    progress(job, {{"kind", "begin"},
                   {"title", job->title},
                   {"cancellable", true},
                   {"message", std::filesystem::path(job->path).filename().string()}});
    job->begun = true;
  }
  run_job(job);
}

void LspServer::run_job(const std::shared_ptr<Job>& job) {
  std::string method;
  Json p;
  if (job->command == kExplain || job->command == kAsk) {
    method = "explain";
    p = {{"code", job->code}, {"path", job->path}, {"stream", true}};
    if (!job->language.empty()) p["language"] = job->language;
    if (!job->question.empty()) p["question"] = job->question;
  } else {
    // Rewrite and Fix: the server's `edit` (the one edit prompt; the answer's code, cleaned by
    // core/extract, is the result's content).
    method = "edit";
    p = {{"instruction", job->question}, {"code", job->code}, {"before", job->before},
         {"after", job->after},          {"path", job->path}, {"stream", true}};
    if (!job->language.empty()) p["language"] = job->language;
  }
  std::weak_ptr<Job> weak = job;
  CoreClient::Handlers h;
  h.on_delta = [this, weak](const Json& d) {
    if (auto j = weak.lock()) job_delta(j, d);
  };
  h.on_result = [this, weak](Json result) {
    if (auto j = weak.lock()) job_done(j, &result, nullptr);
  };
  h.on_error = [this, weak](const Json& e) {
    if (auto j = weak.lock()) job_done(j, nullptr, &e);
  };
  job->core_id = core_client_.call(method, std::move(p), std::move(h));
}

void LspServer::progress(const std::shared_ptr<Job>& job, Json value) {
  if (!job->token_ready) return;
  notify_client("$/progress", {{"token", job->work_done_token}, {"value", std::move(value)}});
}

void LspServer::job_delta(const std::shared_ptr<Job>& job, const Json& d) {
  if (job->done) return;
  if (d.value("replace", false)) job->text.clear();
  if (d.contains("content") && d["content"].is_string()) job->text += d["content"].get_ref<const std::string&>();
  if (!job->begun) return;
  auto now = std::chrono::steady_clock::now();
  if (now - job->last_report >= kReportInterval) return job_report(job);
  if (job->report_pending) return;
  job->report_pending = true;
  job->report_timer->expires_at(job->last_report + kReportInterval);
  std::weak_ptr<Job> weak = job;
  job->report_timer->async_wait([this, weak](const asio::error_code& ec) {
    auto j = weak.lock();
    if (ec || !j) return;
    j->report_pending = false;
    if (!j->done) job_report(j);
  });
}

void LspServer::job_report(const std::shared_ptr<Job>& job) {
  job->last_report = std::chrono::steady_clock::now();
  std::string tail = job->text;
  if (tail.size() > kReportTailBytes) {
    size_t cut = utf8_floor(tail, tail.size() - kReportTailBytes);
    tail = "\xE2\x80\xA6" + tail.substr(cut);
  }
  progress(job, {{"kind", "report"}, {"message", tail}, {"cancellable", true}});
}

void LspServer::job_done(const std::shared_ptr<Job>& job, const Json* result, const Json* error) {
  if (job->done) return;
  job->done = true;
  if (job->report_timer) job->report_timer->cancel();
  jobs_.erase(job->id);
  job->outcome = result                                                    ? "done"
                 : !error                                                  ? "cancelled"
                 : error->value("code", 0) == rpc::code::request_cancelled ? "cancelled"
                                                                           : "failed";
  if (job->begun) progress(job, {{"kind", "end"}, {"message", job->outcome}});
  if (error) {
    if (error->value("code", 0) == rpc::code::request_cancelled) return;
    std::string kind =
        member(member(*error, "data"), "kind").is_string() ? (*error)["data"]["kind"].get<std::string>() : "";
    show_message(1, job->title + " failed: " + error->value("message", std::string("error")) +
                        (kind.empty() ? "" : " (" + kind + ")"));
    return;
  }
  if (!result) return;
  std::string content = member(*result, "content").is_string() ? (*result)["content"].get<std::string>() : job->text;
  if (job->command == kExplain || job->command == kAsk)
    deliver_answer(job, content, *result);
  else
    deliver_edit(job, content);
}

void LspServer::deliver_answer(const std::shared_ptr<Job>& job, const std::string& text, const Json& result) {
  std::string name = std::filesystem::path(job->path).filename().string();
  std::string lines = std::to_string(job->start.line + 1);
  int64_t last = job->end.character == 0 && job->end.line > job->start.line ? job->end.line : job->end.line + 1;
  if (last > job->start.line + 1) lines += "-" + std::to_string(last);
  std::string md =
      "# " + job->title + ": `" + name + "` line" + (last > job->start.line + 1 ? "s " : " ") + lines + "\n\n";
  if (!job->question.empty()) md += "> " + job->question + "\n\n";
  md += text;
  if (md.empty() || md.back() != '\n') md += "\n";
  if (member(result, "model").is_string() && member(result, "provider").is_string())
    md += "\n---\n*" + result["provider"].get<std::string>() + "/" + result["model"].get<std::string>() + "*\n";

  auto fallback = [this, job, text] { show_message(3, job->title + "\n\n" + text); };
  if (!caps_.show_document) return fallback();
  auto written = answers_.write(job->command == kAsk ? "ask" : "explain", md);
  if (written.path.empty()) {
    spdlog::warn("lsp: cannot write the answer: {}; falling back to window/showMessage", written.error);
    return fallback();
  }
  request_client("window/showDocument", {{"uri", path_to_uri(written.path)}, {"takeFocus", true}},
                 [fallback](const Json& r, const Json& error) {
                   if (!error.is_null() || member(r, "success") != true) fallback();
                 });
}

void LspServer::deliver_edit(const std::shared_ptr<Job>& job, const std::string& code) {
  if (code == job->code) {
    show_message(3, job->title + ": the model left the code unchanged");
    return;
  }
  Document* doc = docs_.find(job->uri);
  if (!doc) {
    show_message(2, job->title + ": " + job->uri + " was closed; the rewrite was not applied");
    return;
  }
  if (doc->version() != job->version && !caps_.document_changes) {
    show_message(2, job->title + ": the document changed while GLM was writing; the rewrite was not applied");
    return;
  }
  if (!caps_.apply_edit) {
    show_message(3, job->title + " (this editor cannot apply edits):\n\n" + code);
    return;
  }
  Json edit = {{"range", range_json(job->start, job->end)}, {"newText", code}};
  Json wedit;
  if (caps_.document_changes) {
    wedit = {{"documentChanges", Json::array({{{"textDocument", {{"uri", job->uri}, {"version", job->version}}},
                                               {"edits", Json::array({edit})}}})}};
  } else {
    wedit = {{"changes", {{job->uri, Json::array({edit})}}}};
  }
  std::string title = job->title;
  request_client("workspace/applyEdit", {{"label", title}, {"edit", std::move(wedit)}},
                 [this, title](const Json& r, const Json& error) {
                   if (!error.is_null()) {
                     show_message(2, title + ": the editor did not apply the edit: " +
                                         error.value("message", std::string("error")));
                   } else if (member(r, "applied") != true) {
                     std::string why = member(r, "failureReason").is_string() ? r["failureReason"].get<std::string>()
                                                                              : "the document changed meanwhile";
                     show_message(2, title + ": the edit was not applied (" + why + ")");
                   }
                 });
}

void LspServer::input_closed() {
  for (auto& [id, job] : jobs_)
    if (job->report_timer) job->report_timer->cancel();
  core_.input_closed(false);
}

void LspServer::output_closed() { core_.output_closed(); }

}  // namespace glm::lsp
