-- Pure pieces: framing, option validation, prompt fencing, chat history selection.
local T = ...

local framing = require('glm.framing')

T.test('framing splits messages across reads and batches several in one read', function()
  local p = framing.new()
  local a, b = '{"id":1}', '{"id":2,"x":"é"}'
  local wire = framing.encode(a) .. framing.encode(b) .. framing.encode(a)
  T.eq(p:feed(wire:sub(1, 5)), {}, 'partial header')
  T.eq(p:feed(wire:sub(6, 30)), { a }, 'first message')
  T.eq(p:feed(wire:sub(31)), { b, a }, 'rest in one read')
  T.eq(p:feed(''), {}, 'nothing left')
end)

T.test('framing accepts any header case and extra headers', function()
  local p = framing.new()
  local got = p:feed('content-type: x\r\nCONTENT-LENGTH: 2\r\n\r\n{}')
  T.eq(got, { '{}' })
end)

T.test('framing rejects a body over the limit and an endless header', function()
  local bodies, err = framing.new(10):feed('Content-Length: 11\r\n\r\n')
  T.eq(bodies, nil, 'oversized body')
  T.contains(err, 'exceeds')
  bodies, err = framing.new():feed(string.rep('x', 9000))
  T.eq(bodies, nil, 'endless header')
  T.contains(err, 'header')
  bodies, err = framing.new():feed('X-Other: 1\r\n\r\n')
  T.eq(bodies, nil, 'no length')
  T.contains(err, 'Content-Length')
end)

T.test('setup() rejects an unknown option by name and keeps the previous values', function()
  local glm = require('glm')
  T.ok(glm.setup({ float = { width = 61 } }), 'valid setup')
  T.eq(glm.setup({ chat = { layut = 'float' } }), false, 'setup result')
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(#errs, 1, 'one error')
  T.contains(errs[1], "unknown option 'chat.layut'")
  T.eq(require('glm.config').get().float.width, 61, 'previous value kept')
end)

T.test('setup() rejects a mistyped option naming it and the expected type', function()
  local glm = require('glm')
  T.eq(glm.setup({ float = { width = 'wide' } }), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], "option 'float.width' must be number, got string")
  T.notes = {}
  T.eq(glm.setup({ chat = { layout = 'sideways' } }), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], "'chat.layout' must be one of split, vsplit, float, tab")
  T.notes = {}
  T.eq(glm.setup({ keymaps = { send = true } }), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], "'keymaps.send'")
  T.notes = {}
  T.eq(glm.setup('x'), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], 'must be a table')
end)

T.test('setup() merges with defaults; keymaps can be disabled with false', function()
  local glm = require('glm')
  T.ok(glm.setup({ keymaps = { new_chat = false }, chat = { layout = 'tab' } }))
  local v = require('glm.config').get()
  T.eq(v.keymaps.new_chat, false)
  T.eq(v.keymaps.send, '<CR>', 'default kept')
  T.eq(v.chat.layout, 'tab')
  T.eq(v.float.max_height, 20, 'default kept')
  T.eq(#T.notes, 0, 'no messages')
end)

T.test('code is fenced with filetype and path, and a longer fence when it holds backticks', function()
  local glm = require('glm')
  local f = glm._fence({ code = 'a = "```"', language = 'lua', path = 'x/y.lua', l1 = 3, l2 = 3 })
  T.eq(f, '`x/y.lua` lines 3-3:\n````lua\na = "```"\n````')
end)

T.test('chat history drops withdrawn and failed turns with their prompt', function()
  local chat = require('glm.chat').new()
  chat.messages = {
    { role = 'user', content = 'q1' },
    { role = 'assistant', content = 'a1', status = 'done' },
    { role = 'user', content = 'bad' },
    { role = 'assistant', content = '', status = 'withdrawn' },
    { role = 'user', content = 'q2' },
    { role = 'assistant', content = '', status = 'error' },
    { role = 'user', content = 'q3' },
    { role = 'assistant', content = 'half', status = 'cancelled' },
    { role = 'user', content = 'q4' },
  }
  T.eq(chat:history(), {
    { role = 'user', content = 'q1' },
    { role = 'assistant', content = 'a1' },
    { role = 'user', content = 'q3' },
    { role = 'assistant', content = 'half' },
    { role = 'user', content = 'q4' },
  })
  vim.api.nvim_buf_delete(chat.buf, { force = true })
end)

T.test('status() is empty when nothing streams and loads nothing heavy', function()
  T.eq(require('glm').status(), '')
end)

T.test('a replace delta rewrites only the reply region; reasoning is quoted then the answer follows', function()
  local view = require('glm.view')
  local reply = require('glm.reply').new()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'above', '' })
  view.attach(reply, view.region(buf, 1, 0), {})
  reply:_on_delta({ reasoning = 'step 1\nstep' })
  reply:_on_delta({ reasoning = ' 2' })
  T.eq(T.buf_text(buf), 'above\n> thinking\n> step 1\n> step 2')
  reply:_on_delta({ content = 'Hel' })
  reply:_on_delta({ content = 'lo' })
  T.eq(T.buf_text(buf), 'above\n> thinking\n> step 1\n> step 2\n\nHello')
  reply:_on_delta({ replace = true, content = 'Bye\nnow' })
  T.eq(T.buf_text(buf), 'above\nBye\nnow', 'rewritten in place')
  reply:_on_delta({ content = '!' })
  T.eq(T.buf_text(buf), 'above\nBye\nnow!', 'appends continue after the rewrite')
  vim.api.nvim_buf_delete(buf, { force = true })
end)
