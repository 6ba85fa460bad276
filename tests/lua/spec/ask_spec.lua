-- :GlmAsk against the real server and the mock provider.
local T = ...

local api = vim.api

local function float_wins()
  local r = {}
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(w).relative ~= '' then
      r[#r + 1] = w
    end
  end
  return r
end

T.test('ask streams the answer into a float, piece by piece, with model and usage', function()
  T.setup()
  local reply, f = require('glm').ask('hello there mock:chunks=30,delay_ms=10')
  T.eq(#float_wins(), 1, 'one float')
  local updates = 0
  api.nvim_buf_attach(f.buf, false, {
    on_lines = function()
      updates = updates + 1
    end,
  })
  T.wait(function()
    return T.buf_text(f.buf):find('tok5 ', 1, true) ~= nil
  end, 5000, 'first tokens')
  T.eq(reply.status, 'streaming', 'still streaming while text is shown')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000, 'end of reply')
  T.eq(reply.status, 'done')
  local text = T.buf_text(f.buf)
  T.contains(text, 'tok0 tok1 tok2 ')
  T.contains(text, 'tok29 ')
  T.contains(text, 'openai/glm-4')
  T.contains(text, ' in / ')
  T.ok(updates >= 10, 'text arrived in many small updates, got ' .. updates)
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0, 'no errors')
end)

T.test(':GlmAsk with a range sends the lines fenced with filetype and path', function()
  T.setup()
  local path = T.tmp .. '/sample.lua'
  vim.fn.writefile({ 'local x = 1', 'local function add(a, b)', '  return a + b', 'end' }, path)
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path))
  T.eq(vim.bo.filetype, 'lua', 'filetype detected')
  vim.cmd('2,4GlmAsk what does add do')
  T.wait(function()
    return require('glm').status() == ''
  end, 5000, 'reply')
  local body = T.last_request().json
  local last = body.messages[#body.messages].content
  T.contains(last, 'what does add do')
  T.contains(last, '```lua\nlocal function add(a, b)\n  return a + b\nend\n```')
  T.contains(last, 'sample.lua` lines 2-4')
end)

T.test('status() shows a request in flight', function()
  T.setup()
  local reply = require('glm').ask('slow mock:chunks=20,delay_ms=20')
  T.wait(function()
    return reply.content ~= ''
  end, 5000, 'first token')
  T.eq(require('glm').status(), 'GLM ⋯')
  T.wait(function()
    return reply.status == 'done'
  end, 5000)
  T.eq(require('glm').status(), '')
end)

T.test('the float keeps the cursor where the user put it while text streams', function()
  T.setup()
  -- Reasoning first gives several lines; the answer then streams on the last one.
  local reply, f = require('glm').ask('x mock:reasoning=4,chunks=60,delay_ms=10')
  T.wait(function()
    return reply.content:find('tok3 ', 1, true) ~= nil
  end, 5000)
  T.ok(api.nvim_buf_line_count(f.buf) >= 3, 'several lines')
  api.nvim_win_set_cursor(f.win, { 1, 0 })
  local lines_before = api.nvim_buf_line_count(f.buf)
  T.wait(function()
    return reply.status == 'done'
  end, 5000)
  T.ok(api.nvim_buf_line_count(f.buf) > lines_before, 'summary lines were added below')
  T.eq(api.nvim_win_get_cursor(f.win), { 1, 0 }, 'cursor unchanged')
end)

T.test('a float follows the stream, then shows the answer from its first line', function()
  T.setup()
  local reply, f = require('glm').ask('x mock:reasoning=4,chunks=10,delay_ms=5')
  local followed = false
  T.wait(function()
    if reply.status == 'streaming' and reply.content ~= '' then
      followed = followed or api.nvim_win_get_cursor(f.win)[1] == api.nvim_buf_line_count(f.buf)
    end
    return reply.status == 'done'
  end, 5000)
  T.ok(followed, 'cursor on the last line while streaming')
  T.eq(api.nvim_win_get_cursor(f.win)[1], 1, 'cursor on the first line at the end')
  T.contains(T.buf_text(f.buf), '> thinking\n> think0 think1 ')
end)
