#!/usr/bin/env bash
# The one run command (README): installs what is missing, builds build/glm-server (showing the build's
# progress: the first build takes a few minutes), generates the help tags (`:help glm`), and starts
# Neovim with the glm plugin loaded from this checkout and the user's own config (init.lua and its
# setup() are kept as they are). Extra arguments go to nvim (e.g. a file to open).
#
# Keys come from the environment (ZHIPUAI_API_KEY: default model zhipu/glm-4.6; DASHSCOPE_API_KEY,
# QIANFAN_AK + QIANFAN_SK, ...) or from the server's config file. With none, Neovim starts in demo mode:
# the bundled mock provider (build/glm-mock-provider --demo, on 127.0.0.1) answers, so every feature can
# be tried; a banner says so. Set a key to leave it.
#   GLM_MODEL=provider/model  another default model for this session
#   GLM_BUILD=dir             build and use another build directory (default: build)
#   GLM_DEMO=1 / GLM_DEMO=0   force demo mode on / off
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
  echo "glm: the build failed (output above). If it stopped at a missing library or tool, ./scripts/deps.sh" >&2
  echo "     installs what is needed; otherwise please report the first error above." >&2
  exit 1
fi
# `make build` generates doc/tags when nvim is found; make sure of it here as run.sh is what starts nvim.
if [ ! -f "$root/doc/tags" ]; then
  nvim --headless -u NONE -i NONE -n -c "helptags $root/doc" -c 'qa!'
fi

json_string() { # a JSON string literal
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# Does any provider that needs a key have one (environment or config file)? The server answers that
# itself (providers/list); Neovim parses the answer, so no other tool is needed.
has_key() {
  local tmp answer
  tmp=$(mktemp)
  printf '%s\n%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' \
    '{"jsonrpc":"2.0","id":2,"method":"providers/list","params":{}}' >"$tmp"
  answer=$(GLM_RUN_PROBE="$tmp" GLM_RUN_SERVER="$bdir/glm-server" nvim --headless -u NONE -i NONE -n \
    -c 'lua local p = io.popen(vim.env.GLM_RUN_SERVER .. " --log-level off < " .. vim.env.GLM_RUN_PROBE)
        local yes = false
        for line in p:read("*a"):gmatch("[^\n]+") do
          local ok, m = pcall(vim.fn.json_decode, line)
          if ok and type(m) == "table" and m.id == 2 and m.result then
            for _, pr in ipairs(m.result.providers or {}) do
              yes = yes or (pr.configured == true and pr.key_optional ~= true)
            end
          end
        end
        p:close()
        io.stdout:write(yes and "yes" or "no")' -c 'qa!' 2>/dev/null || true)
  rm -f "$tmp"
  [ "$answer" = yes ]
}

demo=${GLM_DEMO:-}
if [ -z "$demo" ]; then
  if has_key; then demo=0; else demo=1; fi
fi

options=""
if [ -n "${GLM_MODEL:-}" ]; then
  options="\"model\":$(json_string "$GLM_MODEL")"
fi
if [ "$build" != build ]; then
  options="${options:+$options,}\"server\":{\"cmd\":$(json_string "$bdir/glm-server")}"
fi
launch="{\"options\":{$options}}"

if [ "$demo" = 1 ]; then
  # The mock provider lives as long as this Neovim: its stdin is a pipe whose writing end (fd 3) Neovim
  # inherits; when Neovim exits the pipe closes and the mock exits.
  portfile=$(mktemp)
  exec 3> >(exec "$bdir/glm-mock-provider" --demo --lifetime-s 0 >"$portfile")
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$portfile")
    [ -n "$port" ] && break
    sleep 0.05
  done
  rm -f "$portfile"
  if [ -z "$port" ]; then
    echo "glm: the demo provider ($build/glm-mock-provider) did not start; set a provider key instead" >&2
    exit 1
  fi
  echo "glm: no provider key found: starting in DEMO MODE (answers come from the bundled mock provider on" >&2
  echo "     127.0.0.1:$port, not from a model). Set ZHIPUAI_API_KEY (or DASHSCOPE_API_KEY, QIANFAN_AK+QIANFAN_SK)" >&2
  echo "     and run ./scripts/run.sh again to use GLM." >&2
  server_cmd=""
  [ "$build" != build ] && server_cmd="\"cmd\":$(json_string "$bdir/glm-server"),"
  # A zhipu-kind instance named "demo" on the mock (inline placeholder key: the mock checks nothing),
  # the default for chat and completion; ghost text on in every buffer (nothing leaves the machine).
  launch="{\"demo\":true,\"options\":{\"model\":\"demo/glm-4.6\",\"complete\":{\"enabled\":true},\
\"server\":{$server_cmd\"config\":{\"default_model\":\"demo/glm-4.6\",\"completion\":{\"model\":\"demo/codegeex-4\"},\
\"providers\":{\"demo\":{\"kind\":\"zhipu\",\"base_url\":\"http://127.0.0.1:$port/api/paas/v4\",\
\"api_key\":\"demo.not-a-key\"}}}}}}"
fi

export GLM_LAUNCH_JSON=$launch
# g:glm_launch is set before the user's init (--cmd) and read by the plugin's options over whatever the
# user's setup() says; the plugin is loaded from this checkout before the init too, and the checkout is
# put back on 'runtimepath' after it (plugin managers such as lazy.nvim reset the path).
exec nvim --cmd "set runtimepath^=$root" \
  --cmd 'lua vim.g.glm_launch = vim.fn.json_decode(vim.env.GLM_LAUNCH_JSON); vim.env.GLM_LAUNCH_JSON = nil' \
  --cmd "runtime plugin/glm.lua" -c "set runtimepath^=$root" "$@"
