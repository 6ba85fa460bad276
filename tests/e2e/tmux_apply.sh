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
nvim=${NVIM:-nvim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-e2e-apply.XXXXXX")
sock="$tmp/tmux.sock"
session=glm_e2e_apply
passed=0
failed=0
mock_pid=

cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

check() { # check NAME COMMAND...
  name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    echo "---- screen ----"
    screen
    echo "----------------"
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

screen() { tmux -S "$sock" capture-pane -p -t "$session"; }
keys() { tmux -S "$sock" send-keys -t "$session" "$@"; }

# wait_for PATTERN SECONDS: poll the screen until it shows PATTERN.
wait_for() {
  i=0
  while [ "$i" -lt $(($2 * 20)) ]; do
    screen | grep -q -- "$1" && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

# wait_gone PATTERN SECONDS: poll the screen until it no longer shows PATTERN.
wait_gone() {
  i=0
  while [ "$i" -lt $(($2 * 20)) ]; do
    screen | grep -q -- "$1" || return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

for bin in "$server" "$mock"; do
  if [ ! -x "$bin" ]; then
    echo "missing $bin"
    failed=1
    finish
  fi
done

"$mock" --lifetime-s 120 </dev/null >"$tmp/mock.out" 2>"$tmp/mock.err" &
mock_pid=$!
i=0
while ! grep -q '^PORT ' "$tmp/mock.out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(sed -n 's/^PORT \([0-9]*\).*/\1/p' "$tmp/mock.out")
check "mock provider started" test -n "$port"
[ -n "$port" ] || finish

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

cat >"$tmp/init.lua" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.o.laststatus = 2
require('glm').setup({
  server = {
    cmd = '$server',
    config = {
      default_model = 'openai/glm-4',
      providers = { openai = { base_url = 'http://127.0.0.1:$port/v1' } },
    },
  },
})
LUA

tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x 120 -y 40 \
  "env XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state OPENAI_API_KEY=sk-e2e $nvim -u $tmp/init.lua -i NONE -n $tmp/shop.py"
check "neovim started with the file" wait_for 'def total(items):' 10

# Ask about lines 2-5 (the loop); the answer streams into a float.
keys ":2,5GlmAsk shorter please mock:reply_file=$tmp/answer.md" Enter
check "answer shown in the float" wait_for 'accumulator are no longer needed' 8
check "answer finished (usage line)" wait_for 'openai/glm-4 ·' 8

# ga: the diff preview opens under the file with the original and the proposal side by side.
keys g a
check "preview opened (status lines)" wait_for 'GLM original: shop.py lines 2-5 .*GLM apply' 5
check "preview says how to accept and reject" wait_for 'ga accept · gr reject' 3
check "proposal shown in the diff" wait_for 'for price, qty in items)' 3
[ -n "${GLM_E2E_SHOW:-}" ] && screen
check "file not changed yet" sh -c "grep -q 'result = result + price' '$tmp/shop.py'"

# ga again: accepted; the preview closes and the file window shows the new code.
keys g a
check "preview closed" wait_gone 'GLM original:' 5
check "new code on screen" wait_for 'return sum(price \* qty' 3
check "old loop gone from the screen" wait_gone 'result = result + price \* qty' 3
check "code after the range untouched" wait_for 'print(total(\[(2, 3), (5, 1)\]))' 3
check "no error on screen" sh -c "! tmux -S '$sock' capture-pane -p -t '$session' | grep -q 'E[0-9][0-9]*:'"

# One u brings all of it back.
keys u
check "one undo restores the loop" wait_for 'result = result + price \* qty' 3
check "and removes the new code" wait_gone 'return sum(price' 3

keys ':qa!' Enter
i=0
while tmux -S "$sock" has-session -t "$session" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "neovim exited" sh -c "! tmux -S '$sock' has-session -t '$session' 2>/dev/null"
finish
