// libFuzzer target: one provider's response decoder (its ChatStream, through a DeltaSink), built once
// per provider with GLM_FUZZ_PROVIDER set to its name. The input is a recorded HTTP response in the
// tests/fixtures format (status line, headers, blank line, body), so every fixture is a seed and the
// fuzzer mutates status and headers as well as the body.
// Oracles: no crash/UB/leak and no exception out of the stream; the same deltas, result and error
// whether the body arrives whole or in pieces; a stream is done or failed, never both, once it ends;
// every error has a message; nothing reaches the sink after the stream finished.
#include <asio/io_context.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "fuzz_util.hpp"
#include "providers/provider.hpp"
#include "providers/qianfan.hpp"
#include "providers/registry.hpp"

#ifndef GLM_FUZZ_PROVIDER
#error "GLM_FUZZ_PROVIDER must name the provider"
#endif

namespace {

using namespace glm;

struct Sink : DeltaSink {
  std::ostringstream log;
  const ChatStream* stream = nullptr;
  void on_delta(std::string_view content, std::string_view reasoning) override {
    if (stream && (stream->done() || stream->error())) fuzz::fail("delta after the stream finished");
    log << "d" << content.size() << ":" << content << "|" << reasoning.size() << ":" << reasoning << "\n";
  }
  void on_replace(std::string_view content, std::string_view reasoning) override {
    if (stream && (stream->done() || stream->error())) fuzz::fail("replace after the stream finished");
    log << "r" << content.size() << ":" << content << "|" << reasoning.size() << ":" << reasoning << "\n";
  }
};

struct Fixture {
  asio::io_context io;
  std::unique_ptr<Provider> provider;
  Fixture() {
    ProviderConfig config;
    config.name = GLM_FUZZ_PROVIDER;
    config.kind = GLM_FUZZ_PROVIDER;
    config.base_url = "https://fuzz.invalid/v1";
    config.api_key = "fuzz-key.fuzz-secret";
    config.secret_key = "fuzz-secret";
    provider = make_provider(config, ProviderContext{io, nullptr});
    if (!provider) fuzz::fail("unknown provider " GLM_FUZZ_PROVIDER);
  }
};

// The request shapes a stream decoder depends on (model, stream flag, thinking), picked by the input.
ChatRequest request_for(uint8_t selector) {
  static const std::vector<std::string> models = {"glm-4.6", "chatglm3-6b", "glm-4", "chatglm2_6b_32k", "other"};
  ChatRequest r;
  r.provider = GLM_FUZZ_PROVIDER;
  r.model = models[selector % models.size()];
  r.stream = (selector & 0x10) == 0;
  if (selector & 0x20) r.options.thinking = (selector & 0x40) != 0;
  r.messages.push_back(Message{"user", Json("hi")});
  return r;
}

std::string run(Provider& provider, const ChatRequest& request, const fuzz::Response& response,
                const std::vector<std::string_view>& pieces) {
  ChatResult result;
  Sink sink;
  auto stream = provider.open_stream(request, result, sink);
  sink.stream = stream.get();
  stream->on_head(response.status, response.headers);
  for (auto p : pieces) {
    if (stream->error()) break;  // the chat driver stops feeding on error
    stream->on_body(p);
  }
  if (!stream->error()) stream->on_eof();
  if (!stream->done() && !stream->error()) fuzz::fail("stream ended neither done nor failed");
  if (stream->done() && stream->error()) fuzz::fail("stream both done and failed");
  std::ostringstream o;
  o << sink.log.str() << "finish=" << result.finish_reason << " model=" << result.model
    << " extra=" << result.extra.dump(-1, ' ', false, Json::error_handler_t::replace) << " done=" << stream->done();
  if (result.usage)
    o << " usage=" << result.usage->input_tokens << "/" << result.usage->output_tokens << "/"
      << result.usage->total_tokens;
  if (const auto& e = stream->error()) {
    if (e->message.empty()) fuzz::fail("error without a message");
    o << " error=" << error_kind_name(e->kind) << "," << e->message << "," << e->upstream_code << ","
      << e->upstream_message << "," << e->retryable << "," << e->refresh_credentials << ","
      << (e->http_status ? *e->http_status : 0) << ","
      << e->retry_after_ms.has_value();  // an HTTP-date Retry-After depends on the clock
  }
  return o.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const fuzz::Response response = fuzz::parse_response(input);
  const ChatRequest request = request_for(size ? data[size - 1] : 0);
  const std::string whole = run(*fixture.provider, request, response, {response.body});
  const std::string split = run(*fixture.provider, request, response, fuzz::chunks_of(response.body));
  if (whole != split) {
    std::fprintf(stderr, "whole: %s\nsplit: %s\n", whole.c_str(), split.c_str());
    fuzz::fail("outcome differs between whole and split body");
  }
  if (std::string_view(GLM_FUZZ_PROVIDER) == "qianfan") {
    // The OAuth token endpoint's answer goes through its own parser.
    auto token = parse_qianfan_token(response.status, response.body);
    if (!token && token.error().message.empty()) fuzz::fail("token error without a message");
  }
  return 0;
}
