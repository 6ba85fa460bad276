// Building JSON text directly, for the streaming hot path (one chat/delta per token) where a DOM
// round trip would cost more than everything else the server does per token. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glm::rpc {

// Appends `text` as a JSON string literal (quotes included). Invalid UTF-8 becomes U+FFFD, exactly
// like to_wire(), so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

// One `chat/delta` notification as text (the streaming hot path: one per token). `id_text` is the
// request's id as the client wrote it; `content`/`reasoning` are left out when empty unless `replace`
// (a replace delta always carries both: it is the whole text so far).
std::string chat_delta_text(std::string_view id_text, int64_t seq, std::string_view content, std::string_view reasoning,
                            bool replace = false);

}  // namespace glm::rpc
