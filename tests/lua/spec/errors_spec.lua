-- Cancel, server crash and restart, missing credentials, missing binary, health.
local T = ...

local api = vim.api
local uv = vim.uv or vim.loop

T.test(':GlmCancel stops a stream; the float says so and no error is shown', function()
  T.setup()
  local reply, f = require('glm').ask('go on mock:chunks=300,delay_ms=10')
  T.wait(function()
    return reply.content ~= ''
  end, 5000)
  vim.cmd('GlmCancel')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 3000)
  T.eq(reply.status, 'cancelled')
  T.contains(T.buf_text(f.buf), 'cancelled')
  T.ok(not reply.content:find('tok299', 1, true), 'stopped early')
  T.eq(#T.notes_at(vim.log.levels.ERROR), 0)
end)

T.test('closing the float mid-stream cancels the request without an error', function()
  T.setup()
  local reply, f = require('glm').ask('go on mock:chunks=300,delay_ms=10')
  T.wait(function()
    return reply.content ~= ''
  end, 5000)
  T.feed('q')
  T.ok(not api.nvim_win_is_valid(f.win), 'float closed')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 3000)
  T.eq(reply.status, 'cancelled', 'server confirmed the cancel')
  T.eq(#T.notes, 0, 'nothing shown to the user')
end)

T.test('a server crash is reported once; the next request restarts it', function()
  T.setup()
  local glm = require('glm')
  local warm = glm.ask('warm up')
  T.wait(function()
    return warm.status == 'done'
  end, 5000, 'warm-up reply')
  local rpc = require('glm.rpc')
  local pid = rpc.current().pid
  local reply = glm.ask('crash me mock:chunks=300,delay_ms=10')
  T.wait(function()
    return reply.content ~= ''
  end, 5000)
  uv.kill(pid, 'sigkill')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 3000)
  T.eq(reply.status, 'error')
  local warns = T.notes_at(vim.log.levels.WARN)
  T.eq(#warns, 1, 'one notification: ' .. vim.inspect(T.notes))
  T.contains(warns[1], 'exited unexpectedly')
  T.eq(#T.notes, 1, 'and nothing else')
  local again = glm.ask('are you back?')
  T.wait(function()
    return again.status ~= 'streaming'
  end, 5000)
  T.eq(again.status, 'done')
  T.contains(again.content, 'You said: are you back?')
  T.ok(rpc.current().pid ~= pid, 'a new process')
  T.eq(#T.notes, 1, 'no further notification')
end)

T.test('a missing API key gives one message naming the environment variable', function()
  T.setup({ model = 'zhipu/glm-4' })
  local reply = require('glm').ask('hello')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 5000)
  T.eq(reply.status, 'error')
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(#errs, 1, 'one error: ' .. vim.inspect(T.notes))
  T.contains(errs[1], 'ZHIPUAI_API_KEY')
  T.ok(not errs[1]:find('traceback', 1, true) and not errs[1]:find('.lua:', 1, true), 'no stack trace')
end)

T.test('a missing server binary is one clear message, not a stack trace', function()
  T.setup({ server = { cmd = T.tmp .. '/no-such-glm-server' } })
  local reply = require('glm').ask('hello')
  T.wait(function()
    return reply.status ~= 'streaming'
  end, 2000)
  local errs = T.notes_at(vim.log.levels.ERROR)
  T.eq(#errs, 1, vim.inspect(T.notes))
  T.contains(errs[1], 'glm-server not found at ' .. T.tmp .. '/no-such-glm-server')
end)

T.test(':GlmModel lists the server models and sets the one picked', function()
  T.setup()
  local orig = vim.ui.select
  local offered
  vim.ui.select = function(items, opts, cb)
    offered = vim.tbl_map(opts.format_item, items)
    for _, it in ipairs(items) do
      if it.id:match('^openai/') then
        return cb(it)
      end
    end
    cb(nil)
  end
  local ok, err = pcall(function()
    vim.cmd('GlmModel')
    T.wait(function()
      return offered ~= nil
    end, 5000, 'model list')
  end)
  vim.ui.select = orig
  T.ok(ok, err)
  T.ok(#offered > 0)
  T.ok(require('glm').current_model():match('^openai/'), 'model picked')
end)

T.test(':checkhealth glm reports binary, version and credentials without secrets', function()
  T.setup()
  vim.cmd('silent checkhealth glm')
  local text = T.buf_text(api.nvim_get_current_buf())
  -- 0.7-0.9 print "OK: <msg>", 0.10+ "✅ OK <msg>".
  local ok_line = text:find('OK: ' .. T.server .. ': glm-server', 1, true)
    or text:find('OK ' .. T.server .. ': glm-server', 1, true)
  T.ok(ok_line, 'binary reported OK: ' .. text)
  T.ok(not text:find('--version failed', 1, true), 'version reported')
  T.contains(text, 'ZHIPUAI_API_KEY not set')
  T.contains(text, 'OPENAI_API_KEY set')
  T.ok(not text:find(vim.env.OPENAI_API_KEY, 1, true), 'secret not printed')
  T.ok(not text:find('ERROR', 1, true), 'no error: ' .. text)
end)

T.test('quitting shuts the server down politely (shutdown, exit, status 0)', function()
  T.setup()
  local reply = require('glm').ask('hi')
  T.wait(function()
    return reply.status == 'done'
  end, 5000)
  local rpc = require('glm.rpc')
  local client = rpc.current()
  -- What the VimLeavePre autocmd does.
  vim.api.nvim_exec_autocmds('VimLeavePre', {})
  T.ok(client.exited, 'exited within the shutdown timeout')
  T.wait(function()
    return client.exit_code ~= nil
  end, 1000)
  T.eq({ client.exit_code, client.exit_signal }, { 0, 0 }, 'exit status after shutdown + exit')
  T.eq(rpc.current(), nil)
  T.eq(#T.notes, 0, 'no message')
end)
