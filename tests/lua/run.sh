#!/bin/sh
# Runs the headless Neovim suite against a real glm-server and the mock provider.
#   tests/lua/run.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]     (defaults: build/glm-server, build/glm-mock-provider)
# GLM_TEST_FILTER=text runs only tests whose "spec: name" contains it; GLM_TEST_NVIM=path (or NVIM=path)
# picks the Neovim binary (the matrix: scripts/editors.sh); the version tested is printed first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-lua-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# A private home: chats, logs and any server config file live in the scratch dir, never the user's.
export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state"
# No real credentials leak into tests; the mock accepts any key.
unset ZHIPUAI_API_KEY ZAI_API_KEY DASHSCOPE_API_KEY QIANFAN_AK QIANFAN_SK QIANFAN_API_KEY QIANFAN_ACCESS_TOKEN ACME_API_KEY
export OPENAI_API_KEY=sk-test-not-a-secret
export GLM_TEST_ROOT="$root" GLM_TEST_SERVER="$server" GLM_TEST_MOCK="$mock" GLM_TEST_TMP="$tmp"
# The provider recipe's test build (tests/CMakeLists.txt) sits next to the server.
export GLM_TEST_RECIPE_SERVER="${GLM_TEST_RECIPE_SERVER:-$(dirname "$server")/glm-server-recipe}"

exec_nvim=${GLM_TEST_NVIM:-${NVIM:-nvim}}
echo "== $("$exec_nvim" --version | head -n1) ($exec_nvim)"
# stdin from /dev/null: a headless Neovim must not read the terminal.
"$exec_nvim" --headless -u NONE -i NONE --noplugin -n -c "luafile $here/runner.lua" </dev/null
