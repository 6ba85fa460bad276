#!/usr/bin/env bash
# Installs what building and testing glm-server and the plugin needs, from Debian 12's packages.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail
pkgs=(g++ cmake ninja-build make pkg-config ca-certificates
      nlohmann-json3-dev libasio-dev libcurl4-openssl-dev libssl-dev libspdlog-dev catch2 zlib1g-dev
      neovim tmux
      clang libclang-rt-14-dev          # scripts/fuzz.sh: libFuzzer, ASan+UBSan runtimes for clang 14
      clang-format-14 lua-check         # scripts/format.sh, scripts/check-format.sh
      emacs-nox elpa-eglot)             # LSP mode tests (tests/lsp): Emacs + eglot
# StyLua (scripts/stylua) and the LSP tests' vscode-languageserver-protocol client come from npm: node and
# npm from Debian unless some node is already installed.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
