-- :GlmExplain: a float anchored next to the code, and moving it into a chat.
local T = ...

local api = vim.api

local function open_sample()
  local path = T.tmp .. '/explain_me.py'
  vim.fn.writefile({
    'import math',
    '',
    'def hyp(a, b):',
    '    return math.sqrt(a * a + b * b)',
    '',
    'print(hyp(3, 4))',
  }, path)
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path))
  return api.nvim_get_current_win(), api.nvim_get_current_buf()
end

T.test('explain streams into a float anchored below the selection, with code, filetype and path', function()
  T.setup()
  local src_win = open_sample()
  local n0 = #T.recorded()
  vim.cmd('3,4GlmExplain')
  local float = api.nvim_get_current_win()
  local cfg = api.nvim_win_get_config(float)
  T.eq(cfg.relative, 'win', 'anchored to a window')
  T.eq(cfg.win, src_win, 'anchored to the source window')
  local row = type(cfg.row) == 'table' and cfg.row[false] or cfg.row
  T.eq(math.floor(row + 0.5), 4, 'just below line 4')
  local buf = api.nvim_win_get_buf(float)
  T.wait(function()
    return require('glm').status() == '' and T.buf_text(buf):find('openai/glm-4', 1, true)
  end, 5000, 'explanation')
  local reqs = vim.list_slice(T.recorded(), n0 + 1)
  T.eq(#reqs, 1, 'one upstream request')
  local sent = vim.json.encode(reqs[1].json.messages)
  T.contains(sent, 'def hyp(a, b):')
  T.contains(sent, 'return math.sqrt(a * a + b * b)')
  T.contains(sent, 'python')
  T.contains(sent, 'explain_me.py')
  T.ok(not sent:find('print(hyp', 1, true), 'only the range is sent')
  T.contains(T.buf_text(buf), 'You said:')
end)

T.test('explain without a range takes the paragraph at the cursor', function()
  T.setup()
  open_sample()
  api.nvim_win_set_cursor(0, { 4, 0 })
  local n0 = #T.recorded()
  local reply = require('glm').explain()
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  local sent = vim.json.encode(vim.list_slice(T.recorded(), n0 + 1)[1].json.messages)
  T.contains(sent, 'def hyp(a, b):')
  T.ok(not sent:find('import math', 1, true), 'not the paragraph above')
end)

T.test('c in the explain float continues in a chat with the explanation as history', function()
  T.setup()
  open_sample()
  local reply = require('glm').explain({ range = { 3, 4 } })
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  T.feed('c')
  local chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
  T.ok(chat, 'now in a chat buffer')
  for _, w in ipairs(api.nvim_list_wins()) do
    T.eq(api.nvim_win_get_config(w).relative, '', 'float closed')
  end
  local text = T.buf_text(chat.buf)
  T.contains(text, 'def hyp(a, b):')
  T.contains(text, '## GLM')
  local n0 = #T.recorded()
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_buf_set_lines(chat.buf, last - 1, last, false, { 'and for negative numbers?' })
  T.feed('<CR>')
  T.wait(function()
    return chat.reply == nil and #T.recorded() > n0
  end, 5000)
  local msgs = vim.list_slice(T.recorded(), n0 + 1)[1].json.messages
  T.eq(#msgs, 3, 'explanation + follow-up')
  T.contains(msgs[1].content, 'def hyp(a, b):')
  T.eq(msgs[2].content, reply.content)
  T.eq(msgs[3].content, 'and for negative numbers?')
end)

T.test('moving a still-streaming explanation into a chat keeps streaming there', function()
  T.setup()
  open_sample()
  local reply = require('glm').explain({ range = { 3, 4 }, question = 'mock:chunks=50,delay_ms=10' })
  T.wait(function()
    return reply.content ~= ''
  end, 5000)
  T.feed('c')
  local chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
  T.ok(chat and chat.reply == reply, 'chat took over the stream')
  T.wait(function()
    return chat.reply == nil
  end, 5000)
  T.eq(reply.status, 'done', 'not cancelled by closing the float')
  T.contains(T.buf_text(chat.buf), 'tok49 ')
end)
