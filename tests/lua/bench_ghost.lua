-- What the plugin and glm-server add between a keystroke and ghost text on screen, the debounce and
-- the upstream's own time excluded. A child Neovim is typed into (nvim_input, as a terminal would);
-- inside it, the time runs from the key being processed (vim.on_key) to the suggestion's extmark being
-- drawn (a forced :redraw after it), with debounce_ms = 0.
--   two kinds of keystroke:
--     cache hit  the server answers from its completion cache: no upstream request at all, so this is
--                exactly plugin + server (keystroke handling, request building, JSON-RPC both ways,
--                server work, decoding, staleness checks, rendering, redraw)
--     upstream   a new prefix: the same plus one HTTP round trip to the mock provider on 127.0.0.1
--                (keep-alive connection; the mock's own answer time is part of this figure)
--     alone      the plugin with an in-process fake answer instead of the server (its share)
--   nvim --headless -u NONE -i NONE -n -c 'luafile tests/lua/bench_ghost.lua'
-- Env: GLM_TEST_SERVER, GLM_TEST_MOCK (default build/glm-server, build/glm-mock-provider), GLM_BENCH_N.
local src = debug.getinfo(1, 'S').source:sub(2)
local root = vim.fn.fnamemodify(src, ':p:h:h:h')

local server = os.getenv('GLM_TEST_SERVER') or (root .. '/build/glm-server')
local mock = os.getenv('GLM_TEST_MOCK') or (root .. '/build/glm-mock-provider')
local n = tonumber(os.getenv('GLM_BENCH_N') or '40')

local function out(s)
  io.stdout:write(s .. '\n')
end

local function fail(msg)
  out('bench_ghost: ' .. msg)
  vim.cmd('cquit 1')
end

local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, 'p')
local port
local mock_job = vim.fn.jobstart({ mock, '--lifetime-s', '300' }, {
  on_stdout = function(_, data)
    for _, l in ipairs(data) do
      port = port or tonumber(l:match('^PORT (%d+)'))
    end
  end,
})
if not vim.wait(5000, function()
  return port ~= nil
end, 1) then
  return fail('mock provider did not start: ' .. mock)
end

local ch = vim.fn.jobstart({ vim.v.progpath, '--embed', '--headless', '-u', 'NONE', '-i', 'NONE', '-n' }, {
  rpc = true,
  env = { XDG_CACHE_HOME = tmp .. '/cache', XDG_DATA_HOME = tmp .. '/data', XDG_CONFIG_HOME = tmp .. '/config' },
})
local function lua(code, ...)
  return vim.fn.rpcrequest(ch, 'nvim_exec_lua', code, { ... })
end
lua('local path, root = ...; assert(loadfile(path))(root)', root .. '/tests/lua/ghost_child.lua', root)
lua('vim.o.columns = 100; vim.o.lines = 30')
lua('require("glm").setup(...)', {
  server = {
    cmd = server,
    log_file = tmp .. '/server.log',
    log_level = 'warn',
    config = {
      providers = {
        zhipu = { base_url = ('http://127.0.0.1:%d/api/paas/v4'):format(port), api_key = 'bench-key' },
      },
    },
  },
  complete = { enabled = true, debounce_ms = 0 },
})
lua([[
  local uv = vim.uv or vim.loop
  G.samples = {}
  require('glm.complete')._trace = function(ev, info)
    if ev == 'result' then
      G.cached = type(info.result) == 'table' and info.result.cached == true
    elseif ev == 'shown' then
      vim.cmd('redraw')
      G.samples[#G.samples + 1] = { ms = (uv.hrtime() - G.last_key) / 1e6, cached = G.cached }
    end
  end
  G.buffer('python', { 'def f(x):', '    ' })
]])
vim.fn.rpcrequest(ch, 'nvim_input', 'GA')

local function key(k)
  local before = lua('return #G.samples')
  vim.fn.rpcrequest(ch, 'nvim_input', k)
  if not vim.wait(5000, function()
    return lua('return #G.samples') > before
  end, 1) then
    return nil
  end
  vim.wait(5) -- let the child settle (its autocmds after the redraw) before the next key
  return lua('return G.samples[#G.samples]')
end

if not vim.wait(10000, function()
  return lua('return #G.samples') > 0
end, 5) then
  return fail('no ghost text: ' .. vim.inspect(lua('return G.notes')))
end

local hits, misses = {}, {}
-- Upstream: every key makes a new prefix.
for i = 1, n do
  local s = key(string.char(97 + (i % 26)))
  if not s then
    return fail('no ghost text after a key')
  end
  if not s.cached then
    misses[#misses + 1] = s.ms
  end
end
-- Cache hits: the same two prefixes again and again.
for i = 1, n * 2 do
  local s = key(i % 2 == 1 and '<BS>' or 'z')
  if not s then
    return fail('no ghost text after a key')
  end
  if s.cached then
    hits[#hits + 1] = s.ms
  end
end

-- The plugin alone: a fake transport answers on the next loop turn (no process, no JSON).
lua('G.fake(function() return { text = "<fake suggestion>" } end, 0)')
local alone = {}
for i = 1, n * 2 do
  local s = key(i % 2 == 1 and '<BS>' or 'z')
  if not s then
    return fail('no ghost text after a key (fake transport)')
  end
  alone[#alone + 1] = s.ms
end

local function summary(name, xs)
  if #xs == 0 then
    return name .. ': no samples'
  end
  table.sort(xs)
  local function pct(p)
    return xs[math.max(1, math.ceil(#xs * p))]
  end
  return ('%s (%d keys): median %.2f ms, p90 %.2f ms, min %.2f ms'):format(name, #xs, pct(0.5), pct(0.9), xs[1])
end
local v = vim.version()
out(('keystroke -> ghost text on screen, Neovim %d.%d.%d, debounce 0:'):format(v.major, v.minor, v.patch))
out('  ' .. summary('plugin + server (server cache hit, no upstream)', hits))
out('  ' .. summary('plugin + server + mock round trip', misses))
out('  ' .. summary('plugin alone (in-process fake answer)', alone))
vim.fn.jobstop(ch)
vim.fn.jobstop(mock_job)
vim.cmd('qall!')
