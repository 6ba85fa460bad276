-- Regression tests for the plugin items of issue 15 ("first contact") and issue 16 item 6.
local T = ...

local api = vim.api

-- Issue 16.6: attachment paths are text; nothing in a message is evaluated (no `=expr`, no shell).
T.test('#file: and image paths are text: a backtick expression in a message runs nothing', function()
  local marks = { T.tmp .. '/evaluated_file', T.tmp .. '/evaluated_image', T.tmp .. '/evaluated_shell' }
  for _, m in ipairs(marks) do
    os.remove(m)
  end
  local ctx = require('glm.context')
  local content, err = ctx.expand(("see #file:`=writefile(['x'],'%s')`"):format(marks[1]), nil, {})
  T.ok(content == nil and err:find('no such file', 1, true), 'an error, not an attachment: ' .. tostring(err))
  content, err = ctx.expand(('see #file:`touch${IFS}%s`'):format(marks[3]), nil, {})
  T.ok(content == nil, 'shell backticks are a file name: ' .. tostring(err))
  local ok, ierr = require('glm.image').extract(("![image](`=writefile(['x'],'%s')`)"):format(marks[2]))
  T.ok(not ok and ierr:find('image not found', 1, true), 'image: ' .. tostring(ierr))
  for _, m in ipairs(marks) do
    T.eq(vim.fn.filereadable(m), 0, 'not created: ' .. m)
  end
  -- A leading ~ still means the home directory.
  local home = os.getenv('HOME')
  local name = 'glm_tilde_' .. vim.fn.getpid() .. '.txt'
  vim.fn.writefile({ 'tilde' }, home .. '/' .. name)
  content = ctx.expand('see #file:~/' .. name, nil, {})
  os.remove(home .. '/' .. name)
  T.ok(content and content:find('tilde', 1, true), '~ expanded: ' .. tostring(content))
end)

local function float_buf()
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(w).relative ~= '' then
      return api.nvim_win_get_buf(w), w
    end
  end
end

-- Issue 15.6: the tests action's answer goes in below the code it tests, never in its place.
T.test('tests action: ga inserts the tests below the range, the function stays', function()
  T.setup()
  local src = { 'function add(a, b) {', '  return a + b;', '}', '', 'console.log(add(1, 2));' }
  local buf = T.open_file('fc_tests.js', src)
  local answer =
    T.fixture('fc_tests_answer.md', "Tests:\n\n```javascript\ntest('add', () => expect(add(1, 2)).toBe(3));\n```")
  vim.cmd('1,3GlmAction tests mock:reply_file=' .. answer)
  T.wait_idle()
  local fbuf = T.ok(float_buf(), 'a float')
  T.contains(T.buf_text(fbuf), 'ga insert the code below')
  T.feed('ga')
  T.ok(require('glm.preview').current(), 'a preview')
  T.feed('ga')
  T.eq(T.lines(buf), {
    'function add(a, b) {',
    '  return a + b;',
    '}',
    "test('add', () => expect(add(1, 2)).toBe(3));",
    '',
    'console.log(add(1, 2));',
  })
end)

-- Issue 15.6: an answer that ended without one offers only to close it; the other keys do nothing.
T.test('error and cancelled floats offer only close; c and ga do not act there', function()
  T.setup({ model = 'zhipu/glm-4' }) -- no key for zhipu
  T.open_file('fc_err.lua', { 'local x = 1' })
  local reply = require('glm').ask('hello')
  T.wait_idle()
  T.eq(reply.status, 'error')
  local fbuf, fwin = float_buf()
  T.ok(fbuf, 'a float')
  local text = T.buf_text(fbuf)
  T.contains(text, 'no API key')
  T.ok(not text:find('continue in a chat', 1, true), 'no chat offered: ' .. text)
  T.ok(not text:find('apply', 1, true), 'no apply offered: ' .. text)
  T.contains(text, 'q close')
  api.nvim_set_current_win(fwin)
  pcall(T.feed, 'ga')
  T.ok(not require('glm.preview').current(), 'ga opened no preview')
  pcall(T.feed, 'c')
  T.eq(api.nvim_get_current_buf(), fbuf, 'c opened no chat')
  -- Cancelled: the same.
  T.setup()
  reply = require('glm').ask('slow mock:chunks=50,delay_ms=50')
  fbuf = float_buf()
  T.wait(function()
    return reply.content ~= ''
  end, 5000, 'first token')
  reply:cancel()
  T.wait_idle()
  T.eq(reply.status, 'cancelled')
  text = T.buf_text(fbuf)
  T.ok(not text:find('continue in a chat', 1, true), 'no chat offered: ' .. text)
end)

-- Issue 15.7: the server's config file is re-read when it changes; :GlmRestart does it on demand.
T.test('config file: a change restarts the server with it, a broken one keeps the old; :GlmRestart', function()
  local rpc = require('glm.rpc')
  local dir = os.getenv('XDG_CONFIG_HOME') .. '/glm-server'
  local path = dir .. '/config.json'
  vim.fn.mkdir(dir, 'p')
  local function write(text)
    vim.fn.writefile({ text }, path)
  end
  local function said(text, level)
    local found = vim.wait(5000, function()
      for _, n in ipairs(T.notes) do
        if n.msg:find(text, 1, true) and (not level or n.level == level) then
          return true
        end
      end
    end, 5)
    T.ok(found, 'message ' .. text .. ' in ' .. vim.inspect(T.notes))
  end
  local function model_used()
    local reply = require('glm').ask('which model')
    T.wait_idle()
    T.eq(reply.status, 'done', 'answered')
    return T.last_request().json.model
  end
  write('{"default_model": "openai/from-file"}')
  rpc._poll_ms = 50
  local opts = T.config()
  opts.server.config.default_model = nil
  T.ok(require('glm').setup(opts))
  local ok, err = pcall(function()
    T.eq(model_used(), 'from-file')
    -- A change while an answer streams: the answer ends on the old server, the next uses the new.
    local slow = require('glm').ask('slow mock:chunks=20,delay_ms=30')
    write('{"default_model": "openai/changed"}')
    said('glm: config.json re-read; default model openai/changed')
    T.wait_idle()
    T.eq(slow.status, 'done', 'the answer in flight finished')
    T.eq(model_used(), 'changed')
    -- A broken file: a clear error, and the running server goes on.
    write('{"default_model": ')
    said('glm: config.json changed, but glm-server did not start: ', vim.log.levels.ERROR)
    said('config.json: invalid JSON', vim.log.levels.ERROR)
    said('the running server keeps the previous configuration', vim.log.levels.ERROR)
    T.eq(model_used(), 'changed')
    write('{"default_model": "openai/third"}')
    said('default model openai/third')
    T.notes = {}
    vim.cmd('GlmRestart')
    said('glm: glm-server restarted; default model openai/third')
  end)
  os.remove(path)
  if ok then
    said('config.json removed') -- before the next test
  end
  rpc._poll_ms = 1000
  assert(ok, err)
end)

-- Issue 15: :checkhealth glm names the binary to put in another editor's LSP config.
T.test(':checkhealth glm prints the glm-server path for an LSP config (installed, else the build)', function()
  local function health()
    vim.cmd('silent checkhealth glm')
    local text = T.buf_text(api.nvim_get_current_buf())
    vim.cmd('silent! bwipeout!')
    return text
  end
  T.setup()
  local home = os.getenv('HOME')
  local fake = T.tmp .. '/home'
  vim.fn.mkdir(fake .. '/.local/bin', 'p')
  vim.env.HOME = fake
  local ok, err = pcall(function()
    local text = health()
    T.contains(text, 'glm-server for an LSP config: ' .. vim.fn.fnamemodify(T.server, ':p'))
    T.contains(text, 'make install')
    -- Installed (`make install`, PREFIX ~/.local): that path, which survives plugin updates.
    vim.fn.writefile({ '#!/bin/sh', 'exec ' .. T.server .. ' "$@"' }, fake .. '/.local/bin/glm-server')
    vim.fn.setfperm(fake .. '/.local/bin/glm-server', 'rwxr-xr-x')
    text = health()
    T.contains(text, 'glm-server for an LSP config: ' .. fake .. '/.local/bin/glm-server\n')
    T.contains(text, ("cmd = { '%s/.local/bin/glm-server', '--lsp' }"):format(fake))
  end)
  vim.env.HOME = home
  assert(ok, err)
end)

-- Issue 15.8: "1 line", not "1 lines".
T.test('attachment summaries say "1 line"', function()
  local path = T.fixture('fc_one_line.txt', 'only')
  local _, attachments = require('glm.context').expand('see #file:' .. path, nil, {})
  T.contains(attachments[1].summary, ', 1 line')
  T.ok(not attachments[1].summary:find('1 lines', 1, true), attachments[1].summary)
end)

-- Issue 15.8: :GlmComplete status answers in a sentence (it said "off (complete.enabled); idle").
T.test(':GlmComplete status says whether completion runs here and why, in a sentence', function()
  T.ok(require('glm').setup({ complete = { filetypes = { python = true } } }))
  vim.cmd('enew!')
  vim.cmd('GlmComplete status')
  T.eq(T.notes[#T.notes].msg, 'glm: completion is off in this buffer (set by complete.enabled)')
  vim.bo.filetype = 'python'
  vim.cmd('GlmComplete status')
  T.eq(T.notes[#T.notes].msg, 'glm: completion is on in this buffer (set by complete.filetypes)')
  require('glm').setup({})
end)

-- Issue 15.8: the help's install section is right: `make deps` installs, the plugin specs name the owner.
T.test('doc/glm.txt: make deps installs; the lazy.nvim and packer specs name glm-nvim/glm.nvim', function()
  local doc = table.concat(vim.fn.readfile(T.root .. '/doc/glm.txt'), '\n')
  T.ok(not doc:find('`make deps` prints', 1, true), 'make deps installs, it does not print')
  T.contains(doc, "{ 'glm-nvim/glm.nvim', build = 'make'")
  T.contains(doc, "use { 'glm-nvim/glm.nvim', run = 'make'")
end)

-- Issue 15.8: a chat started from a range is titled by what the user wrote (else the file and range),
-- not by the "`path` lines a-b:" line :[range]GlmChat puts first in the message.
T.test('a chat from a range is titled with the question, else the file and lines', function()
  T.setup()
  local _, win = T.open_file('fc_title.lua', { 'local a = 1', 'local b = 2', 'return a + b' })
  vim.cmd('1,2GlmChat!')
  local chat = T.say('why two locals?')
  T.wait_reply(chat)
  T.eq(chat.title, 'why two locals?')
  T.eq(api.nvim_buf_get_lines(chat.buf, 0, 1, false)[1], '# why two locals?', 'the header on screen')
  api.nvim_set_current_win(win)
  vim.cmd('2,3GlmChat!')
  chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
  chat:send()
  T.wait_reply(chat)
  T.eq(chat.title, vim.fn.fnamemodify(T.tmp .. '/fc_title.lua', ':~:.') .. ' lines 2-3')
end)

-- Issue 15.8: the diff preview has room for the diff when the code window shares the screen with a chat.
T.test('apply from a chat split: the whole diff is in view, not 7 rows of it', function()
  T.setup()
  local lines0 = vim.o.lines
  vim.o.lines = 36
  local ok, err = pcall(function()
    local src = {}
    for i = 1, 30 do
      src[i] = ('local v%d = %d'):format(i, i)
    end
    T.open_file('fc_preview.lua', src)
    vim.api.nvim_win_set_cursor(0, { 15, 0 })
    local code = {}
    for i = 1, 9 do
      code[i] = ('local n%d = %d'):format(i, i)
    end
    local answer = T.fixture('fc_preview.md', '```lua\n' .. table.concat(code, '\n') .. '\n```')
    vim.cmd('GlmChat!') -- a split below the code window
    local chat = T.say('constants? mock:reply_file=' .. answer)
    T.wait_reply(chat)
    T.feed('ga')
    local p = T.ok(require('glm.preview').current(), 'a preview')
    vim.cmd('redraw')
    for _, w in ipairs({ p.orig_win, p.prop_win }) do
      T.eq(vim.fn.line('w0', w), 1, 'top line')
    end
    T.eq(vim.fn.line('w$', p.prop_win), api.nvim_buf_line_count(p.prop_buf), 'the last line of the proposal in view')
    T.ok(api.nvim_win_get_height(p.prop_win) >= 12, 'height ' .. api.nvim_win_get_height(p.prop_win))
    p:reject()
  end)
  vim.o.lines = lines0
  assert(ok, err)
end)

-- Issue 15.8: before the first token a reply shows "thinking…" (not a bare heading or an empty float);
-- the first token replaces it, and it is never text of the buffer.
T.test('a "thinking…" placeholder stands where the reply will be until its first token', function()
  T.setup()
  vim.cmd('GlmChat!')
  local buf = api.nvim_get_current_buf()
  local chat = T.say('hello mock:stall_first_ms=600')
  local function screen_text()
    vim.cmd('redraw')
    local rows = {}
    for r = 1, vim.o.lines - 1 do
      local s = {}
      for c = 1, vim.o.columns do
        s[#s + 1] = vim.fn.screenstring(r, c)
      end
      rows[#rows + 1] = table.concat(s)
    end
    return table.concat(rows, '\n')
  end
  T.wait(function()
    return chat.reply ~= nil
  end, 2000, 'reply started')
  T.contains(screen_text(), '## GLM')
  T.ok(screen_text():find('\nthinking…', 1, true), 'placeholder on screen:\n' .. screen_text())
  T.ok(not T.buf_text(buf):find('thinking…', 1, true), 'not in the buffer')
  T.wait_reply(chat)
  T.ok(not screen_text():find('thinking…', 1, true), 'gone once the answer came:\n' .. screen_text())
  T.contains(T.buf_text(buf), 'You said: hello')
  -- An ask float: the placeholder is in its buffer's marks from the start, gone at the end.
  local reply, f = require('glm').ask('hi mock:stall_first_ms=400')
  local marks = api.nvim_buf_get_extmarks(f.buf, require('glm.view').wait_ns, 0, -1, {})
  T.eq(#marks, 1, 'a placeholder in the float')
  T.wait_idle()
  T.eq(reply.status, 'done')
  T.eq(#api.nvim_buf_get_extmarks(f.buf, require('glm.view').wait_ns, 0, -1, {}), 0, 'gone')
end)
