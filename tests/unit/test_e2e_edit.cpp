// `edit` end to end (docs/protocol.md "Edit"): the real glm-server process and the in-process mock. What
// every face gets (:GlmEdit, LSP Rewrite/Fix): the one edit prompt upstream, and code, not the model's
// prose, both while it streams (replace deltas holding the code so far) and in the result.
#include <catch2/catch.hpp>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::mock::Response;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

// An OpenAI-style stream of `pieces` of content, then the end.
Response stream_of(const std::vector<std::string>& pieces) {
  std::vector<std::string> events;
  for (const auto& p : pieces)
    events.push_back("data: " + Json{{"choices", {{{"index", 0}, {"delta", {{"content", p}}}}}}}.dump() + "\n\n");
  events.push_back(
      "data: " + Json{{"choices", {{{"index", 0}, {"delta", Json::object()}, {"finish_reason", "stop"}}}}}.dump() +
      "\n\n");
  events.push_back("data: [DONE]\n\n");
  return Response::sse(std::move(events));
}

struct Fixture {
  MockServer mock;
  ServerProcess server;
  explicit Fixture(Json extra_config = Json::object()) {
    Json cfg = {{"default_model", "openai/glm-4"}, {"providers", {{"openai", {{"base_url", mock.url() + "/v1"}}}}}};
    cfg.update(extra_config);
    Json r = server.request("initialize", {{"config", cfg}}, "init");
    REQUIRE(r.contains("result"));
  }
};

}  // namespace

TEST_CASE("edit streams the code taken out of the answer, never its prose") {
  Fixture f;
  f.mock.enqueue(stream_of({"Here is the updated function:\n\n```py", "thon\ndef add(a, b):\n", "    return a",
                            " + b\n```\n", "\nThis version adds the numbers."}));
  f.server.send(rpc(7, "edit",
                    {{"instruction", "make it add"},
                     {"code", "    def add(a, b):\n        return a - b\n"},
                     {"before", "class M:\n"},
                     {"after", "\n    def sub(a, b):\n"},
                     {"language", "python"},
                     {"path", "src/m.py"}}));
  std::vector<Json> notes;
  auto reply = f.server.read_response(&notes, 10000);
  REQUIRE(reply);
  REQUIRE(reply->contains("result"));
  const Json& res = (*reply)["result"];
  // The code, re-indented to the original's indentation, ending with its newline; the raw answer apart.
  CHECK(res["content"] == "    def add(a, b):\n        return a + b\n");
  CHECK(res["answer"].get<std::string>().rfind("Here is the updated function:", 0) == 0);
  // Every delta is a replace holding code so far: never the introducing sentence or the closing one.
  REQUIRE_FALSE(notes.empty());
  for (const auto& n : notes) {
    REQUIRE(n["method"] == "chat/delta");
    CHECK(n["params"]["replace"] == true);
    const std::string code = n["params"]["content"];
    CHECK(code.find("Here is") == std::string::npos);
    CHECK(code.find("This version") == std::string::npos);
    CHECK(code.find("```") == std::string::npos);
  }
  CHECK(notes.back()["params"]["content"] == res["content"]);

  // Upstream: the one edit prompt, instruction first, the code fenced, context marked as reference.
  auto reqs = f.mock.requests();
  REQUIRE(reqs.size() == 1);
  Json body = Json::parse(reqs[0].body);
  const std::string user = body["messages"][1]["content"];
  CHECK(body["messages"][0]["role"] == "system");
  CHECK(body["messages"][0]["content"].get<std::string>().find("code editing engine") != std::string::npos);
  CHECK(user.rfind("Instruction: make it add\n", 0) == 0);
  CHECK(user.find("File `src/m.py` (python). Rewrite this code:\n```python\n    def add(a, b):") != std::string::npos);
  CHECK(user.find("For reference only (do not repeat), the lines before:\n```python\nclass M:\n```") !=
        std::string::npos);
}

TEST_CASE("edit: prompts.edit in the config replaces the system prompt") {
  Fixture f(Json{{"prompts", {{"edit", "Only code, please."}}}});
  f.mock.enqueue(stream_of({"x = 2\n"}));
  Json r = f.server.request("edit", {{"instruction", "two"}, {"code", "x = 1\n"}, {"stream", false}});
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["content"] == "x = 2\n");
  Json body = Json::parse(f.mock.requests().at(0).body);
  CHECK(body["messages"][0]["content"] == "Only code, please.");
}

TEST_CASE("edit: bad params name the field") {
  Fixture f;
  Json r = f.server.request("edit", {{"code", "x"}});
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("instruction") != std::string::npos);
  r = f.server.request("edit", {{"instruction", "  "}});
  CHECK(r["error"]["message"].get<std::string>().find("instruction: must not be empty") != std::string::npos);
  Json bad = f.server.request("initialize", {{"config", {{"prompts", {{"review", "x"}}}}}}, "i2");
  CHECK(bad["error"]["message"].get<std::string>().find("prompts.review: unknown prompt") != std::string::npos);
}

TEST_CASE("edit: an upstream error keeps the partial code, not the partial prose") {
  Fixture f;
  glm::mock::Response r = stream_of({"Sure:\n```js\nconst a = 1;\n", "const b"});
  r.steps.resize(2);  // the connection drops after the second piece
  r.steps.push_back(glm::mock::Step::drop());
  f.mock.enqueue(std::move(r));
  Json reply = f.server.request("edit", {{"instruction", "x"}, {"code", "var a = 1;\n"}, {"stream", true}});
  REQUIRE(reply.contains("error"));
  CHECK(reply["error"]["data"]["partial"]["content"] == "const a = 1;\nconst b\n");
  CHECK(reply["error"]["data"]["partial"]["answer"].get<std::string>().rfind("Sure:", 0) == 0);
}
