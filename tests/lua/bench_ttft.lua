-- Time to first token as seen inside Neovim: from require('glm').ask() to the first answer text being
-- in the float's buffer, over a warm server and connection (the first request is not counted).
--   nvim --headless -u NONE -i NONE -n -c 'luafile tests/lua/bench_ttft.lua'
-- Env: GLM_TEST_SERVER, GLM_TEST_MOCK (default build/glm-server, build/glm-mock-provider), GLM_BENCH_N.
local uv = vim.uv or vim.loop
local src = debug.getinfo(1, 'S').source:sub(2)
local root = vim.fn.fnamemodify(src, ':p:h:h:h')
vim.opt.runtimepath:prepend(root)
vim.cmd('runtime plugin/glm.lua')

local server = os.getenv('GLM_TEST_SERVER') or (root .. '/build/glm-server')
local mock = os.getenv('GLM_TEST_MOCK') or (root .. '/build/glm-mock-provider')
local n = tonumber(os.getenv('GLM_BENCH_N') or '20')

local function out(s)
  io.stdout:write(s .. '\n')
end

local function fail(msg)
  out('bench_ttft: ' .. msg)
  vim.cmd('cquit 1')
end

local port
local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, 'p')
vim.fn.jobstart({ mock, '--lifetime-s', '300' }, {
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

local glm = require('glm')
glm.setup({
  server = {
    cmd = server,
    log_file = tmp .. '/server.log',
    log_level = 'warn',
    config = {
      default_model = 'openai/glm-4',
      providers = { openai = { base_url = ('http://127.0.0.1:%d/v1'):format(port), api_key = 'sk-bench' } },
    },
  },
  chat = { save = false },
})

local function one()
  local t0 = uv.hrtime()
  local reply, f = glm.ask('ping mock:chunks=4')
  local t_first
  reply:subscribe(function(event)
    -- The float's own listener ran first, so the text is already in its buffer.
    if event == 'content' and not t_first then
      t_first = uv.hrtime()
    end
  end)
  local ok = vim.wait(5000, function()
    return reply.status ~= 'streaming'
  end, 0)
  if not ok or reply.status ~= 'done' or not t_first then
    return nil, reply.status .. ' ' .. vim.inspect(reply.error)
  end
  vim.api.nvim_win_close(f.win, true)
  return (t_first - t0) / 1e6
end

local warm, err = one() -- starts the server and opens the upstream connection
if not warm then
  return fail('warm-up failed: ' .. tostring(err))
end
local samples = {}
for _ = 1, n do
  local ms, e = one()
  if not ms then
    return fail('request failed: ' .. tostring(e))
  end
  samples[#samples + 1] = ms
end
table.sort(samples)
local function pct(p)
  return samples[math.max(1, math.ceil(#samples * p))]
end
out(
  ('ttft (Neovim %s, %d warm requests): first %.2f ms (cold), median %.2f ms, p90 %.2f ms, min %.2f ms'):format(
    tostring(vim.version().major .. '.' .. vim.version().minor .. '.' .. vim.version().patch),
    n,
    warm,
    pct(0.5),
    pct(0.9),
    samples[1]
  )
)
vim.cmd('qall!')
