-- Floating windows that show one streamed reply (:GlmAsk, :GlmExplain). The float grows with its
-- text up to float.max_height; closing it (or wiping its buffer) mid-stream cancels the request.
local util = require('glm.util')
local view = require('glm.view')
local config = require('glm.config')

local api = vim.api
local M = {}

local has_title = vim.fn.has('nvim-0.9') == 1

-- Screen lines `buf` needs at `width` columns, stopping once `cap` is reached.
local function display_height(buf, width, cap)
  local n = 0
  for _, line in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local w = vim.fn.strdisplaywidth(line)
    n = n + math.max(1, math.ceil(w / width))
    if n >= cap then
      return cap
    end
  end
  return math.max(n, 1)
end

-- opts: anchor = { win, row, col } (relative to that window) or nil for a centred float; title.
function M.open(opts)
  local cfg = config.get().float
  local buf = api.nvim_create_buf(false, true)
  util.buf_set(buf, 'bufhidden', 'wipe')
  util.buf_set(buf, 'filetype', 'markdown')
  util.buf_set(buf, 'modifiable', false)
  local width = math.max(20, math.min(cfg.width, vim.o.columns - 4))
  local win_cfg = {
    width = width,
    height = 1,
    style = 'minimal',
    border = cfg.border,
    focusable = true,
  }
  if opts.anchor and util.win_valid(opts.anchor.win) then
    local aw = opts.anchor.win
    win_cfg.relative = 'win'
    win_cfg.win = aw
    win_cfg.row = opts.anchor.row
    win_cfg.col = opts.anchor.col
    win_cfg.anchor = opts.anchor.corner or 'NW'
    width = math.max(20, math.min(cfg.width, api.nvim_win_get_width(aw) - opts.anchor.col - 2))
    win_cfg.width = width
  else
    win_cfg.relative = 'editor'
    win_cfg.row = math.max(0, math.floor((vim.o.lines - cfg.max_height) / 2) - 1)
    win_cfg.col = math.max(0, math.floor((vim.o.columns - width) / 2))
  end
  if has_title and opts.title and win_cfg.border ~= 'none' then
    win_cfg.title = ' ' .. opts.title .. ' '
  end
  local win = api.nvim_open_win(buf, true, win_cfg)
  util.win_set(win, 'wrap', true)
  util.win_set(win, 'linebreak', true)
  util.win_set(win, 'conceallevel', 2)
  util.win_set(win, 'foldmethod', 'manual')
  return buf, win
end

function M.resize(win, buf)
  if not util.win_valid(win) or not util.buf_valid(buf) then
    return
  end
  local cfg = config.get().float
  local width = api.nvim_win_get_width(win)
  local want = display_height(buf, width, cfg.max_height)
  if api.nvim_win_get_height(win) ~= want then
    api.nvim_win_set_config(win, { height = want })
  end
end

-- Streams `reply` into a new float. `session` = { messages = the conversation so far (for `to_chat`),
-- title, anchor }. Returns { buf, win }.
function M.stream(reply, session)
  local buf, win = M.open(session)
  local km = config.get().keymaps
  local state = { buf = buf, win = win, moved = false }
  local region = view.region(buf, 0, 0)
  local listener = view.attach(reply, region, {
    fold = config.get().chat.fold_reasoning,
    on_change = function()
      M.resize(state.win, buf)
    end,
  })
  local done_listener
  done_listener = reply:subscribe(function(event)
    if event ~= 'done' or not util.buf_valid(buf) then
      return
    end
    local summary = reply:summary()
    if summary ~= '' then
      view.append(buf, '\n\n' .. summary)
      local last = api.nvim_buf_line_count(buf) - 1
      view.highlight_line(buf, last, reply.status == 'done' and 'GlmSummary' or 'GlmWarning')
    end
    M.resize(state.win, buf)
  end)

  local function close()
    if util.win_valid(state.win) then
      api.nvim_win_close(state.win, true)
    end
  end
  local function to_chat()
    state.moved = true
    reply:unsubscribe(listener)
    reply:unsubscribe(done_listener)
    local src = require('glm.source').recorded(buf)
    close()
    local chat = require('glm.chat').from_reply(session.messages, reply)
    if src and chat then
      require('glm.source').set(chat.buf, src.buf, src.win, src.range)
    end
  end

  local function map(lhs, fn)
    if lhs then
      vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true })
    end
  end
  map(km.close, close)
  map(km.cancel, function()
    reply:cancel()
  end)
  map(km.to_chat, to_chat)
  require('glm.apply').attach(buf, reply)

  api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      if not state.moved then
        reply:unsubscribe(listener)
        reply:unsubscribe(done_listener)
        reply:cancel()
      end
    end,
  })
  return state
end

return M
