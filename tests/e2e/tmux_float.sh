#!/bin/sh
# Ask/explain floats and the statusline on a real screen (issue 8, defects 1, 5 and 10): the answer's
# first line is on screen when it ends (not scrolled above the window's top line), the float names its
# keys, and the statusline drops the busy text when a reply ends while the float has focus.
#   tests/e2e/tmux_float.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
need_binaries
start_mock

write_init "$tmp/init.lua" "status_text = 'GLM-BUSY',"
cat >>"$tmp/init.lua" <<'LUA'
vim.o.laststatus = 2
vim.o.statusline = "%f %{v:lua.require'glm'.status()}"
LUA
cat >"$tmp/sample.py" <<'PY'
import math


def hyp(a, b):
    return math.sqrt(a * a + b * b)


print(hyp(3, 4))
PY
start_nvim "$tmp/init.lua"
check "neovim started" wait_for '^~' 10

# Defect 1: one short paragraph.
keys ':GlmAsk one short paragraph' Enter
check "ask: the answer's first line is on screen" wait_for 'You said: one short paragraph' 5
check "ask: the summary is on screen" wait_for 'openai/glm-4 · [0-9]+ in / [0-9]+ out tokens' 5
keys ':echo "TOP=" . line("w0") . " CUR=" . line(".")' Enter
check "ask: the float's top line is line 1" wait_for 'TOP=1 CUR=1' 3
# Defect 10: the float says how to close it and go on in a chat.
check "ask: the float names its keys" wait_for 'q close · c continue in a chat · ga apply the code' 3
keys q
check "q closed the float" wait_gone 'You said: one short paragraph' 3

# Defect 1: an answer of several lines with reasoning.
keys ':GlmAsk several lines mock:reasoning=3' Enter
check "reasoning answer: first answer line on screen" wait_for 'You said: several lines' 5
check "reasoning answer: the thinking block (folded) is above it" wait_for 'thinking' 3
keys ':echo "TOP=" . line("w0")' Enter
check "reasoning answer: the top line is line 1" wait_for 'TOP=1' 3
keys q

# Defect 1: explain.
keys ":e $tmp/sample.py" Enter
check "sample file open" wait_for 'def hyp' 5
keys ':4,5GlmExplain' Enter
check "explain: the explanation's first line is on screen" wait_for 'You said: File: `' 5
keys ':echo "TOP=" . line("w0")' Enter
check "explain: the top line is line 1" wait_for 'TOP=1' 3
keys q

# Defect 1: a long answer ends showing its top.
keys ':GlmAsk long mock:chunks=500,delay_ms=2' Enter
check "long answer: streams" wait_for 'tok[0-9]' 5
check "long answer: ends (the statusline's busy text goes)" wait_gone 'GLM-BUSY' 10
keys ':echo "TOP=" . line("w0")' Enter
check "long answer: the top line is line 1" wait_for 'TOP=1' 3
check "long answer: its first words are on screen" wait_for 'tok0 tok1 tok2' 3
keys q

# Defect 1: while an answer of many lines streams the float shows its newest lines; after gg it stays
# at the top while the rest streams in, and is still there when the answer ends.
keys ":lua local t = {} for i = 1, 200 do t[i] = 'row ' .. i end require('glm').ask(table.concat(t, '\\n') .. '\\nmock:delay_ms=40')" Enter
check "many lines: the float follows the newest lines" wait_for '│row [4-9][0-9] ' 10
screen | grep -q 'You said: row 1 ' && shown=1 || shown=0
check "many lines: the first line has scrolled out while following" test "$shown" -eq 0
keys g g
check "many lines: gg shows the first line" wait_for 'You said: row 1 ' 3
sleep 1
check "many lines: still at the top while the rest streams in" wait_for 'You said: row 1 ' 1
screen | grep -q 'GLM-BUSY' && busy=1 || busy=0
check "many lines: (it was still streaming)" test "$busy" -eq 1
check "many lines: ends" wait_gone 'GLM-BUSY' 15
check "many lines: the top is still shown at the end" wait_for 'You said: row 1 ' 1
keys q

# Defect 5: the statusline while the float has focus.
keys ':GlmAsk slow mock:chunks=30,delay_ms=100' Enter
check "statusline shows the busy text while streaming" wait_for 'GLM-BUSY' 5
check "reply ends" wait_for 'openai/glm-4 · ' 10
check "statusline drops the busy text when the reply ends (float focused)" wait_gone 'GLM-BUSY' 2
keys q

screen | grep -q 'E[0-9][0-9]*:' && err=1 || err=0
check "no error on screen" test "$err" -eq 0
stop_nvim
finish
