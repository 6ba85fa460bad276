#!/bin/sh
# docs/lsp.md as a new user follows it: install glm-server the documented way into a fresh PREFIX, put
# PREFIX/bin on PATH, and start Neovim with the "Neovim 0.7 – 0.10" snippet copied out of docs/lsp.md
# (cmd = { 'glm-server', '--lsp' }, from PATH). Passes when the client initializes (tests/lsp/docs_install.lua).
#   tests/lsp/run_docs_install.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-lsp-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# The documented command: cmake --install build --prefix ~/.local (here a fresh prefix).
if ! cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL: cmake --install failed"
  exit 1
fi
if [ ! -x "$tmp/prefix/bin/glm-server" ]; then
  cat "$tmp/install.log"
  echo "FAIL: the documented install put no glm-server at PREFIX/bin/glm-server"
  exit 1
fi
echo "ok: installed as PREFIX/bin/glm-server"
# The snippet, exactly as docs/lsp.md has it.
awk '/^### Neovim 0.7/ { s = 1 } s && /^```lua$/ { c = 1; next } c && /^```$/ { exit } c { print }' \
  "$root/docs/lsp.md" >"$tmp/snippet.lua"
grep -q "cmd = { 'glm-server', '--lsp' }" "$tmp/snippet.lua" || { echo "FAIL: no snippet found in docs/lsp.md"; exit 1; }
export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state"
export PATH="$tmp/prefix/bin:$PATH" GLM_TEST_TMP="$tmp"
unset ZHIPUAI_API_KEY DASHSCOPE_API_KEY QIANFAN_AK QIANFAN_SK
"${NVIM:-nvim}" --headless -u NONE -i NONE --noplugin -n -c "luafile $here/docs_install.lua" </dev/null
