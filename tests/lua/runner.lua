-- Headless test runner (no framework to download). Started by run.sh:
--   nvim --headless -u NONE --noplugin -c "luafile tests/lua/runner.lua"
-- Environment: GLM_TEST_ROOT (plugin root), GLM_TEST_SERVER, GLM_TEST_MOCK (binaries), GLM_TEST_TMP
-- (scratch dir), GLM_TEST_FILTER (optional substring of "file: test name").
-- Every spec file is loaded with the helper table T as its `...`; each T.test runs in a protected call.
-- The last line printed is "N passed, N failed"; the exit code is non-zero on any failure.
local root = assert(os.getenv('GLM_TEST_ROOT'), 'GLM_TEST_ROOT not set')
vim.opt.runtimepath:prepend(root)
vim.cmd('runtime plugin/glm.lua')
vim.cmd('filetype on')

local uv = vim.uv or vim.loop
local T = {
  root = root,
  server = os.getenv('GLM_TEST_SERVER'),
  mock = os.getenv('GLM_TEST_MOCK'),
  tmp = os.getenv('GLM_TEST_TMP') or vim.fn.tempname(),
  notes = {},
}
vim.fn.mkdir(T.tmp, 'p')

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end
T.out = out

-- Every notification the plugin makes is captured so tests can count them.
vim.notify = function(msg, level)
  T.notes[#T.notes + 1] = { msg = msg, level = level or vim.log.levels.INFO }
end

function T.notes_at(level)
  local r = {}
  for _, n in ipairs(T.notes) do
    if n.level == level then
      r[#r + 1] = n.msg
    end
  end
  return r
end

function T.eq(got, want, what)
  if not vim.deep_equal(got, want) then
    error(('%s: expected %s, got %s'):format(what or 'value', vim.inspect(want), vim.inspect(got)), 2)
  end
end

function T.ok(v, what)
  if not v then
    error(what or 'expected a true value', 2)
  end
  return v
end

function T.contains(s, sub, what)
  if type(s) ~= 'string' or not s:find(sub, 1, true) then
    error(('%s: %s does not contain %s'):format(what or 'text', vim.inspect(s), vim.inspect(sub)), 2)
  end
end

function T.wait(cond, timeout_ms, what)
  if not vim.wait(timeout_ms or 5000, cond, 2) then
    error('timed out waiting for ' .. (what or 'condition'), 2)
  end
end

function T.buf_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

function T.feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'x', false)
end

-- The mock provider: one process for the whole run, recording every request it gets.
T.record = T.tmp .. '/mock-record.jsonl'
function T.start_mock()
  if T.port then
    return T.port
  end
  assert(T.mock and vim.fn.executable(T.mock) == 1, 'glm-mock-provider not found: ' .. tostring(T.mock))
  local port
  T.mock_job = vim.fn.jobstart({ T.mock, '--record', T.record, '--lifetime-s', '900' }, {
    on_stdout = function(_, data)
      for _, l in ipairs(data) do
        local p = l:match('^PORT (%d+)')
        if p then
          port = tonumber(p)
        end
      end
    end,
  })
  assert(
    vim.wait(5000, function()
      return port ~= nil
    end, 5),
    'mock provider did not print PORT'
  )
  T.port = port
  return port
end

-- Upstream request bodies the mock received (decoded), oldest first.
function T.recorded()
  local f = io.open(T.record, 'r')
  if not f then
    return {}
  end
  local r = {}
  for line in f:lines() do
    local ok, req = pcall(vim.json.decode, line)
    if ok and type(req) == 'table' then
      local okb, body = pcall(vim.json.decode, req.body)
      req.json = okb and body or nil
      r[#r + 1] = req
    end
  end
  f:close()
  return r
end

function T.last_request()
  local r = T.recorded()
  return r[#r]
end

function T.config(extra)
  local port = T.start_mock()
  local opts = {
    server = {
      cmd = T.server,
      log_level = 'debug',
      config = {
        default_model = 'openai/glm-4',
        providers = {
          openai = { base_url = ('http://127.0.0.1:%d/v1'):format(port) },
          zhipu = { base_url = ('http://127.0.0.1:%d/api/paas/v4'):format(port) },
        },
      },
    },
  }
  return vim.tbl_deep_extend('force', opts, extra or {})
end

function T.setup(extra)
  assert(require('glm').setup(T.config(extra)), 'setup failed: ' .. vim.inspect(T.notes))
end

-- Between tests: nothing streaming, one plain window, no captured notifications.
function T.reset()
  local glm = require('glm')
  glm.cancel()
  vim.wait(2000, function()
    return glm.status() == ''
  end, 5)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      pcall(vim.api.nvim_win_close, win, true)
    end
  end
  vim.cmd('silent! only!')
  vim.cmd('silent! enew!')
  glm.set_model(nil)
  T.notes = {}
end

local tests = {}
-- ---- helpers shared by the specs ----

-- Writes `text` (a string) to a scratch file; returns its path.
function T.fixture(name, text)
  local path = T.tmp .. '/' .. name
  vim.fn.writefile(vim.split(text, '\n', { plain = true }), path)
  return path
end

-- Writes `lines` to a scratch file and edits it in the current window (a fresh buffer each time).
-- Returns the buffer, the window and the path.
function T.open_file(name, lines)
  local path = T.tmp .. '/' .. name
  vim.fn.writefile(lines, path)
  vim.cmd('silent! bwipeout! ' .. vim.fn.fnameescape(path))
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf(), vim.api.nvim_get_current_win(), path
end

function T.lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

-- Waits until no request of the plugin is in flight (the statusline text is empty).
function T.wait_idle()
  T.wait(function()
    return require('glm').status() == ''
  end, 8000, 'reply to finish')
end

-- In a chat buffer: types `text` on the last line (under the last "## You") and sends it with <CR>
-- in normal mode, as a user does. Returns the chat.
function T.say(text)
  local buf = vim.api.nvim_get_current_buf()
  local last = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, vim.split(text, '\n', { plain = true }))
  vim.cmd('stopinsert')
  T.feed('<CR>')
  return require('glm.chat').for_buf(buf)
end

-- Waits until the chat's reply has ended.
function T.wait_reply(chat)
  T.wait(function()
    return chat.reply == nil
  end, 8000, 'reply to finish')
end

function T.test(name, fn)
  tests[#tests + 1] = { name = T.current_file .. ': ' .. name, fn = fn }
end

local files = vim.fn.glob(root .. '/tests/lua/spec/*_spec.lua', false, true)
table.sort(files)
for _, path in ipairs(files) do
  T.current_file = vim.fn.fnamemodify(path, ':t:r')
  local chunk, err = loadfile(path)
  if not chunk then
    tests[#tests + 1] = {
      name = T.current_file .. ': load',
      fn = function()
        error(err)
      end,
    }
  else
    chunk(T)
  end
end

local filter = os.getenv('GLM_TEST_FILTER')
local passed, failed = 0, 0
for _, t in ipairs(tests) do
  if not filter or filter == '' or t.name:find(filter, 1, true) then
    local ok_reset, rerr = pcall(T.reset)
    local start = uv.hrtime()
    local ok, err = false, rerr
    if ok_reset then
      ok, err = xpcall(t.fn, debug.traceback)
    end
    local ms = (uv.hrtime() - start) / 1e6
    if ok then
      passed = passed + 1
      out(('ok   %s (%.0f ms)'):format(t.name, ms))
    else
      failed = failed + 1
      out(('FAIL %s (%.0f ms)\n    %s'):format(t.name, ms, tostring(err):gsub('\n', '\n    ')))
    end
  end
end

pcall(T.reset)
out(('%d passed, %d failed'):format(passed, failed))
if failed > 0 then
  vim.cmd('cquit 1')
else
  vim.cmd('qall!')
end
