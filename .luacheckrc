-- luacheck (Debian: lua-check) for the plugin and its tests: `luacheck lua plugin tests/lua`.
std = 'luajit'
globals = { 'vim' }
max_line_length = 120
-- `self` in methods that do not use it (nvim-cmp source methods): not worth a warning.
self = false
-- Loaded into a child Neovim: it gives the parent test a global `G` to script completions and read state.
files['tests/lua/ghost_child.lua'] = { globals = { 'G' } }
-- `local s = c.wait(function(s) ... end)`: the callback's snapshot shadows the outer one on purpose.
files['tests/lua/spec/ghost_spec.lua'] = { ignore = { '431/s', '311/s' } }
files['tests/lua/spec/complete_server_spec.lua'] = { ignore = { '431/s' } }
