#!/bin/sh
# Neovim 0.12's own LSP client with `glm-server --lsp`, on a real screen (issue 17): docs/lsp.md's
# `vim.lsp.config`/`vim.lsp.enable` snippet, taken from the doc at run time (only the server path is
# substituted), is the whole client configuration. Checks: the built-in inline completion
# (`vim.lsp.inline_completion`) shows GLM's suggestion as ghost text and the snippet's <C-l> accepts it;
# the code-action menu lists the GLM actions; Explain opens the answer; Rewrite (instruction picked from
# the server's list) edits the buffer. Screen and saved file are checked.
#   tests/lsp/tmux_nvim_inline.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]     (GLM_TEST_NVIM: a 0.12+ Neovim)
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/../e2e/lib.sh"
esc=$(printf '\033')
need_binaries
if ! "$nvim" --headless -u NONE -i NONE -n +'lua io.stdout:write(vim.fn.has("nvim-0.12"))' +qa 2>/dev/null | grep -q 1; then
  echo "FAIL: $nvim is not Neovim 0.12+ (vim.lsp.inline_completion)"
  exit 1
fi
start_mock

# The doc's snippet: the ```lua block holding vim.lsp.config(, its `cmd = { ..., '--lsp' }` line
# pointed at the server under test.
awk '/^```lua$/ { inb = 1; buf = ""; next }
     /^```$/ { if (inb && buf ~ /vim\.lsp\.config\(/) { printf "%s", buf; exit } inb = 0; next }
     inb { buf = buf $0 "\n" }' "$root/docs/lsp.md" >"$tmp/snippet.lua"
sed "s|^\([[:space:]]*\)cmd = {.*'--lsp'.*|\1cmd = { '$server', '--lsp' },|" "$tmp/snippet.lua" >"$tmp/snippet_local.lua"
check "docs/lsp.md has the vim.lsp.config snippet" grep -q "vim.lsp.enable('glm')" "$tmp/snippet.lua"
check "its server command was substituted" grep -q "cmd = { '$server', '--lsp' }," "$tmp/snippet_local.lua"
check "nothing else changed" test "$(diff "$tmp/snippet.lua" "$tmp/snippet_local.lua" | grep -c '^[<>]')" -eq 2

# The snippet's model (zhipu/...) reaches the mock through the server's config file.
mkdir -p "$tmp/config/glm-server" "$tmp/proj/.git"
cat >"$tmp/config/glm-server/config.json" <<JSON
{"providers": {"zhipu": {"base_url": "http://127.0.0.1:$port/api/paas/v4", "api_key": "e2e-key"}}}
JSON
{
  echo "vim.o.swapfile = false"
  echo "vim.o.shortmess = vim.o.shortmess .. 'I'"
  echo "vim.o.number = false"
  echo "vim.cmd('syntax off')"
  # Neovim 0.12 draws its inline suggestion in ComplHint (-> NonText), which the default colour scheme
  # colours only for 'termguicolors' (docs/lsp.md): the check that it is virtual text needs colours.
  echo "vim.o.termguicolors = true"
  cat "$tmp/snippet_local.lua"
} >"$tmp/init.lua"

# The rewrite's answer (the mock replays the file named in the selection's mock: directive).
printf '%s\n' 'Here it is:' '' '```python' 'def add(x, y):  # rewritten' '```' >"$tmp/reply.txt"
printf '%s\n' '# mock-reply:return a + b' "def add(a, b):  # mock:reply_file=$tmp/reply.txt" >"$tmp/proj/demo.py"
cd "$tmp/proj" || exit 1
start_nvim "$tmp/init.lua" 120 24 demo.py
check "neovim started" wait_for '^def add' 10
keys ':lua print("CLIENTS=" .. #vim.lsp.get_clients({ name = "glm" }))' Enter
check "vim.lsp.enable started the glm client for the python buffer" wait_for 'CLIENTS=1' 10

# 1. Inline completion: on a new line the suggestion appears as ghost text (virtual, coloured).
keys G o
check "inline completion: GLM's suggestion on screen" wait_for '^    return a \+ b' 10
check "the cursor is before it: nothing typed (ruler 3,5)" wait_for '3,5 +All' 2
check "drawn as virtual text (coloured), not typed" sh -c "tmux -S '$sock' capture-pane -e -p -t '$session' | sed -n 3p | grep -q '$esc\[[0-9;]*m[^$esc]*return a'"
keys C-l
check "<C-l> accepted it: now plain buffer text" sh -c "tmux -S '$sock' capture-pane -e -p -t '$session' | sed -n 3p | grep -q '^    return a + b' && ! tmux -S '$sock' capture-pane -e -p -t '$session' | sed -n 3p | grep -q '$esc'"
keys Escape ':w' Enter
sleep 0.3
check "the accepted suggestion is in the file" test "$(sed -n 3p demo.py)" = '    return a + b'

# 2. Code actions on line 2: the menu lists GLM's actions; Explain opens the answer in a split.
keys 2G ':lua vim.lsp.buf.code_action()' Enter
check "code-action menu lists GLM: Explain" wait_for 'GLM: Explain' 10
check "and GLM: Rewrite…" wait_for 'GLM: Rewrite' 1
n=$(screen | sed -n 's/^\([0-9]\): GLM: Explain.*/\1/p' | head -n1)
keys "$n" Enter
check "Explain: the answer document opens" wait_for '# GLM: Explain' 10
check "it is the model's answer (the mock's reply file)" wait_for '^Here it is:' 5
keys ':only' Enter ':b demo.py' Enter
check "back in demo.py" wait_for '^    return a \+ b' 5

# 3. Rewrite…: the server asks for the instruction (showMessageRequest, a list); the edit lands.
keys 2G ':lua vim.lsp.buf.code_action()' Enter
check "code-action menu again" wait_for 'GLM: Rewrite' 10
n=$(screen | sed -n 's/^\([0-9]\): GLM: Rewrite.*/\1/p' | head -n1)
keys "$n" Enter
check "the server asks how to rewrite" wait_for 'Improve it' 10
n=$(screen | sed -n 's/^\([0-9]\): Improve it.*/\1/p' | head -n1)
keys "$n" Enter
check "Rewrite: the buffer shows the new line" wait_for '^def add\(x, y\):  # rewritten' 10
keys Escape ':w' Enter
sleep 0.3
check "Rewrite: the saved file has it" test "$(sed -n 2p demo.py)" = 'def add(x, y):  # rewritten'
check "the rest is untouched" test "$(sed -n 1p demo.py)$(sed -n 3p demo.py)" = '# mock-reply:return a + b    return a + b'
screen | grep -q 'E[0-9][0-9]*:' && err=1 || err=0
check "no error on screen" test "$err" -eq 0
check "neovim exited" quit_nvim
finish
