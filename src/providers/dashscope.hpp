// Alibaba DashScope native API (docs/providers.md, "dashscope"): POST
// {base_url}/services/aigc/text-generation/generation with {"model","input":{messages |
// prompt+history},"parameters":{...}}; responses are SSE frames
// (`id:`/`event:`/`:HTTP_STATUS/NNN`/`data:`, no [DONE]: the frame whose finish_reason is not "null"
// ends the stream) or one JSON body.
//
// Ownership: DashScopeProvider is owned by the provider registry (one per configured provider); each
// DashScopeStream by the chat driver for one response. Everything runs on the loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.hpp"
#include "providers/credentials.hpp"
#include "providers/provider.hpp"
#include "providers/provider_common.hpp"
#include "providers/registry.hpp"
#include "providers/sse_chat_stream.hpp"

namespace glm {

// How one request goes over the wire; derived from the request and the catalog entry (may be null).
struct DashScopeWire {
  bool stream = true;          // upstream streams: the client asked, or the model is stream-only
  bool incremental = true;     // incremental_output (forced on by thinking)
  bool thinking = false;       // thinking is (by request or model default) on
  bool prompt_format = false;  // input.prompt + input.history instead of input.messages
};
DashScopeWire dashscope_wire(const ChatRequest& request, const ModelInfo* model);

// The request body. Errors only for a conversation the prompt format cannot express.
Result<Json> dashscope_body(const ChatRequest& request, const ModelInfo* model);

// Refines an error from DashScope's own codes (usable as an OpenAiLikeDialect::classify too, since
// compatible mode reports mid-stream errors in native form): Throttling* → rate_limit (retryable;
// Throttling.AllocationQuota → quota), InvalidApiKey → auth, DataInspectionFailed → content_filter,
// Arrearage → quota, InvalidParameter "Range of input length" → context_length, other InvalidParameter
// and BadRequest.* → invalid_request, InternalError* → server (retryable), ModelNotFound →
// invalid_request, AccessDenied* → auth.
void classify_dashscope_error(UpstreamError& error, const ErrorInfo& info);

// An UpstreamError from what an error envelope said: HTTP status defaults, then the classifier.
UpstreamError dashscope_error(const ErrorInfo& info);

// Parses one response. With incremental=false every frame carries the whole text so far: only the new
// suffix is emitted, and a frame whose text does not extend what was shown calls
// DeltaSink::on_replace(full content, full reasoning).
class DashScopeStream : public SseChatStream {
 public:
  DashScopeStream(bool incremental, ChatResult& result, DeltaSink& sink);

 protected:
  void on_stream_event(const sse::Event& event) override;
  void on_json_body(const Json& body, std::string_view raw) override;
  UpstreamError map_error(int status, const Json* body, std::string_view raw) override;

 private:
  // One frame (stream) or the whole response (whole=true). Returns false when it was an error.
  void handle_output(const Json& body, bool whole);
  void show(const std::optional<std::string>& content, const std::optional<std::string>& reasoning);

  bool incremental_;
  DeltaSink& replace_sink_;
  std::string shown_content_, shown_reasoning_;  // cumulative mode: what the client has so far
};

class DashScopeProvider : public Provider {
 public:
  DashScopeProvider(const ProviderConfig& config, ProviderContext context);

  std::string_view name() const override { return "dashscope"; }
  std::optional<std::string> validate(const ChatRequest& request) const override;
  void prepare(const ChatRequest& request, PrepareDone done) override;
  std::unique_ptr<ChatStream> open_stream(const ChatRequest& request, ChatResult& result, DeltaSink& sink) override;
  void invalidate_credentials() override { credentials_.invalidate(); }
  std::vector<std::string> secrets() const override { return credentials_.known_secrets(); }

 private:
  void prepare_ready(const ChatRequest& request, PrepareDone done);  // credentials resolved

  ProviderConfig config_;
  ProviderContext context_;
  Credentials credentials_;
};

std::unique_ptr<Provider> make_dashscope_provider(const ProviderConfig& config, ProviderContext context);
// Registry entry: kind dashscope.
ProviderSpec dashscope_spec();
// GLM-4.x as DashScope deploys it (native and compatible mode share the deployments), as kind `kind`.
std::vector<ModelInfo> dashscope_glm4_models(const std::string& kind);

}  // namespace glm
