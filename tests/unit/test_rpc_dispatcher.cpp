// Dispatcher and Reply: exactly one answer per request, whatever the handler does.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "rpc/dispatcher.hpp"

using namespace glm::rpc;

namespace {

struct Sent {
  std::vector<Json> messages;
  SendFn fn() {
    return [this](Framing, std::string&& m) { messages.push_back(Json::parse(m)); };
  }
};

Frame frame(const Json& j) { return Frame{Framing::lsp, j.dump()}; }
Json req(Json id, const std::string& method, Json params = Json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

}  // namespace

TEST_CASE("a handler that drops its reply still produces exactly one -32603 answer") {
  Sent sent;
  Dispatcher d(sent.fn());
  d.on_request("forgetful", [](const Json&, Reply& reply) { Reply taken = std::move(reply); });
  d.dispatch(frame(req(1, "forgetful")));
  REQUIRE(sent.messages.size() == 1);
  REQUIRE(sent.messages[0]["id"] == 1);
  REQUIRE(sent.messages[0]["error"]["code"] == -32603);
}

TEST_CASE("answering twice sends only the first answer") {
  Sent sent;
  Dispatcher d(sent.fn());
  d.on_request("twice", [](const Json&, Reply& reply) {
    reply.result("first");
    reply.result("second");
    reply.error(-1, "third");
  });
  d.dispatch(frame(req("x", "twice")));
  REQUIRE(sent.messages.size() == 1);
  REQUIRE(sent.messages[0]["result"] == "first");
}

TEST_CASE("a handler that throws RpcError answers with that error; other exceptions become -32603") {
  Sent sent;
  Dispatcher d(sent.fn());
  d.on_request("bad", [](const Json&, Reply&) { throw invalid_params("messages: required"); });
  d.on_request("bug", [](const Json&, Reply&) { throw std::runtime_error("oops"); });
  d.dispatch(frame(req(1, "bad")));
  d.dispatch(frame(req(2, "bug")));
  REQUIRE(sent.messages.size() == 2);
  REQUIRE(sent.messages[0]["error"]["code"] == -32602);
  REQUIRE(sent.messages[0]["error"]["message"] == "messages: required");
  REQUIRE(sent.messages[1]["error"]["code"] == -32603);
}

TEST_CASE("a reply kept for later answers later; a batch waits for it") {
  Sent sent;
  Dispatcher d(sent.fn());
  std::optional<Reply> later;
  d.on_request("slow", [&](const Json&, Reply& reply) { later.emplace(std::move(reply)); });
  d.on_request("fast", [](const Json&, Reply& reply) { reply.result(1); });
  d.dispatch(Frame{Framing::lsp, Json::array({req(1, "slow"), req(2, "fast")}).dump()});
  REQUIRE(sent.messages.empty());  // the batch reply waits for every member
  later->result(0);
  REQUIRE(sent.messages.size() == 1);
  REQUIRE(sent.messages[0].is_array());
  REQUIRE(sent.messages[0].size() == 2);
}

TEST_CASE("CancelMap distinguishes 1 from \"1\" and runs a cancel once") {
  CancelMap m;
  int number = 0, text = 0;
  m.add(1, [&] { ++number; });
  m.add("1", [&] { ++text; });
  REQUIRE(m.cancel(Json("1")));
  REQUIRE(text == 1);
  REQUIRE(number == 0);
  REQUIRE_FALSE(m.cancel(Json("1")));
  m.cancel_all();
  REQUIRE(number == 1);
  REQUIRE(m.size() == 0);
}
