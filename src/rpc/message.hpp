// JSON-RPC 2.0 message helpers: error codes, typed errors, serialisation. Any thread.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::rpc {

using Json = nlohmann::json;

namespace code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int request_cancelled = -32800;
inline constexpr int upstream_error = -32001;
}  // namespace code

// Thrown by handlers (synchronously) and turned into an error reply by the dispatcher.
struct RpcError : std::runtime_error {
  RpcError(int code, std::string message, Json data = nullptr)
      : std::runtime_error(message), code(code), data(std::move(data)) {}
  int code;
  Json data;
};

inline RpcError invalid_params(std::string message) { return RpcError(code::invalid_params, std::move(message)); }

// Serialises for the wire. Invalid UTF-8 (e.g. from a provider) becomes U+FFFD instead of throwing.
inline std::string to_wire(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

inline Json make_error_object(int code, const std::string& message, const Json& data = nullptr) {
  Json e = {{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = data;
  return e;
}

inline Json make_response(const Json& id, Json result) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

inline Json make_error(const Json& id, int code, const std::string& message, const Json& data = nullptr) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", make_error_object(code, message, data)}};
}

inline Json make_notification(std::string method, Json params) {
  return Json{{"jsonrpc", "2.0"}, {"method", std::move(method)}, {"params", std::move(params)}};
}

// Replies as text with the id spliced in as the client wrote it (`id_text` is JSON text). The keys come
// in nlohmann's sorted order, so the bytes equal to_wire(make_response/make_error(...)) whenever the id
// text is the canonical one.
inline std::string response_text(std::string_view id_text, const Json& result) {
  std::string out = R"({"id":)";
  out.append(id_text);
  out.append(R"(,"jsonrpc":"2.0","result":)");
  out.append(to_wire(result));
  out.push_back('}');
  return out;
}

inline std::string error_text(std::string_view id_text, int code, const std::string& message,
                              const Json& data = nullptr) {
  std::string out = R"({"error":)";
  out.append(to_wire(make_error_object(code, message, data)));
  out.append(R"(,"id":)");
  out.append(id_text);
  out.append(R"(,"jsonrpc":"2.0"})");
  return out;
}

}  // namespace glm::rpc
