#!/bin/sh
# Helix with `glm-server --lsp`, on a real screen (issue 17): docs/lsp.md's `languages.toml`, taken from
# the doc at run time (only the server path is substituted), is the whole configuration. Checks: the
# completion menu offers GLM's item and accepting it edits the buffer; `space a` lists the GLM code
# actions and Rewrite… changes the buffer (Helix cannot answer showMessageRequest: the server uses its
# first instruction). Screen and saved file are checked.
#   tests/lsp/tmux_helix.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]     (GLM_TEST_HX: the hx binary)
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
not_nvim=1
. "$here/../e2e/lib.sh"
hx=${GLM_TEST_HX:-hx}
echo "== $("$hx" --version | head -n1) ($hx)"
# wait_selected: the Rewrite item is drawn reversed (SGR 7: the menu's selection).
wait_selected() {
  i=0
  while [ "$i" -lt 40 ]; do
    tmux -S "$sock" capture-pane -e -p -t "$session" | grep -q "$esc\[[0-9;]*7m[^$esc]*\($esc\[[0-9;]*m\)* GLM: Rewrite" && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}
need_binaries
start_mock

# The doc's languages.toml: the ```toml block holding [language-server.glm], its command pointed at the
# server under test.
awk '/^```toml$/ { inb = 1; buf = ""; next }
     /^```$/ { if (inb && buf ~ /\[language-server\.glm\]/) { printf "%s", buf; exit } inb = 0; next }
     inb { buf = buf $0 "\n" }' "$root/docs/lsp.md" >"$tmp/languages.toml"
mkdir -p "$tmp/config/helix" "$tmp/config/glm-server" "$tmp/proj/.git"
sed "s|^command = .*|command = \"$server\"|" "$tmp/languages.toml" >"$tmp/config/helix/languages.toml"
check "docs/lsp.md has the languages.toml" grep -q '^\[language-server.glm\]' "$tmp/languages.toml"
check "its command was substituted" grep -q "^command = \"$server\"" "$tmp/config/helix/languages.toml"
check "nothing else changed" test "$(diff "$tmp/languages.toml" "$tmp/config/helix/languages.toml" | grep -c '^[<>]')" -eq 2
# The doc's model (zhipu/...) reaches the mock through the server's config file.
cat >"$tmp/config/glm-server/config.json" <<JSON
{"providers": {"zhipu": {"base_url": "http://127.0.0.1:$port/api/paas/v4", "api_key": "e2e-key"}}}
JSON

printf '%s\n' 'Here it is:' '' '```python' 'def add(x, y):  # rewritten' '```' >"$tmp/reply.txt"
printf '%s\n' '# mock-reply:d(1, 2)' "def add(a, b):  # mock:reply_file=$tmp/reply.txt" '    return a + b' '' 'total = ad' >"$tmp/proj/demo.py"
cd "$tmp/proj" || exit 1
tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x 120 -y 30 \
  "env $nvim_env HOME=$tmp/home $hx demo.py"
tmux -S "$sock" set-option -t "$session" status off >/dev/null
check "helix started" wait_for '^ *[0-9]+ *total = ad|total = ad' 10
# Helix starts the language servers of the file's language; wait until glm answered initialize.
sleep 2

# 1. Completion at the end of "total = ad": the menu offers GLM's item; accepting it edits the buffer.
keys ':5' Enter A
sleep 0.3
keys C-x
check "completion menu offers GLM's item" wait_for 'add\(1, 2\)' 10
keys Tab
sleep 0.3
keys Escape
check "accepted: the buffer line is completed" wait_for 'total = add\(1, 2\)' 5
keys ':w' Enter
sleep 0.5
check "the completion is in the saved file" test "$(sed -n 5p demo.py)" = 'total = add(1, 2)'

# 2. Code actions on line 2: the menu lists GLM's actions; Rewrite… edits the buffer.
keys ':2' Enter x
sleep 0.2
keys Space a
check "code-action menu lists GLM: Explain" wait_for 'GLM: Explain' 10
check "and GLM: Ask…" wait_for 'GLM: Ask' 1
check "and GLM: Rewrite…" wait_for 'GLM: Rewrite' 1
# The menu starts on its first item (drawn reversed): move down to Rewrite… and accept it.
n=$(screen | grep -o 'GLM: [A-Za-z]*' | grep -n 'GLM: Rewrite' | cut -d: -f1)
i=1
while [ "$i" -lt "${n:-1}" ]; do
  keys Down
  i=$((i + 1))
done
esc=$(printf '\033')
check "GLM: Rewrite… is the selected item" wait_selected
keys Enter
check "Rewrite: the buffer shows the new line" wait_for 'def add\(x, y\):  # rewritten' 15
keys Escape
sleep 0.3
keys ':w' Enter
check "Rewrite: saved (no [+] in the status line)" wait_gone 'demo.py \[\+\]' 5
check "Rewrite: the saved file has it" sh -c "sed -n 2p demo.py | grep -qx 'def add(x, y):  # rewritten' || { cat -A demo.py; false; }"
check "the rest is untouched" test "$(sed -n 1p demo.py)|$(sed -n 3p demo.py)|$(sed -n 5p demo.py)" = '# mock-reply:d(1, 2)|    return a + b|total = add(1, 2)'
keys ':q!' Enter
i=0
while tmux -S "$sock" has-session -t "$session" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "helix exited" sh -c "! tmux -S '$sock' has-session -t '$session' 2>/dev/null"
finish
