// Building JSON text directly, for the streaming hot path (one chat/delta per token) where a DOM
// round trip would cost more than everything else the server does per token. Any thread.
#pragma once

#include <string>
#include <string_view>

namespace glm::rpc {

// Appends `text` as a JSON string literal (quotes included). Invalid UTF-8 becomes U+FFFD, exactly
// like to_wire(), so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

}  // namespace glm::rpc
