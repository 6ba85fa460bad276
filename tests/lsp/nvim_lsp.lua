-- Neovim's built-in LSP client (0.7.2 API: vim.lsp.start_client, omnifunc, code actions,
-- executeCommand) against `glm-server --lsp` and glm-mock-provider. Run by tests/lsp/run_nvim.sh:
--   nvim --headless -u NONE -i NONE -n -c "luafile tests/lsp/nvim_lsp.lua"
-- Environment: GLM_TEST_SERVER, GLM_TEST_MOCK, GLM_TEST_TMP. Prints "ok: <name>" per check and exits
-- non-zero on the first failure. The client config is the one docs/lsp.md gives for Neovim 0.7-0.10.
local server = assert(os.getenv('GLM_TEST_SERVER'))
local mock = assert(os.getenv('GLM_TEST_MOCK'))
local tmp = assert(os.getenv('GLM_TEST_TMP'))

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end

local function fail(msg)
  out('FAIL: ' .. msg)
  vim.cmd('cquit 1')
end

local function check(cond, what)
  if not cond then
    fail(what)
  end
  out('ok: ' .. what)
end

local function wait(cond, what, ms)
  if not vim.wait(ms or 10000, cond, 10) then
    fail('timed out waiting for ' .. what)
  end
end

-- The mock provider.
local port
vim.fn.jobstart({ mock, '--lifetime-s', '300' }, {
  on_stdout = function(_, data)
    for _, l in ipairs(data) do
      port = port or tonumber(l:match('^PORT (%d+)') or '')
    end
  end,
})
wait(function()
  return port ~= nil
end, 'the mock provider')

-- ---- the docs/lsp.md snippet (Neovim 0.7-0.10) -------------------------------------------------
local capabilities = vim.lsp.protocol.make_client_capabilities()
-- Neovim < 0.8 has no window/showDocument handler: this one opens GLM's answers in a split.
capabilities.window.showDocument = { support = true }
local function with_text(field, prompt)
  return function(command, ctx)
    vim.ui.input({ prompt = prompt }, function(text)
      if not text or text == '' then
        return
      end
      local args = vim.deepcopy(command.arguments[1])
      args[field] = text
      vim.lsp.get_client_by_id(ctx.client_id).request(
        'workspace/executeCommand',
        { command = command.command, arguments = { args } },
        nil,
        ctx.bufnr
      )
    end)
  end
end
local client_id = vim.lsp.start_client({
  name = 'glm',
  cmd = { server, '--lsp' },
  root_dir = tmp,
  capabilities = capabilities,
  init_options = {
    config = {
      default_model = 'openai/glm-4',
      providers = {
        openai = { base_url = ('http://127.0.0.1:%d/v1'):format(port) },
        zhipu = { base_url = ('http://127.0.0.1:%d/api/paas/v4'):format(port), api_key = 'zk-test.secret' },
      },
    },
  },
  handlers = {
    ['window/showDocument'] = function(_, result)
      vim.cmd('split ' .. vim.fn.fnameescape(vim.uri_to_fname(result.uri)))
      return { success = true }
    end,
  },
  commands = {
    ['glm.ask'] = with_text('question', 'Ask GLM: '),
    ['glm.rewrite'] = with_text('instruction', 'Rewrite how? '),
  },
})
-- --------------------------------------------------------------------------------------------------
check(client_id ~= nil, 'start_client')
-- Test instrumentation: record the work-done progress the client receives, then let Neovim handle it.
local progress = {}
local default_progress = vim.lsp.handlers['$/progress']
vim.lsp.handlers['$/progress'] = function(err, result, ctx, config)
  if result and result.value then
    progress[#progress + 1] = result.value
  end
  return default_progress(err, result, ctx, config)
end

local file = tmp .. '/demo.lua'
-- The mock's CodeGeeX answer is what follows "mock-reply:" in the text before the cursor.
vim.fn.writefile({ '-- 注释 😀 mock-reply:d(1, 2)', 'local function add(a, b)', '  return a + b', 'end', 'local total = ad' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client_id)
wait(function()
  local c = vim.lsp.get_client_by_id(client_id)
  return c and c.initialized
end, 'initialize')
local client = vim.lsp.get_client_by_id(client_id)
check(client.server_capabilities == nil or true, 'initialized')
check(client.offset_encoding == 'utf-16', 'position encoding utf-16 (Neovim 0.7 offers no other)')

-- An edit after the multi-byte line reaches the server through incremental sync.
vim.api.nvim_buf_set_text(buf, 0, #'-- 注释 😀', 0, #'-- 注释 😀', { ' edited' })

-- 1. Completion through omnifunc, in insert mode at the end of "local total = ad".
vim.bo[buf].omnifunc = 'v:lua.vim.lsp.omnifunc'
-- As most LSP users set it: a menu even for one item, nothing inserted until it is accepted.
vim.o.completeopt = 'menuone,noinsert'
vim.api.nvim_win_set_cursor(0, { 5, #'local total = ad' })
-- Omnifunc completion is asynchronous: the menu appears while Neovim sits in insert mode waiting for
-- keys. A timer plays the user: once the menu shows, it reads it and accepts the item (or gives up).
local function keys(k)
  return vim.api.nvim_replace_termcodes(k, true, false, true)
end
local info = { items = {} }
local uv = vim.uv or vim.loop
local deadline = uv.now() + 10000
local poll = uv.new_timer()
poll:start(
  20,
  20,
  vim.schedule_wrap(function()
    if vim.fn.pumvisible() == 1 then
      poll:stop()
      info = vim.fn.complete_info({ 'items', 'selected' })
      -- The first item is inserted already unless 'completeopt' says noinsert/noselect.
      vim.api.nvim_feedkeys(keys((info.selected == 0 and '' or '<C-n>') .. '<C-y><Esc>'), 'n', false)
    elseif uv.now() > deadline then
      poll:stop()
      vim.api.nvim_feedkeys(keys('<Esc>'), 'n', false)
    end
  end)
)
vim.api.nvim_feedkeys(keys('A<C-x><C-o>'), 'x!', false)
poll:close()
check(#info.items == 1, 'one completion item')
out('item: ' .. vim.inspect(info.items[1] and info.items[1].word))
local line5 = vim.api.nvim_buf_get_lines(buf, 4, 5, false)[1]
check(line5 == 'local total = add(1, 2)', 'the completion was inserted: ' .. line5)

-- 2. Explain through a code action and executeCommand; the answer opens in a split.
local function pick(title)
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local t = opts.format_item and opts.format_item(item) or tostring(item)
      if t:find(title, 1, true) then
        return on_choice(item, i)
      end
    end
    fail('no code action ' .. title)
  end
end
local wins = #vim.api.nvim_list_wins()
vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
pick('GLM: Explain')
vim.lsp.buf.range_code_action({ diagnostics = {} }, { 2, 0 }, { 4, 3 })
wait(function()
  return #vim.api.nvim_list_wins() > wins
end, 'the explanation window')
local answer = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_get_current_buf(), 0, -1, false), '\n')
check(answer:find('# GLM: Explain: `demo.lua` lines 2-4', 1, true), 'the answer document has its title')
check(answer:find('return a + b', 1, true), 'the answer quotes the selection (mock echo)')
check(vim.api.nvim_buf_get_name(0):find('glm%-server/answers/'), 'the answer lives in the cache directory')
vim.cmd('close')

-- Progress was reported while the answer streamed: begin (GLM: Explain), the text so far, end. (The
-- end may arrive just after the document opened.)
wait(function()
  return #progress > 0 and progress[#progress].kind == 'end'
end, 'the end of the progress')
check(#progress >= 2 and progress[1].kind == 'begin' and progress[1].title == 'GLM: Explain', 'progress began')
check(progress[#progress].kind == 'end' and progress[#progress].message == 'done', 'progress ended')

-- 3. Rewrite: the client-side command asks for the instruction; the server applies the edit.
vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
local reply = tmp .. '/rewrite-reply.txt'
vim.fn.writefile({ 'Here is the rewritten line:', '', '```lua', '  return (a + b) -- summed', '```', '', 'Done.' }, reply)
vim.ui.input = function(_, on_confirm)
  on_confirm('mock:reply_file=' .. reply)
end
pick('GLM: Rewrite')
local tick = vim.api.nvim_buf_get_changedtick(buf)
vim.lsp.buf.range_code_action({ diagnostics = {} }, { 3, 0 }, { 3, 14 })
wait(function()
  return vim.api.nvim_buf_get_changedtick(buf) ~= tick
end, 'the rewrite edit')
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
check(lines[3] == '  return (a + b) -- summed', 'the selection was rewritten: ' .. vim.inspect(lines[3]))
check(lines[1] == '-- 注释 😀 edited mock-reply:d(1, 2)' and lines[2] == 'local function add(a, b)', 'the rest is untouched')

vim.lsp.stop_client(client_id)
out('all passed')
vim.cmd('qall!')
