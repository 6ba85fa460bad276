// How an upstream failure reaches the client: the `data` of a -32001 error reply (docs/protocol.md,
// "Errors"), shared by `chat`/`explain` (chat_session) and `complete` (complete_session).
#pragma once

#include <string>

#include "core/types.hpp"
#include "net/http_client.hpp"
#include "providers/provider.hpp"

namespace glm {

// What the client and the log get for one upstream failure: the message (naming the provider) and the
// error's `data` {kind, provider, http_status?, upstream_code?, upstream_message?, request_id?,
// retry_after_ms?}.
struct UpstreamReport {
  std::string message;
  Json data;
};

// The one path from an upstream failure to the client and the log, for every method (chat, explain,
// complete): every text field of the error is redacted of the provider's secrets (redact_error in
// providers/provider_common.hpp: an error page or event that echoes the Authorization header, whole or
// cut) before the message and data are built. Sessions log and answer with the report only.
UpstreamReport report_upstream_error(UpstreamError error, const Provider& provider, const std::string& provider_name);

// A transfer that failed below HTTP: timeout → timeout, an undecodable body → protocol, else network.
// Only a failure to connect is marked retryable (nothing was sent upstream).
UpstreamError from_net_error(const net::NetError& e, const std::string& provider);

}  // namespace glm
