// Dispatcher: responses from the client to the server's own requests (LSP mode) go to the response
// handler; without one they stay invalid requests.
#include <catch2/catch.hpp>

#include <vector>

#include "rpc/dispatcher.hpp"

using namespace glm::rpc;

TEST_CASE("client responses reach the response handler, and only with one set") {
  std::vector<Json> sent;
  Dispatcher d([&](Framing, std::string&& m) { sent.push_back(Json::parse(m)); });
  Frame result{Framing::lsp, R"({"jsonrpc":"2.0","id":7,"result":{"applied":true}})"};
  Frame error{Framing::lsp, R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}})"};

  d.dispatch(Frame(result));
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["error"]["code"] == -32600);

  std::vector<Json> got;
  d.set_response_handler([&](const Json& r) { got.push_back(r); });
  d.dispatch(Frame(result));
  d.dispatch(Frame(error));
  CHECK(sent.size() == 1);  // nothing more sent
  REQUIRE(got.size() == 2);
  CHECK(got[0]["result"]["applied"] == true);
  CHECK(got[1]["error"]["code"] == -32601);

  // A message with neither method nor result/error is still an invalid request.
  d.dispatch(Frame{Framing::lsp, R"({"jsonrpc":"2.0","id":8})"});
  REQUIRE(sent.size() == 2);
  CHECK(sent[1]["error"]["code"] == -32600);
  // A handler that throws does not take the dispatcher down.
  d.set_response_handler([](const Json&) { throw std::runtime_error("boom"); });
  d.dispatch(Frame(result));
  CHECK(sent.size() == 2);
}
