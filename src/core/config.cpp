#include "core/config.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace glm {
namespace {

void merge(Json& base, const Json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    if (it.value().is_object() && base.contains(it.key()) && base[it.key()].is_object())
      merge(base[it.key()], it.value());
    else
      base[it.key()] = it.value();
  }
}

struct Bad {
  std::string message;
};

// Every number in the config has a range: a huge timeout would overflow the clock arithmetic, a huge
// size would disable the limit it sets. The error names the key and the range.
int64_t get_int(const Json& v, const std::string& key, int64_t min, int64_t max, const char* unit = "") {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(max)) ||
      v.get<int64_t>() < min || v.get<int64_t>() > max)
    throw Bad{key + ": expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]" + unit};
  return v.get<int64_t>();
}

std::string get_string(const Json& obj, const std::string& key, const std::string& path) {
  const auto& v = obj.at(key);
  if (!v.is_string()) throw Bad{path + "." + key + ": expected a string"};
  return v.get<std::string>();
}

std::optional<int64_t> positive_int(const Json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t{1} << 40))
    throw Bad{path + "." + key + ": expected a positive integer"};
  return it->get<int64_t>();
}

// An instance's own model: "name" or {"id", "context_window", "max_input_tokens", "max_output_tokens",
// "thinking", "vision"}.
ModelInfo parse_model(const std::string& instance, const Json& m, const std::string& path) {
  ModelInfo info;
  info.provider = instance;
  if (m.is_string()) {
    info.id = m.get<std::string>();
  } else if (m.is_object() && m.contains("id") && m["id"].is_string()) {
    info.id = m["id"].get<std::string>();
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k == "id") continue;
      if (k == "context_window")
        info.context_window = positive_int(m, "context_window", path);
      else if (k == "max_input_tokens")
        info.max_input_tokens = positive_int(m, "max_input_tokens", path);
      else if (k == "max_output_tokens")
        info.max_output_tokens = positive_int(m, "max_output_tokens", path);
      else if (k == "thinking" || k == "vision") {
        if (!it->is_boolean()) throw Bad{path + "." + k + ": expected true or false"};
        (k == "thinking" ? info.thinking : info.vision) = it->get<bool>();
      } else {
        throw Bad{path + "." + k +
                  ": unknown key (known: id, context_window, max_input_tokens, max_output_tokens, thinking, vision)"};
      }
    }
  } else {
    throw Bad{path + ": expected a model id or {\"id\": ..., \"context_window\": ...}"};
  }
  if (info.id.empty() || info.id.find_first_of(" \t\r\n") != std::string::npos)
    throw Bad{path + ": a model id is a non-empty string without spaces"};
  return info;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

ProviderConfig parse_provider(const std::string& name, const Json& j, const ProviderKinds& kinds) {
  const std::string path = "providers." + name;
  if (!j.is_object()) throw Bad{path + ": expected an object"};
  ProviderConfig p;
  p.name = name;
  if (name.empty() || name.find_first_of("/ \t\r\n") != std::string::npos)
    throw Bad{path + ": an instance name is non-empty, without '/' or spaces"};
  if (auto k = j.find("kind"); k != j.end()) {
    if (!k->is_string()) throw Bad{path + ".kind: expected a string"};
    p.kind = k->get<std::string>();
  } else {
    p.kind = name;
  }
  if (std::find(kinds.kinds.begin(), kinds.kinds.end(), p.kind) == kinds.kinds.end()) {
    if (j.contains("kind"))
      throw Bad{path + ".kind: unknown provider kind '" + p.kind + "' (known: " + join(kinds.kinds) + ")"};
    throw Bad{path + ": unknown provider; a new instance needs \"kind\" (one of: " + join(kinds.kinds) + ")"};
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "kind") {
      continue;
    } else if (k == "extra_headers") {
      if (!v.is_object()) throw Bad{path + ".extra_headers: expected an object of header names to strings"};
      for (auto h = v.begin(); h != v.end(); ++h) {
        const std::string& hn = h.key();
        bool token = !hn.empty() && hn.find_first_of(" \t\r\n:()<>@,;\\\"/[]?={}") == std::string::npos;
        if (!token) throw Bad{path + ".extra_headers: '" + hn + "' is not a valid header name"};
        if (!h->is_string() || h->get<std::string>().find_first_of("\r\n") != std::string::npos)
          throw Bad{path + ".extra_headers." + hn + ": expected a single-line string"};
        p.extra_headers.emplace_back(hn, h->get<std::string>());
      }
    } else if (k == "models") {
      if (!v.is_array()) throw Bad{path + ".models: expected an array of model ids or objects"};
      for (size_t i = 0; i < v.size(); ++i)
        p.models.push_back(parse_model(name, v[i], path + ".models[" + std::to_string(i) + "]"));
    } else if (k == "base_url") {
      p.base_url = get_string(j, k, path);
      if (p.base_url.rfind("http://", 0) != 0 && p.base_url.rfind("https://", 0) != 0)
        throw Bad{path + ".base_url: expected an http:// or https:// URL"};
      while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
    } else if (k == "api_key") {
      p.api_key = get_string(j, k, path);
    } else if (k == "api_key_env") {
      p.api_key_env = get_string(j, k, path);
    } else if (k == "secret_key") {
      p.secret_key = get_string(j, k, path);
    } else if (k == "secret_key_env") {
      p.secret_key_env = get_string(j, k, path);
    } else if (k == "api_key_cmd") {
      if (!v.is_array() || v.empty()) throw Bad{path + ".api_key_cmd: expected a non-empty array of strings (argv)"};
      for (const auto& a : v) {
        if (!a.is_string()) throw Bad{path + ".api_key_cmd: expected a non-empty array of strings (argv)"};
        p.api_key_cmd.push_back(a.get<std::string>());
      }
    } else if (k == "auth") {
      p.auth = get_string(j, k, path);
    } else if (k == "ca_file") {
      p.ca_file = get_string(j, k, path);
    } else if (k == "ca_path") {
      p.ca_path = get_string(j, k, path);
    } else if (k == "proxy") {
      p.proxy = get_string(j, k, path);
    } else if (k == "insecure") {
      if (!v.is_boolean()) throw Bad{path + ".insecure: expected true or false"};
      p.insecure = v.get<bool>();
    } else if (k == "timeout_ms") {
      p.timeout_ms = get_int(v, path + ".timeout_ms", 1, 3600000, " (milliseconds, up to one hour)");
    } else if (k == "max_retries") {
      p.max_retries = static_cast<int>(get_int(v, path + ".max_retries", 0, 5));
    } else if (k == "retry_initial_delay_ms" || k == "retry_max_delay_ms" || k == "retry_max_total_ms") {
      // At most ten minutes: a longer wait helps no editor user, and keeps chrono arithmetic far from overflow.
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 600000)
        throw Bad{path + "." + k + ": expected an integer in [0, 600000]"};
      (k == "retry_initial_delay_ms" ? p.retry_initial_delay_ms
       : k == "retry_max_delay_ms"   ? p.retry_max_delay_ms
                                     : p.retry_max_total_ms) = v.get<int64_t>();
    } else if (k == "fim") {
      if (auto err = check_fim_style(v)) throw Bad{path + ".fim: " + *err};
      p.extra[k] = v;
    } else {
      p.extra[k] = v;  // provider-specific keys (workspace, access_token_env, ...)
    }
  }
  return p;
}

Config build(const Json& raw, std::shared_ptr<const ProviderKinds> kinds) {
  if (!kinds) throw Bad{"config: no provider registry"};
  Config c;
  c.raw = raw;
  c.kinds = kinds;
  c.default_model = kinds->default_model;
  if (!raw.is_object()) throw Bad{"config: expected a JSON object"};
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "default_model") {
      if (!v.is_string() || v.get<std::string>().find('/') == std::string::npos)
        throw Bad{"default_model: expected \"<provider>/<model>\", e.g. \"zhipu/glm-4.6\""};
      c.default_model = v.get<std::string>();
    } else if (k == "providers") {
      if (!v.is_object()) throw Bad{"providers: expected an object"};
      for (auto p = v.begin(); p != v.end(); ++p) {
        Json inst = p.value();
        // A new instance starts from its kind's defaults (base URL, auth mode), never its credentials:
        // a local "vllm" of kind openai must not be sent OPENAI_API_KEY.
        if (inst.is_object() && !kinds->builtin_instances.contains(p.key())) {
          std::string kind =
              inst.contains("kind") && inst["kind"].is_string() ? inst["kind"].get<std::string>() : p.key();
          if (auto d = kinds->kind_defaults.find(kind); d != kinds->kind_defaults.end() && d->is_object()) {
            Json merged = *d;
            merge(merged, inst);
            inst = std::move(merged);
          }
        }
        c.providers[p.key()] = parse_provider(p.key(), inst, *kinds);
      }
    } else if (k == "max_message_bytes") {
      c.max_message_bytes = get_int(v, "max_message_bytes", 1024, 1ll << 30, " (bytes, up to 1 GiB)");
    } else if (k == "max_json_depth") {
      // The upper bound keeps nlohmann's recursive copy/dump of a message within the stack (ASan included).
      c.max_json_depth = get_int(v, "max_json_depth", 8, 4096);
    } else if (k == "max_response_bytes") {
      c.max_response_bytes = get_int(v, "max_response_bytes", 1024, 1ll << 30, " (bytes, up to 1 GiB)");
    } else if (k == "completion") {
      if (auto err = parse_completion_config(v, c.completion)) throw Bad{*err};
    } else if (k == "actions") {
      if (auto err = apply_actions_config(c.actions, v)) throw Bad{*err};
    } else if (k == "prompts") {
      if (!v.is_object()) throw Bad{"prompts: expected an object"};
      for (auto p = v.begin(); p != v.end(); ++p) {
        if (p.key() != "edit") throw Bad{"prompts." + p.key() + ": unknown prompt (known: edit)"};
        if (!p.value().is_string() || p.value().get<std::string>().size() > 65536)
          throw Bad{"prompts.edit: expected a string of at most 64 KiB"};
        c.prompts.edit = p.value().get<std::string>();
      }
    } else if (k == "log_level" || k == "$schema") {
      // accepted; log level is taken from the command line
    } else {
      throw Bad{k +
                ": unknown key (known: default_model, providers, completion, prompts, actions, max_message_bytes, "
                "max_json_depth, max_response_bytes)"};
    }
  }
  const std::string prov = c.default_model.substr(0, c.default_model.find('/'));
  if (!c.providers.count(prov)) throw Bad{"default_model: unknown provider '" + prov + "'"};
  const std::string cprov = c.completion.model.substr(0, c.completion.model.find('/'));
  if (!c.providers.count(cprov)) throw Bad{"completion.model: unknown provider '" + cprov + "'"};
  return c;
}

}  // namespace

Config Config::defaults(std::shared_ptr<const ProviderKinds> kinds) {
  Json raw = {{"providers", kinds ? kinds->builtin_instances : Json::object()}};
  return build(raw, std::move(kinds));
}

std::optional<std::string> apply_config(Config& out, const Json& overlay) {
  if (!overlay.is_object()) return std::string("config: expected a JSON object");
  if (!out.kinds) return std::string("config: no provider registry (start from Config::defaults)");
  Json raw = out.raw.is_object() && !out.raw.empty() ? out.raw : Json{{"providers", out.kinds->builtin_instances}};
  merge(raw, overlay);
  try {
    out = build(raw, out.kinds);
  } catch (const Bad& b) {
    return b.message;
  } catch (const std::exception& e) {
    return std::string("config: ") + e.what();
  }
  return std::nullopt;
}

std::optional<std::string> load_config_file(Config& out, const std::string& path) {
  std::ifstream f(path);
  if (!f) return path + ": cannot open config file";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.what() quotes the text it last read, which may be the inside of a key: say where, not what.
    size_t line = 1, column = 1;
    const size_t end = std::min(text.size(), e.byte > 0 ? e.byte - 1 : size_t{0});
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return path + ": invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  if (auto err = apply_config(out, j)) return path + ": " + *err;
  bool inline_secret = false;
  if (auto p = j.find("providers"); p != j.end() && p->is_object())
    for (const auto& [name, instance] : p->items())
      for (const char* k : {"api_key", "secret_key"})
        if (instance.is_object() && instance.contains(k) && instance[k].is_string() &&
            !instance[k].get_ref<const std::string&>().empty())
          inline_secret = true;
  struct stat st {};
  if (inline_secret && stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.warnings.push_back(path + " holds an api_key and is readable by others (mode " + mode + "); run: chmod 600 " +
                           path);
  }
  return std::nullopt;
}

std::string default_config_path() {
  std::string dir;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    dir = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = std::string(h) + "/.config";
  else
    return {};
  std::string path = dir + "/glm-server/config.json";
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? path : std::string();
}

}  // namespace glm
