#!/usr/bin/env bash
# Checks, without changing anything, that C++ and Lua are formatted as scripts/format.sh would leave
# them. Lists every file that is not (with what would change) and exits 1 then.
# usage: scripts/check-format.sh [FILE...]   (default: everything scripts/format.sh formats)
set -euo pipefail
source "$(dirname "$0")/format-lib.sh"
need_tools
status=0
mapfile -t cpp < <(cpp_files "$@")
mapfile -t lua < <(lua_paths "$@")
for f in "${cpp[@]}"; do
  if ! "$clang_format" --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - >/tmp/glm-format-$$.diff; then
    echo "$f: not formatted"
    head -40 /tmp/glm-format-$$.diff
    status=1
  fi
done
rm -f /tmp/glm-format-$$.diff
if [ ${#lua[@]} -gt 0 ]; then
  node scripts/stylua/stylua.mjs --check --config stylua.toml "${lua[@]}" || status=1
fi
# Lint as well: luacheck (.luacheckrc) over the same Lua.
if [ ${#lua[@]} -gt 0 ]; then
  luacheck --no-color --quiet "${lua[@]}" || status=1
fi
[ $status -eq 0 ] && echo "format: ok (${#cpp[@]} C++ files, Lua in ${lua[*]:-nothing})"
# The layers' includes against docs/architecture.md's table.
"$(dirname "$0")"/check-layers.sh || status=1
exit $status
