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
. "$here/lib.sh"
toks() { screen | grep -o 'tok[0-9]*' | wc -l; }
need_binaries
start_mock

write_init "$tmp/init.lua" "chat = { layout = 'vsplit' },"
start_nvim "$tmp/init.lua" 140 40
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
check "neovim exited" quit_nvim
# VimLeavePre shut the server down (shutdown + exit): no glm-server of this run is left behind.
sleep 0.2
check "server stopped with Neovim" sh -c "! pgrep -f '$tmp/cache/glm/[s]erver.log' >/dev/null"
finish
