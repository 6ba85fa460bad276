#include "providers/zhipu.hpp"

#include <charconv>

namespace glm {

namespace {

constexpr std::string_view kName = "zhipu";

int code_number(const std::string& code) {
  int v = -1;
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), v);
  return ec == std::errc() && ptr == code.data() + code.size() ? v : -1;
}

void set(UpstreamError& e, ErrorKind kind, bool retryable) {
  e.kind = kind;
  e.retryable = retryable;
}

}  // namespace

void classify_zhipu_error(UpstreamError& e, const ErrorInfo& info, bool jwt) {
  const int code = code_number(info.code);
  if (code >= 1000 && code <= 1005) {
    set(e, ErrorKind::auth, false);
    if (code == 1003 && jwt) e.refresh_credentials = true;
  } else if (code == 1113) {
    set(e, ErrorKind::quota, false);  // arrears; arrives as 429 but waiting does not help
  } else if (code >= 1110 && code <= 1121) {
    set(e, ErrorKind::auth, false);  // account inactive / locked / banned
  } else if (code == 500 || code == 1200 || code == 1230 || code == 1234) {
    set(e, ErrorKind::server, true);
  } else if (code >= 1210 && code <= 1215) {
    set(e, ErrorKind::invalid_request, false);
  } else if (code == 1220) {
    set(e, ErrorKind::auth, false);
  } else if (code == 1221 || code == 1222 || code == 1231) {
    set(e, ErrorKind::invalid_request, false);
  } else if (code == 1261) {
    set(e, ErrorKind::context_length, false);
  } else if (code == 1301) {
    set(e, ErrorKind::content_filter, false);
  } else if (code == 1302 || code == 1303 || code == 1305) {
    set(e, ErrorKind::rate_limit, true);
  } else if (code == 1304 || (code >= 1308 && code <= 1321)) {
    // Daily/weekly caps, coding-plan limits: the account's allowance, not a momentary rate.
    set(e, ErrorKind::quota, false);
  }
}

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Models whose page documents `thinking.clear_thinking` (preserved thinking): GLM-4.7 and GLM-5.
bool documents_clear_thinking(std::string_view model) {
  return starts_with(model, "glm-4.7") || starts_with(model, "glm-5");
}

// CodeGeeX-4's page lists four stop strings; every other model takes one.
size_t zhipu_max_stop(std::string_view model) { return starts_with(model, "codegeex-4") ? 4 : 0; }

std::optional<std::string> zhipu_validate_more(const ChatRequest& request, const std::string& instance) {
  const Json& extra = request.options.extra;
  if (auto m = check_extra(extra, "clear_thinking", ExtraType::boolean)) return m;
  if (extra.contains("clear_thinking") && !documents_clear_thinking(request.model))
    return "options.clear_thinking: not supported by " + request.model + " on " + instance +
           " (documented for glm-4.7 and glm-5)";
  return std::nullopt;
}

// As the official SDKs (zhipuai) do: the API takes temperature and top_p in the open interval
// (0, 1) and answers 1214 for the edges; temperature <= 0 means "greedy": do_sample false (the
// sampling parameters are then ignored) with 0.01; >= 1 becomes 0.99. top_p >= 1 → 0.99, <= 0 → 0.01.
void zhipu_adjust_body(Json& body, const ChatRequest& request) {
  if (auto t = body.find("temperature"); t != body.end() && t->is_number()) {
    const double v = t->get<double>();
    if (v <= 0) {
      *t = 0.01;
      body["do_sample"] = false;
    } else if (v >= 1) {
      *t = 0.99;
    }
  }
  if (auto p = body.find("top_p"); p != body.end() && p->is_number()) {
    const double v = p->get<double>();
    if (v >= 1) *p = 0.99;
    if (v <= 0) *p = 0.01;
  }
  if (auto c = request.options.extra.find("clear_thinking"); c != request.options.extra.end() && c->is_boolean()) {
    Json& thinking = body["thinking"];
    if (!thinking.is_object()) thinking = {{"type", "enabled"}};
    thinking["clear_thinking"] = *c;
  }
}

}  // namespace

const OpenAiCompatDialect& zhipu_dialect() {
  static const OpenAiCompatDialect d = [] {
    OpenAiCompatDialect d;
    d.kind = std::string(kName);
    d.temperature = Range{0, 1};
    d.top_p = Range{0, 1};
    d.max_tokens_max = 131072;
    d.max_stop = 1;
    d.max_stop_for = &zhipu_max_stop;
    d.validate_more = &zhipu_validate_more;
    d.adjust_body = &zhipu_adjust_body;
    d.part_types = {"text", "image_url", "video_url", "file_url"};
    d.strip_image_data_prefix = true;
    d.thinking = OpenAiCompatDialect::Thinking::type_object;
    d.tool_types = {"function", "web_search", "retrieval"};
    d.tool_choice_auto_only = true;
    d.extras = {
        {.name = "tool_stream", .type = ExtraType::boolean},
        {.name = "do_sample", .type = ExtraType::boolean},
        {.name = "user_id", .type = ExtraType::string, .min_len = 6, .max_len = 128},
        {.name = "request_id", .type = ExtraType::string},
        {.name = "response_format", .type = ExtraType::object},
    };
    d.auth = OpenAiCompatDialect::Auth::zhipu;
    d.classify = [](UpstreamError& e, const ErrorInfo& info, const ProviderConfig& config) {
      classify_zhipu_error(e, info, config.auth == "jwt");
    };
    return d;
  }();
  return d;
}

namespace {

// Zhipu's catalog (bigmodel.cn model pages).
std::vector<ModelInfo> zhipu_models() {
  std::vector<ModelInfo> out;
  {
    // docs.bigmodel.cn / docs.z.ai: 200K context, 128K output; thinking on by default (unlike 4.6);
    // preserved thinking via thinking.clear_thinking.
    auto m = model_entry("zhipu", "glm-4.7");
    m.context_window = 200000;
    m.max_output_tokens = 131072;
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}};
    out.push_back(std::move(m));
  }
  {
    // Listed by Zhipu with thinking on by default and clear_thinking; its limits were not in what we
    // could read (UNCERTAIN: assumed those of glm-4.7).
    auto m = model_entry("zhipu", "glm-5");
    m.context_window = 200000;
    m.max_output_tokens = 131072;
    m.thinking = m.thinking_default = true;
    m.uncertain = true;
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry("zhipu", "glm-4.6");
    m.context_window = 200000;     // "200K"; HF max_position_embeddings is 202,752
    m.max_output_tokens = 131072;  // "128K"
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}};
    out.push_back(std::move(m));
  }
  for (const char* id : {"glm-4.5", "glm-4.5-air"}) {
    auto m = model_entry("zhipu", id);
    m.context_window = 131072;    // "128K"
    m.max_output_tokens = 98304;  // "96K"; glm-4.5-air assumed equal to glm-4.5 (UNCERTAIN)
    m.thinking = m.thinking_default = true;
    m.uncertain = std::string(id) == "glm-4.5-air";
    m.defaults = {{"temperature", 0.6}, {"top_p", 0.95}};
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry("zhipu", "glm-4-flash-250414");
    m.context_window = 131072;  // "128K"; max output not documented in what we read (UNCERTAIN: none set)
    m.uncertain = true;
    m.defaults = {{"temperature", 0.75}, {"top_p", 0.9}};
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry("zhipu", "glm-4v-flash");
    m.context_window = 8192;  // UNCERTAIN: "8K" on the model page as we remember it; one image per request
    m.uncertain = true;
    m.vision = true;
    m.defaults = {{"temperature", 0.8}, {"top_p", 0.6}};
    out.push_back(std::move(m));
  }
  {
    // GLM-4.5V: vision, thinking. UNCERTAIN: "64K" context and 16K output as we read the model page.
    auto m = model_entry("zhipu", "glm-4.5v");
    m.context_window = 65536;
    m.max_output_tokens = 16384;
    m.uncertain = true;
    m.vision = true;
    m.thinking = m.thinking_default = true;
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry("zhipu", "glm-4.6v");
    m.context_window = 131072;    // UNCERTAIN: "128K"
    m.max_output_tokens = 32768;  // "32K"
    m.uncertain = true;
    m.vision = true;
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 0.8}, {"top_p", 0.6}};
    out.push_back(std::move(m));
  }
  {
    auto m = model_entry("zhipu", "codegeex-4");
    m.context_window = 131072;  // UNCERTAIN: the open codegeex4-all-9b has 128K; the API's is undocumented
    m.uncertain = true;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::unique_ptr<Provider> make_zhipu_provider(const ProviderConfig& config, ProviderContext context) {
  return std::make_unique<ZhipuProvider>(config, std::move(context));
}

ProviderSpec zhipu_spec() {
  ProviderSpec s = openai_compat_spec(zhipu_dialect(), "Zhipu AI open platform v4 (key or JWT)",
                                      {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}},
                                      {{"api_key_env", "ZHIPUAI_API_KEY"}}, zhipu_models(), &make_zhipu_provider);
  // Z.ai, Zhipu's international platform: same API and models, its own accounts and keys.
  s.instances.push_back({"zai", {{"base_url", "https://api.z.ai/api/paas/v4"}, {"api_key_env", "ZAI_API_KEY"}}});
  return s;
}

}  // namespace glm
