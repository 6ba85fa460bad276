#include "server/listing.hpp"

#include <cstdlib>
#include <set>
#include <vector>

#include "providers/credentials.hpp"
#include "providers/registry.hpp"

namespace glm {
namespace {

bool env_set(const std::string& name) {
  if (name.empty()) return false;
  const char* v = std::getenv(name.c_str());
  return v && *v;
}

bool key_optional(const ProviderConfig& p) {
  const ProviderSpec* spec = find_spec(p.kind);
  return spec && spec->key_optional;
}

bool configured(const ProviderConfig& p) {
  // A local OpenAI-compatible server usually needs no key.
  return key_optional(p) || Credentials(p).has_api_key_source();
}

Json model_json(const ProviderConfig& p, const ModelInfo& m, bool is_configured) {
  Json j = {{"id", p.name + "/" + m.id}, {"provider", p.name}, {"kind", p.kind}, {"configured", is_configured}};
  if (m.context_window) j["context_window"] = *m.context_window;
  if (m.max_input_tokens) j["max_input_tokens"] = *m.max_input_tokens;
  if (m.max_output_tokens) j["max_output"] = *m.max_output_tokens;
  if (m.max_input_chars) j["max_input_chars"] = *m.max_input_chars;
  j["thinking"] = m.thinking;
  if (m.stream_only) j["stream_only"] = true;
  if (m.vision) j["vision"] = true;
  if (m.uncertain) j["uncertain"] = true;
  return j;
}

// The instances of one kind: the one named like the kind first (zhipu before zai), then by name.
std::vector<const ProviderConfig*> instances_of(const Config& config, const std::string& kind) {
  std::vector<const ProviderConfig*> out;
  if (auto it = config.providers.find(kind); it != config.providers.end() && it->second.kind == kind)
    out.push_back(&it->second);
  for (const auto& [name, p] : config.providers)
    if (p.kind == kind && name != kind) out.push_back(&p);
  return out;
}

}  // namespace

Json list_models(const Config& config) {
  Json models = Json::array();
  bool default_listed = false;
  // Registry order of kinds, then instance names: the built-in kind's own instance comes first.
  for (const auto& spec : provider_specs()) {
    for (const ProviderConfig* inst : instances_of(config, spec.kind)) {
      const ProviderConfig& p = *inst;
      const bool ok = configured(p);
      std::set<std::string> seen;
      auto add = [&](const ModelInfo& m) {
        if (!seen.insert(m.id).second) return;
        Json j = model_json(p, m, ok);
        default_listed |= j["id"] == config.default_model;
        models.push_back(std::move(j));
      };
      for (const auto& m : p.models) add(m);
      for (const auto& m : spec.models) add(m);
    }
  }
  if (!default_listed) {
    std::string prov = config.default_model.substr(0, config.default_model.find('/'));
    Json j = {{"id", config.default_model}, {"provider", prov}};
    if (auto it = config.providers.find(prov); it != config.providers.end()) {
      j["kind"] = it->second.kind;
      j["configured"] = configured(it->second);
    } else {
      j["configured"] = false;
    }
    models.push_back(std::move(j));
  }
  return models;
}

Json list_providers(const Config& config) {
  Json instances = Json::array();
  for (const auto& spec : provider_specs()) {
    for (const ProviderConfig* inst : instances_of(config, spec.kind)) {
      const ProviderConfig& p = *inst;
      const std::string& name = p.name;
      Json c = Json::object();
      if (!p.api_key.empty()) c["api_key"] = "inline";
      if (!p.api_key_cmd.empty()) c["api_key_cmd"] = true;
      if (!p.api_key_env.empty()) c["api_key_env"] = {{"name", p.api_key_env}, {"set", env_set(p.api_key_env)}};
      if (!p.secret_key.empty()) c["secret_key"] = "inline";
      if (!p.secret_key_env.empty())
        c["secret_key_env"] = {{"name", p.secret_key_env}, {"set", env_set(p.secret_key_env)}};
      Json j = {{"name", name},
                {"kind", p.kind},
                {"summary", spec.summary},
                {"base_url", p.base_url},
                {"credentials", c},
                {"key_optional", spec.key_optional},
                {"configured", configured(p)},
                {"models", p.models.size() + spec.models.size()}};
      if (!p.auth.empty()) j["auth"] = p.auth;
      if (!p.extra_headers.empty()) {
        Json h = Json::array();
        for (const auto& kv : p.extra_headers) h.push_back(kv.first);  // names only: values may be secrets
        j["extra_headers"] = h;
      }
      instances.push_back(std::move(j));
    }
  }
  Json kinds = Json::array();
  for (const auto& spec : provider_specs()) {
    kinds.push_back({{"kind", spec.kind},
                     {"summary", spec.summary},
                     {"key_optional", spec.key_optional},
                     {"options", spec.options},
                     {"models", spec.models.size()}});
  }
  return {{"providers", instances}, {"kinds", kinds}, {"default_model", config.default_model}};
}

}  // namespace glm
