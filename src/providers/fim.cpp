#include "providers/fim.hpp"

#include <algorithm>
#include <optional>

#include "core/prompts.hpp"
#include "providers/registry.hpp"

namespace glm::fim {

const std::vector<std::string> kCodeGeexStop = {"<|endoftext|>", "<|user|>", "<|assistant|>", "<|observation|>"};

std::string_view style_name(Style style) {
  switch (style) {
    case Style::codegeex:
      return "codegeex";
    case Style::chat:
      return "chat";
    case Style::completions:
      return "completions";
  }
  return "chat";
}

Style style_for(std::string_view provider_type, std::string_view model, const ProviderConfig& config) {
  if (provider_type == "zhipu" && model.substr(0, 8) == "codegeex") return Style::codegeex;
  if (auto it = config.extra.find("fim"); it != config.extra.end() && *it == "completions") return Style::completions;
  return Style::chat;
}

double open_unit(double value) {
  if (!(value > 0.0)) return 0.01;
  if (value >= 1.0) return 0.99;
  return value;
}

double candidate_temperature(double base, int index, int count) {
  if (index <= 0 || count <= 1 || !(base < 1.0)) return base;
  const double from = base > 0.0 ? base : 0.0;
  return from + (1.0 - from) * static_cast<double>(index) / static_cast<double>(count);
}

Json codegeex_body(const Request& r) {
  Json contexts = Json::array();
  for (const auto& c : r.contexts) contexts.push_back({{"path", c.path}, {"code", c.code}});
  std::vector<std::string> stop = kCodeGeexStop;
  for (const auto& s : r.stop) {
    if (std::find(stop.begin(), stop.end(), s) == stop.end()) stop.push_back(s);
  }
  Json body = {
      {"model", r.model},
      // CodeGeeX FIM is driven by `extra` alone; the official example sends no messages.
      {"messages", Json::array()},
      {"extra",
       {{"target",
         {{"path", r.path},
          {"language", codegeex_language(r.language, r.path)},
          {"code_prefix", r.prefix},
          {"code_suffix", r.suffix}}},
        {"contexts", std::move(contexts)}}},
      {"stream", r.stream},
      {"temperature", open_unit(r.temperature)},
      {"top_p", open_unit(r.top_p)},
      {"max_tokens", r.max_tokens},
      {"stop", std::move(stop)},
  };
  return body;
}

Json completions_body(const Request& r) {
  Json body = {{"model", r.model},           {"prompt", r.prefix},           {"suffix", r.suffix},
               {"max_tokens", r.max_tokens}, {"temperature", r.temperature}, {"top_p", r.top_p},
               {"stream", r.stream}};
  if (r.n > 1) body["n"] = r.n;
  if (!r.stop.empty()) body["stop"] = r.stop;
  return body;
}

ChatRequest chat_request(const Request& r, std::string_view provider_type) {
  FimPromptInput in;
  in.prefix = r.prefix;
  in.suffix = r.suffix;
  in.language = r.language;
  in.path = r.path;
  for (const auto& c : r.contexts) in.contexts.emplace_back(c.path, c.code);
  ChatRequest req;
  req.provider = r.provider;
  req.model = r.model;
  req.messages = build_fim_messages(in);
  req.stream = r.stream;
  req.options.max_tokens = r.max_tokens;
  req.options.temperature = r.temperature;
  req.options.top_p = r.top_p;
  req.options.stop = r.stop;
  // Thinking costs seconds a completion does not have: off for models that think by default, where the
  // provider has a standard switch for it.
  if (provider_type == "zhipu" || provider_type == "dashscope-compat" || provider_type == "dashscope") {
    if (const ModelInfo* info = find_model(provider_type, r.model); info && info->thinking)
      req.options.thinking = false;
  }
  return req;
}

namespace {

// /completions responses are the chat shapes with `text` where chat has `delta`/`message`: each chunk
// is rewritten into the chat shape and handed to the OpenAI-style decoder, which does everything else
// (errors in every envelope, [DONE], finish reasons, usage). Completion replies are short: the extra
// parse per chunk costs microseconds.
class CompletionsDecoder : public OpenAiLikeDecoder {
 public:
  CompletionsDecoder(std::string provider, ChatResult& result, DeltaSink& sink)
      : OpenAiLikeDecoder(OpenAiLikeDialect{std::move(provider), classify_openai_error}, result, sink) {}

 protected:
  void on_stream_event(const sse::Event& event) override {
    if (event.type == "message" || event.type == "result") {
      Json chunk = Json::parse(event.data, nullptr, false);
      if (rewrite(chunk, "delta")) {
        sse::Event copy = event;
        copy.data = chunk.dump(-1, ' ', false, Json::error_handler_t::replace);
        OpenAiLikeDecoder::on_stream_event(copy);
        return;
      }
    }
    OpenAiLikeDecoder::on_stream_event(event);
  }
  void on_json_body(const Json& body, std::string_view raw) override {
    Json copy = body;
    if (rewrite(copy, "message")) return OpenAiLikeDecoder::on_json_body(copy, raw);
    OpenAiLikeDecoder::on_json_body(body, raw);
  }

 private:
  // choices[i].text → choices[i].<key>.content; false when there is nothing to rewrite.
  static bool rewrite(Json& chunk, const char* key) {
    if (!chunk.is_object()) return false;
    auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) return false;
    bool any = false;
    for (auto& c : *choices) {
      if (!c.is_object()) continue;
      auto text = c.find("text");
      if (text == c.end() || !text->is_string()) continue;
      c[key] = {{"content", *text}};
      any = true;
    }
    return any;
  }
};

}  // namespace

std::unique_ptr<ChatStream> open_completions_stream(std::string provider, ChatResult& result, DeltaSink& sink) {
  return std::make_unique<CompletionsDecoder>(std::move(provider), result, sink);
}

std::vector<std::string> choice_texts(std::string_view raw, size_t max_choices) {
  std::vector<std::string> out;
  Json body = Json::parse(raw, nullptr, false);
  if (!body.is_object()) return out;
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array()) return out;
  // One slot per requested choice: an index outside [0, max_choices) or a repeated one is ignored, so
  // a reply with any number of choices costs one pass and yields at most max_choices texts.
  std::vector<std::optional<std::string>> slots(std::min<size_t>(max_choices, 64));
  int64_t position = 0;
  for (const auto& c : *choices) {
    ++position;
    if (!c.is_object()) continue;
    int64_t index = c.contains("index") && c["index"].is_number_integer() ? c["index"].get<int64_t>() : position - 1;
    if (index < 0 || static_cast<uint64_t>(index) >= slots.size() || slots[static_cast<size_t>(index)]) continue;
    if (auto t = c.find("text"); t != c.end() && t->is_string()) {
      slots[static_cast<size_t>(index)] = t->get<std::string>();
    } else if (auto m = c.find("message");
               m != c.end() && m->is_object() && m->contains("content") && (*m)["content"].is_string()) {
      slots[static_cast<size_t>(index)] = (*m)["content"].get<std::string>();
    }
  }
  for (auto& s : slots)
    if (s) out.push_back(std::move(*s));
  return out;
}

}  // namespace glm::fim
