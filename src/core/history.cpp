#include "core/history.hpp"

#include <algorithm>

namespace glm {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not a valid sequence.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  if (len == 2 && c < 0xC2) return 0;  // overlong
  return len;
}

UpstreamError context_error(std::string message) {
  UpstreamError e;
  e.kind = ErrorKind::context_length;
  e.message = std::move(message);
  return e;
}

UpstreamError invalid_request(std::string message) {
  UpstreamError e;
  e.kind = ErrorKind::invalid_request;
  e.message = std::move(message);
  return e;
}

int64_t image_parts(const Message& m) {
  int64_t n = 0;
  if (m.content.is_array()) {
    for (const auto& part : m.content) {
      if (part.is_object() && part.value("type", "") == "image_url") ++n;
    }
  }
  return n;
}

}  // namespace

int64_t estimate_tokens(std::string_view s) {
  int64_t ascii = 0, tokens = 0, two_byte = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_sequence_length(s, i);
    switch (len) {
      case 1:
        ++ascii;
        break;
      case 2:
        ++two_byte;
        break;
      case 3:
        tokens += 1;
        break;
      case 4:
        tokens += 2;
        break;
      default:
        tokens += 1;
        len = 1;
        break;  // an invalid byte
    }
    i += len;
  }
  return tokens + (ascii + 2) / 3 + (two_byte + 1) / 2;
}

int64_t estimate_message_tokens(const Message& message) {
  return estimate_tokens(message.text()) + kMessageOverheadTokens + kImageTokens * image_parts(message);
}

int64_t count_chars(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_sequence_length(s, i);
    i += len == 0 ? 1 : len;
    ++n;
  }
  return n;
}

namespace {

// What the model accepts: the tighter of the documented input limit and what the context window leaves
// after the output we reserve; and a character limit when the model has one.
struct Budget {
  std::optional<int64_t> tokens;
  std::optional<int64_t> chars;
  bool tokens_from_window = false;
};

Budget budget_of(const ModelInfo& model, int64_t reserved_output_tokens) {
  Budget b;
  b.tokens = model.max_input_tokens;
  if (model.context_window) {
    int64_t left = std::max<int64_t>(0, *model.context_window - std::max<int64_t>(0, reserved_output_tokens));
    if (!b.tokens || left < *b.tokens) {
      b.tokens = left;
      b.tokens_from_window = true;
    }
  }
  b.chars = model.max_input_chars;
  return b;
}

// Each message's estimated size, the running totals, and which messages are dropped so far.
struct Sizes {
  std::vector<int64_t> tokens, chars;
  int64_t total_tokens = kRequestOverheadTokens, total_chars = 0;
  std::vector<bool> dropped;
  size_t dropped_count = 0;

  explicit Sizes(const std::vector<Message>& messages)
      : tokens(messages.size()), chars(messages.size()), dropped(messages.size(), false) {
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string text = messages[i].text();
      tokens[i] = estimate_tokens(text) + kMessageOverheadTokens + kImageTokens * image_parts(messages[i]);
      chars[i] = count_chars(text);
      total_tokens += tokens[i];
      total_chars += chars[i];
    }
  }
  bool over(const Budget& b) const {
    return (b.tokens && total_tokens > *b.tokens) || (b.chars && total_chars > *b.chars);
  }
  void drop(size_t i) {
    dropped[i] = true;
    ++dropped_count;
    total_tokens -= tokens[i];
    total_chars -= chars[i];
  }
};

// Everything from the newest user message on is kept (the last message when there is no user message).
size_t newest_user(const std::vector<Message>& messages) {
  const size_t n = messages.size();
  for (size_t i = n; i-- > 0;) {
    if (messages[i].role == "user") return i;
  }
  return n == 0 ? 0 : n - 1;
}

// Drops whole turns, oldest first, until the budget holds or only system messages are left before
// keep_from. A turn starts at a user message (leading assistant replies form a turn of their own).
void drop_oldest_turns(const std::vector<Message>& messages, size_t keep_from, const Budget& budget, Sizes& sizes) {
  size_t i = 0;
  while (sizes.over(budget) && i < keep_from) {
    while (i < keep_from && messages[i].role == "system") ++i;
    if (i >= keep_from) break;
    size_t j = i;
    do {
      if (messages[j].role != "system") sizes.drop(j);
      ++j;
    } while (j < keep_from && messages[j].role != "user");
    i = j;
  }
}

// What is left is the system prompt(s) and the newest message(s) and it still does not fit: say which
// part is too big and against which limit.
UpstreamError cannot_fit(const std::vector<Message>& messages, size_t keep_from, const Budget& budget,
                         const Sizes& sizes, const ModelInfo& model, int64_t reserved_output_tokens) {
  int64_t system_tokens = 0, system_chars = 0;
  for (size_t k = 0; k < messages.size(); ++k) {
    if (!sizes.dropped[k] && messages[k].role == "system" && k < keep_from) {
      system_tokens += sizes.tokens[k];
      system_chars += sizes.chars[k];
    }
  }
  const int64_t newest_tokens = sizes.total_tokens - system_tokens - kRequestOverheadTokens;
  const int64_t newest_chars = sizes.total_chars - system_chars;
  const bool alone = system_tokens == 0 && system_chars == 0;
  std::string what;
  if (budget.chars && sizes.total_chars > *budget.chars) {
    bool newest_too_big = newest_chars > *budget.chars;
    what = (newest_too_big || alone
                ? "message is " + std::to_string(newest_chars)
                : "the system prompt and the latest message are " + std::to_string(sizes.total_chars)) +
           (newest_too_big || alone ? " characters" : " characters together") + "; " + model.id + " accepts at most " +
           std::to_string(*budget.chars) + " input characters";
  } else {
    bool newest_too_big = newest_tokens > *budget.tokens;
    what = (newest_too_big || alone ? "message is ~" + std::to_string(newest_tokens) + " tokens"
                                    : "the system prompt and the latest message are ~" +
                                          std::to_string(sizes.total_tokens) + " tokens together") +
           "; " + model.id + " accepts at most " + std::to_string(*budget.tokens) + " input tokens";
    if (budget.tokens_from_window) {
      what += " (context window " + std::to_string(*model.context_window) + " minus " +
              std::to_string(std::max<int64_t>(0, reserved_output_tokens)) + " reserved for output)";
    }
  }
  return context_error(what);
}

}  // namespace

Result<FitOutcome> fit_history(std::vector<Message>& messages, const ModelInfo& model, int64_t reserved_output_tokens) {
  const Budget budget = budget_of(model, reserved_output_tokens);
  if (!budget.tokens && !budget.chars) return FitOutcome{};
  Sizes sizes(messages);
  if (!sizes.over(budget)) return FitOutcome{};

  const size_t keep_from = newest_user(messages);
  drop_oldest_turns(messages, keep_from, budget, sizes);
  if (sizes.over(budget)) return cannot_fit(messages, keep_from, budget, sizes, model, reserved_output_tokens);

  std::vector<Message> kept;
  kept.reserve(messages.size() - sizes.dropped_count);
  for (size_t k = 0; k < messages.size(); ++k) {
    if (!sizes.dropped[k]) kept.push_back(std::move(messages[k]));
  }
  messages = std::move(kept);
  return FitOutcome{sizes.dropped_count};
}

Result<AlternatingConversation> to_alternating(const std::vector<Message>& messages, std::optional<int64_t> max_chars,
                                               std::string_view model_name) {
  AlternatingConversation out;
  std::string system;
  std::vector<Message> turns;  // alternating, starting with user
  for (const auto& m : messages) {
    std::string text = m.text();
    if (m.role == "system") {
      if (text.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += text;
      continue;
    }
    const std::string role = m.role == "assistant" ? "assistant" : "user";
    if (text.empty() || (role == "assistant" && turns.empty())) {
      ++out.dropped_messages;
      continue;
    }
    if (!turns.empty() && turns.back().role == role) {
      std::string merged = turns.back().content.get<std::string>() + "\n\n" + text;
      turns.back().content = std::move(merged);
    } else {
      turns.push_back(Message{role, std::move(text)});
    }
  }
  if (turns.empty()) {
    return invalid_request(std::string("messages: ") + std::string(model_name) +
                           " needs at least one non-empty user message");
  }
  if (turns.back().role != "user") {
    return invalid_request(std::string("messages: the last message must be from the user for ") +
                           std::string(model_name));
  }

  if (max_chars) {
    const int64_t system_chars = system.empty() ? 0 : count_chars(system) + 2;  // + "\n\n"
    int64_t total = system_chars;
    for (const auto& t : turns) total += count_chars(t.content.get<std::string>());
    size_t first = 0;
    while (total > *max_chars && turns.size() - first >= 3) {
      total -= count_chars(turns[first].content.get<std::string>());
      total -= count_chars(turns[first + 1].content.get<std::string>());
      first += 2;
      out.dropped_messages += 2;
    }
    if (total > *max_chars) {
      const int64_t newest = count_chars(turns.back().content.get<std::string>());
      std::string what = system.empty() || newest > *max_chars ? "message is " + std::to_string(newest) + " characters"
                                                               : "the system prompt and the latest message are " +
                                                                     std::to_string(total) + " characters together";
      return context_error(what + "; " + std::string(model_name) + " accepts at most " + std::to_string(*max_chars) +
                           " input characters");
    }
    turns.erase(turns.begin(), turns.begin() + static_cast<std::ptrdiff_t>(first));
  }

  if (!system.empty()) {
    turns.front().content = system + "\n\n" + turns.front().content.get<std::string>();
  }
  out.messages = std::move(turns);
  return out;
}

}  // namespace glm
