#include "server/upstream_error.hpp"

#include "providers/provider_common.hpp"

namespace glm {

UpstreamReport report_upstream_error(UpstreamError e, const Provider& provider, const std::string& provider_name) {
  redact_error(e, provider.secrets());
  UpstreamReport r;
  r.message = std::move(e.message);
  if (r.message.rfind(provider_name, 0) != 0) r.message = provider_name + ": " + r.message;
  Json& d = r.data;
  d = {{"kind", error_kind_name(e.kind)}, {"provider", provider_name}};
  if (e.http_status) d["http_status"] = *e.http_status;
  if (!e.upstream_code.empty()) d["upstream_code"] = e.upstream_code;
  if (!e.upstream_message.empty()) d["upstream_message"] = e.upstream_message;
  if (!e.request_id.empty()) d["request_id"] = e.request_id;
  if (e.retry_after_ms) d["retry_after_ms"] = *e.retry_after_ms;
  return r;
}

UpstreamError from_net_error(const net::NetError& e, const std::string& provider) {
  UpstreamError u;
  switch (e.kind) {
    case net::NetError::Kind::timeout:
      u.kind = ErrorKind::timeout;
      break;
    case net::NetError::Kind::decoding:
      u.kind = ErrorKind::protocol;  // a body that does not decompress
      break;
    default:
      u.kind = ErrorKind::network;
      break;
  }
  u.message = provider + ": " + e.message;
  u.retryable = e.kind == net::NetError::Kind::connect;
  return u;
}

}  // namespace glm
