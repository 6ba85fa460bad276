-- Apply: a code block from an ask/explain float or a chat goes into the source buffer, through a diff
-- preview (ga accept, gr reject), as one undo step.
local T = ...

local api = vim.api
local fixture, lines, wait_idle = T.fixture, T.lines, T.wait_idle

local SOURCE = {
  'local M = {}',
  '',
  'function M.area(w, h)',
  '  return w * h',
  'end',
  '',
  'return M',
}

-- A realistic answer: a sentence, the code in a fence, a closing remark.
local ANSWER = table.concat({
  'Sure! Here is a version that checks its arguments:',
  '',
  '```lua',
  'function M.area(w, h)',
  "  assert(w >= 0 and h >= 0, 'negative size')",
  '  return w * h',
  'end',
  '```',
  '',
  'It raises an error for negative sizes instead of returning a negative area.',
}, '\n')

local function open_source(src)
  return T.open_file('apply_src.lua', src or SOURCE)
end

local function preview()
  return require('glm.preview').current()
end

T.test('ga in an ask float about a range shows a diff of that range; ga again replaces it, u undoes it', function()
  T.setup()
  local buf, win = open_source()
  local answer = fixture('answer_area.md', ANSWER)
  vim.cmd('3,5GlmAsk check the arguments mock:reply_file=' .. answer)
  wait_idle()
  local tick = api.nvim_buf_get_changedtick(buf)
  T.feed('ga')
  local p = T.ok(preview(), 'a preview opened')
  T.eq(#vim.tbl_filter(function(w)
    return api.nvim_win_get_config(w).relative ~= ''
  end, api.nvim_list_wins()), 0, 'the float closed')
  -- A diff: both panes in diff mode, the original range against the code block (with context).
  T.ok(api.nvim_win_get_option(p.orig_win, 'diff'), 'original pane in diff mode')
  T.ok(api.nvim_win_get_option(p.prop_win, 'diff'), 'proposal pane in diff mode')
  T.eq(p:lines(), {
    'function M.area(w, h)',
    "  assert(w >= 0 and h >= 0, 'negative size')",
    '  return w * h',
    'end',
  }, 'proposal is the code block only')
  T.contains(table.concat(lines(p.orig_buf), '\n'), 'function M.area(w, h)\n  return w * h\nend')
  -- The added line is highlighted as a diff change in the proposal pane.
  local added_row
  for i, l in ipairs(lines(p.prop_buf)) do
    if l:find('assert', 1, true) then
      added_row = i
    end
  end
  local hl = api.nvim_win_call(p.prop_win, function()
    return vim.fn.diff_hlID(added_row, 1)
  end)
  T.eq(vim.fn.synIDattr(hl, 'name'), 'DiffAdd', 'added line highlighted')
  T.eq(api.nvim_buf_get_changedtick(buf), tick, 'source untouched while previewing')
  T.eq(api.nvim_get_current_win(), p.prop_win, 'cursor in the proposal')
  T.feed('ga')
  T.ok(p.closed, 'preview closed after accept')
  T.ok(not api.nvim_win_is_valid(p.prop_win) and not api.nvim_win_is_valid(p.orig_win), 'diff windows closed')
  T.eq(api.nvim_get_current_win(), win, 'back in the source window')
  T.eq(lines(buf), {
    'local M = {}',
    '',
    'function M.area(w, h)',
    "  assert(w >= 0 and h >= 0, 'negative size')",
    '  return w * h',
    'end',
    '',
    'return M',
  })
  T.eq(api.nvim_win_get_cursor(win)[1], 3, 'cursor on the first changed line')
  vim.cmd('silent undo')
  T.eq(lines(buf), SOURCE, 'one undo restores the original')
end)

T.test('ga in a float without a range inserts below the cursor of the source window', function()
  T.setup()
  local buf, win = open_source()
  api.nvim_win_set_cursor(win, { 1, 0 })
  local answer = fixture('answer_insert.md', 'Add this:\n\n```lua\nlocal VERSION = 2\n```\n')
  require('glm').ask('a version constant mock:reply_file=' .. answer)
  wait_idle()
  T.feed('ga')
  local p = T.ok(preview(), 'preview')
  T.eq(p.mode, 'insert')
  T.feed('ga')
  T.eq(lines(buf)[2], 'local VERSION = 2', 'inserted below line 1')
  T.eq(#lines(buf), #SOURCE + 1)
  vim.cmd('silent undo')
  T.eq(lines(buf), SOURCE, 'one undo removes it')
end)

T.test('gr rejects: the buffer does not change and the diff closes', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area2.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  local tick = api.nvim_buf_get_changedtick(buf)
  T.feed('ga')
  local p = T.ok(preview())
  T.feed('gr')
  T.ok(p.closed, 'closed')
  T.eq(lines(buf), SOURCE)
  T.eq(api.nvim_buf_get_changedtick(buf), tick, 'not even touched')
  T.eq(#api.nvim_list_wins(), 1, 'only the source window left')
end)

T.test('closing the proposal window with :q rejects too', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area3.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  T.feed('ga')
  local p = T.ok(preview())
  vim.cmd('quit')
  T.wait(function()
    return p.closed
  end, 1000, 'preview to close')
  T.eq(lines(buf), SOURCE)
  T.eq(#api.nvim_list_wins(), 1)
end)

T.test('gA inserts below the cursor even when the question was about a range', function()
  T.setup()
  local buf, win = open_source()
  local answer = fixture('answer_area4.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  api.nvim_win_set_cursor(win, { 7, 0 })
  T.feed('gA')
  local p = T.ok(preview())
  T.eq(p.mode, 'insert')
  T.feed('ga')
  T.eq(#lines(buf), #SOURCE + 4)
  T.eq(lines(buf)[8], 'function M.area(w, h)')
  T.eq(lines(buf)[3], 'function M.area(w, h)', 'original function still there')
end)

T.test('the range follows edits above it between the answer and the apply', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area5.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  api.nvim_buf_set_lines(buf, 0, 0, false, { '-- header', '-- more' })
  T.feed('ga')
  T.feed('ga')
  local l = lines(buf)
  T.eq(l[5], 'function M.area(w, h)')
  T.contains(l[6], 'assert(')
  T.eq(l[9], '', 'line after the function untouched')
  T.eq(l[10], 'return M')
  T.eq(#l, #SOURCE + 3)
end)

T.test('when the original lines change under the preview, accept refuses once and shows them', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area6.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  T.feed('ga')
  local p = T.ok(preview())
  api.nvim_buf_set_lines(buf, 3, 4, false, { '  return w * h * 1' })
  T.feed('ga')
  T.ok(not p.closed, 'still open')
  T.contains(table.concat(lines(p.orig_buf), '\n'), 'w * h * 1', 'original pane updated')
  T.eq(#T.notes_at(vim.log.levels.WARN), 1, 'told why')
  T.feed('ga')
  T.ok(p.closed)
  T.contains(table.concat(lines(buf), '\n'), 'assert(')
  T.ok(not table.concat(lines(buf), '\n'):find('w * h * 1', 1, true), 'replaced')
end)

T.test('in a chat, ga applies the block under the cursor, else the last one of the answers', function()
  T.setup()
  local buf, win = open_source()
  api.nvim_win_set_cursor(win, { 6, 0 })
  local answer = fixture(
    'answer_two.md',
    table.concat({
      'Two options.',
      '',
      'First:',
      '',
      '```lua',
      'local FIRST = 1',
      '```',
      '',
      'Second:',
      '',
      '```lua',
      'local SECOND = 2',
      '```',
    }, '\n')
  )
  vim.cmd('GlmChat!')
  local chat = require('glm.chat').for_buf(api.nvim_get_current_buf())
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_buf_set_lines(chat.buf, last - 1, last, false, { 'constants? mock:reply_file=' .. answer })
  T.feed('<CR>')
  T.wait(function()
    return chat.reply == nil
  end, 8000, 'chat reply')
  -- Cursor at the end (the input line): the last block.
  T.feed('ga')
  local p = T.ok(preview())
  T.eq(p:lines(), { 'local SECOND = 2' })
  T.eq(p.mode, 'replace', 'the cursor was on an empty line: it is filled')
  T.feed('gr')
  -- Cursor inside the first block.
  local chat_win = require('glm.util').wins_for_buf(chat.buf)[1]
  api.nvim_set_current_win(chat_win)
  for i, l in ipairs(lines(chat.buf)) do
    if l == 'local FIRST = 1' then
      api.nvim_win_set_cursor(chat_win, { i, 0 })
    end
  end
  T.feed('ga')
  p = T.ok(preview())
  T.eq(p:lines(), { 'local FIRST = 1' })
  T.feed('ga')
  T.eq(lines(buf)[6], 'local FIRST = 1')
  T.eq(#lines(buf), #SOURCE)
end)

T.test('apply with no code block in a chat says so', function()
  T.setup()
  open_source()
  vim.cmd('GlmChat!')
  T.feed('ga')
  T.eq(require('glm.preview').current(), nil)
  T.contains(T.notes_at(vim.log.levels.WARN)[1], 'no code block')
end)

T.test('code blocks: fences with info strings, tildes, indentation and an unclosed block', function()
  local blocks = require('glm.blocks').parse({
    'text',
    '```python title="x"',
    'a = 1',
    '```',
    '  ~~~',
    '  b = 2',
    '    c',
    '  ~~~',
    '````md',
    '```',
    'inner',
    '```',
    '````',
    '```c',
    'int x;',
  })
  T.eq(#blocks, 4)
  T.eq(blocks[1].lang, 'python')
  T.eq(blocks[1].code, 'a = 1')
  T.eq(blocks[2].code, 'b = 2\n  c')
  T.eq(blocks[3].code, '```\ninner\n```')
  T.eq(blocks[4].code, 'int x;')
  T.ok(blocks[4].open, 'unclosed block is open')
  T.ok(not blocks[1].open)
end)

T.test('an explain float moved into a chat (c) still applies to the explained lines', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area7.md', ANSWER)
  local reply = require('glm').explain({ range = { 3, 5 }, question = 'check mock:reply_file=' .. answer })
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 8000, 'explanation')
  T.feed('c')
  local chat = T.ok(require('glm.chat').for_buf(api.nvim_get_current_buf()), 'in a chat')
  T.feed('ga')
  local p = T.ok(preview())
  T.eq(p.mode, 'replace')
  T.eq(p.orig, { 'function M.area(w, h)', '  return w * h', 'end' }, 'the explained lines')
  T.feed('ga')
  T.contains(lines(buf)[4], 'assert(')
  T.ok(chat.buf, 'chat still there')
end)

T.test('apply reopens the source buffer when its window was closed', function()
  T.setup()
  local buf = open_source()
  local answer = fixture('answer_area8.md', ANSWER)
  vim.cmd('3,5GlmAsk check mock:reply_file=' .. answer)
  wait_idle()
  T.feed('c')
  local chat_buf = api.nvim_get_current_buf()
  T.ok(require('glm.chat').for_buf(chat_buf), 'in a chat')
  vim.cmd('only') -- the source window is gone; the buffer stays loaded
  T.eq(#vim.fn.win_findbuf(buf), 0, 'source not shown')
  T.feed('ga')
  local p = T.ok(preview())
  T.eq(api.nvim_win_get_buf(p.src_win), buf, 'source shown again for the preview')
  T.feed('ga')
  T.contains(lines(buf)[4], 'assert(')
end)

T.test('do in the proposal takes one change back; ga applies the rest', function()
  T.setup()
  local buf = open_source()
  local answer = fixture(
    'answer_two_hunks.md',
    table.concat({
      '```lua',
      'local M = { version = 1 }',
      '',
      'function M.area(w, h)',
      '  return math.abs(w * h)',
      'end',
      '',
      'return M',
      '```',
    }, '\n')
  )
  vim.cmd('1,7GlmAsk two changes mock:reply_file=' .. answer)
  wait_idle()
  T.feed('ga')
  local p = T.ok(preview())
  -- ]c/[c move between the changes; on the first one, `do` (diffget) restores the original line.
  api.nvim_win_set_cursor(p.prop_win, { #p.before + 1, 0 })
  vim.cmd('normal! do')
  T.eq(p:lines()[1], 'local M = {}', 'first change taken back')
  T.feed('ga')
  local want = vim.deepcopy(SOURCE)
  want[4] = '  return math.abs(w * h)'
  T.eq(lines(buf), want, 'only the second change applied')
end)
