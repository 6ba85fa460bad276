#!/usr/bin/env bash
# Checks that the includes between src/ layers are exactly the ones docs/architecture.md's table
# "Which layer includes which" lists: a new include that crosses layers the wrong way, or a documented
# edge that no longer exists, fails with the file and line to look at. Run by scripts/check-format.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/architecture.md
# Documented edges, from the table's rows "| layer | a, b |" between the two markers.
documented=$(sed -n '/<!-- layers:begin -->/,/<!-- layers:end -->/p' "$doc" |
  sed -n 's/^| *`\{0,1\}\([a-z_.]*\)`\{0,1\} *| *\([^|]*\)|.*$/\1 \2/p' | grep -v '^layer ' |
  while read -r layer deps; do
    for d in $(echo "$deps" | tr ',`' '  '); do
      [ "$d" = "—" ] || echo "$layer -> $d"
    done
  done | sort -u)
if [ -z "$documented" ]; then
  echo "check-layers: no table between <!-- layers:begin --> and <!-- layers:end --> in $doc" >&2
  exit 1
fi
# Actual edges: #include "other_layer/..." in src/<layer>/ and src/main.cpp.
actual=$(
  for f in src/*/*.hpp src/*/*.cpp src/main.cpp; do
    case $f in src/main.cpp) layer=main.cpp ;; *) layer=$(basename "$(dirname "$f")") ;; esac
    sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | while read -r dep; do
      [ "$dep" = "$layer" ] || echo "$layer -> $dep"
    done
  done | sort -u)
status=0
while read -r edge; do
  [ -z "$edge" ] && continue
  if ! grep -qxF "$edge" <<<"$documented"; then
    from=${edge%% -> *}
    to=${edge##* -> }
    dir=src/$from
    [ "$from" = main.cpp ] && dir=src/main.cpp
    echo "check-layers: $from includes $to, which $doc does not allow:" >&2
    grep -rn "^#include \"$to/" "$dir" | sed 's/^/    /' >&2
    status=1
  fi
done <<<"$actual"
while read -r edge; do
  [ -z "$edge" ] && continue
  if ! grep -qxF "$edge" <<<"$actual"; then
    echo "check-layers: $doc says '$edge' but no file there includes it: correct the table" >&2
    status=1
  fi
done <<<"$documented"
[ $status -eq 0 ] && echo "layers: ok ($(wc -l <<<"$actual") include edges, as $doc says)"
exit $status
