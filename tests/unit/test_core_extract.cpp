// Taking code out of model answers (core/extract): a table of real-looking answers to edit requests,
// each with the code a user must get: fences with and without a language, nested fences, prose before
// and after in English and Chinese, think blocks, diff-shaped answers, CRLF, streaming partial answers.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/extract.hpp"

using namespace glm::extract;

namespace {

struct Case {
  const char* name;
  std::string answer;
  std::string expected;
  std::string original = "x = 1\n";
  std::string before;
  std::string after;
  bool partial = false;
};

}  // namespace

TEST_CASE("code_from_answer: a table of model answers") {
  const std::vector<Case> cases = {
      {"fence with a language", "```python\ny = 2\n```", "y = 2\n"},
      {"fence without a language", "```\ny = 2\n```\n", "y = 2\n"},
      {"tilde fence", "~~~lua\nlocal y = 2\n~~~", "local y = 2\n"},
      {"longer fence holding a shorter one (nested)", "````markdown\nUse it so:\n```sh\nrun\n```\n````",
       "Use it so:\n```sh\nrun\n```\n"},
      {"English prose before the fence", "Here is the updated function:\n\n```python\ndef f():\n    return 2\n```",
       "def f():\n    return 2\n"},
      {"English prose before and after the fence",
       "Sure! Here's the rewrite:\n```js\nconst y = 2;\n```\nThis avoids the global variable.", "const y = 2;\n"},
      {"Chinese prose before and after the fence",
       "以下是修改后的代码：\n```go\nfunc f() int { return 2 }\n```\n说明：返回值改为 2。",
       "func f() int { return 2 }\n"},
      {"Chinese prose without a fence", "好的，下面是修改后的代码\nreturn 2\n\n这样就可以了。", "return 2\n"},
      {"think block before the answer", "<think>The user wants y.\nSo y = 2.</think>\n```py\ny = 2\n```", "y = 2\n"},
      {"orphan closing think tag (opener eaten upstream)", "reasoning here</think>\n\ny = 2", "y = 2\n"},
      {"unclosed think block: nothing yet", "<think>still working it out", ""},
      {"CRLF line endings", "```c\r\nint y = 2;\r\nint z = 3;\r\n```\r\n", "int y = 2;\nint z = 3;\n"},
      {"diff in a diff fence: its new side",
       "```diff\n--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n```",
       "def f():\n    return 2\n", "def f():\n    return 1\n"},
      {"bare unified diff: its new side", "@@ -1 +1 @@\n-x = 1\n+x = 2\n\\ No newline at end of file", "x = 2\n"},
      {"several fences: the longest (the code, not the usage line)",
       "```py\ndef add(a, b):\n    return a + b\n```\nUse it:\n```py\nadd(1, 2)\n```",
       "def add(a, b):\n    return a + b\n", "def add(a, b): pass\n"},
      {"bare code", "y = 2\nz = 3", "y = 2\nz = 3\n"},
      {"bare code with an introducing sentence", "The updated line:\ny = 2", "y = 2\n"},
      {"bare code with a closing paragraph", "y = 2\n\nThis keeps the value in range.", "y = 2\n"},
      {"indentation lost: given back", "```py\nif ok:\n    y = 2\n```", "    if ok:\n        y = 2\n",
       "    if x:\n        y = 1\n"},
      {"indentation kept: unchanged", "```py\n    if ok:\n        y = 2\n```", "    if ok:\n        y = 2\n",
       "    if x:\n        y = 1\n"},
      {"the line before repeated: dropped", "```py\ndef compute(values):\n    return sum(values)\n```",
       "    return sum(values)\n", "    return 0\n", "def compute(values):\n"},
      {"ran on into the line after: dropped", "```py\n    return sum(values)\n\nprint(compute([1]))\n```",
       "    return sum(values)\n", "    return 0\n", "", "\nprint(compute([1]))\n"},
      {"a lone closer that also follows is kept (no substance)", "```js\nif (a) {\n  b();\n}\n```",
       "if (a) {\n  b();\n}\n", "if (a) { c(); }\n", "", "}\n"},
      {"streaming: the unfinished last line is left out", "```py\ny = 2\nz = ", "y = 2\n", "x = 1\n", "", "", true},
      {"streaming: a half-written closing fence", "```py\ny = 2\n``\n", "y = 2\n", "x = 1\n", "", "", true},
      {"streaming: an introducing sentence never shows", "Here is the", "", "x = 1\n", "", "", true},
      {"streaming: a finished introducing sentence never shows", "Here is the updated function:\n\n```py", "",
       "x = 1\n", "", "", true},
      {"a CRLF original gets CRLF lines back", "```\nb\nc\n```", "b\r\nc\r\n", "a\r\n"},
      {"cut off inside the fence", "```py\ny = 2\nz = 3", "y = 2\nz = 3\n"},
      {"one line ```code```", "```y = 2```", "y = 2\n"},
      {"original without a final newline: none added", "```py\ny = 2\n```", "y = 2", "x = 1"},
      {"blank lines around the code removed", "```py\n\n\ny = 2\n\n```", "y = 2\n"},
      {"info string with attributes", "```python title=\"f.py\"\ny = 2\n```", "y = 2\n"},
      {"fence indented two spaces (inside a list item)", "1. Change it:\n  ```py\n  y = 2\n  ```", "  y = 2\n",
       "  x = 1\n"},
      {"backticks in the info string: not a fence", "``` `inline` ```\ny = 2", "``` `inline` ```\ny = 2\n"},
      {"code starting with a prose word keeps it", "updated = True\nsave()", "updated = True\nsave()\n"},
      {"a refusal comes through as it is", "I cannot change this code.", "I cannot change this code.\n"},
      {"Chinese think and fence", "<think>用户想要加注释</think>\n当然，这是代码：\n```lua\n-- 注释\nlocal y = 2\n```",
       "-- 注释\nlocal y = 2\n"},
  };
  {
    CodeOptions o;
    o.indent_like = "    if x:";
    CHECK(code_from_answer("```py\ny = 2\n```", o) == "    y = 2");  // an insertion, indented like its line
  }
  for (const auto& c : cases) {
    CodeOptions o;
    o.original = c.original;
    o.before = c.before;
    o.after = c.after;
    o.partial = c.partial;
    INFO(c.name);
    CHECK(code_from_answer(c.answer, o) == c.expected);
  }
  CHECK(cases.size() >= 30);
}

TEST_CASE("fenced_blocks follows CommonMark's fence rules") {
  auto b = fenced_blocks("text\n```lua x\na\n```\nmore\n~~~\nb\n~~~~\n```\nopen");
  REQUIRE(b.size() == 3);
  CHECK(b[0].lang == "lua");
  CHECK(b[0].code == "a");
  CHECK(b[0].open_line == 1);
  CHECK(b[0].close_line == 3);
  CHECK(b[0].closed);
  CHECK(b[1].code == "b");  // a longer closing fence closes
  CHECK(b[2].code == "open");
  CHECK_FALSE(b[2].closed);
  // A closing fence must be the same character and at least as long, with nothing after it.
  auto n = fenced_blocks("````\n```\nin\n```\n````");
  REQUIRE(n.size() == 1);
  CHECK(n[0].code == "```\nin\n```");
  CHECK(fenced_blocks("    ```\n    code\n    ```").empty());  // four spaces: indented code, not a fence
}

TEST_CASE("strip_think handles complete, orphan and unclosed blocks") {
  CHECK(strip_think("<think>a</think>\nb") == "b");
  CHECK(strip_think("x<think>a</think>y<think>b</think>z") == "xyz");
  CHECK(strip_think("a</think>\n\nb") == "b");
  CHECK(strip_think("b<think>still") == "b");
  CHECK(strip_think("no tags") == "no tags");
}

TEST_CASE("diff_new_side only takes whole diffs") {
  CHECK(diff_new_side("@@ -1 +1 @@\n-a\n+b\n c") == "b\nc");
  CHECK_FALSE(diff_new_side("just text\n@@ -1 +1 @@\n+b").has_value());
  CHECK_FALSE(diff_new_side("-a\n+b").has_value());  // no hunk marker: a list, not a diff
}
