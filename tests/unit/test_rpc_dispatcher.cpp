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

TEST_CASE("CancelMap: a reused id is two entries, each removed by its own cookie, both cancelled by id") {
  CancelMap m;
  int first = 0, second = 0;
  auto a = m.add(5, [&] { ++first; });
  auto b = m.add(5, [&] { ++second; });
  REQUIRE(m.size() == 2);
  m.remove(a);  // the first request answered: the second stays cancellable
  REQUIRE(m.cancel(Json(5)) == 1);
  REQUIRE(second == 1);
  REQUIRE(first == 0);
  m.add(7, [&] { ++first; });
  m.add(7.0, [&] { ++first; });
  m.add(Json::parse("7E0"), [&] { ++first; });
  m.add("7", [&] { ++second; });
  REQUIRE(m.cancel(Json(7)) == 3);  // numbers by value; the string "7" is another id
  REQUIRE(first == 3);
  REQUIRE(m.size() == 1);
  m.remove(b);  // unknown by now: harmless
  REQUIRE(m.size() == 1);
}

TEST_CASE("replies carry a number id exactly as the client wrote it") {
  std::vector<std::string> raw;
  Dispatcher d([&](Framing, std::string&& m) { raw.push_back(std::move(m)); });
  d.on_request("echo", [](const Json&, Reply& reply) { reply.result(reply.id_text()); });
  for (std::string id : {"1E2", "123456789012345678901234567890", "-0", "0.10", "7", "\"x\""}) {
    raw.clear();
    d.dispatch(Frame{Framing::lsp, R"({"jsonrpc":"2.0", "id" : )" + id + R"( ,"method":"echo"})"});
    REQUIRE(raw.size() == 1);
    INFO(raw[0]);
    REQUIRE(raw[0].find(R"("id":)" + id + ",") != std::string::npos);
    REQUIRE(Json::parse(raw[0])["result"] == id);
  }
  // In a batch, each member's own text; a duplicate "id" key: the last one, as the parser keeps it.
  raw.clear();
  d.dispatch(
      Frame{Framing::lsp,
            R"([{"jsonrpc":"2.0","id":1E2,"method":"echo"}, {"id":3,"jsonrpc":"2.0","id":2.50,"method":"echo"}])"});
  REQUIRE(raw.size() == 1);
  REQUIRE(raw[0].find(R"("id":1E2,)") != std::string::npos);
  REQUIRE(raw[0].find(R"("id":2.50,)") != std::string::npos);
}
