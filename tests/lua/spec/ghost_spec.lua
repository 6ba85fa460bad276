-- Inline completion (ghost text) in a child Neovim that is typed into like a person types: debounce,
-- cancel on type, stale answers, typing along, accept actions, where it never runs, rendering.
-- The `complete` answers come from a scripted fake transport here (tests/lua/ghost_child.lua);
-- complete_server_spec.lua runs the same paths through glm-server and the mock provider.
local T = ...

local _, with_child = dofile(T.root .. '/tests/lua/ghost_parent.lua')(T)

local function fixed(text)
  return string.format('G.fake(function() return { text = %q, candidates = { %q } } end)', text, text)
end

T.test('one request after the debounce, not one per key', function()
  with_child({ complete = { enabled = true } }, function(c) -- the default debounce (150 ms)
    c.lua(fixed('tail'))
    c.lua('G.buffer("python", { "" })')
    c.input('i')
    c.type('def', 40)
    vim.wait(60)
    T.eq(c.snap().nreq, 0, 'requests while typing')
    local s = c.wait(function(s)
      return s.ghost
    end, 2000, 'ghost text')
    T.eq(s.nreq, 1, 'requests')
    local p = c.lua('return G.requests[1].params')
    T.eq(p.prefix, 'def')
    T.eq(p.suffix, '')
    T.eq(p.language, 'python')
    T.eq(p.stream, false)
    T.ok(p.document:match('^file://') or p.document:match('^buffer://'), 'document is the buffer URI: ' .. p.document)
    T.eq(s.ghost, { 'tail' })
    T.eq(s.lines, { 'def' }, 'ghost text is not in the buffer')
    -- The request went out no sooner than the debounce after the last key.
    local waited = c.lua('return (G.requests[1].t - G.last_key) / 1e6')
    T.ok(waited >= 145, 'sent ' .. waited .. ' ms after the last key')
  end)
end)

T.test('typing on cancels the request in flight; its late answer is never shown', function()
  with_child(nil, function(c)
    c.lua('G.fake(nil)') -- answers held
    c.lua('G.buffer("lua", { "" })')
    c.input('ilocal x')
    c.wait(function(s)
      return s.nreq == 1 and s.state == 'waiting'
    end, 2000, 'first request')
    c.input(' =') -- both keys in one go, well inside the debounce
    local s = c.wait(function(s)
      return s.ncancel == 1
    end, 1000, 'cancel')
    c.lua('G.answer(1, { text = "OLD" })')
    s = c.snap()
    T.eq(s.ghost, false, 'old answer not shown')
    s = c.wait(function(s)
      return s.nreq == 2
    end, 2000, 'second request')
    T.eq(c.lua('return G.requests[2].params.prefix'), 'local x =')
    c.lua('G.answer(2, { text = " 1" })')
    s = c.wait(function(s)
      return s.ghost
    end)
    T.eq(s.ghost, { ' 1' })
  end)
end)

T.test('an answer for another buffer state or cursor position is dropped', function()
  with_child(nil, function(c)
    c.lua('G.fake(nil)')
    c.lua('G.buffer("lua", { "a", "b" })')
    c.input('A')
    c.wait(function(s)
      return s.nreq == 1
    end)
    -- The buffer changes and the answer arrives in the same tick, before any autocmd could run.
    -- (Looked at in the same tick too: the autocmds that follow would hide a wrong suggestion again,
    -- after it had flashed on screen.)
    local s =
      c.lua('vim.api.nvim_buf_set_lines(0, 1, 2, false, { "changed" }); G.answer(1, { text = "X" }); return G.snap()')
    T.eq(s.ghost, false, 'answer for an older changedtick')
    c.wait(function(s)
      return s.nreq == 2
    end)
    -- Same for the cursor: moved (no text change) just before the answer.
    s = c.lua('vim.api.nvim_win_set_cursor(0, { 1, 0 }); G.answer(2, { text = "Y" }); return G.snap()')
    T.eq(s.ghost, false, 'answer for another cursor position')
    T.ok(s.state ~= 'shown', 'state ' .. s.state)
  end)
end)

T.test('typing along a 40-character suggestion sends no request', function()
  with_child(nil, function(c)
    local first = 'return compute_total(items, discount=0.1)' -- 40 characters after "    "
    first = first:sub(1, 40)
    c.lua(fixed(first .. '\n    # done'))
    c.lua('G.buffer("python", { "def f(items):", "    " })')
    c.input('GA')
    c.wait(function(s)
      return s.ghost
    end, 2000, 'suggestion')
    T.eq(c.snap().nreq, 1)
    -- Type it all, pausing past the debounce now and then as people do.
    for i = 1, #first do
      c.input(first:sub(i, i))
      vim.wait(i % 10 == 0 and 120 or 15)
      local s = c.snap()
      if i < #first then
        T.eq(s.ghost and s.ghost[1], first:sub(i + 1), 'ghost after ' .. i .. ' typed')
      end
    end
    vim.wait(150)
    local s = c.snap()
    T.eq(s.nreq, 1, 'requests while typing along')
    T.eq(s.lines[2], '    ' .. first)
    T.eq(s.ghost, { '', '    # done' }, 'the rest (next line) still shown')
  end)
end)

T.test('typing something else drops the suggestion and asks again', function()
  with_child(nil, function(c)
    c.lua(fixed('abc'))
    c.lua('G.buffer("text", { "" })')
    c.input('ix')
    c.wait(function(s)
      return s.ghost
    end)
    c.input('q')
    local s = c.snap()
    T.eq(s.ghost, false, 'dropped at once')
    s = c.wait(function(s)
      return s.nreq == 2 and s.ghost
    end)
    T.eq(c.lua('return G.requests[2].params.prefix'), 'xq')
  end)
end)

local SUGG = 'foo(bar, baz)\n  return 1\nend'

T.test('accept all inserts the suggestion and moves the cursor after it', function()
  with_child(nil, function(c)
    c.lua(fixed(SUGG))
    c.lua('G.buffer("lua", { "x = " })')
    c.input('A')
    c.wait(function(s)
      return s.ghost
    end)
    c.input('<M-l>')
    local s = c.wait(function(s)
      return #s.lines == 3
    end)
    T.eq(s.lines, { 'x = foo(bar, baz)', '  return 1', 'end' })
    T.eq(s.cursor, { 3, 3 })
    T.eq(s.mode, 'i', 'still in insert mode')
    T.eq(s.ghost, false)
  end)
end)

T.test('accept line and accept word take part and leave the rest shown', function()
  with_child(nil, function(c)
    c.lua(fixed(SUGG))
    c.lua('G.buffer("lua", { "x = " })')
    c.input('A')
    c.wait(function(s)
      return s.ghost
    end)
    c.input('<M-Right>') -- word
    local s = c.wait(function(s)
      return s.lines[1] == 'x = foo'
    end)
    T.eq(s.cursor, { 1, 7 })
    T.eq(s.ghost, { '(bar, baz)', '  return 1', 'end' })
    c.input('<M-C-Right>') -- line
    s = c.wait(function(s)
      return s.lines[1] == 'x = foo(bar, baz)'
    end)
    T.eq(s.ghost, { '', '  return 1', 'end' })
    c.input('<M-C-Right>') -- the next line, newline included
    s = c.wait(function(s)
      return #s.lines == 2
    end)
    T.eq(s.lines, { 'x = foo(bar, baz)', '  return 1' })
    T.eq(s.cursor, { 2, 10 })
    T.eq(s.ghost, { '', 'end' })
    T.eq(s.nreq, 1, 'no request while accepting')
  end)
end)

T.test('dismiss hides the suggestion; next/prev cycle candidates', function()
  with_child(nil, function(c)
    c.lua('G.fake(function() return { text = "one", candidates = { "one", "two", "three" } } end)')
    c.lua('G.buffer("lua", { "" })')
    c.input('i')
    local s = c.wait(function(s)
      return s.ghost
    end)
    T.eq(s.ghost, { 'one (1/3)' })
    T.contains(s.status, '1/3')
    c.input('<M-]>')
    s = c.wait(function(s)
      return s.ghost and s.ghost[1] == 'two (2/3)'
    end)
    c.input('<M-[>')
    c.input('<M-[>')
    s = c.wait(function(s)
      return s.ghost and s.ghost[1] == 'three (3/3)'
    end)
    c.input('<M-l>')
    s = c.wait(function(s)
      return s.lines[1] == 'three'
    end)
    c.input('<C-]>') -- nothing shown: <C-]> keeps its own meaning (no error)
    c.lua('G.fake(function() return { text = "z" } end)')
    c.input(' ')
    s = c.wait(function(s)
      return s.ghost
    end)
    c.input('<C-]>')
    s = c.wait(function(s)
      return not s.ghost
    end)
    T.eq(s.lines, { 'three ' })
    T.eq(s.state, 'idle')
  end)
end)

T.test('keys fall through when nothing is shown; <Tab> only when mapped', function()
  with_child({ complete = { enabled = true, debounce_ms = 60, keymaps = { accept = '<Tab>' } } }, function(c)
    c.lua('G.fake(nil)')
    c.lua('G.buffer("lua", { "" })')
    c.input('i<Tab>a')
    c.wait(function(s)
      return s.lines[1] == '\ta'
    end, 1000, 'tab inserted')
    c.wait(function(s)
      return s.nreq >= 1
    end)
    local n = c.snap().nreq
    c.lua('G.answer(...)', n, { text = 'bc' })
    c.wait(function(s)
      return s.ghost
    end)
    c.input('<Tab>')
    c.wait(function(s)
      return s.lines[1] == '\tabc'
    end, 1000, 'tab accepted')
  end)
end)

T.test('never in prompt, chat or huge buffers; per filetype; :GlmComplete', function()
  with_child({ complete = { filetypes = { python = true }, debounce_ms = 30, max_file_bytes = 1000 } }, function(c)
    c.lua('G.fake(function() return { text = "x" } end)')
    local function requests_for(setup_lua)
      c.input('<Esc>')
      c.lua(setup_lua)
      local before = c.snap().nreq
      c.input('Aab')
      vim.wait(150)
      c.input('<Esc>')
      return c.snap().nreq - before
    end
    T.eq(requests_for('G.buffer("lua", { "" })'), 0, 'lua (not enabled)')
    T.ok(requests_for('G.buffer("python", { "" })') >= 1, 'python (enabled)')
    T.eq(requests_for('G.buffer("python", { string.rep("x", 2000) })'), 0, 'over max_file_bytes')
    T.eq(requests_for('G.buffer("python", { "" }); vim.bo.buftype = "prompt"'), 0, 'prompt buffer')
    T.eq(requests_for('require("glm").chat({ new = true }); vim.bo.filetype = "python"'), 0, 'chat buffer')
    c.lua('vim.cmd("only")')
    T.eq(requests_for('G.buffer("python", { "" }); vim.cmd("GlmComplete off")'), 0, ':GlmComplete off')
    T.ok(requests_for('G.buffer("lua", { "" }); vim.cmd("GlmComplete on")') >= 1, ':GlmComplete on')
    T.eq(requests_for('G.buffer("lua", { "" }); vim.cmd("GlmComplete! off")'), 0, ':GlmComplete! off (buffer)')
    T.ok(requests_for('G.buffer("lua", { "" })') >= 1, 'other buffers keep :GlmComplete on')
    T.eq(requests_for('G.buffer("lua", { "" }); vim.cmd("GlmComplete toggle")'), 0, 'toggle')
    local s = c.snap()
    T.eq(s.status, '', 'statusline empty where off')
  end)
end)

T.test('0.7 rendering: overlay at the end of the line, else end-of-line text; more lines below', function()
  with_child(nil, function(c)
    c.lua('require("glm.ghost").force_legacy = true')
    c.lua(fixed('bar()\n  baz'))
    c.lua('G.buffer("lua", { "foo", "last" })')
    c.input('A')
    local s = c.wait(function(s)
      return s.ghost
    end)
    T.eq(s.ghost_mode, 'overlay')
    local rows = c.lua('return G.screen(3)')
    T.eq(rows[1], 'foobar()')
    T.eq(rows[2], '  baz')
    T.eq(rows[3], 'last')
    -- Text after the cursor: the suggestion goes after the line's end.
    c.input('<Esc>')
    c.lua(fixed('X'))
    c.lua('G.buffer("lua", { "(abc)" })')
    c.input('0a')
    s = c.wait(function(s)
      return s.ghost
    end)
    T.eq(s.ghost_mode, 'eol')
    rows = c.lua('return G.screen(1)')
    T.eq(rows[1], '(abc) X')
  end)
end)

T.test('statusline: idle, waiting, shown', function()
  with_child(nil, function(c)
    c.lua('G.fake(nil)')
    c.lua('G.buffer("lua", { "" })')
    T.eq(c.lua('return require("glm").complete_status()'), 'GLM')
    c.input('ia')
    local s = c.wait(function(s)
      return s.nreq == 1
    end)
    T.eq(s.status, 'GLM …')
    c.lua('G.answer(1, { text = "b" })')
    T.eq(c.snap().status, 'GLM ✓')
  end)
end)

T.test('errors: told once, rate limits pause requests', function()
  with_child(nil, function(c)
    c.lua('G.fake(nil)')
    c.lua('G.buffer("lua", { "" })')
    c.input('ia')
    c.wait(function(s)
      return s.nreq == 1
    end)
    local err = { code = -32001, message = 'rate limited', data = { kind = 'rate_limit', retry_after_ms = 400 } }
    c.lua('G.answer(1, nil, ...)', err)
    c.input('b')
    vim.wait(200)
    T.eq(c.snap().nreq, 1, 'no request while rate limited')
    vim.wait(300)
    c.input('c')
    c.wait(function(s)
      return s.nreq == 2
    end)
    c.lua('G.answer(2, nil, ...)', err)
    T.eq(c.snap().status, 'GLM ✗ rate limited')
  end)
end)

-- In this process (no typing needed).

T.test('prefix and suffix are cut to their budgets on line boundaries', function()
  T.ok(require('glm').setup({ complete = { prefix_bytes = 100, suffix_bytes = 31 } }))
  local lines = {}
  for i = 1, 500 do
    lines[i] = ('line %03d xxxxxxxxxx'):format(i) -- 19 bytes
  end
  vim.cmd('enew!')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_name(buf, T.tmp .. '/budget.lua')
  vim.bo.filetype = 'lua'
  local p = require('glm.complete').build_params(buf, 249, 8) -- line 250, after "line 250"
  T.eq(p.prefix, table.concat(vim.list_slice(lines, 246, 249), '\n') .. '\nline 250')
  T.ok(#p.prefix <= 100, 'prefix within budget')
  T.eq(p.suffix, ' xxxxxxxxxx\n' .. lines[251])
  T.eq(p.language, 'lua')
  T.contains(p.path, 'budget.lua')
  T.eq(p.document, vim.uri_from_bufnr(buf))
  -- One huge line alone: cut inside it, never starting mid-character.
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { string.rep('é', 200) })
  p = require('glm.complete').build_params(buf, 0, 400)
  T.ok(#p.prefix <= 100 and vim.fn.strchars(p.prefix) * 2 == #p.prefix, 'whole characters: ' .. #p.prefix)
  require('glm').setup({})
end)

T.test('config: complete options are checked by name', function()
  T.eq(require('glm').setup({ complete = { debounce_ms = 'fast' } }), false)
  T.contains(T.notes[#T.notes].msg, 'complete.debounce_ms')
  T.eq(require('glm').setup({ complete = { filetypes = { python = 'yes' } } }), false)
  T.contains(T.notes[#T.notes].msg, 'complete.filetypes')
  T.eq(require('glm').setup({ complete = { keymaps = { accept = false, next = '<C-n>' } } }), true)
  require('glm').setup({})
end)

T.test('nvim-cmp source: registered only with nvim-cmp, items from the candidates', function()
  local registered = {}
  package.loaded['cmp'] = {
    register_source = function(name, source)
      registered[#registered + 1] = { name = name, source = source }
      return #registered
    end,
  }
  local ok, err = pcall(function()
    T.ok(require('glm').setup({ complete = { filetypes = { lua = true }, debounce_ms = 0 } }))
    T.eq(#registered, 1, 'registered once')
    T.eq(registered[1].name, 'glm')
    local src = registered[1].source
    vim.cmd('enew!')
    vim.bo.filetype = 'lua'
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'local t = ' })
    T.eq(src:is_available(), true)
    local sent
    require('glm.complete')._transport = function(params, on_done)
      sent = params
      on_done(nil, { text = '{}\nreturn t', candidates = { '{}\nreturn t', 'nil' } })
      return function() end
    end
    local got
    src:complete(
      { context = { bufnr = 0, cursor = { row = 1, col = 11 }, option = { reason = 'manual' } } },
      function(r)
        got = r
      end
    )
    T.eq(sent.prefix, 'local t = ')
    T.ok(sent.document:match('#cmp$'), 'own document key')
    T.eq(#got.items, 2)
    T.eq(got.items[1].insertText, '{}\nreturn t')
    T.eq(got.items[1].label, '{} …')
    T.eq(got.items[2].label, 'nil')
    vim.bo.filetype = 'python'
    T.eq(src:is_available(), false, 'off where completion is off')
  end)
  package.loaded['cmp'] = nil
  require('glm.complete')._transport = nil
  require('glm').setup({})
  if not ok then
    error(err, 0)
  end
end)

-- Issue 15.5: an error while typing is on screen (not only in a command-line message that
-- "-- INSERT --" overwrites) and in the statusline component, once per cause.
T.test('errors: shown at the cursor line and in the statusline, once per cause', function()
  with_child(nil, function(c)
    c.lua('G.fake(nil)')
    c.lua('G.buffer("lua", { "" })')
    c.input('ia')
    c.wait(function(s)
      return s.nreq == 1
    end)
    local err = { code = -32001, message = 'zhipu: no API key: set ZHIPUAI_API_KEY (or providers.zhipu.api_key_cmd)' }
    c.lua('G.answer(1, nil, ...)', err)
    local want = 'GLM ✗ zhipu: no API key: set ZHIPUAI_API_KEY'
    T.eq(c.snap().status, want, 'statusline component')
    T.eq(c.lua('return G.screen(1)')[1], 'a ' .. want, 'on screen at the cursor line')
    T.eq(c.snap().mode, 'i', 'still typing')
    -- The same cause again: not drawn again; the statusline keeps saying it.
    c.input('b')
    c.wait(function(s)
      return s.nreq == 2
    end)
    c.lua('vim.api.nvim_buf_clear_namespace(0, vim.api.nvim_get_namespaces().glm_complete_error, 0, -1)')
    c.lua('G.answer(2, nil, ...)', err)
    T.eq(c.lua('return G.screen(1)')[1], 'ab', 'drawn once per cause')
    T.eq(#c.lua('return G.notes'), 0, 'no command-line message (-- INSERT -- would hide it)')
    T.eq(c.snap().status, want)
    -- A server that went away (quiet: rpc told once) is shown too; a success clears the state.
    c.input('c')
    c.wait(function(s)
      return s.nreq == 3
    end)
    c.lua('G.answer(3, nil, ...)', { code = -32099, message = 'glm-server exited (exit code 1)', quiet = true })
    T.eq(c.snap().status, 'GLM ✗ glm-server exited (exit code 1)')
    T.eq(c.lua('return G.screen(1)')[1], 'abc GLM ✗ glm-server exited (exit code 1)')
    c.input('d')
    c.wait(function(s)
      return s.nreq == 4
    end)
    c.lua('G.answer(4, ...)', { text = 'e' })
    T.eq(c.snap().status, 'GLM ✓')
  end)
end)

-- Issue 15.8: asking for other candidates and getting the same one back says so.
T.test('next candidate: when the model has no other suggestion, the ghost text says so', function()
  with_child(nil, function(c)
    c.lua(fixed('tail'))
    c.lua('G.buffer("lua", { "" })')
    c.input('ia')
    c.wait(function(s)
      return s.ghost
    end)
    c.input('<M-]>')
    local s = c.wait(function(s)
      return s.nreq == 2 and s.ghost and s.ghost[1] ~= 'tail'
    end, 2000, 'the answer to the request for more')
    T.eq(s.ghost, { 'tail (1/1: no other suggestion)' })
    T.eq(c.lua('return G.screen(1)')[1], 'atail (1/1: no other suggestion)')
    c.input('<M-]>')
    vim.wait(100)
    T.eq(c.snap().nreq, 2, 'not asked again')
  end)
end)
