-- Chat context: :[range]GlmChat, #buffer, #file:{path}, #selection, #diagnostics.
local T = ...

local api = vim.api
local say, wait_idle = T.say, T.wait_reply

local SOURCE = {
  'local function greet(name)',
  "  return 'hello ' .. nam",
  'end',
  '',
  "print(greet('you'))",
}

local function open_source()
  return T.open_file('ctx_src.lua', SOURCE)
end

local function sent_since(n0)
  local reqs = vim.list_slice(T.recorded(), n0 + 1)
  T.eq(#reqs, 1, 'one request')
  local msgs = reqs[1].json.messages
  return msgs[#msgs].content, msgs
end

T.test('#buffer attaches the source buffer; the chat shows one summary line; saved chats keep both', function()
  T.setup()
  local _, _, path = open_source()
  vim.cmd('GlmChat!')
  local n0 = #T.recorded()
  local chat = say('what is wrong here? #buffer')
  wait_idle(chat)
  local content = sent_since(n0)
  T.contains(content, 'what is wrong here? #buffer')
  T.contains(content, "```lua\nlocal function greet(name)\n  return 'hello ' .. nam\nend\n\nprint(greet('you'))\n```")
  T.contains(content, 'ctx_src.lua')
  local text = T.buf_text(chat.buf)
  T.contains(text, '## You\n\nwhat is wrong here? #buffer\n\n[attached #buffer: ')
  T.contains(text, 'ctx_src.lua, 5 lines]')
  local mine = text:match('^(.-)## GLM')
  T.ok(not mine:find('local function greet', 1, true), 'the buffer itself is not pasted into the message')
  -- Saved with what was typed, what was sent and the summary.
  local saved = vim.json.decode(table.concat(vim.fn.readfile(require('glm.store').path(chat.id)), '\n'))
  T.eq(saved.messages[1].text, 'what is wrong here? #buffer')
  T.contains(saved.messages[1].content, 'local function greet(name)')
  T.eq(saved.messages[1].attachments[1].kind, 'buffer')
  T.eq(saved.title, 'what is wrong here? #buffer')
  -- Reopened: still collapsed, and the next turn still sends the attachment as history.
  api.nvim_buf_delete(chat.buf, { force = true })
  local reopened = require('glm.chat').open_saved(require('glm.store').path(chat.id))
  local shown = T.buf_text(reopened.buf)
  T.contains(shown, '[attached #buffer: ')
  T.ok(not shown:match('^(.-)## GLM'):find('local function greet', 1, true), 'still collapsed after reopening')
  local n1 = #T.recorded()
  say('and now?')
  wait_idle(reopened)
  local _, msgs = sent_since(n1)
  T.contains(msgs[1].content, 'local function greet(name)')
  T.ok(path ~= nil)
end)

T.test('#file:{path} attaches a file; a missing file stops the send with a clear error', function()
  T.setup()
  open_source()
  local other = T.tmp .. '/ctx_other.py'
  vim.fn.writefile({ 'def add(a, b):', '    return a + b' }, other)
  vim.cmd('GlmChat!')
  local n0 = #T.recorded()
  local chat = say('compare with #file:' .. other .. ' please')
  wait_idle(chat)
  local content = sent_since(n0)
  T.contains(content, '```python\ndef add(a, b):\n    return a + b\n```')
  T.contains(T.buf_text(chat.buf), '[attached #file: ')
  T.contains(T.buf_text(chat.buf), 'ctx_other.py, 2 lines]')
  -- Missing file: error, nothing sent, the typed text stays for fixing.
  local n1 = #T.recorded()
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_buf_set_lines(chat.buf, last - 1, last, false, { 'see #file:nope/missing.lua' })
  T.feed('<CR>')
  T.eq(#T.recorded(), n1, 'nothing sent')
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], '#file:nope/missing.lua: no such file')
  T.eq(api.nvim_buf_get_lines(chat.buf, -2, -1, false)[1], 'see #file:nope/missing.lua', 'typed text kept')
  T.ok(chat.reply == nil, 'no reply started')
end)

T.test(':[range]GlmChat puts the lines in the message, fenced with path and lines; #selection is that range', function()
  T.setup()
  open_source()
  vim.cmd('1,3GlmChat!')
  local chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
  T.ok(chat, 'in the chat')
  local text = T.buf_text(chat.buf)
  T.contains(
    text,
    '`'
      .. vim.fn.fnamemodify(T.tmp .. '/ctx_src.lua', ':~:.')
      .. "` lines 1-3:\n```lua\nlocal function greet(name)\n  return 'hello ' .. nam\nend\n```\n"
  )
  T.eq(api.nvim_win_get_cursor(0)[1], api.nvim_buf_line_count(chat.buf), 'cursor where the question goes')
  local n0 = #T.recorded()
  say('fix the typo in #selection')
  wait_idle(chat)
  local content = sent_since(n0)
  T.contains(content, 'lines 1-3:\n```lua\nlocal function greet(name)', 'the pasted block')
  T.contains(content, '#selection `')
  T.contains(content, "lines 1-3:\n```lua\nlocal function greet(name)\n  return 'hello ' .. nam\nend\n```")
  T.contains(T.buf_text(chat.buf), '[attached #selection: ')
end)

T.test('#selection without a range uses the last visual selection of the source buffer', function()
  T.setup()
  local _, win = open_source()
  api.nvim_set_current_win(win)
  vim.cmd('normal! 5GV\27')
  vim.cmd('GlmChat!')
  local n0 = #T.recorded()
  local chat = say('#selection what does it print?')
  wait_idle(chat)
  local content = sent_since(n0)
  T.contains(content, "lines 5-5:\n```lua\nprint(greet('you'))\n```")
  -- Nothing selected anywhere: refused with a hint.
  local path2 = T.tmp .. '/ctx_nosel.lua'
  vim.fn.writefile({ 'x = 1' }, path2)
  vim.cmd('only')
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path2))
  vim.cmd('GlmChat!')
  local n1 = #T.recorded()
  say('#selection?')
  T.eq(#T.recorded(), n1, 'nothing sent')
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], '#selection: nothing selected')
end)

T.test('#diagnostics attaches vim.diagnostic entries with their code lines (of the range when given)', function()
  T.setup()
  local buf = open_source()
  local ns = api.nvim_create_namespace('ctx_test_lsp')
  vim.diagnostic.set(ns, buf, {
    {
      lnum = 1,
      col = 21,
      message = "undefined global 'nam'",
      severity = vim.diagnostic.severity.ERROR,
      source = 'lua_ls',
    },
    { lnum = 4, col = 0, message = 'print is discouraged', severity = vim.diagnostic.severity.HINT },
  })
  vim.cmd('GlmChat!')
  local n0 = #T.recorded()
  local chat = say('why? #diagnostics')
  wait_idle(chat)
  local content = sent_since(n0)
  T.contains(content, ":2:22: ERROR: undefined global 'nam' [lua_ls]\n    return 'hello ' .. nam")
  T.contains(content, ':5:1: HINT: print is discouraged')
  T.contains(T.buf_text(chat.buf), '[attached #diagnostics: ')
  T.contains(T.buf_text(chat.buf), '2 entries]')
  -- With a range: only the entries in it.
  vim.cmd('only')
  api.nvim_set_current_win(vim.fn.win_findbuf(buf)[1] or 0)
  if api.nvim_get_current_buf() ~= buf then
    api.nvim_win_set_buf(0, buf)
  end
  vim.cmd('1,3GlmChat!')
  local n1 = #T.recorded()
  chat = say('#diagnostics')
  wait_idle(chat)
  content = sent_since(n1)
  T.contains(content, "undefined global 'nam'")
  T.ok(not content:find('print is discouraged', 1, true), 'entry outside the range left out')
  -- No diagnostics: said so.
  vim.diagnostic.reset(ns, buf)
  local n2 = #T.recorded()
  chat = say('#diagnostics')
  wait_idle(chat)
  T.contains(sent_since(n2), ': none.')
end)

T.test('tokens: only whole #words are expanded; others are left alone', function()
  local toks = require('glm.context').tokens('#include <x> a#buffer (#buffer) #buffers #file:a.c, #selection? #buffer')
  local kinds = vim.tbl_map(function(t)
    return t.token
  end, toks)
  T.eq(kinds, { '#buffer', '#file:a.c,', '#selection' })
end)

T.test(':GlmAsk expands the same #words, from the current buffer', function()
  T.setup()
  local buf = open_source()
  local ns = api.nvim_create_namespace('ctx_test_ask')
  vim.diagnostic.set(ns, buf, {
    { lnum = 1, col = 21, message = "undefined global 'nam'", severity = vim.diagnostic.severity.ERROR },
  })
  local n0 = #T.recorded()
  vim.cmd('GlmAsk why does this fail? #diagnostics #buffer')
  T.wait(function()
    return require('glm').status() == ''
  end, 8000)
  local content = sent_since(n0)
  T.contains(content, 'why does this fail? #diagnostics #buffer')
  T.contains(content, ":2:22: ERROR: undefined global 'nam'")
  T.contains(content, '```lua\nlocal function greet(name)')
  -- With a range: the attachments and the range both go along; #diagnostics is the range's.
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(w).relative ~= '' then
      api.nvim_win_close(w, true)
    end
  end
  T.eq(api.nvim_get_current_buf(), buf, 'back in the source')
  local n2 = #T.recorded()
  vim.cmd('1,3GlmAsk and here? #diagnostics')
  T.wait(function()
    return require('glm').status() == ''
  end, 8000)
  content = sent_since(n2)
  T.contains(content, ":2:22: ERROR: undefined global 'nam'")
  T.contains(content, 'lines 1-3:\n```lua\nlocal function greet(name)')
  vim.cmd('silent! only')
  api.nvim_win_set_buf(0, buf)
  -- A bad #file stops it before anything is sent.
  local n1 = #T.recorded()
  vim.cmd('silent! only')
  api.nvim_win_set_buf(0, buf)
  vim.cmd('GlmAsk see #file:does/not/exist.c')
  T.eq(#T.recorded(), n1, 'nothing sent')
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], 'no such file')
end)

T.test('<C-x><C-u> in a chat completes the #words and #file: paths', function()
  T.setup()
  open_source()
  vim.cmd('GlmChat!')
  local buf = api.nvim_get_current_buf()
  T.feed('Gocompare #dia<C-x><C-u><Esc>')
  T.eq(api.nvim_buf_get_lines(buf, -2, -1, false)[1], 'compare #diagnostics')
  local dir = T.tmp .. '/compl'
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile({ 'x' }, dir .. '/unique_name.txt')
  T.feed('o#file:' .. dir .. '/uniq<C-x><C-u><Esc>')
  T.eq(api.nvim_buf_get_lines(buf, -2, -1, false)[1], '#file:' .. dir .. '/unique_name.txt')
end)
