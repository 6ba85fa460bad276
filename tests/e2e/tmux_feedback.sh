#!/bin/sh
# Feedback on a real screen: what a new user sees when something is missing (issue 15).
#   * completion errors (no key) stay on screen while typing, next to "-- INSERT --", and the
#     statusline component says them (15.5)
#   * error floats offer only to close them; the tests action's float inserts (15.6)
#   tests/e2e/tmux_feedback.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
row() { screen | sed -n "${1}p"; }
# No key for zhipu, whatever the caller's environment holds (the tmux server inherits it).
unset ZHIPUAI_API_KEY ZAI_API_KEY
need_binaries
start_mock

# 15.5: completion with no key for the provider.
cat >"$tmp/init_nokey.lua" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.o.laststatus = 2
vim.o.statusline = "%f %{v:lua.require'glm'.complete_status()}"
require('glm').setup({
  server = {
    cmd = '$server',
    config = { providers = { zhipu = { base_url = 'http://127.0.0.1:$port/api/paas/v4' } } },
  },
  complete = { filetypes = { python = true } },
})
LUA
printf 'def f():\n' >"$tmp/f.py"
start_nvim "$tmp/init_nokey.lua" 100 12 "$tmp/f.py"
check "completion: neovim started" wait_for 'def f' 10
keys o
keys -l 'return'
check "completion: the error is on the cursor line while typing" \
  wait_for '^ *return GLM ✗ zhipu: no API key: set ZHIPUAI_API_KEY' 8
check "completion: the statusline says it" wait_for 'f.py GLM ✗ zhipu: no API key: set ZHIPUAI_API_KEY' 2
check "completion: next to -- INSERT --" wait_for '^-- INSERT --' 1
sleep 1
check "completion: still on screen a second later" wait_for '^ *return GLM ✗ zhipu: no API key' 1

# 15.6: an error float offers to close it, nothing else.
keys Escape ':GlmAsk hello' Enter
wait_for 'Press ENTER' 5 && keys Enter # the error is also told in the command line
check "error float: the error is on screen" wait_for 'error: zhipu: no API key' 5
check "error float: it offers q close" wait_for 'q close' 2
check "error float: no 'continue in a chat', no 'apply'" sh -c "! tmux -S '$sock' capture-pane -p -t $session | grep -E 'continue in a chat|apply the code'"
stop_nvim

# 15.8: before the first token the float says "thinking…" (it was an empty box); the answer replaces it.
write_init "$tmp/init.lua"
start_nvim "$tmp/init.lua" 100 20
check "waiting: neovim started" wait_for '^~' 10
keys ':GlmAsk hello mock:stall_first_ms=1500' Enter
check "waiting: the float says thinking… before the first token" wait_for '│thinking… +│' 3
check "waiting: the answer replaces it" wait_for 'You said: hello' 5
check "waiting: thinking… is gone" wait_gone 'thinking…' 1
stop_nvim

finish
