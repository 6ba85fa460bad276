#!/usr/bin/env bash
# Formats C++ (clang-format-14, .clang-format) and Lua (StyLua, stylua.toml) in place.
# usage: scripts/format.sh [FILE...]   (default: everything under src/ tests/ fuzz/ lua/ plugin/ tests/lua/)
set -euo pipefail
source "$(dirname "$0")/format-lib.sh"
need_tools
mapfile -t cpp < <(cpp_files "$@")
mapfile -t lua < <(lua_paths "$@")
[ ${#cpp[@]} -gt 0 ] && "$clang_format" -i --style=file "${cpp[@]}"
[ ${#lua[@]} -gt 0 ] && node scripts/stylua/stylua.mjs --config stylua.toml "${lua[@]}"
exit 0
