#!/bin/sh
# Inline completion as a person sees it: Neovim in tmux with completion on for Python, glm-server and
# the mock provider (CodeGeeX FIM). Typing shows the suggestion as ghost text on the screen (not in the
# file), typing along keeps the rest on screen, and the accept key (<M-l>) inserts it.
#   tests/e2e/tmux_ghost.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
row() { screen | sed -n "${1}p"; }
# Row N with its colours (SGR escapes): ghost text is drawn in GlmGhost (Comment), typed text plain.
esc=$(printf '\033')
colored() { tmux -S "$sock" capture-pane -e -p -t "$session" | sed -n "${1}p" | grep -q "$esc\[[0-9;]*m[^$esc]*$2"; }
cursor() { tmux -S "$sock" display -p -t "$session" '#{cursor_x},#{cursor_y}'; }
# wait_cursor X,Y SECONDS (0-based, as tmux counts)
wait_cursor() {
  i=0
  while [ "$i" -lt $(($2 * 20)) ]; do
    [ "$(cursor)" = "$1" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

# wait_row N TEXT SECONDS: poll until screen row N is exactly TEXT (trailing blanks ignored).
wait_row() {
  i=0
  while [ "$i" -lt $(($3 * 20)) ]; do
    [ "$(row "$1" | sed 's/[[:space:]]*$//')" = "$2" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

need_binaries
start_mock --record "$tmp/record.jsonl"

cat >"$tmp/init.lua" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.o.number = false
vim.cmd('filetype plugin indent on')
vim.cmd('syntax off') -- the only colour on the code lines is then the ghost text's
require('glm').setup({
  server = {
    cmd = '$server',
    config = {
      providers = { zhipu = { base_url = 'http://127.0.0.1:$port/api/paas/v4', api_key = 'e2e-key' } },
    },
  },
  complete = { filetypes = { python = true } },
})
LUA

# The mock "model" answers with what follows mock-reply: in the text before the cursor.
printf '%s\n' '# mock-reply:return fib(n - 1) + fib(n - 2)\n# done' 'def fib(n):' >"$tmp/fib.py"

start_nvim "$tmp/init.lua" 100 20 "$tmp/fib.py"
check "neovim started" wait_row 2 'def fib(n):' 10

keys G o  # Python's indent puts the cursor at column 4
check "ghost text on screen after a pause" wait_row 3 '    return fib(n - 1) + fib(n - 2)' 8
check "second suggestion line below it" wait_row 4 '# done' 2
check "drawn as ghost text (coloured), not buffer text" colored 3 'return fib'
fims=$(grep -c 'extra' "$tmp/record.jsonl")
keys -l 'return fib'
check "typing along keeps the rest on screen" wait_row 3 '    return fib(n - 1) + fib(n - 2)' 3
check "the rest is still ghost text" colored 3 '(n - 1)'
sleep 0.4
check "no request while typing along" test "$(grep -c 'extra' "$tmp/record.jsonl")" -eq "$fims"
check "cursor where typing stopped" wait_cursor 14,2 2
keys M-l
check "accept key: cursor after the inserted text (end of its second line)" wait_cursor 6,3 3
check "still in insert mode" wait_row 20 '-- INSERT --' 1
check "now plain buffer text" sh -c "! tmux -S '$sock' capture-pane -e -p -t '$session' | sed -n 3p | grep -q '$esc'"

keys Escape ':w' Enter
sleep 0.3
check "accepted text is in the file" test "$(sed -n 3p "$tmp/fib.py")" = '    return fib(n - 1) + fib(n - 2)'
check "and its second line" test "$(sed -n 4p "$tmp/fib.py")" = '# done'
screen | grep -q 'E[0-9][0-9]*:' && err=1 || err=0
check "no error on screen" test "$err" -eq 0
check "neovim exited" quit_nvim
finish
