#!/bin/sh
# Emacs + eglot (tests/lsp/eglot_test.el) or lsp-mode (tests/lsp/lsp_mode_test.el) against
# glm-server --lsp and the mock provider.
#   tests/lsp/run_eglot.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# EMACS=path picks the Emacs binary (Emacs 28 + elpa-eglot, or the matrix's Emacs 30 with its built-in
# eglot: scripts/editors.sh); GLM_TEST_CLIENT=lsp-mode runs the lsp-mode test, with GLM_TEST_ELISP naming
# the file that lists lsp-mode's load path.
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
case ${GLM_TEST_CLIENT:-eglot} in
  eglot) test_el=$here/eglot_test.el ;;
  lsp-mode) test_el=$here/lsp_mode_test.el ;;
  *) echo "unknown GLM_TEST_CLIENT=$GLM_TEST_CLIENT" >&2; exit 2 ;;
esac
"${EMACS:-emacs}" --batch -Q -l "$test_el" </dev/null
