# Shared by scripts/format.sh and scripts/check-format.sh (sourced, not run).
# What is formatted: C++ under src/ tests/ fuzz/ (clang-format-14, .clang-format) and Lua under lua/
# plugin/ tests/lua/ (StyLua, stylua.toml). StyLua is the npm package @johnnymorganz/stylua (a WASM
# build), installed on first use into scripts/stylua/node_modules (gitignored) and run by
# scripts/stylua/stylua.mjs.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format-14}
cpp_dirs=(src tests fuzz)
lua_dirs=(lua plugin tests/lua)

need_tools() {
  command -v "$clang_format" >/dev/null || { echo "$clang_format not found: run scripts/deps.sh" >&2; exit 2; }
  command -v luacheck >/dev/null || { echo "luacheck not found: run scripts/deps.sh" >&2; exit 2; }
  command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm not found: run scripts/deps.sh" >&2; exit 2; }
  if [ ! -d scripts/stylua/node_modules/@johnnymorganz/stylua ]; then
    (cd scripts/stylua && npm install --no-audit --no-fund --silent) >&2
  fi
}

# The C++ files to format: the arguments (when given, only those under the formatted dirs), else all.
cpp_files() {
  if [ $# -gt 0 ]; then
    for f in "$@"; do case $f in *.cpp|*.hpp|*.h|*.cc) [ -f "$f" ] && echo "$f" ;; esac; done
  else
    git ls-files --cached --others --exclude-standard -- "${cpp_dirs[@]}" | grep -E '\.(cpp|hpp|h|cc)$' || true
  fi
}

lua_paths() {
  if [ $# -gt 0 ]; then
    for f in "$@"; do case $f in *.lua) [ -f "$f" ] && echo "$f" ;; esac; done
  else
    for d in "${lua_dirs[@]}"; do [ -d "$d" ] && echo "$d"; done
  fi
}
