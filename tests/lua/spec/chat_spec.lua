-- :GlmChat: multi-turn history, streaming without moving the user's cursor, saving, reopening.
local T = ...

local api = vim.api
local say, wait_idle = T.say, T.wait_reply

local function requests_since(n)
  local r = T.recorded()
  return vim.list_slice(r, n + 1)
end

T.test('chat sends the whole conversation each turn', function()
  T.setup()
  vim.cmd('GlmChat!')
  T.eq(vim.bo.filetype, 'markdown')
  local n0 = #T.recorded()
  local chat = say('first question')
  wait_idle(chat)
  T.contains(T.buf_text(chat.buf), '## GLM\n\nYou said: first question')
  say('second question')
  wait_idle(chat)
  local reqs = requests_since(n0)
  T.eq(#reqs, 2, 'two upstream requests')
  local msgs = reqs[2].json.messages
  T.eq(#msgs, 3, 'history + new message')
  T.eq(msgs[1], { role = 'user', content = 'first question' })
  T.eq(msgs[2], { role = 'assistant', content = 'You said: first question' })
  T.eq(msgs[3], { role = 'user', content = 'second question' })
  local text = T.buf_text(chat.buf)
  T.contains(text, 'You said: second question')
  T.contains(text, '[openai/glm-4 · ')
  T.ok(text:match('## You\n\n$'), 'ready for the next message: ' .. text)
end)

T.test('a withdrawn reply is marked and left out of the next request', function()
  T.setup()
  vim.cmd('GlmChat!')
  local n0 = #T.recorded()
  local chat = say('forbidden mock:finish=content_filter')
  wait_idle(chat)
  T.eq(chat.messages[2].status, 'withdrawn')
  T.contains(T.buf_text(chat.buf), 'withdrawn by the provider')
  say('harmless')
  wait_idle(chat)
  local reqs = requests_since(n0)
  T.eq(reqs[#reqs].json.messages, { { role = 'user', content = 'harmless' } })
end)

T.test('streaming never moves a cursor the user placed elsewhere', function()
  T.setup()
  vim.cmd('GlmChat!')
  local win = api.nvim_get_current_win()
  local chat = say('one')
  wait_idle(chat)
  say('two mock:reasoning=3,chunks=40,delay_ms=15')
  T.wait(function()
    return chat.reply and chat.reply.content ~= ''
  end, 5000, 'answer starts')
  api.nvim_win_set_cursor(win, { 6, 2 })
  T.wait(function()
    return chat.reply == nil
  end, 5000)
  T.eq(api.nvim_win_get_cursor(win), { 6, 2 }, 'cursor where the user put it')
end)

T.test('the chat window follows the stream while the cursor is at the end', function()
  T.setup()
  vim.cmd('GlmChat!')
  local win = api.nvim_get_current_win()
  local chat = say('hello mock:reasoning=3,chunks=20,delay_ms=5')
  wait_idle(chat)
  T.eq(api.nvim_win_get_cursor(win)[1], api.nvim_buf_line_count(chat.buf), 'cursor at the end')
  -- The reasoning block is folded once the answer starts.
  local text = T.buf_text(chat.buf)
  local row
  for i, l in ipairs(vim.split(text, '\n', { plain = true })) do
    if l == '> thinking' then
      row = i
    end
  end
  T.ok(row, 'thinking block shown: ' .. text)
  T.ok(api.nvim_win_call(win, function()
    return vim.fn.foldclosed(row)
  end) == row, 'thinking folded')
end)

T.test('a chat is saved to disk while the reply streams', function()
  T.setup({ chat = { save_interval_ms = 100 } })
  vim.cmd('GlmChat!')
  local chat = say('save me mock:chunks=80,delay_ms=15')
  local path = require('glm.store').path(chat.id)
  local seen
  T.wait(function()
    local data = vim.fn.filereadable(path) == 1 and vim.json.decode(table.concat(vim.fn.readfile(path), '\n'))
    if data and data.messages[2] and data.messages[2].content:find('tok5 ', 1, true) then
      seen = data
      return true
    end
  end, 5000, 'partial reply on disk')
  T.ok(chat.reply and chat.reply:is_streaming(), 'saved before the reply ended')
  T.eq(seen.messages[2].status, 'streaming')
  T.eq(seen.messages[1].content, 'save me mock:chunks=80,delay_ms=15')
  wait_idle(chat)
  local final = vim.json.decode(table.concat(vim.fn.readfile(path), '\n'))
  T.eq(final.messages[2].status, 'done')
  T.contains(final.messages[2].content, 'tok79 ')
end)

T.test(':GlmChats reopens a saved chat and continues it', function()
  T.setup()
  vim.cmd('GlmChat!')
  local chat = say('remember the word pineapple')
  wait_idle(chat)
  local id = chat.id
  api.nvim_buf_delete(chat.buf, { force = true })
  local orig = vim.ui.select
  local offered
  vim.ui.select = function(items, opts, cb)
    offered = vim.tbl_map(function(it)
      return opts.format_item(it)
    end, items)
    for _, it in ipairs(items) do
      if it.id == id then
        return cb(it)
      end
    end
    cb(nil)
  end
  local ok, err = pcall(vim.cmd, 'GlmChats')
  vim.ui.select = orig
  T.ok(ok, err)
  T.ok(#vim.tbl_filter(function(s)
    return s:find('remember the word pineapple', 1, true) ~= nil
  end, offered) == 1, 'listed by title: ' .. vim.inspect(offered))
  local reopened = require('glm.chat').for_buf(api.nvim_get_current_buf())
  T.ok(reopened and reopened.id == id, 'same chat')
  T.contains(T.buf_text(reopened.buf), 'You said: remember the word pineapple')
  local n0 = #T.recorded()
  say('what word?')
  wait_idle(reopened)
  local msgs = requests_since(n0)[1].json.messages
  T.eq(#msgs, 3)
  T.eq(msgs[1].content, 'remember the word pineapple')
end)

T.test('closing the chat window mid-stream cancels the request without an error', function()
  T.setup()
  vim.cmd('GlmChat! split')
  local win = api.nvim_get_current_win()
  local chat = say('long mock:chunks=200,delay_ms=20')
  local reply = chat.reply
  T.wait(function()
    return reply.content ~= ''
  end, 5000, 'stream started')
  api.nvim_win_close(win, false)
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 3000, 'request to end')
  T.eq(reply.status, 'cancelled')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0, 'no error shown')
  T.eq(require('glm').status(), '')
end)

T.test(':GlmChat opens as a float or in a tab when asked', function()
  T.setup()
  vim.cmd('GlmChat! float')
  T.ok(api.nvim_win_get_config(0).relative ~= '', 'a float')
  T.ok(require('glm.chat').for_buf(api.nvim_get_current_buf()), 'showing a chat')
  api.nvim_win_close(0, true)
  vim.cmd('GlmChat! tab')
  T.eq(#api.nvim_list_tabpages(), 2, 'a new tab')
  T.ok(require('glm.chat').for_buf(api.nvim_get_current_buf()), 'showing a chat')
  vim.cmd('tabclose')
end)
