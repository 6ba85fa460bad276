// History fitting: makes a conversation fit a model's input limit by dropping its oldest whole turns,
// and reshapes conversations for models that only accept strict user/assistant alternation.
// Pure functions on plain data; safe on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.hpp"
#include "core/types.hpp"

namespace glm {

// A conservative token estimate (it should over- rather than under-count for GLM tokenizers, which
// average ~1.5 CJK characters and ~4 Latin characters per token):
//   - ASCII: 1 token per 3 bytes (rounded up over the whole text);
//   - 2-byte UTF-8 code points (accented Latin, Greek, Cyrillic, Arabic, Hebrew): 1 token per 2;
//   - 3-byte code points (CJK ideographs, kana, hangul, most symbols): 1 token each;
//   - 4-byte code points (emoji, rare CJK): 2 tokens each; invalid bytes: 1 token each.
int64_t estimate_tokens(std::string_view utf8_text);

// Per-message framing (role marker and separators in the chat template), in tokens.
inline constexpr int64_t kMessageOverheadTokens = 4;
// An image part of a vision message (UNCERTAIN: GLM-4V tiles cost roughly a thousand tokens).
inline constexpr int64_t kImageTokens = 1024;
// The whole request: generation prompt and BOS markers.
inline constexpr int64_t kRequestOverheadTokens = 3;

// estimate_tokens(text) + kMessageOverheadTokens + kImageTokens per image part.
int64_t estimate_message_tokens(const Message& message);

// Unicode code points in valid UTF-8 (each invalid byte counts as one): what "characters" means in a
// character limit such as Qianfan's 4800.
int64_t count_chars(std::string_view utf8_text);

struct FitOutcome {
  size_t dropped_messages = 0;
};

// Fits `messages` to the model's input limit (max_input_tokens, else context_window - reserved output;
// the smaller when both are known; and max_input_chars when set): keeps the system prompt(s) and the
// newest user message (with anything after it), drops the OLDEST whole turns (a user message with the
// assistant replies that follow it) first. Never silently: returns how many messages were dropped.
// A single message too large to fit → UpstreamError{kind=context_length} whose message names the
// limit, e.g. "message is ~9100 tokens; chatglm3-6b accepts at most 6000 input tokens".
// A model without limits leaves `messages` untouched. `messages` is untouched on error.
Result<FitOutcome> fit_history(std::vector<Message>& messages, const ModelInfo& model, int64_t reserved_output_tokens);

// A conversation as strictly alternating models need it (Qianfan ChatGLM2, DashScope chatglm-6b-v2):
// user, assistant, ..., user (odd count), string contents only.
struct AlternatingConversation {
  std::vector<Message> messages;
  size_t dropped_messages = 0;  // empty messages, assistant replies before any user message, and
                                // the oldest turns removed to meet max_chars
};

// Builds the alternating form:
//   - system texts (joined by "\n\n") are folded into the first remaining user message as
//     "<system>\n\n<user>", since these models have no system role;
//   - empty messages are dropped, and runs of the same role are merged with "\n\n";
//   - assistant messages before the first user message are dropped;
//   - with max_chars, the oldest user/assistant pairs are dropped until the total content (system
//     text included) is at most max_chars characters.
// Errors: no user message, or the last message is not from the user → invalid_request; the newest
// user message (with the system text) alone over max_chars → context_length naming the limit.
Result<AlternatingConversation> to_alternating(const std::vector<Message>& messages, std::optional<int64_t> max_chars,
                                               std::string_view model_name);

}  // namespace glm
