#!/bin/sh
# Drives a real Neovim in tmux as a person would: asks about two lines of a file, applies the code block
# of the answer to them through the diff preview, and checks on the screen that the preview appears,
# that the file's window shows the new code after `ga`, and that one `u` brings the old code back.
#   tests/e2e/tmux_apply.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
need_binaries
start_mock

cat >"$tmp/shop.py" <<'PY'
def total(items):
    result = 0
    for price, qty in items:
        result = result + price * qty
    return result


print(total([(2, 3), (5, 1)]))
PY

# The model's answer, as models write them: a sentence, the code in a fence, a remark.
cat >"$tmp/answer.md" <<'MD'
Sure. A generator expression is shorter:

```python
    return sum(price * qty
               for price, qty in items)
```

The loop and the accumulator are no longer needed.
MD

write_init "$tmp/init.lua"
echo 'vim.o.laststatus = 2' >>"$tmp/init.lua"
start_nvim "$tmp/init.lua" 120 40 "$tmp/shop.py"
check "neovim started with the file" wait_for 'def total\(items\):' 10

# Ask about lines 2-5 (the loop); the answer streams into a float.
keys ":2,5GlmAsk shorter please mock:reply_file=$tmp/answer.md" Enter
check "answer shown in the float" wait_for 'accumulator are no longer needed' 8
check "answer finished (usage line)" wait_for 'openai/glm-4 ·' 8

# ga: the diff preview opens under the file with the original and the proposal side by side.
keys g a
check "preview opened (status lines)" wait_for 'GLM original: shop.py lines 2-5 .*GLM apply' 5
check "preview says how to accept and reject" wait_for 'ga accept · gr reject' 3
check "proposal shown in the diff" wait_for 'for price, qty in items\)' 3
[ -n "${GLM_E2E_SHOW:-}" ] && screen
check "file not changed yet" sh -c "grep -q 'result = result + price' '$tmp/shop.py'"

# ga again: accepted; the preview closes and the file window shows the new code.
keys g a
check "preview closed" wait_gone 'GLM original:' 5
check "new code on screen" wait_for 'return sum\(price \* qty' 3
check "old loop gone from the screen" wait_gone 'result = result \+ price \* qty' 3
check "code after the range untouched" wait_for 'print\(total\(\[\(2, 3\), \(5, 1\)\]\)\)' 3
check "no error on screen" sh -c "! tmux -S '$sock' capture-pane -p -t '$session' | grep -q 'E[0-9][0-9]*:'"

# One u brings all of it back.
keys u
check "one undo restores the loop" wait_for 'result = result \+ price \* qty' 3
check "and removes the new code" wait_gone 'return sum\(price' 3

check "neovim exited" quit_nvim
finish
