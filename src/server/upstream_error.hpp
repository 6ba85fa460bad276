// How an upstream failure reaches the client: the `data` of a -32000 error reply (docs/protocol.md,
// "Errors"), shared by `chat`/`explain` (chat_session) and `complete` (complete_session).
#pragma once

#include <string>

#include "core/types.hpp"
#include "net/http_client.hpp"
#include "providers/provider.hpp"

namespace glm {

// {kind, provider, http_status?, upstream_code?, upstream_message?, request_id?, retry_after_ms?}
Json upstream_error_data(const UpstreamError& e, const std::string& provider);

// A transfer that failed below HTTP: timeout → timeout, an undecodable body → protocol, else network.
// Only a failure to connect is marked retryable (nothing was sent upstream).
UpstreamError from_net_error(const net::NetError& e, const std::string& provider);

}  // namespace glm
