#!/bin/sh
# Emacs + eglot against glm-server --lsp and the mock provider (tests/lsp/eglot_test.el).
#   tests/lsp/run_eglot.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-lsp-eglot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config"
mkdir -p "$HOME"
unset ZHIPUAI_API_KEY DASHSCOPE_API_KEY QIANFAN_AK QIANFAN_SK
export GLM_TEST_SERVER="$server" GLM_TEST_MOCK="$mock" GLM_TEST_TMP="$tmp"
exec "${EMACS:-emacs}" --batch -Q -l "$here/eglot_test.el" </dev/null
