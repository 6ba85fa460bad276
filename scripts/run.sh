#!/usr/bin/env bash
# The one run command (README): installs what is missing, builds build/glm-server, and starts Neovim with
# the glm plugin loaded from this checkout. Extra arguments go to nvim (e.g. a file to open).
# Keys come from the environment: ZHIPUAI_API_KEY (default model zhipu/glm-4.6), DASHSCOPE_API_KEY,
# QIANFAN_AK + QIANFAN_SK. GLM_MODEL=provider/model picks another default.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root"/scripts/deps.sh
make -C "$root" --no-print-directory build >/dev/null
if [ -z "${ZHIPUAI_API_KEY:-}${DASHSCOPE_API_KEY:-}${QIANFAN_AK:-}${OPENAI_API_KEY:-}" ]; then
  echo "glm: no provider key in the environment. Set ZHIPUAI_API_KEY (or DASHSCOPE_API_KEY, QIANFAN_AK+QIANFAN_SK)" >&2
  echo "     before asking; Neovim starts anyway and :checkhealth glm shows what is configured." >&2
  sleep 1
fi
lua_setup="require('glm').setup({})"
if [ -n "${GLM_MODEL:-}" ]; then
  lua_setup="require('glm').setup({ model = '${GLM_MODEL//\'/}' })"
fi
exec nvim --cmd "set runtimepath^=$root" --cmd "runtime plugin/glm.lua" -c "lua $lua_setup" "$@"
