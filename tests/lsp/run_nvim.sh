#!/bin/sh
# Neovim's built-in LSP client against glm-server --lsp and the mock provider (tests/lsp/nvim_lsp.lua).
#   tests/lsp/run_nvim.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-lsp-nvim.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state"
unset ZHIPUAI_API_KEY DASHSCOPE_API_KEY QIANFAN_AK QIANFAN_SK
export OPENAI_API_KEY=sk-test-not-a-secret
export GLM_TEST_SERVER="$server" GLM_TEST_MOCK="$mock" GLM_TEST_TMP="$tmp"
"${NVIM:-nvim}" --headless -u NONE -i NONE --noplugin -n -c "luafile $here/nvim_lsp.lua" </dev/null
status=$?
# Neovim's LSP log holds the server's stderr: show it when something failed.
[ $status -eq 0 ] || tail -n 40 "$tmp/cache/nvim/lsp.log" "$tmp/state/nvim/lsp.log" 2>/dev/null
exit $status
