-- :GlmEdit: the model's rewrite streams into a diff preview, cleaned of fences and prose by the server's
-- `edit` method (its cleaning rules: tests/unit/test_core_extract.cpp), and is applied (one undo step)
-- or rejected.
local T = ...

local api = vim.api
local fixture, lines, wait_idle = T.fixture, T.lines, T.wait_idle

local SOURCE = {
  'def mean(xs):',
  '    total = 0',
  '    for x in xs:',
  '        total += x',
  '    return total / len(xs)',
  '',
  'print(mean([1, 2, 3]))',
}

-- What models really send back despite "code only": a sentence, a fence, a note.
local FENCED = table.concat({
  "Here's the rewritten function:",
  '',
  '```python',
  'def mean(xs):',
  '    if not xs:',
  '        return 0.0',
  '    return sum(xs) / len(xs)',
  '```',
  '',
  'This handles the empty list and uses the built-in sum().',
}, '\n')

local function open_source()
  return T.open_file('edit_src.py', SOURCE)
end

local EXPECTED = {
  'def mean(xs):',
  '    if not xs:',
  '        return 0.0',
  '    return sum(xs) / len(xs)',
}

T.test(':GlmEdit streams a cleaned rewrite into a diff; accept applies it as one undo step', function()
  T.setup()
  local buf, win = open_source()
  local answer = fixture('edit_fenced.md', FENCED)
  local n0 = #T.recorded()
  vim.cmd('1,5GlmEdit handle empty lists mock:reply_file=' .. answer .. ',delay_ms=5')
  local p = T.ok(require('glm.preview').current(), 'preview opened at once')
  T.ok(p.streaming, 'streaming')
  T.ok(api.nvim_win_get_option(p.prop_win, 'diff') and api.nvim_win_get_option(p.orig_win, 'diff'), 'diff mode')
  -- While it streams, the proposal never shows the prose or a fence.
  local seen_partial = false
  T.wait(function()
    local text = table.concat(p:lines(), '\n')
    T.ok(not text:find('```', 1, true), 'no fence while streaming: ' .. text)
    T.ok(not text:find("Here's", 1, true), 'no prose while streaming: ' .. text)
    if text ~= '' and p.streaming then
      seen_partial = true
    end
    return not p.streaming
  end, 8000, 'end of stream')
  T.ok(seen_partial, 'the proposal grew while streaming')
  wait_idle()
  T.eq(p:lines(), EXPECTED, 'cleaned: code only')
  T.eq(lines(buf), SOURCE, 'source untouched before accept')
  -- The request asked for code only and carried the lines to rewrite.
  local req = vim.list_slice(T.recorded(), n0 + 1)[1].json
  T.contains(req.messages[1].content, 'code editing engine')
  T.contains(req.messages[1].content, 'one fenced code block')
  T.contains(req.messages[2].content, 'Instruction: handle empty lists')
  T.contains(req.messages[2].content, 'Rewrite this code')
  T.contains(req.messages[2].content, '```python\ndef mean(xs):\n    total = 0')
  T.contains(req.messages[2].content, 'print(mean([1, 2, 3]))', 'the lines after, for reference')
  -- The diff marks the new line.
  local hl = api.nvim_win_call(p.prop_win, function()
    return vim.fn.diff_hlID(2, 1)
  end)
  T.ok(hl ~= 0, 'diff highlight on the proposal')
  api.nvim_set_current_win(p.prop_win)
  T.feed('ga')
  T.ok(p.closed, 'closed on accept')
  T.eq(api.nvim_get_current_win(), win)
  local want = vim.list_extend(vim.deepcopy(EXPECTED), { '', 'print(mean([1, 2, 3]))' })
  T.eq(lines(buf), want, 'applied')
  vim.cmd('silent undo')
  T.eq(lines(buf), SOURCE, 'one undo restores')
  vim.cmd('silent redo')
  T.eq(lines(buf), want, 'redo re-applies')
end)

T.test(':GlmEdit reject leaves the buffer as it was', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('edit_fenced2.md', FENCED)
  vim.cmd('1,5GlmEdit handle empty lists mock:reply_file=' .. answer)
  local p = require('glm.preview').current()
  wait_idle()
  local tick = api.nvim_buf_get_changedtick(buf)
  T.feed('gr')
  T.ok(p.closed)
  T.eq(lines(buf), SOURCE)
  T.eq(api.nvim_buf_get_changedtick(buf), tick)
  T.eq(#api.nvim_list_wins(), 1)
end)

T.test('accept while the edit still streams waits; rejecting mid-stream cancels the request', function()
  T.setup()
  local buf = open_source()
  local long = {}
  for i = 1, 60 do
    long[i] = ('x_%d = %d'):format(i, i)
  end
  local answer = fixture('edit_long.txt', table.concat(long, '\n'))
  local reply, p = require('glm').edit('slow mock:reply_file=' .. answer .. ',delay_ms=20', { range = { 1, 5 } })
  T.wait(function()
    return reply.content ~= ''
  end, 5000, 'first tokens')
  T.feed('ga')
  T.ok(not p.closed, 'not accepted while streaming')
  T.eq(lines(buf), SOURCE)
  T.contains(T.notes_at(vim.log.levels.WARN)[1], 'still streaming')
  T.feed('gr')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 3000, 'request to end')
  T.eq(reply.status, 'cancelled')
  T.eq(lines(buf), SOURCE)
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0)
end)

T.test(':GlmEdit without a range inserts below the cursor, indented like the cursor line', function()
  T.setup()
  local buf, win = open_source()
  api.nvim_win_set_cursor(win, { 2, 0 })
  -- The model forgot the indentation and added a sentence without a fence.
  local answer = fixture('edit_insert.txt', 'Sure, here it is:\nif xs is None:\n    return 0.0')
  vim.cmd('GlmEdit guard against None mock:reply_file=' .. answer)
  local p = require('glm.preview').current()
  wait_idle()
  T.eq(p.mode, 'insert')
  T.eq(p:lines(), { '    if xs is None:', '        return 0.0' })
  T.feed('ga')
  T.eq(lines(buf)[3], '    if xs is None:')
  T.eq(lines(buf)[4], '        return 0.0')
  T.eq(lines(buf)[5], '    for x in xs:')
  local req = T.last_request().json
  T.contains(req.messages[2].content, 'Write the code to insert')
  T.contains(req.messages[2].content, 'the lines before:\n```python\ndef mean(xs):\n    total = 0\n```')
end)

T.test('the proposal can be edited before it is accepted', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('edit_fenced3.md', FENCED)
  vim.cmd('1,5GlmEdit x mock:reply_file=' .. answer)
  local p = require('glm.preview').current()
  wait_idle()
  local first = #p.before
  api.nvim_buf_set_lines(p.prop_buf, first + 2, first + 3, false, { '        return float("nan")' })
  T.feed('ga')
  T.eq(lines(buf)[3], '        return float("nan")')
end)

T.test('an edit that fails closes its preview and says why, once', function()
  T.setup()
  local buf = open_source()
  local reply, p = require('glm').edit('anything mock:error=401', { range = { 1, 5 } })
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000, 'the request to fail')
  T.eq(reply.status, 'error')
  T.ok(p.closed, 'preview closed')
  T.eq(#api.nvim_list_wins(), 1, 'no diff windows left')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 1, 'one error message')
  T.eq(lines(buf), SOURCE)
end)

T.test('one answer, one edit: :GlmEdit and LSP Rewrite (glm-server --lsp) turn it into the same change', function()
  T.setup()
  -- A messy answer: thinking, a sentence, a fence, the indentation lost, a closing note.
  local answer = fixture(
    'edit_same.md',
    table.concat({
      '<think>The user wants the empty list handled.</think>',
      'Sure! Here is the updated function:',
      '```python',
      'def mean(xs):',
      '    if not xs:',
      '        return 0.0',
      '    return sum(xs) / len(xs)',
      '```',
      'This returns 0.0 for an empty list.',
    }, '\n')
  )
  local instruction = 'handle empty lists mock:reply_file=' .. answer
  -- Through the plugin.
  local a = T.open_file('same_a.py', SOURCE)
  vim.cmd('1,5GlmEdit ' .. instruction)
  local p = require('glm.preview').current()
  wait_idle()
  api.nvim_set_current_win(p.prop_win)
  T.feed('ga')
  T.ok(p.closed, 'accepted')
  -- Through LSP mode, with Neovim's own client, on an identical file.
  local b = T.open_file('same_b.py', SOURCE)
  local id = vim.lsp.start_client({
    name = 'glm-same-edit',
    cmd = { T.server, '--lsp' },
    root_dir = T.tmp,
    init_options = { config = T.config().server.config },
  })
  vim.lsp.buf_attach_client(b, id)
  local client = vim.lsp.get_client_by_id(id)
  T.wait(function()
    return client.initialized
  end, 5000, 'the LSP client to initialize')
  local tick = api.nvim_buf_get_changedtick(b)
  client.request('workspace/executeCommand', {
    command = 'glm.rewrite',
    arguments = {
      {
        uri = vim.uri_from_bufnr(b),
        range = { start = { line = 0, character = 0 }, ['end'] = { line = 5, character = 0 } },
        instruction = instruction,
      },
    },
  }, function() end, b)
  T.wait(function()
    return api.nvim_buf_get_changedtick(b) ~= tick
  end, 8000, 'the LSP rewrite to apply')
  vim.lsp.stop_client(id)
  T.eq(lines(a)[2], '    if not xs:', 'the plugin applied the code')
  T.eq(lines(b), lines(a), 'the same edit both ways')
end)
