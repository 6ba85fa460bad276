// The provider registry: every provider kind describes itself once, in its own file, as a
// ProviderSpec (kind, default endpoint and credentials, option ranges, catalog, factory), and
// registry.cpp lists the specs, one line each. Config validation (Config::defaults(provider_kinds())),
// params checks, models/list, providers/list and `:checkhealth glm` all read this registry; nothing
// else names a provider. Recipe for a new vendor: docs/providers.md "Adding an OpenAI-compatible vendor".
// Immutable after first use; safe to read from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/catalog.hpp"
#include "core/config.hpp"
#include "providers/provider.hpp"

namespace glm {

struct ProviderSpec {
  using Factory = std::unique_ptr<Provider> (*)(const ProviderConfig&, ProviderContext);

  std::string kind;     // "zhipu", "openai", ...; the `kind` of a config instance
  std::string summary;  // one line for :checkhealth and providers/list
  // Keys an instance of this kind starts from: base_url, auth, ... (never credentials: see `credentials`).
  Json defaults = Json::object();
  // Credential keys of the kind's own built-in instance: api_key_env, secret_key_env.
  Json credentials = Json::object();
  bool key_optional = false;  // works without a key (local OpenAI-compatible servers)
  // Documented option ranges, for providers/list and the docs: {"temperature": "[0, 1]", ...}.
  // The OpenAI-compatible kinds validate with the same table (openai_compat.hpp).
  Json options = Json::object();
  std::vector<ModelInfo> models;  // the catalog: models/list order
  Factory make = nullptr;
  // More built-in instances of this kind besides the one named `kind`: name → keys over `defaults`
  // (e.g. zai: Z.ai's international endpoint of kind zhipu, with its own key variable).
  std::vector<std::pair<std::string, Json>> instances;
};

// Every registered kind, in registry order.
const std::vector<ProviderSpec>& provider_specs();
// nullptr for an unknown kind.
const ProviderSpec* find_spec(std::string_view kind);
// The registry as config validation needs it (core/config.hpp).
std::shared_ptr<const ProviderKinds> provider_kinds();

// Creates the provider for an instance (by its kind); nullptr for an unknown kind.
std::unique_ptr<Provider> make_provider(const ProviderConfig& config, ProviderContext context);

// The catalog entry of `model` for kind `kind`; nullptr = unknown.
const ModelInfo* find_model(std::string_view kind, std::string_view model);
// An instance's model: its own `models` first, then its kind's catalog.
const ModelInfo* find_model(const ProviderConfig& instance, std::string_view model);

}  // namespace glm
