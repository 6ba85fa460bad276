// LSP mode text helpers: taking the code out of a model's reply, URIs, labels, config extraction.
#include <catch2/catch.hpp>

#include "lsp/lsp_server.hpp"
#include "lsp/rewrite.hpp"

using namespace glm::lsp;

TEST_CASE("extract_code takes the first fenced block and matches the original's final newline") {
  CHECK(extract_code("Here you go:\n```lua\nlocal x = 2\n```\nDone.", "local x = 1\n") == "local x = 2\n");
  CHECK(extract_code("```lua\nlocal x = 2\n```", "local x = 1") == "local x = 2");
  CHECK(extract_code("~~~\na\n\nb\n~~~", "") == "a\n\nb");
  // A longer fence holds shorter ones inside.
  CHECK(extract_code("````md\n```\ninner\n```\n````", "x\n") == "```\ninner\n```\n");
  // No fence: the reply itself, without blank lines around it.
  CHECK(extract_code("\n\nreturn 1\n\n\n", "return 0\n") == "return 1\n");
  // An unterminated fence runs to the end.
  CHECK(extract_code("```py\nprint(1)\n", "print(0)\n") == "print(1)\n");
  // CRLF originals keep CRLF at the end.
  CHECK(extract_code("```\nb\n```", "a\r\n") == "b\r\n");
  // Indentation inside the block is kept.
  CHECK(extract_code("```\n  if x:\n    y()\n```", "  if a:\n    b()\n") == "  if x:\n    y()\n");
}

TEST_CASE("file URIs and paths") {
  CHECK(uri_to_path("file:///home/u/a%20b/%E4%B8%AD.lua") == "/home/u/a b/中.lua");
  CHECK(uri_to_path("file://host/x/y") == "/x/y");
  CHECK(uri_to_path("untitled:Untitled-1") == "untitled:Untitled-1");
  CHECK(uri_to_path("file:///bad%zz") == "/bad%zz");
  CHECK(path_to_uri("/tmp/a b/中.md") == "file:///tmp/a%20b/%E4%B8%AD.md");
  CHECK(uri_to_path(path_to_uri("/x/y z/#1.md")) == "/x/y z/#1.md");
}

TEST_CASE("first_line cuts on a UTF-8 boundary") {
  CHECK(first_line("abc\ndef", 80) == "abc");
  CHECK(first_line("中中中", 4) == "中…");
  CHECK(first_line("", 5) == "");
}

TEST_CASE("extract_config accepts {config}, {glm: ...} and the config itself") {
  glm::rpc::Json cfg = {{"default_model", "openai/x"}};
  CHECK(extract_config({{"config", cfg}}) == cfg);
  CHECK(extract_config({{"glm", {{"config", cfg}}}}) == cfg);
  CHECK(extract_config({{"glm", cfg}}) == cfg);
  CHECK(extract_config(cfg) == cfg);
  CHECK(extract_config(glm::rpc::Json::object()).is_null());
  CHECK(extract_config(nullptr).is_null());
  CHECK(extract_config({{"glm", 3}}).is_null());
}
