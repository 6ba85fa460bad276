// Fill-in-the-middle text handling (core/fim_clean): the budget around the cursor, and turning real
// model outputs into the text a user sees as ghost text.
#include <catch2/catch.hpp>

#include <string>

#include "core/fim_clean.hpp"

using namespace glm::fim;

TEST_CASE("prefix budget keeps whole lines before the cursor") {
  const std::string p = "line1\nline2\nline3";
  CHECK(trim_prefix(p, 100) == p);
  CHECK(trim_prefix(p, 17) == p);
  CHECK(trim_prefix(p, 11) == "line2\nline3");  // exactly two lines
  CHECK(trim_prefix(p, 12) == "line2\nline3");  // the cut falls on the newline itself
  CHECK(trim_prefix(p, 10) == "line3");         // a partial line is dropped
  CHECK(trim_prefix(p, 5) == "line3");
  CHECK(trim_prefix(p, 0) == "");
  // The cursor's line alone is longer than the budget: its end is kept.
  CHECK(trim_prefix("abc\n" + std::string(100, 'x'), 10) == std::string(10, 'x'));
  // Characters, not bytes; never half a character.
  CHECK(trim_prefix("ééé\nçç", 2) == "çç");
  CHECK(trim_prefix("ééé\nçç", 3) == "çç");
  CHECK(trim_prefix("ééé\nçç", 6) == "ééé\nçç");
  CHECK(trim_prefix("abcdéf", 2) == "éf");
}

TEST_CASE("suffix budget keeps whole lines after the cursor") {
  const std::string s = "a\nbb\nccc";
  CHECK(trim_suffix(s, 100) == s);
  CHECK(trim_suffix(s, 5) == "a\nbb\n");
  CHECK(trim_suffix(s, 4) == "a\n");
  CHECK(trim_suffix(s, 1) == "a");  // the rest of the cursor's line, cut to the budget
  CHECK(trim_suffix(std::string(50, 'y') + "\nz", 10) == std::string(10, 'y'));
  CHECK(trim_suffix("ééé", 2) == "éé");
  CHECK(trim_suffix(s, 0) == "");
}

TEST_CASE("contexts share one budget, cut on line boundaries") {
  std::vector<Context> in = {{"a.py", "one\ntwo\n"}, {"b.py", "three\nfour\nfive\n"}, {"c.py", "six\n"}};
  auto out = trim_contexts(in, 100);
  REQUIRE(out.size() == 3);
  out = trim_contexts(in, 8 + 12);  // a.py whole, b.py "three\nfour\n" (11) fits, "five" does not
  REQUIRE(out.size() == 2);
  CHECK(out[0].code == "one\ntwo\n");
  CHECK(out[1].code == "three\nfour\n");
  out = trim_contexts(in, 10);  // nothing of b.py fits on a whole line
  REQUIRE(out.size() == 1);
  CHECK(trim_contexts(in, 0).empty());
}

TEST_CASE("CodeGeeX language names are the SDK's lower-case spelling") {
  CHECK(codegeex_language("Python", "") == "python");
  CHECK(codegeex_language("python", "x.py") == "python");
  CHECK(codegeex_language("cpp", "") == "cpp");
  CHECK(codegeex_language("sh", "") == "shell");
  CHECK(codegeex_language("typescriptreact", "") == "tsx");
  CHECK(codegeex_language("cs", "") == "csharp");
  CHECK(codegeex_language("objcpp", "") == "objective-c++");
  CHECK(codegeex_language("", "src/main.rs") == "rust");
  CHECK(codegeex_language("", "/x/Makefile") == "makefile");
  CHECK(codegeex_language("", "notes") == "text");
  CHECK(codegeex_language("", "") == "text");
  CHECK(codegeex_language("  Go ", "") == "go");
}

namespace {

struct Case {
  const char* name;
  std::string prefix, suffix, raw;
  bool chat;
  int max_lines;
  std::string want;
};

}  // namespace

TEST_CASE("model outputs are cleaned into the text to insert") {
  const std::string py_prefix = "def add(a, b):\n    ";
  const std::string py_suffix = "\n\nprint(add(1, 2))\n";
  const Case cases[] = {
      {"fenced with prose before and after", py_prefix, py_suffix,
       "Here is the completion:\n```python\nreturn a + b\n```\nThis returns the sum of a and b.", true, 0,
       "return a + b"},
      {"fence repeating the whole function", py_prefix, py_suffix, "```python\ndef add(a, b):\n    return a + b\n```",
       true, 0, "return a + b"},
      {"fence in Chinese prose", py_prefix, py_suffix, "以下是补全的代码：\n```python\nreturn a + b\n```", true, 0,
       "return a + b"},
      {"prose line without a fence", py_prefix, py_suffix, "Sure! Here's the code:\nreturn a + b", true, 0,
       "return a + b"},
      {"explanation after a blank line", py_prefix, py_suffix, "return a + b\n\nThis adds the two numbers.", true, 0,
       "return a + b"},
      {"thinking before the answer", py_prefix, py_suffix, "<think>The user wants the sum.</think>\nreturn a + b", true,
       0, "return a + b"},
      {"the prompt's tags echoed", py_prefix, py_suffix,
       "<code_before_cursor>def add(a, b):\n    </code_before_cursor>return a + b", true, 0, "return a + b"},
      {"indentation typed again", "if x:\n    ", "\n", "    y = 1", true, 0, "y = 1"},
      {"repeats the partial line (chat)", "for i in ra", "\n", "for i in range(10):", true, 0, "nge(10):"},
      {"repeats the partial line (codegeex)", "def f(x):\n    retu", "\n", "return x * 2", false, 0, "rn x * 2"},
      {"repeats two lines before the cursor", "import os\nx = 1\ny = ", "\n", "x = 1\ny = x + 1", false, 0, "x + 1"},
      {"writes the suffix's closing brace again", "int f(int x) {\n    ", "\n}\n", "return x * 2;\n}", false, 0,
       "return x * 2;"},
      {"writes the suffix's next statement", "int g() {\n    int a = 1;\n    ", "\n    return a;\n}\n",
       "a += 2;\n    return a;\n}", false, 0, "a += 2;"},
      {"ends with the suffix's closing paren", "print(", ")\n", "\"hello\")", false, 0, "\"hello\""},
      {"a balanced call is its own", "print(", ")\n", "foo()", false, 0, "foo()"},
      {"ends with the suffix's closing quote", "name = \"", "\"\n", "world\"", false, 0, "world"},
      {"a balanced string is its own", "x = ", "\"\n", "\"a\" + \"b\"", false, 0, "\"a\" + \"b\""},
      {"ends with the suffix's semicolon", "int x = ", ";\n", "42;", false, 0, "42"},
      {"CodeGeeX end token and what follows", "x = ", "\n", "compute()<|endoftext|><|user|>more", false, 0,
       "compute()"},
      {"leaves the block into new code", "def f(x):\n    ", "\n\ndef g():\n    pass\n",
       "return x\n\ndef h():\n    return 1", false, 0, "return x"},
      {"nested block closed by the suffix", "function f() {\n  if (a) {\n    ", "\n  }\n}\n", "b();\n  }\n}", false, 0,
       "b();"},
      {"end of file: the whole body stays", "def fib(n):\n    ", "",
       "if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n", false, 0,
       "if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)"},
      {"line limit", "x = [\n", "", "1,\n2,\n3,\n]", false, 2, "1,\n2,"},
      {"trailing whitespace", "x = ", "\n", "1   \n\n", false, 0, "1"},
      {"nothing to insert", "x = 1\n", "\n", "```\n```", true, 0, ""},
      {"plain code untouched", "", "", "int main() { return 0; }", true, 0, "int main() { return 0; }"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CleanOptions o;
    o.chat = c.chat;
    o.max_lines = c.max_lines;
    CHECK(clean_completion(c.raw, c.prefix, c.suffix, o) == c.want);
  }
}

#include <memory>

#include "core/config.hpp"

TEST_CASE("the completion config section and providers' fim key") {
  // Core knows no provider: a registry-like table (as test_core_config.cpp does).
  auto kinds = std::make_shared<glm::ProviderKinds>();
  kinds->kinds = {"zhipu", "openai"};
  kinds->kind_defaults = {{"zhipu", {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}}},
                          {"openai", {{"base_url", "http://127.0.0.1:8000/v1"}}}};
  kinds->builtin_instances = {{"zhipu", {{"base_url", "https://open.bigmodel.cn/api/paas/v4"}}},
                              {"openai", {{"base_url", "http://127.0.0.1:8000/v1"}}}};
  kinds->default_model = "zhipu/glm-4.6";
  glm::Config c = glm::Config::defaults(kinds);
  CHECK(c.completion.model == "zhipu/codegeex-4");
  CHECK(c.completion.prefix_chars == 6000);
  REQUIRE_FALSE(
      glm::apply_config(c, {{"completion", {{"model", "openai/qwen"}, {"prefix_chars", 100}, {"cache_size", 0}}},
                            {"providers", {{"openai", {{"fim", "completions"}}}}}}));
  CHECK(c.completion.model == "openai/qwen");
  CHECK(c.completion.prefix_chars == 100);
  CHECK(c.completion.cache_size == 0);
  CHECK(c.completion.suffix_chars == 2000);  // untouched keys keep their defaults
  CHECK(c.providers.at("openai").extra["fim"] == "completions");

  auto err = glm::apply_config(c, {{"completion", {{"prefix_chars", -1}}}});
  REQUIRE(err);
  CHECK(*err == "completion.prefix_chars: expected an integer in [0, 16777216]");
  err = glm::apply_config(c, {{"completion", {{"bogus", 1}}}});
  REQUIRE(err);
  CHECK(err->rfind("completion.bogus: unknown key", 0) == 0);
  err = glm::apply_config(c, {{"completion", {{"model", "nope/x"}}}});
  REQUIRE(err);
  CHECK(*err == "completion.model: unknown provider 'nope'");
  err = glm::apply_config(c, {{"providers", {{"openai", {{"fim", "infill"}}}}}});
  REQUIRE(err);
  CHECK(*err == "providers.openai.fim: expected \"chat\" or \"completions\"");
  err = glm::apply_config(c, {{"completion", "fast"}});
  REQUIRE(err);
  CHECK(*err == "completion: expected an object");
}
