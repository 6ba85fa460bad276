#!/bin/sh
# The scripted vscode-languageserver-protocol client (tests/lsp/client.mjs) against glm-server --lsp.
# Installs the npm packages pinned by tests/lsp/package-lock.json into tests/lsp/node_modules (gitignored)
# from the npm registry the first time.
#   tests/lsp/run_node.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
if [ ! -f "$here/node_modules/vscode-languageserver-protocol/package.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
unset ZHIPUAI_API_KEY DASHSCOPE_API_KEY QIANFAN_AK QIANFAN_SK
exec "${NODE:-node}" "$here/client.mjs" "$server" "$mock"
