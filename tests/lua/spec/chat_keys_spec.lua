-- Chat conveniences (yank a code block, jump between replies, regenerate, clear, `?` help, rename and
-- delete saved chats), a model per chat, and images for vision models.
local T = ...

local api = vim.api
local say, wait_idle = T.say, T.wait_reply

local function row_of(buf, text, from)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  for i = from or 1, #lines do
    if lines[i] == text then
      return i
    end
  end
end

local function new_chat()
  vim.cmd('GlmChat!')
  return require('glm.chat').for_buf(api.nvim_get_current_buf())
end

T.test('the chat header shows the title and the model; the buffer name is readable', function()
  T.setup()
  local chat = new_chat()
  local lines = api.nvim_buf_get_lines(chat.buf, 0, 3, false)
  T.eq(lines[1], '# New chat')
  -- The server's default, learnt from the server as the chat opens.
  T.wait(function()
    lines = api.nvim_buf_get_lines(chat.buf, 0, 3, false)
    return lines[2]:find('openai/glm-4', 1, true) ~= nil
  end, 5000, 'model in the header')
  T.contains(lines[2], 'model: openai/glm-4 (server default)')
  T.contains(lines[2], '? for keys')
  say('what is up')
  wait_idle(chat)
  T.eq(api.nvim_buf_get_lines(chat.buf, 0, 1, false)[1], '# what is up')
  T.eq(vim.fn.bufname(chat.buf), 'GLM: what is up')
end)

T.test('gy yanks the code block under the cursor (or the one above), into a chosen register too', function()
  T.setup()
  local chat = new_chat()
  say('code:\n```lua\nlocal a = 1\nreturn a\n```\ntext between\n~~~python\nprint(2)\n~~~\nafter')
  wait_idle(chat)
  local buf = chat.buf
  -- The echo reply repeats both blocks; put the cursor inside the reply's first block.
  local reply_row = row_of(buf, '## GLM')
  local in_first = row_of(buf, 'return a', reply_row)
  api.nvim_win_set_cursor(0, { in_first, 0 })
  T.feed('gy')
  T.eq(vim.fn.getreg('"'), 'local a = 1\nreturn a\n', 'unnamed register')
  T.eq(vim.fn.getregtype('"'), 'V', 'linewise')
  -- On the line after the second block: the block above.
  api.nvim_win_set_cursor(0, { row_of(buf, 'after', reply_row), 0 })
  T.feed('"agy')
  T.eq(vim.fn.getreg('a'), 'print(2)\n', 'register a')
  T.contains(T.notes[#T.notes].msg, 'yanked 1 line of python')
end)

T.test(']] and [[ jump between replies', function()
  T.setup()
  local chat = new_chat()
  say('one')
  wait_idle(chat)
  say('two')
  wait_idle(chat)
  say('three')
  wait_idle(chat)
  local buf = chat.buf
  api.nvim_win_set_cursor(0, { 1, 0 })
  T.feed(']]')
  T.eq(api.nvim_buf_get_lines(buf, vim.fn.line('.') - 1, vim.fn.line('.'), false)[1], 'You said: one')
  T.feed(']]')
  T.eq(vim.fn.getline('.'), 'You said: two')
  T.feed('[[')
  T.eq(vim.fn.getline('.'), 'You said: one')
  T.feed('2]]')
  T.eq(vim.fn.getline('.'), 'You said: three')
  T.feed(']]')
  T.eq(vim.fn.getline('.'), 'You said: three', 'no reply after the last: stays')
end)

T.test('gr regenerates the last reply with the chat model, keeping what was typed', function()
  T.setup()
  local chat = new_chat()
  say('first')
  wait_idle(chat)
  say('second mock:chunks=3')
  wait_idle(chat)
  local n0 = #T.recorded()
  -- Something typed but not sent yet.
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_buf_set_lines(chat.buf, last - 1, last, false, { 'draft' })
  chat:set_model('zhipu/glm-4.6')
  chat.model = 'openai/other-model'
  chat:render_header()
  T.feed('gr')
  wait_idle(chat)
  local reqs = vim.list_slice(T.recorded(), n0 + 1)
  T.eq(#reqs, 1, 'one request')
  T.eq(reqs[1].json.model, 'other-model', "the chat's model")
  local msgs = reqs[1].json.messages
  T.eq(msgs[#msgs].content, 'second mock:chunks=3', 'same question again')
  T.eq(#chat.messages, 4, 'the old reply was replaced')
  local text = T.buf_text(chat.buf)
  local _, replies = text:gsub('\n## GLM\n', '')
  T.eq(replies, 2, 'two replies on screen: ' .. text)
  T.ok(text:match('## You\n\ndraft$'), 'draft kept: ' .. text)
end)

T.test('<C-l> clears the chat; the old conversation stays saved', function()
  T.setup()
  local chat = new_chat()
  say('remember me')
  wait_idle(chat)
  local old_id = chat.id
  T.feed('<C-l>')
  T.ok(chat.id ~= old_id, 'a new chat id')
  T.eq(#chat.messages, 0)
  local text = T.buf_text(chat.buf)
  T.ok(not text:find('remember me', 1, true), text)
  T.ok(text:match('## You\n\n$'), text)
  local titles = vim.tbl_map(function(it)
    return it.title
  end, require('glm.store').list())
  T.ok(vim.tbl_contains(titles, 'remember me'), 'old chat still saved')
  say('fresh start')
  wait_idle(chat)
  T.eq(#T.last_request().json.messages, 1, 'no old history sent')
end)

T.test('? shows the chat keys as configured', function()
  T.setup({ keymaps = { regenerate = '<leader>r' } })
  new_chat()
  T.feed('?')
  local buf = api.nvim_get_current_buf()
  T.ok(api.nvim_win_get_config(0).relative ~= '', 'a float')
  local text = T.buf_text(buf)
  T.contains(text, 'gy')
  T.contains(text, 'yank the code block')
  T.contains(text, '<leader>r')
  T.contains(text, ']]')
  T.contains(text, ':GlmChatRename')
  T.feed('q')
  T.eq(api.nvim_win_get_config(0).relative, '', 'closed')
end)

T.test(':GlmChatRename renames the chat and its file; outside a chat it picks a saved one', function()
  T.setup()
  local chat = new_chat()
  say('old title')
  wait_idle(chat)
  vim.cmd('GlmChatRename Better title')
  T.eq(chat.title, 'Better title')
  T.eq(api.nvim_buf_get_lines(chat.buf, 0, 1, false)[1], '# Better title')
  local data = vim.json.decode(table.concat(vim.fn.readfile(require('glm.store').path(chat.id)), '\n'))
  T.eq(data.title, 'Better title')
  -- From another buffer: pick it, type the title.
  vim.cmd('enew')
  local orig_select, orig_input = vim.ui.select, vim.ui.input
  vim.ui.select = function(items, _, cb)
    for _, it in ipairs(items) do
      if it.id == chat.id then
        return cb(it)
      end
    end
  end
  vim.ui.input = function(opts, cb)
    T.eq(opts.default, 'Better title')
    cb('Picked title')
  end
  local ok, err = pcall(vim.cmd, 'GlmChatRename')
  vim.ui.select, vim.ui.input = orig_select, orig_input
  T.ok(ok, err)
  T.eq(chat.title, 'Picked title', 'the open chat follows')
  local listed = vim.tbl_map(function(it)
    return it.title
  end, require('glm.store').list())
  T.ok(vim.tbl_contains(listed, 'Picked title'), vim.inspect(listed))
end)

T.test(':GlmChatDelete deletes the chat file and buffer (asks first, ! does not)', function()
  T.setup()
  local chat = new_chat()
  say('delete me')
  wait_idle(chat)
  local path = require('glm.store').path(chat.id)
  T.eq(vim.fn.filereadable(path), 1)
  local orig = vim.fn.confirm
  local asked
  vim.fn.confirm = function(msg)
    asked = msg
    return 2 -- No
  end
  vim.cmd('GlmChatDelete')
  T.contains(asked, 'delete me')
  T.eq(vim.fn.filereadable(path), 1, 'kept after No')
  vim.fn.confirm = function()
    return 1
  end
  vim.cmd('GlmChatDelete')
  vim.fn.confirm = orig
  T.eq(vim.fn.filereadable(path), 0, 'file gone')
  T.ok(not api.nvim_buf_is_valid(chat.buf), 'buffer gone')
  -- ! on a streaming chat: cancelled, not saved again.
  chat = new_chat()
  say('stream then delete mock:chunks=200,delay_ms=10')
  T.wait(function()
    return chat.reply and chat.reply.content ~= ''
  end, 5000)
  path = require('glm.store').path(chat.id)
  vim.cmd('GlmChatDelete!')
  vim.wait(300)
  T.eq(vim.fn.filereadable(path), 0, 'not re-created by the cancelled reply')
end)

T.test(':GlmModel in a chat changes that chat only; saved and shown in its header', function()
  T.setup()
  local chat = new_chat()
  local orig = vim.ui.select
  vim.ui.select = function(items, opts, cb)
    T.eq(opts.prompt, 'GLM model for this chat')
    for _, it in ipairs(items) do
      if it.id == 'zhipu/glm-4.6' then
        return cb(it)
      end
    end
  end
  local ok, err = pcall(function()
    vim.cmd('GlmModel')
    T.wait(function()
      return chat.model ~= nil
    end, 5000, 'chat model set')
  end)
  vim.ui.select = orig
  T.ok(ok, err)
  T.eq(chat.model, 'zhipu/glm-4.6')
  T.eq(require('glm').current_model(), nil, 'the global model is unchanged')
  T.contains(api.nvim_buf_get_lines(chat.buf, 1, 2, false)[1], 'model: zhipu/glm-4.6')
  -- Use a model the mock serves without a key: openai/...
  chat:set_model('openai/chat-only-model')
  say('which model')
  wait_idle(chat)
  T.eq(T.last_request().json.model, 'chat-only-model')
  -- Another chat and ask use the global model.
  local reply = require('glm').ask('global')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  T.eq(T.last_request().json.model, 'glm-4')
  -- Saved with the chat, back when reopened.
  local id = chat.id
  vim.cmd('bwipeout! ' .. chat.buf)
  local again = require('glm.chat').open_saved(require('glm.store').path(id))
  T.eq(again.model, 'openai/chat-only-model')
  T.contains(api.nvim_buf_get_lines(again.buf, 1, 2, false)[1], 'model: openai/chat-only-model')
end)

-- A 1x1 PNG.
local PNG = '\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137'
  .. '\0\0\0\rIDATx\218c\248\255\255?\0\5\254\2\254\167\53\129\132\0\0\0\0IEND\174B`\130'

local function write_png(name)
  local path = T.tmp .. '/' .. name
  local f = assert(io.open(path, 'wb'))
  f:write(PNG)
  f:close()
  return path
end

T.test('base64 matches base64(1) on the image bytes', function()
  local path = write_png('b64.png')
  local want = vim.fn.system({ 'base64', '-w0', path })
  T.eq(require('glm.image').base64(PNG), want)
  for _, s in ipairs({ '', 'a', 'ab', 'abc', 'abcd' }) do
    local f = io.open(T.tmp .. '/b64.txt', 'wb')
    f:write(s)
    f:close()
    T.eq(require('glm.image').base64(s), vim.fn.system({ 'base64', '-w0', T.tmp .. '/b64.txt' }), s)
  end
end)

T.test(':GlmImage attaches an image; a vision model gets it as a data: URL part', function()
  T.setup()
  local path = write_png('shot.png')
  local chat = new_chat()
  chat:set_model('openai/glm-4.5v')
  vim.cmd('GlmImage ' .. vim.fn.fnameescape(path))
  T.contains(T.buf_text(chat.buf), '![image](' .. path .. ')')
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_buf_set_lines(chat.buf, last - 1, last, false, { 'what is in this picture?' })
  T.feed('<CR>')
  T.wait(function()
    return #chat.messages == 2 and chat.reply == nil
  end, 5000, 'reply')
  local body = T.last_request().json
  local content = body.messages[#body.messages].content
  T.eq(type(content), 'table', 'parts')
  T.eq(content[1], { type = 'text', text = 'what is in this picture?' })
  T.eq(content[2].type, 'image_url')
  T.eq(content[2].image_url.url, 'data:image/png;base64,' .. require('glm.image').base64(PNG))
  T.eq(chat.messages[1].images, { { path = path } }, 'the path is kept, not the bytes')
  -- The next turn sends the image again with the history.
  say('and the colour?')
  wait_idle(chat)
  local msgs = T.last_request().json.messages
  T.eq(msgs[1].content[2].type, 'image_url')
  T.eq(msgs[3].content, 'and the colour?')
end)

T.test('a listed vision model (zhipu/glm-4v-flash) gets the image (bare base64 for Zhipu)', function()
  T.setup({ server = { config = { providers = { zhipu = { api_key = 'test-key' } } } } })
  local path = write_png('z.png')
  local chat = new_chat()
  chat:set_model('zhipu/glm-4v-flash')
  say('![image](' .. path .. ')\ndescribe')
  -- The model list is asked first (is it a vision model?), then the message goes.
  T.wait(function()
    return #chat.messages == 2 and chat.reply == nil
  end, 5000, 'reply')
  T.eq(chat.messages[2].status, 'done', vim.inspect(chat.messages[2]))
  local content = T.last_request().json.messages[1].content
  T.eq(content[1].text, 'describe')
  T.eq(content[2].image_url.url, require('glm.image').base64(PNG))
end)

T.test('an image for a model without vision is refused with a clear message, nothing sent', function()
  T.setup()
  local path = write_png('no.png')
  local chat = new_chat()
  local n0 = #T.recorded()
  say('![image](' .. path .. ')\nwhat is this')
  -- The model list is asked first; the refusal comes with its answer.
  T.wait(function()
    return #T.notes_at(vim.log.levels.ERROR) > 0
  end, 5000, 'refusal')
  vim.wait(100)
  T.eq(#T.recorded(), n0, 'nothing sent')
  T.eq(#chat.messages, 0)
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(#errs, 1, vim.inspect(T.notes))
  T.contains(errs[1], 'openai/glm-4 cannot read images')
  T.contains(errs[1], 'zhipu/glm-4v-flash')
  T.contains(T.buf_text(chat.buf), 'what is this', 'the message stays to edit')
  -- A missing file or a non-image is refused too.
  T.notes = {}
  T.eq(chat:attach_image(T.tmp .. '/none.png'), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], 'image not found')
  vim.fn.writefile({ 'x' }, T.tmp .. '/notes.txt')
  T.eq(chat:attach_image(T.tmp .. '/notes.txt'), false)
  T.contains(T.notes_at(vim.log.levels.ERROR)[2], 'not an image file')
end)

T.test('an image line inside an attached #file is not taken as an attachment', function()
  T.setup()
  local png = write_png('ctx.png')
  local md = T.tmp .. '/doc_with_image.md'
  vim.fn.writefile({ '# Doc', '![diagram](missing-diagram.png)' }, md)
  local chat = new_chat()
  chat:set_model('openai/glm-4.5v')
  say('![image](' .. png .. ')\ncompare with #file:' .. md)
  T.wait(function()
    return #chat.messages == 2 and chat.reply == nil
  end, 5000, 'reply')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0, vim.inspect(T.notes))
  local content = T.last_request().json.messages[1].content
  T.eq(#content, 2, 'text and one image')
  T.contains(content[1].text, 'compare with #file:')
  T.contains(content[1].text, '![diagram](missing-diagram.png)', 'the file is attached as text')
  T.ok(not content[1].text:find('![image](', 1, true), 'the typed image line became the image part')
end)
