#include "core/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace glm {
namespace {

const Json& builtin_providers() {
  static const Json j = {
      {"zhipu", {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}, {"api_key_env", "ZHIPUAI_API_KEY"}}},
      {"dashscope", {{"base_url", "https://dashscope.aliyuncs.com/api/v1"}, {"api_key_env", "DASHSCOPE_API_KEY"}}},
      {"dashscope-compat",
       {{"base_url", "https://dashscope.aliyuncs.com/compatible-mode/v1"}, {"api_key_env", "DASHSCOPE_API_KEY"}}},
      {"qianfan",
       {{"base_url", "https://aip.baidubce.com"}, {"api_key_env", "QIANFAN_AK"}, {"secret_key_env", "QIANFAN_SK"}}},
      {"openai", {{"base_url", "http://127.0.0.1:8000/v1"}, {"api_key_env", "OPENAI_API_KEY"}}},
  };
  return j;
}

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

std::string get_string(const Json& obj, const std::string& key, const std::string& path) {
  const auto& v = obj.at(key);
  if (!v.is_string()) throw Bad{path + "." + key + ": expected a string"};
  return v.get<std::string>();
}

ProviderConfig parse_provider(const std::string& name, const Json& j) {
  const std::string path = "providers." + name;
  if (!j.is_object()) throw Bad{path + ": expected an object"};
  ProviderConfig p;
  p.name = name;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "base_url") {
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
      if (!v.is_number_integer() || v.get<int64_t>() <= 0) throw Bad{path + ".timeout_ms: expected a positive integer"};
      p.timeout_ms = v.get<int64_t>();
    } else if (k == "max_retries") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 5)
        throw Bad{path + ".max_retries: expected an integer in [0, 5]"};
      p.max_retries = v.get<int>();
    } else {
      p.extra[k] = v;  // provider-specific keys (workspace, access_token_env, ...)
    }
  }
  return p;
}

Config build(const Json& raw) {
  Config c;
  c.raw = raw;
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
        if (!builtin_providers().contains(p.key()))
          throw Bad{"providers." + p.key() +
                    ": unknown provider (known: zhipu, dashscope, dashscope-compat, qianfan, openai)"};
        c.providers[p.key()] = parse_provider(p.key(), p.value());
      }
    } else if (k == "max_message_bytes") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1024) throw Bad{"max_message_bytes: expected an integer >= 1024"};
      c.max_message_bytes = v.get<int64_t>();
    } else if (k == "max_json_depth") {
      // The upper bound keeps nlohmann's recursive copy/dump of a message within the stack (ASan included).
      if (!v.is_number_integer() || v.get<int64_t>() < 8 || v.get<int64_t>() > 4096)
        throw Bad{"max_json_depth: expected an integer in [8, 4096]"};
      c.max_json_depth = v.get<int64_t>();
    } else if (k == "log_level" || k == "$schema") {
      // accepted; log level is taken from the command line
    } else {
      throw Bad{k + ": unknown key (known: default_model, providers, max_message_bytes)"};
    }
  }
  const std::string prov = c.default_model.substr(0, c.default_model.find('/'));
  if (!c.providers.count(prov)) throw Bad{"default_model: unknown provider '" + prov + "'"};
  return c;
}

}  // namespace

Config Config::defaults() {
  Json raw = {{"default_model", "zhipu/glm-4.6"}, {"providers", builtin_providers()}};
  return build(raw);
}

std::optional<std::string> apply_config(Config& out, const Json& overlay) {
  if (!overlay.is_object()) return std::string("config: expected a JSON object");
  Json raw = out.raw.is_object() && !out.raw.empty() ? out.raw : Config::defaults().raw;
  merge(raw, overlay);
  try {
    out = build(raw);
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
  Json j;
  try {
    j = Json::parse(ss.str());
  } catch (const Json::parse_error& e) {
    return path + ": invalid JSON: " + e.what();
  }
  if (auto err = apply_config(out, j)) return path + ": " + *err;
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
