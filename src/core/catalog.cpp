#include "core/catalog.hpp"

namespace glm {
namespace {

// Sources: PROVIDERS.md §1.7, §2.5, §4.3, §6 and the seed documents (000: DashScope ChatGLM,
// 001: Qianfan ChatGLM2-6B, 003: GLM-4.6/4.5 on DashScope). A limit marked UNCERTAIN is our best
// reading of incomplete documentation; it errs on the small side so that fitting drops history
// rather than the upstream rejecting the request.

ModelInfo model(std::string provider, std::string id) {
  ModelInfo m;
  m.provider = std::move(provider);
  m.id = std::move(id);
  return m;
}

// GLM-4.x on DashScope (Bailian), seed 003: streaming only, thinking on by default.
// glm-4.5 / glm-4.5-air share merged table cells with glm-4.6 in the seed: context 131,072 and
// max input 98,304 are explicit; the 16,384 reply limit is read from the merged cell (UNCERTAIN).
void add_dashscope_glm4(std::vector<ModelInfo>& out, const std::string& provider) {
  {
    auto m = model(provider, "glm-4.6");
    m.context_window = 202752;
    m.max_input_tokens = 169984;
    m.max_output_tokens = 16384;
    m.thinking = m.thinking_default = true;
    m.stream_only = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}, {"top_k", 20}};
    out.push_back(std::move(m));
  }
  for (const char* id : {"glm-4.5", "glm-4.5-air"}) {
    auto m = model(provider, id);
    m.context_window = 131072;
    m.max_input_tokens = 98304;
    m.max_output_tokens = 16384;  // UNCERTAIN (merged table cell)
    m.thinking = m.thinking_default = true;
    m.stream_only = true;
    m.defaults = {{"temperature", 0.6}, {"top_p", 0.95}, {"top_k", 20}};
    out.push_back(std::move(m));
  }
}

std::vector<ModelInfo> build_catalog() {
  std::vector<ModelInfo> out;

  // ---- zhipu (bigmodel.cn v4), PROVIDERS.md §1.3, §1.7 ----
  {
    auto m = model("zhipu", "glm-4.6");
    m.context_window = 200000;     // "200K"; HF max_position_embeddings is 202,752
    m.max_output_tokens = 131072;  // "128K"
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 1.0}, {"top_p", 0.95}};
    out.push_back(std::move(m));
  }
  for (const char* id : {"glm-4.5", "glm-4.5-air"}) {
    auto m = model("zhipu", id);
    m.context_window = 131072;    // "128K"
    m.max_output_tokens = 98304;  // "96K"; glm-4.5-air assumed equal to glm-4.5 (UNCERTAIN)
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 0.6}, {"top_p", 0.95}};
    out.push_back(std::move(m));
  }
  {
    auto m = model("zhipu", "glm-4-flash-250414");
    m.context_window = 131072;  // "128K"; max output not documented in what we read (UNCERTAIN: none set)
    m.defaults = {{"temperature", 0.75}, {"top_p", 0.9}};
    out.push_back(std::move(m));
  }
  {
    auto m = model("zhipu", "glm-4v-flash");
    m.context_window = 8192;  // UNCERTAIN: "8K" on the model page as we remember it; one image per request
    m.vision = true;
    m.defaults = {{"temperature", 0.8}, {"top_p", 0.6}};
    out.push_back(std::move(m));
  }
  {
    auto m = model("zhipu", "glm-4.6v");
    m.context_window = 131072;    // UNCERTAIN: "128K"
    m.max_output_tokens = 32768;  // "32K"
    m.vision = true;
    m.thinking = m.thinking_default = true;
    m.defaults = {{"temperature", 0.8}, {"top_p", 0.6}};
    out.push_back(std::move(m));
  }
  {
    auto m = model("zhipu", "codegeex-4");
    m.context_window = 131072;  // UNCERTAIN: the open codegeex4-all-9b has 128K; the API's is undocumented
    out.push_back(std::move(m));
  }

  // ---- dashscope native, PROVIDERS.md §2.5, seed 000 ----
  {
    auto m = model("dashscope", "chatglm3-6b");
    m.context_window = 7500;  // input + output
    m.max_input_tokens = 6000;
    m.max_output_tokens = 1500;
    out.push_back(std::move(m));
  }
  {
    auto m = model("dashscope", "chatglm-6b-v2");
    m.context_window = 6500;  // output limit not documented; fitting reserves the request's max_tokens
    m.input_format = "prompt";
    out.push_back(std::move(m));
  }
  add_dashscope_glm4(out, "dashscope");

  // ---- dashscope OpenAI-compatible mode: same deployments as native, PROVIDERS.md §3 ----
  add_dashscope_glm4(out, "dashscope-compat");

  // ---- qianfan (wenxinworkshop v1), PROVIDERS.md §4.3, seed 001 ----
  {
    auto m = model("qianfan", "chatglm2_6b_32k");
    m.max_input_chars = 4800;  // total `content` characters per request
    m.context_window = 32768;  // UNCERTAIN: from the model name; the 4800-character cap binds first
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

const std::vector<ModelInfo>& model_catalog() {
  static const std::vector<ModelInfo> catalog = build_catalog();
  return catalog;
}

const ModelInfo* find_model(std::string_view provider, std::string_view model) {
  for (const auto& m : model_catalog()) {
    if (m.provider == provider && m.id == model) return &m;
  }
  return nullptr;
}

}  // namespace glm
