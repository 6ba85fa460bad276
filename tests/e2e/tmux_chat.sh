#!/bin/sh
# Chats and :GlmModel on a real screen (issue 8, defects 2, 7 and 9, and the chat conveniences): the
# model picker ends without a hit-enter prompt and marks the server default, <C-n> gives a chat ready
# to type in, tab labels are readable, the chat header shows the model, `?` lists the keys.
#   tests/e2e/tmux_chat.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"
need_binaries
start_mock
write_init "$tmp/init.lua"
start_nvim "$tmp/init.lua"
check "neovim started" wait_for '^~' 10

# Defect 7: the picker (the builtin inputlist) marks the server default; picking ends without a prompt.
keys ':GlmModel' Enter
check ":GlmModel lists the models" wait_for 'GLM model' 5
check "the server default is marked current" wait_for '^[0-9]+: \* openai/glm-4  \(server default' 3
check "an 'other' entry for any provider/model" wait_for 'other: type provider/model' 3
n=$(screen | sed -n 's/^\([0-9][0-9]*\): *zhipu\/glm-4\.6  .*/\1/p' | head -1)
check "zhipu/glm-4.6 is offered" test -n "$n"
keys "$n" Enter
check "the choice is confirmed" wait_for 'glm: model: zhipu/glm-4.6' 3
screen | grep -q 'Press ENTER' && prompt=1 || prompt=0
check "no hit-enter prompt after picking" test "$prompt" -eq 0
# Back to the default model for the chats below (the mock has no zhipu key).
keys ':lua require("glm").set_model("openai/glm-4")' Enter

# Defect 9: a chat in a tab has a readable label.
keys ':GlmChat tab' Enter
check "chat opened in a tab" wait_for '## You' 5
check "the header shows the chat's model" wait_for '^model: openai/glm-4 · \? for keys' 3
keys i 'tab label please' Escape Enter
check "reply arrives" wait_for 'You said: tab label please' 5
check "the tab label is the chat's title" wait_for 'GLM: tab label please' 3
screen | grep -q 'g//c/' && ugly=1 || ugly=0
check "no g//c/ label" test "$ugly" -eq 0

# Chat conveniences: `?` lists the keys.
keys '?'
check "? shows the chat keys" wait_for 'yank the code block under the cursor' 3
keys q
check "q closes the help" wait_gone 'yank the code block under the cursor' 3

# Defect 2: <C-n> opens a new chat ready to type in; <C-s> sends.
keys C-n
check "<C-n>: a new chat with its heading" wait_for '^# New chat' 3
keys G A 'from a new chat' C-s
check "<C-s> sends from the new chat" wait_for 'You said: from a new chat' 5
screen | grep -q 'E5108' && e=1 || e=0
check "no E5108" test "$e" -eq 0
stop_nvim
finish
