-- Regression tests for the defects of issue 8 that are not about a float's scrolling (float_spec.lua)
-- or the screen (tests/e2e/*.sh).
local T = ...

local api = vim.api
local say, wait_idle = T.say, T.wait_reply
local uv = vim.uv or vim.loop

local function saved(chat)
  local text = table.concat(vim.fn.readfile(require('glm.store').path(chat.id)), '\n')
  return vim.json.decode(text)
end

-- Defect 2
T.test('<C-n> in a chat starts a new chat with a "## You" heading that can send', function()
  T.setup()
  vim.cmd('GlmChat!')
  local first = require('glm.chat').for_buf(api.nvim_get_current_buf())
  T.feed('<C-n>')
  local buf = api.nvim_get_current_buf()
  local chat = require('glm.chat').for_buf(buf)
  T.ok(chat and chat ~= first, 'a new chat in the window')
  T.ok(T.buf_text(buf):match('## You\n\n$'), 'input heading: ' .. vim.inspect(T.buf_text(buf)))
  -- Type in insert mode and send with <C-s>, as the user did.
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(buf), 0 })
  T.feed('Afrom the new chat<C-s>')
  vim.cmd('stopinsert')
  wait_idle(chat)
  T.contains(T.buf_text(buf), 'You said: from the new chat')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0, 'no error: ' .. vim.inspect(T.notes))
end)

-- Defect 3
T.test('a failed reply shows and saves the error message, not "?"', function()
  T.setup({ model = 'zhipu/glm-4' })
  vim.cmd('GlmChat!')
  local chat = say('no key for this')
  wait_idle(chat)
  local text = T.buf_text(chat.buf)
  T.contains(text, 'error: zhipu: no API key')
  T.contains(text, 'ZHIPUAI_API_KEY')
  T.ok(not text:find('error: ?', 1, true), text)
  local data = saved(chat)
  T.contains(data.messages[2].error, 'ZHIPUAI_API_KEY', 'saved message')
  -- Reopened from disk it reads the same.
  vim.cmd('bwipeout! ' .. chat.buf)
  local again = require('glm.chat').open_saved(require('glm.store').path(chat.id))
  T.contains(T.buf_text(again.buf), 'error: zhipu: no API key')
end)

T.test('an upstream 401 and a killed server show their messages in the chat', function()
  T.setup()
  vim.cmd('GlmChat!')
  local chat = say('rejected mock:error=401')
  wait_idle(chat)
  local text = T.buf_text(chat.buf)
  T.ok(text:match('%[openai/glm%-4 · error: [^?]'), text)
  T.ok(not text:find('error: ?', 1, true), text)
  local pid = require('glm.rpc').current().pid
  say('crash mock:chunks=300,delay_ms=10')
  T.wait(function()
    return chat.reply and chat.reply.content ~= ''
  end, 5000)
  uv.kill(pid, 'sigkill')
  wait_idle(chat)
  T.contains(T.buf_text(chat.buf), 'error: glm-server exited')
end)

-- Defect 7
local function pick_with(choose)
  local orig_select, orig_input = vim.ui.select, vim.ui.input
  local offered
  vim.ui.select = function(items, opts, cb)
    offered = vim.tbl_map(opts.format_item, items)
    cb(choose(items, offered))
  end
  vim.ui.input = function(_, cb)
    cb(choose(nil, nil))
  end
  local ok, err = pcall(function()
    vim.cmd('GlmModel')
    T.wait(function()
      return offered ~= nil
    end, 5000, 'model list')
    vim.wait(50) -- the choice is applied on the next tick (after a redraw)
  end)
  vim.ui.select, vim.ui.input = orig_select, orig_input
  T.ok(ok, err)
  return offered
end

T.test(':GlmModel marks the server default as current and offers a free entry', function()
  T.setup({ server = { config = { default_model = 'zhipu/glm-4.6' } } })
  local offered = pick_with(function()
    return nil
  end)
  local line
  for _, s in ipairs(offered) do
    if s:find('zhipu/glm-4.6', 1, true) and not s:find('glm-4.6v', 1, true) then
      line = s
    end
  end
  T.ok(line, vim.inspect(offered))
  T.ok(vim.startswith(line, '* '), 'current mark: ' .. line)
  T.contains(line, 'server default')
  T.contains(offered[#offered], 'other: type provider/model')
end)

T.test(':GlmModel "other" takes a typed openai/... model and uses it', function()
  T.setup()
  local step = 0
  pick_with(function(items)
    step = step + 1
    if items then
      return items[#items] -- "other"
    end
    return 'openai/my-local-glm'
  end)
  T.eq(require('glm').current_model(), 'openai/my-local-glm')
  local reply = require('glm').ask('which model')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  T.eq(T.last_request().json.model, 'my-local-glm', 'sent upstream')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0)
end)

T.test(':GlmModel rejects a typed model without a known provider', function()
  T.setup()
  pick_with(function(items)
    return items and items[#items] or 'nosuch/model'
  end)
  T.eq(require('glm').current_model(), nil, 'unchanged')
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(#errs, 1)
  T.contains(errs[1], "'nosuch/model' is not provider/model")
end)

T.test('the model picked is kept (0600, stdpath data) unless setup() sets one', function()
  T.setup()
  pick_with(function(items)
    for _, it in ipairs(items) do
      if it.id == 'zhipu/glm-4.6' then
        return it
      end
    end
  end)
  T.eq(require('glm').current_model(), 'zhipu/glm-4.6')
  local path = vim.fn.stdpath('data') .. '/glm/model.json'
  T.eq(vim.fn.getfperm(path), 'rw-------', 'file mode')
  -- A restart: the pick comes back...
  require('glm.model')._restart()
  T.eq(require('glm').current_model(), 'zhipu/glm-4.6', 'kept across a restart')
  -- ...unless setup() names a model.
  require('glm.model')._restart()
  T.setup({ model = 'openai/glm-4' })
  T.eq(require('glm').current_model(), 'openai/glm-4', 'setup() wins')
end)

-- Defect 8
T.test('chats continued from :GlmExplain are titled with the file and the function or lines', function()
  T.setup()
  local path = T.tmp .. '/titles.py'
  local src = { 'import math', '', 'def hyp(a, b):', '    return math.sqrt(a * a + b * b)', '', 'x = 1', 'y = 2' }
  vim.fn.writefile(src, path)
  vim.cmd('silent edit ' .. vim.fn.fnameescape(path))
  local titles = {}
  for _, range in ipairs({ { 3, 4 }, { 6, 7 } }) do
    local reply = require('glm').explain({ range = range })
    T.wait(function()
      return reply.status ~= 'streaming'
    end, 5000)
    T.feed('c')
    local chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
    T.ok(chat, 'in a chat')
    titles[#titles + 1] = chat.title
    vim.cmd('only')
    vim.cmd('silent buffer ' .. vim.fn.bufnr(path))
  end
  T.eq(titles, { 'Explain hyp() in titles.py', 'Explain titles.py:6-7' })
  local listed = vim.tbl_map(function(it)
    return it.title
  end, require('glm.store').list())
  T.ok(vim.tbl_contains(listed, 'Explain hyp() in titles.py'), vim.inspect(listed))
  T.ok(not vim.tbl_contains(listed, 'Explain this code.'), 'no generic titles')
end)

-- Defect 9
T.test('[cancelled] names the model when the server default was used', function()
  T.setup()
  vim.cmd('GlmChat!')
  local chat = say('go on mock:chunks=300,delay_ms=10')
  T.wait(function()
    return chat.reply and chat.reply.content ~= ''
  end, 5000)
  chat:cancel()
  wait_idle(chat)
  T.contains(T.buf_text(chat.buf), '[openai/glm-4 · cancelled]')
end)

T.test("initialize sends the plugin version (the project version), not Neovim's", function()
  T.setup()
  local reply = require('glm').ask('hello')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  local cmake = table.concat(vim.fn.readfile(T.root .. '/CMakeLists.txt'), '\n')
  local version = cmake:match('project%(glm%-server VERSION ([%d%.]+)')
  T.eq(require('glm.version'), version, 'lua/glm/version.lua matches CMakeLists.txt')
  local log = table.concat(vim.fn.readfile(require('glm.config').log_file()), '\n')
  T.contains(log, 'client: glm.nvim ' .. version)
end)

T.test('chat buffers have readable names (tab labels), without slashes', function()
  T.setup()
  vim.cmd('GlmChat!')
  local chat = say('name me please')
  wait_idle(chat)
  local name = vim.fn.bufname(chat.buf)
  T.ok(not name:find('/', 1, true), 'no path separators: ' .. name)
  T.contains(name, 'GLM')
  T.contains(name, 'name me please')
  -- The label Neovim's default tabline shows for it.
  vim.cmd('tab split')
  local label = vim.fn.pathshorten(vim.fn.bufname(vim.fn.tabpagebuflist()[vim.fn.tabpagewinnr(vim.fn.tabpagenr())]))
  T.contains(label, 'name me please')
  vim.cmd('tabclose')
end)

T.test('a dropped connection is said in a sentence, and the partial answer is kept', function()
  T.setup()
  vim.cmd('GlmChat!')
  local chat = say('drop mock:chunks=20,delay_ms=5,drop_after=5')
  wait_idle(chat)
  local rec = chat.messages[#chat.messages]
  T.eq(rec.status, 'error')
  T.contains(rec.content, 'tok4 ', 'partial text kept')
  T.eq(rec.error, 'the connection to openai dropped; the partial answer was kept')
  local text = T.buf_text(chat.buf)
  T.contains(text, 'the connection to openai dropped; the partial answer was kept')
  T.ok(not text:lower():find('transferred', 1, true), text)
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(errs, { 'glm: the connection to openai dropped; the partial answer was kept' })
end)

-- Issue 11, defect 8 (Lua half)
T.test('saved chats are 0600 in 0700 directories', function()
  T.setup()
  local data = vim.fn.stdpath('data')
  -- An older version left the directory world-readable.
  vim.fn.mkdir(data .. '/glm/chats', 'p', 493)
  vim.loop.fs_chmod(data .. '/glm', 493)
  vim.loop.fs_chmod(data .. '/glm/chats', 493)
  vim.cmd('GlmChat!')
  local chat = say('private please')
  wait_idle(chat)
  T.eq(vim.fn.getfperm(require('glm.store').path(chat.id)), 'rw-------', 'chat file')
  T.eq(vim.fn.getfperm(data .. '/glm/chats'), 'rwx------', 'chat dir')
  T.eq(vim.fn.getfperm(data .. '/glm'), 'rwx------', 'glm dir')
  -- A new directory is created private too.
  T.reset()
  T.setup({ chat = { dir = T.tmp .. '/fresh/chats' } })
  vim.cmd('GlmChat!')
  chat = say('in a new dir')
  wait_idle(chat)
  T.eq(vim.fn.getfperm(T.tmp .. '/fresh/chats'), 'rwx------', 'new chat dir')
  T.eq(vim.fn.getfperm(T.tmp .. '/fresh'), 'rwx------', 'new parent dir')
  T.eq(vim.fn.getfperm(require('glm.store').path(chat.id)), 'rw-------', 'chat file')
end)

-- Defect 10
T.test(':checkhealth glm shows the config file, base URLs, default and current model', function()
  local path = T.tmp .. '/server-config.json'
  vim.fn.writefile({ '{"providers":{"dashscope":{"base_url":"http://127.0.0.1:1/dash"}}}' }, path)
  T.setup({ server = { args = { '--config', path } } })
  vim.cmd('silent checkhealth glm')
  local text = T.buf_text(api.nvim_get_current_buf())
  T.contains(text, 'config file: ' .. path)
  T.contains(text, 'provider dashscope: http://127.0.0.1:1/dash')
  T.contains(text, ('provider openai: http://127.0.0.1:%d/v1'):format(T.port))
  T.contains(text, "server's default model: openai/glm-4")
  T.contains(text, "current model: openai/glm-4 (the server's default_model)")
  T.ok(not text:find('ERROR', 1, true), text)
  -- Without a file, and with a model picked in setup().
  T.reset()
  T.setup({ model = 'zhipu/glm-4.6' })
  vim.cmd('silent checkhealth glm')
  text = T.buf_text(api.nvim_get_current_buf())
  T.contains(text, 'config file: none')
  T.contains(text, "current model: zhipu/glm-4.6 (setup()'s model)")
end)
