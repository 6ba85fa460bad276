-- luacheck (Debian: lua-check) for the plugin and its tests: `luacheck lua plugin tests/lua`.
std = 'luajit'
globals = { 'vim' }
max_line_length = 120
