-- Ask/explain floats as the user sees them: which lines are in the window (its top line, w0, and its
-- last line, w$), not only what the buffer holds. Regression tests for issue 8, defects 1 and 10.
local T = ...

local api = vim.api

local function top(win)
  return vim.fn.line('w0', win)
end

local function bottom(win)
  return vim.fn.line('w$', win)
end

-- Waits for the end of `reply`. While waiting, the window's top line is read often: that makes Neovim
-- bring it up to date (update_topline) as a screen redraw would between two chunks.
local function wait_done(reply, win)
  T.wait(function()
    if win and vim.api.nvim_win_is_valid(win) then
      top(win)
    end
    return reply.status ~= 'streaming'
  end, 8000, 'end of reply')
  -- The 'done' listeners run in the same tick; let any scheduled redraw work happen too.
  vim.wait(20)
end

-- Every line of the float's buffer is inside the window.
local function all_visible(f)
  T.eq(top(f.win), 1, 'window top line')
  T.eq(bottom(f.win), api.nvim_buf_line_count(f.buf), 'window bottom line')
end

T.test('a short answer is entirely visible when it ends, its first line at the top', function()
  T.setup()
  local reply, f = require('glm').ask('one short paragraph please')
  wait_done(reply, f.win)
  T.eq(reply.status, 'done')
  all_visible(f)
  T.eq(api.nvim_buf_get_lines(f.buf, 0, 1, false)[1], 'You said: one short paragraph please', 'first line')
end)

T.test('a multi-line answer with reasoning is visible from its first line when it ends', function()
  T.setup({ chat = { fold_reasoning = false } })
  local q = 'line one\nline two\nline three\nline four mock:reasoning=3'
  local reply, f = require('glm').ask(q)
  wait_done(reply, f.win)
  all_visible(f)
  T.eq(api.nvim_buf_get_lines(f.buf, 0, 1, false)[1], '> thinking')
end)

T.test('a prompted question (vim.ui.input) shows its answer from the top', function()
  T.setup()
  local orig = vim.ui.input
  vim.ui.input = function(_, cb)
    cb('prompted question')
  end
  local ok, err = pcall(vim.cmd, 'GlmAsk')
  vim.ui.input = orig
  T.ok(ok, err)
  local win = api.nvim_get_current_win()
  local buf = api.nvim_win_get_buf(win)
  T.wait(function()
    return require('glm').status() == '' and T.buf_text(buf):find('openai/glm-4', 1, true) ~= nil
  end, 5000, 'answer')
  vim.wait(20)
  T.eq(top(win), 1, 'top line')
  T.eq(bottom(win), api.nvim_buf_line_count(buf), 'bottom line')
end)

T.test('explain, cancelled and failed floats show their first line when they end', function()
  T.setup()
  local path = T.tmp .. '/float_explain.lua'
  vim.fn.writefile({ 'local function f(x)', '  return x * 2', 'end' }, path)
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path))
  local reply, f = require('glm').explain({ range = { 1, 3 } })
  wait_done(reply, f.win)
  all_visible(f)

  T.reset()
  T.setup()
  reply, f = require('glm').ask('go mock:chunks=400,delay_ms=5')
  T.wait(function()
    return reply.content:find('tok20 ', 1, true) ~= nil
  end, 5000)
  reply:cancel()
  wait_done(reply, f.win)
  T.eq(reply.status, 'cancelled')
  T.eq(top(f.win), 1, 'cancelled: top line')
  T.contains(api.nvim_buf_get_lines(f.buf, 0, 1, false)[1], 'tok0 ', 'cancelled: first line')

  T.reset()
  T.setup({ model = 'zhipu/glm-4' })
  reply, f = require('glm').ask('no key here')
  wait_done(reply, f.win)
  T.eq(reply.status, 'error')
  all_visible(f)
end)

-- A question of `n` short lines: the mock echoes it back in pieces of ~12 bytes, `delay` ms apart, so
-- the answer streams line by line.
local function many_lines(n, delay)
  local l = {}
  for i = 1, n do
    l[i] = 'line ' .. i
  end
  return table.concat(l, '\n') .. '\nmock:delay_ms=' .. delay
end

T.test('a long answer: the window follows the stream, then shows the top when it ends', function()
  T.setup({ float = { max_height = 6, width = 40 } })
  local reply, f = require('glm').ask(many_lines(60, 4))
  local saw_follow = false
  T.wait(function()
    if reply.content:find('line 30\n', 1, true) and not saw_follow then
      -- Mid-stream: the newest text is on screen.
      saw_follow = bottom(f.win) == api.nvim_buf_line_count(f.buf) and top(f.win) > 1
    end
    return reply.status ~= 'streaming'
  end, 10000, 'end of reply')
  vim.wait(20)
  T.ok(saw_follow, 'followed the stream while it was written')
  T.eq(api.nvim_win_get_height(f.win), 6, 'height capped')
  T.eq(top(f.win), 1, 'top of the answer visible at the end')
  T.eq(api.nvim_win_get_cursor(f.win)[1], 1, 'cursor at the top')
  T.eq(vim.fn.getline(1), 'You said: line 1', 'first line in the window')
end)

T.test('once the user scrolls, the window stops following and stays where they put it', function()
  T.setup({ float = { max_height = 6, width = 40 } })
  local reply, f = require('glm').ask(many_lines(150, 4))
  T.wait(function()
    return reply.content:find('line 40\n', 1, true) ~= nil
  end, 8000)
  -- The user scrolls back to the start (as with gg).
  api.nvim_set_current_win(f.win)
  T.feed('gg')
  T.eq(top(f.win), 1)
  T.wait(function()
    return reply.content:find('line 80\n', 1, true) ~= nil
  end, 8000)
  T.eq(top(f.win), 1, 'not dragged to the end while streaming')
  T.eq(api.nvim_win_get_cursor(f.win)[1], 1, 'cursor stays')
  -- Scrolling down a little mid-stream is respected too.
  T.feed('3<C-e>')
  local t = top(f.win)
  T.ok(t > 1, 'scrolled')
  T.ok(reply.status == 'streaming', 'still streaming')
  wait_done(reply, f.win)
  T.eq(top(f.win), t, 'still where the user scrolled to')
end)

T.test('a finished float says how to close it and continue in a chat', function()
  T.setup()
  local reply, f = require('glm').ask('hint please')
  wait_done(reply, f.win)
  local last = api.nvim_buf_get_lines(f.buf, -2, -1, false)[1]
  T.contains(last, 'q close')
  T.contains(last, 'c continue in a chat')
  all_visible(f)
  -- Keys changed in setup() are the ones named.
  T.reset()
  T.setup({ keymaps = { close = '<Esc>', to_chat = false } })
  reply, f = require('glm').ask('hint please')
  wait_done(reply, f.win)
  last = api.nvim_buf_get_lines(f.buf, -2, -1, false)[1]
  T.contains(last, '<Esc> close')
  T.ok(not last:find('chat', 1, true), 'no chat key to name: ' .. last)
end)
