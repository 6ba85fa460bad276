#!/bin/sh
# A new user's first command (issue 15): ./scripts/run.sh from the checkout, with the user's own Neovim
# config, no provider key and no server config file. It must start Neovim with the plugin loaded, keep
# the options of the user's init.lua and its glm setup(), start the labelled demo mode on the bundled mock
# provider, and answer :GlmAsk, :GlmEdit and ghost text on screen; with a key it must not be in demo mode.
# run.sh builds into the directory of the server under test (GLM_BUILD), where it is already built.
#   tests/e2e/tmux_first_contact.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
need_binaries
bdir=$(cd "$(dirname "$server")" && pwd)
# run.sh starts the `nvim` on PATH, as it does for a user: the Neovim under test goes first on it.
mkdir -p "$tmp/bin"
ln -s "$(command -v "$nvim")" "$tmp/bin/nvim"
echo "Neovim tested: $("$nvim" --version | head -1)"

home="$tmp/home"
mkdir -p "$home/.config/nvim"
cat >"$home/.config/nvim/init.lua" <<'LUA'
-- A user's own config: an editor option and the README's completion snippet, changed a little.
vim.o.number = true
vim.o.swapfile = false
require('glm').setup({
  float = { width = 61 },
  complete = { filetypes = { lua = true }, debounce_ms = 77 },
})
LUA
printf 'local function greet(name)\n  return "hello " .. name\nend\n' >"$tmp/demo.lua"

build_type() { sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$bdir/CMakeCache.txt"; }
type_before=$(build_type)

# No key anywhere: the environment is cleared of every provider variable, HOME has no config file.
no_keys="env -u ZHIPUAI_API_KEY -u ZAI_API_KEY -u DASHSCOPE_API_KEY -u QIANFAN_AK -u QIANFAN_SK -u QIANFAN_API_KEY -u OPENAI_API_KEY"
run_env="PATH=$tmp/bin:$PATH HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache XDG_STATE_HOME=$tmp/state GLM_BUILD=$bdir"
# Whether something listens on 127.0.0.1:$1 (the demo provider's port, from run.sh's message).
listening() { grep -qi "0100007F:$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp; }

tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x 110 -y 36 \
  "$no_keys $run_env $root/scripts/run.sh $tmp/demo.lua 2>$tmp/run.err; echo RUN-EXITED; sleep 30"
tmux -S "$sock" set-option -t "$session" status off >/dev/null
check "neovim starts with the file open" wait_for '^ +1 local function greet' 60
check "the demo banner is on screen" wait_for 'GLM demo mode: a bundled mock answers, not a model' 5
check "run.sh said it starts in demo mode" grep -q 'DEMO MODE' "$tmp/run.err"
demo_port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/run.err" | head -1)
check "the demo provider listens on 127.0.0.1" listening "${demo_port:-0}"
check "the user's own option (number) is in effect" wait_for '^ +3 end' 1
check "run.sh's make kept the build directory's own settings ($type_before)" test "$(build_type)" = "$type_before"
keys ':lua print("glm-opts", require("glm.config").get().float.width, require("glm.config").get().complete.debounce_ms)' Enter
check "the user's setup() is kept (float width 61, debounce 77)" wait_for 'glm-opts 61 77' 5

keys ':GlmAsk what is this?' Enter
check ":GlmAsk: the demo's answer on screen" wait_for 'GLM demo mode\.\*\* glm\.nvim is running on its' 10
check ":GlmAsk: the question echoed" wait_for 'You asked: what is this\?' 5
check ":GlmAsk: the answer finished" wait_for 'demo/glm-4\.6 · [0-9]+ in / [0-9]+ out tokens' 10
# The finished float shows the answer from its first line (the first line wraps in 61 columns; on 0.7
# the float once kept it scrolled out of view above blank rows).
float_top() { screen | grep -A1 '╭' | tail -1 | grep -q '│\*\*GLM demo mode\.\*\* glm\.nvim is running'; }
check ":GlmAsk: the float's top row is the answer's first line" float_top
check ":GlmAsk: the float has the user's width (61 columns inside the border)" \
  sh -c "tmux -S '$sock' capture-pane -p -t '$session' | grep -qE '╰─{61}╯'"
keys q

keys ':2GlmEdit shout it' Enter
check ":GlmEdit: the demo's edit shows in the diff preview" wait_for '│ +2   -- GLM demo \(no model\): "shout it"' 10
check ":GlmEdit: the preview says it is ready" wait_for 'glm: edit: shout it ready' 10
keys ga
check ":GlmEdit: accepted into the file" wait_for '^ +2   -- GLM demo \(no model\)' 5

# Ghost text in the user's lua buffer (completion on for lua in their setup(), the demo's FIM answer).
keys G o 'local x = '
check "ghost text from the demo provider" wait_for 'local x =   -- GLM demo suggestion' 10
keys Escape

quit_nvim_run() {
  keys Escape ':qa!' Enter
  wait_for RUN-EXITED 5
}
check "neovim exits" quit_nvim_run
i=0
while listening "${demo_port:-0}" && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "the demo provider exits with neovim" sh -c "! grep -qi '0100007F:$(printf '%04X' "${demo_port:-0}") 00000000:0000 0A' /proc/net/tcp"
tmux -S "$sock" kill-session -t "$session" 2>/dev/null

# With a key: no demo, the model is the server's default.
tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x 110 -y 36 \
  "$no_keys ZHIPUAI_API_KEY=id.secret $run_env $root/scripts/run.sh $tmp/demo.lua 2>$tmp/run2.err; sleep 30"
tmux -S "$sock" set-option -t "$session" status off >/dev/null
check "with a key: neovim starts" wait_for '^ +1 local function greet' 60
keys ':lua print("glm-demo", require("glm.config").demo(), require("glm").current_model())' Enter
check "with a key: not in demo mode" wait_for 'glm-demo false nil' 5
check "with a key: no demo banner" sh -c "! tmux -S '$sock' capture-pane -p -t '$session' | grep -q 'GLM demo mode'"
check "with a key: run.sh said nothing of demo mode" sh -c "! grep -q DEMO '$tmp/run2.err'"
stop_nvim

# make install (docs/lsp.md): glm-server where another editor's LSP configuration finds it.
make -C "$root" --no-print-directory install BUILD="$bdir" PREFIX="$tmp/prefix" >"$tmp/install.out" 2>&1
check "make install puts glm-server in PREFIX/bin" test -x "$tmp/prefix/bin/glm-server"
check "the installed glm-server runs" sh -c "'$tmp/prefix/bin/glm-server' --version | grep -q glm-server"
finish
