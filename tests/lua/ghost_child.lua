-- Loaded into a child Neovim (`nvim --embed --headless`) by tests/lua/spec/ghost_spec.lua and by
-- tests/lua/bench_ghost.lua. The parent types into the child with nvim_input, so insert mode, autocmds
-- and timers run exactly as they do for a person; this file gives the parent a global `G` to script the
-- `complete` answers (a fake transport) and to read back what the user would see.
local root = ...
vim.opt.runtimepath:prepend(root)
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.cmd('runtime plugin/glm.lua')
vim.cmd('filetype on')

local api = vim.api
local uv = vim.uv or vim.loop

G = { requests = {}, cancels = {}, notes = {}, events = {} }

vim.on_key(function()
  G.last_key = uv.hrtime()
end)

vim.notify = function(msg, level)
  G.notes[#G.notes + 1] = { msg = msg, level = level }
end

-- reply(params, i) -> result (answered after `delay_ms`) | nil (held until G.answer(i, ...)).
function G.fake(reply, delay_ms)
  G.requests, G.cancels = {}, {}
  G.reply = reply
  require('glm.complete')._transport = function(params, on_done)
    local r = { params = params, on_done = on_done, t = uv.hrtime() }
    G.requests[#G.requests + 1] = r
    local i = #G.requests
    local result = G.reply and G.reply(params, i)
    if result then
      vim.defer_fn(function()
        if not r.done then
          r.done = true
          on_done(nil, result)
        end
      end, delay_ms or 0)
    end
    return function()
      G.cancels[#G.cancels + 1] = i
      r.cancelled = true
      if not G.ignore_cancel then
        -- As the server does: the cancelled request answers -32800.
        vim.schedule(function()
          if not r.done then
            r.done = true
            on_done({ code = -32800, message = 'request cancelled' }, nil)
          end
        end)
      end
    end
  end
end

-- Answers request i now (even if it was cancelled: a reply racing the cancel).
function G.answer(i, result, err)
  local r = G.requests[i]
  r.done = true
  r.on_done(err, result)
end

-- Everything a test looks at, in one round trip.
function G.snap()
  local ghost = require('glm.ghost').get()
  local cur = api.nvim_win_get_cursor(0)
  return {
    mode = api.nvim_get_mode().mode,
    lines = api.nvim_buf_get_lines(0, 0, -1, false),
    cursor = { cur[1], cur[2] },
    ghost = ghost and ghost.lines or false,
    ghost_mode = ghost and ghost.mode or false,
    ghost_at = ghost and { ghost.row, ghost.col } or false,
    state = require('glm.complete').state(),
    status = require('glm').complete_status(),
    nreq = #G.requests,
    ncancel = #G.cancels,
  }
end

-- Screen rows 1..n as text (after a redraw), like a terminal would show them.
function G.screen(n)
  vim.cmd('redraw')
  local rows = {}
  for r = 1, n do
    local s = {}
    for c = 1, vim.o.columns do
      s[#s + 1] = vim.fn.screenstring(r, c)
    end
    rows[r] = (table.concat(s):gsub('%s+$', ''))
  end
  return rows
end

-- A fresh buffer with `ft` and `lines` (a normal file buffer, not written).
function G.buffer(ft, lines, name)
  vim.cmd('enew!')
  if name then
    api.nvim_buf_set_name(0, name)
  end
  api.nvim_buf_set_lines(0, 0, -1, false, lines or { '' })
  vim.bo.filetype = ft or ''
  return api.nvim_get_current_buf()
end
