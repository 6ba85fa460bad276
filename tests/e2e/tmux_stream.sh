#!/bin/sh
# Drives a real Neovim in tmux as a person would: two windows, a chat streaming slowly in one while
# the user types in the other. Checks the screen shows the stream growing and every typed key landing.
#   tests/e2e/tmux_stream.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
nvim=${NVIM:-nvim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-e2e.XXXXXX")
sock="$tmp/tmux.sock"
session=glm_e2e
passed=0
failed=0
mock_pid=

cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

check() { # check NAME COMMAND...
  name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

screen() { tmux -S "$sock" capture-pane -p -t "$session"; }
keys() { tmux -S "$sock" send-keys -t "$session" "$@"; }
toks() { screen | grep -o 'tok[0-9]*' | wc -l; }

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

cat >"$tmp/init.lua" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
require('glm').setup({
  server = {
    cmd = '$server',
    config = {
      default_model = 'openai/glm-4',
      providers = { openai = { base_url = 'http://127.0.0.1:$port/v1' } },
    },
  },
  chat = { layout = 'vsplit' },
})
LUA

tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x 140 -y 40 \
  "env XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state OPENAI_API_KEY=sk-e2e $nvim -u $tmp/init.lua -i NONE -n"
check "neovim started" wait_for '^~' 10

# Left: a notes buffer. Right: the chat (layout vsplit).
keys ':GlmChat' Enter
check "chat opened" wait_for '## You' 5
keys i 'hello mock:chunks=40,delay_ms=50' Escape Enter
check "reply started streaming" wait_for 'tok[0-9]' 5
keys C-w h
sleep 0.2
n1=$(toks)
# Type while the reply streams, a few keys at a time, like a person.
keys i
for word in 'typed ' 'while ' 'the ' 'reply ' 'streams'; do
  keys -l "$word"
  sleep 0.1
done
keys Escape
n2=$(toks)
check "stream grows on screen while typing ($n1 -> $n2 tokens)" test "$n2" -gt "$n1"
check "stream was still going while typing" test "$n2" -lt 40
check "typed text on screen" wait_for 'typed while the reply streams' 3
check "reply finished" wait_for 'tok39' 8
check "usage line shown" wait_for 'openai/glm-4 ·' 3
# The typed text went to the notes buffer only, every key of it.
keys ":w $tmp/typed.txt" Enter
sleep 0.3
check "typed keys all landed in the other window" test "$(cat "$tmp/typed.txt" 2>/dev/null)" = 'typed while the reply streams'
screen | grep -q 'E[0-9][0-9]*:' && err=1 || err=0
check "no error on screen" test "$err" -eq 0
keys ':qa!' Enter
i=0
while tmux -S "$sock" has-session -t "$session" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "neovim exited" sh -c "! tmux -S '$sock' has-session -t '$session' 2>/dev/null"
# VimLeavePre shut the server down (shutdown + exit): no glm-server of this run is left behind.
sleep 0.2
check "server stopped with Neovim" sh -c "! pgrep -f '$tmp/cache/glm/[s]erver.log' >/dev/null"
finish
