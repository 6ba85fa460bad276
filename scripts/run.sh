#!/usr/bin/env bash
# The one run command (README): installs what is missing, builds build/glm-server (showing the build's
# progress: the first build takes a few minutes), generates the help tags (`:help glm`), and starts
# Neovim with the glm plugin loaded from this checkout. Extra arguments go to nvim (e.g. a file to open).
# Keys come from the environment: ZHIPUAI_API_KEY (default model zhipu/glm-4.6), DASHSCOPE_API_KEY,
# QIANFAN_AK + QIANFAN_SK. GLM_MODEL=provider/model picks another default; GLM_BUILD=dir builds and uses
# another build directory (default: build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GLM_BUILD:-build}
case $build in /*) bdir=$build ;; *) bdir=$root/$build ;; esac
"$root"/scripts/deps.sh
if [ ! -x "$bdir/glm-server" ]; then
  echo "glm: building glm-server in $build/ (the first build takes a few minutes; progress below)" >&2
fi
# Progress goes to the terminal: CMake's configure lines, then ninja's "[n/N] Building ..." lines.
if ! make -C "$root" --no-print-directory build BUILD="$build" >&2; then
  echo "glm: the build failed (output above); ./scripts/deps.sh installs what it needs" >&2
  exit 1
fi
# `make build` generates doc/tags when nvim is found; make sure of it here as run.sh is what starts nvim.
if [ ! -f "$root/doc/tags" ]; then
  nvim --headless -u NONE -i NONE -n -c "helptags $root/doc" -c 'qa!'
fi
if [ -z "${ZHIPUAI_API_KEY:-}${DASHSCOPE_API_KEY:-}${QIANFAN_AK:-}${OPENAI_API_KEY:-}" ]; then
  echo "glm: no provider key in the environment. Set ZHIPUAI_API_KEY (or DASHSCOPE_API_KEY, QIANFAN_AK+QIANFAN_SK)" >&2
  echo "     before asking; Neovim starts anyway and :checkhealth glm shows what is configured." >&2
  sleep 1
fi
fields=""
if [ -n "${GLM_MODEL:-}" ]; then
  fields="model = '${GLM_MODEL//\'/}', "
fi
if [ "$build" != build ]; then
  fields="${fields}server = { cmd = '${bdir//\'/}/glm-server' }, "
fi
exec nvim --cmd "set runtimepath^=$root" --cmd "runtime plugin/glm.lua" -c "lua require('glm').setup({ $fields})" "$@"
