// models/list and providers/list, read from the config's instances and the provider registry
// (docs/protocol.md). Loop thread (they read the environment for credential presence).
#pragma once

#include "core/config.hpp"

namespace glm {

// Every instance's models: its own config `models` first, then its kind's catalog; plus the
// default model when neither lists it. Each entry: id "instance/model", provider (instance), kind,
// configured (credentials present or not needed), limits, thinking, vision, stream_only.
Json list_models(const Config& config);

// Every instance: name, kind, summary, base_url, credential sources and whether they are present
// (never their values), key_optional, auth, the kind's option ranges, model count; plus `kinds`.
Json list_providers(const Config& config);

}  // namespace glm
