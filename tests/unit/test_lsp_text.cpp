// LSP mode text helpers: URIs, labels, config extraction. (Code out of a reply: test_core_extract.cpp.)
#include <catch2/catch.hpp>

#include "lsp/lsp_server.hpp"
#include "lsp/text_util.hpp"

using namespace glm::lsp;

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
