-- :GlmAction: the server's action library (explain, review, fix, tests, document, commit) and setup()'s
-- additions.
local T = ...

local api = vim.api
local fixture, wait_idle = T.fixture, T.wait_idle

local SOURCE = {
  'function add(a, b) {',
  '  return a - b;',
  '}',
  '',
  'console.log(add(1, 2));',
}

local function open_source()
  return T.open_file('act_src.js', SOURCE)
end

local function last_user(n0)
  local reqs = vim.list_slice(T.recorded(), n0 + 1)
  T.eq(#reqs, 1, 'one request')
  local msgs = reqs[1].json.messages
  return msgs[#msgs].content, msgs
end

local function float_buf()
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(w).relative ~= '' then
      return api.nvim_win_get_buf(w), w
    end
  end
end

T.test(':[range]GlmAction review asks about the range and answers in a float', function()
  T.setup()
  open_source()
  local n0 = #T.recorded()
  vim.cmd('1,3GlmAction review')
  local fbuf = T.ok(float_buf(), 'a float')
  wait_idle()
  local content = last_user(n0)
  T.contains(content, 'Review this code')
  T.contains(content, 'lines 1-3:\n```javascript\nfunction add(a, b) {\n  return a - b;\n}\n```')
  T.ok(not content:find('console.log', 1, true), 'only the range')
  T.contains(T.buf_text(fbuf), 'You said: Review this code')
end)

T.test('without a range an action runs on the whole buffer (tests)', function()
  T.setup()
  open_source()
  local n0 = #T.recorded()
  require('glm').action('tests')
  wait_idle()
  local content = last_user(n0)
  T.contains(content, 'Write unit tests')
  T.contains(content, 'lines 1-5:')
  T.contains(content, 'console.log(add(1, 2));')
end)

T.test('explain runs like :GlmExplain, anchored to the code', function()
  T.setup()
  local _, win = open_source()
  local n0 = #T.recorded()
  vim.cmd('1,3GlmAction explain')
  local _, fwin = float_buf()
  T.eq(api.nvim_win_get_config(fwin).relative, 'win', 'anchored float')
  T.eq(api.nvim_win_get_config(fwin).win, win)
  wait_idle()
  local content = select(2, last_user(n0))
  T.contains(vim.json.encode(content), 'function add(a, b)')
end)

T.test('fix runs like :GlmEdit with the diagnostics of the range; accepting applies it', function()
  T.setup()
  local buf = open_source()
  local ns = api.nvim_create_namespace('act_test')
  vim.diagnostic.set(ns, buf, {
    { lnum = 1, col = 9, message = 'add() subtracts', severity = vim.diagnostic.severity.WARN },
    { lnum = 4, col = 0, message = 'outside the range', severity = vim.diagnostic.severity.WARN },
  })
  local answer = fixture('fix_answer.md', 'Fixed:\n\n```javascript\nfunction add(a, b) {\n  return a + b;\n}\n```\n')
  local n0 = #T.recorded()
  vim.cmd('1,3GlmAction fix mock:reply_file=' .. answer)
  local p = T.ok(require('glm.preview').current(), 'a diff preview')
  wait_idle()
  local content = last_user(n0)
  T.contains(content, 'Fix the bugs in this code')
  T.contains(content, 'line 2: add() subtracts')
  T.ok(not content:find('outside the range', 1, true), 'only the range diagnostics')
  T.eq(p:lines(), { 'function add(a, b) {', '  return a + b;', '}' })
  T.feed('ga')
  T.eq(api.nvim_buf_get_lines(buf, 1, 2, false)[1], '  return a + b;')
  vim.cmd('silent undo')
  T.eq(api.nvim_buf_get_lines(buf, 0, -1, false), SOURCE)
end)

T.test('document on the whole buffer proposes a rewrite of every line', function()
  T.setup()
  open_source()
  require('glm').action('document')
  local p = T.ok(require('glm.preview').current())
  T.eq(p.mode, 'replace')
  T.eq(p.orig, SOURCE, 'the whole buffer is the original')
  wait_idle()
  T.feed('gr')
end)

T.test('commit writes a message from the staged diff; ga puts it into the commit buffer', function()
  T.setup()
  T.ok(vim.fn.executable('git') == 1, 'git installed')
  local repo = T.tmp .. '/repo'
  vim.fn.mkdir(repo, 'p')
  local function git(...)
    local out = vim.fn.system(vim.list_extend({ 'git', '-C', repo }, { ... }))
    T.eq(vim.v.shell_error, 0, 'git ' .. table.concat({ ... }, ' ') .. ': ' .. out)
    return out
  end
  git('init', '-q')
  git('config', 'user.email', 't@example.invalid')
  git('config', 'user.name', 'T')
  vim.fn.writefile({ 'one' }, repo .. '/notes.txt')
  git('add', 'notes.txt')
  git('commit', '-q', '-m', 'first')
  vim.fn.writefile({ 'one', 'two: staged line' }, repo .. '/notes.txt')
  git('add', 'notes.txt')
  vim.fn.writefile({ 'one', 'two: staged line', 'three: not staged' }, repo .. '/notes.txt')
  -- The commit message buffer, as `git commit` opens it.
  local msg = repo .. '/.git/COMMIT_EDITMSG'
  vim.fn.writefile({ '', '# Please enter the commit message for your changes.' }, msg)
  vim.cmd('silent edit ' .. vim.fn.fnameescape(msg))
  local buf = api.nvim_get_current_buf()
  api.nvim_win_set_cursor(0, { 1, 0 })
  local answer =
    fixture('commit_answer.md', '```gitcommit\nAdd a second line to the notes\n\nThe notes needed another line.\n```')
  local n0 = #T.recorded()
  vim.cmd('GlmAction commit mock:reply_file=' .. answer)
  T.ok(float_buf(), 'answer in a float')
  wait_idle()
  local content = last_user(n0)
  T.contains(content, 'Write a git commit message for the staged changes')
  T.contains(content, '```diff\ndiff --git a/notes.txt b/notes.txt')
  T.contains(content, '+two: staged line')
  T.ok(not content:find('three: not staged', 1, true), 'only what is staged')
  T.feed('ga')
  T.feed('ga')
  T.eq(api.nvim_buf_get_lines(buf, 0, -1, false), {
    'Add a second line to the notes',
    '',
    'The notes needed another line.',
    '# Please enter the commit message for your changes.',
  })
  -- Nothing staged: a warning and no request.
  git('commit', '-q', '-m', 'second')
  local n1 = #T.recorded()
  vim.cmd('GlmAction commit')
  T.eq(#T.recorded(), n1, 'no request')
  T.contains(T.notes_at(vim.log.levels.WARN)[1], 'nothing is staged')
end)

T.test('setup() adds actions (prompt functions too), changes and removes built-in ones', function()
  T.setup({
    actions = {
      shout = {
        description = 'Make it loud',
        kind = 'ask',
        prompt = function(ctx)
          return ('Uppercase the strings of %s (%s, lines %d-%d).'):format(
            ctx.path,
            ctx.filetype,
            ctx.range[1],
            ctx.range[2]
          )
        end,
      },
      review = { prompt = 'Review harshly.' },
      tests = false,
    },
  })
  local names = require('glm.actions').names()
  T.ok(vim.tbl_contains(names, 'shout'), 'added')
  T.ok(not vim.tbl_contains(names, 'tests'), 'removed')
  T.ok(vim.tbl_contains(names, 'commit'), 'others kept')
  open_source()
  -- The picker offers them with their descriptions.
  local orig = vim.ui.select
  local offered
  vim.ui.select = function(items, opts, cb)
    offered = vim.tbl_map(opts.format_item, items)
    cb('shout')
  end
  local n0 = #T.recorded()
  local ok, err = pcall(vim.cmd, '2,3GlmAction')
  vim.ui.select = orig
  T.ok(ok, err)
  T.ok(vim.tbl_contains(offered, 'shout  Make it loud'), vim.inspect(offered))
  wait_idle()
  T.contains(last_user(n0), 'Uppercase the strings of ')
  T.contains(last_user(n0), '(javascript, lines 2-3)')
  n0 = #T.recorded()
  vim.cmd('GlmAction review')
  wait_idle()
  T.contains(last_user(n0), 'Review harshly.')
  -- A bad spec is reported by name.
  T.setup({ actions = { bad = { kind = 'shout', prompt = 'x' } } })
  vim.cmd('GlmAction bad')
  T.contains(T.notes_at(vim.log.levels.ERROR)[1], "actions.bad.kind must be ask, edit or explain, got 'shout'")
end)

T.test("the library is the server's: an action of the server's config is offered and runs", function()
  T.setup({
    server = {
      config = {
        actions = {
          shorten = { description = 'Make it shorter', kind = 'ask', prompt = 'Say it in fewer lines.' },
          review = false,
        },
      },
    },
  })
  local names = require('glm.actions').names()
  T.ok(vim.tbl_contains(names, 'shorten'), 'the server config adds: ' .. vim.inspect(names))
  T.ok(not vim.tbl_contains(names, 'review'), 'the server config removes')
  T.ok(vim.tbl_contains(names, 'explain'), 'the built-in ones stay')
  open_source()
  local n0 = #T.recorded()
  vim.cmd('1,3GlmAction shorten')
  wait_idle()
  T.contains(last_user(n0), 'Say it in fewer lines.')
end)
