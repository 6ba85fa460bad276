-- Floating windows that show one streamed reply (:GlmAsk, :GlmExplain). The float grows with its
-- text up to float.max_height; closing it (or wiping its buffer) mid-stream cancels the request.
local util = require('glm.util')
local view = require('glm.view')
local config = require('glm.config')

local api = vim.api
local M = {}

local has_title = vim.fn.has('nvim-0.9') == 1
local has_text_height = vim.fn.has('nvim-0.10') == 1

-- Screen rows one line takes at `width` columns with 'wrap' and 'linebreak' (words move to the next row
-- whole; a word wider than the window is cut). Errs on the high side: a row too many leaves a blank
-- row, a row too few would hide the last line.
local function wrapped_rows(line, width)
  local total = vim.fn.strdisplaywidth(line)
  if total <= width then
    return 1
  end
  local rows, col = 1, 0
  for word, space in line:gmatch('(%S+)(%s*)') do
    local w = vim.fn.strdisplaywidth(word)
    if col > 0 and col + w > width then
      rows, col = rows + 1, 0
    end
    while w > width do
      rows, w = rows + 1, w - width
    end
    col = col + w + #space
    if col >= width then
      rows, col = rows + 1, 0
    end
  end
  if col == 0 and rows > 1 then
    rows = rows - 1
  end
  return rows
end

-- Screen rows `buf` needs in `win`, stopping once `cap` is reached.
local function display_height(win, buf, cap)
  if has_text_height then
    local ok, h = pcall(api.nvim_win_text_height, win, {})
    if ok and h then
      return math.max(1, math.min(h.all, cap))
    end
  end
  local width = api.nvim_win_get_width(win)
  local n = 0
  for _, line in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    n = n + wrapped_rows(line, width)
    if n >= cap then
      return cap
    end
  end
  return math.max(n, 1)
end
M._wrapped_rows = wrapped_rows

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

-- Grows (or shrinks) the float to its text, up to float.max_height. Returns true when all of the
-- text fits in the window.
function M.resize(win, buf)
  if not util.win_valid(win) or not util.buf_valid(buf) then
    return false
  end
  local cap = config.get().float.max_height
  local want = display_height(win, buf, cap + 1)
  local fits = want <= cap
  want = math.min(want, cap)
  if api.nvim_win_get_height(win) ~= want then
    api.nvim_win_set_config(win, { height = want })
  end
  return fits
end

-- The keys a finished float offers, e.g. "q close · c continue in a chat". An answer that ended
-- without one (error, cancelled, withdrawn) has nothing to continue or apply.
local function hint_text(session, answered)
  local km = config.get().keymaps
  local parts = {}
  local function add(key, what)
    if key then
      parts[#parts + 1] = key .. ' ' .. what
    end
  end
  add(km.close, 'close')
  if answered then
    add(km.to_chat, 'continue in a chat')
    add(km.apply, session.insert and 'insert the code below' or 'apply the code') -- glm.apply's key
    for _, h in ipairs(session.hints or {}) do
      add(h[1], h[2])
    end
  end
  return table.concat(parts, ' · ')
end

-- Streams `reply` into a new float. `session` = { messages = the conversation so far (for `to_chat`),
-- title, anchor, chat_title = the title of a chat continued from it, hints = extra { key, 'what it does' }
-- pairs named under a finished answer, insert = `ga` inserts the code (glm.source), never replaces }.
-- Returns the float state { buf, win, ... }.
function M.stream(reply, session)
  local buf, win = M.open(session)
  local km = config.get().keymaps
  -- follow: the window shows the newest text while it streams, until the user scrolls or moves the
  -- cursor (mark = where this code last left the cursor and the top line, to notice that).
  local state = { buf = buf, win = win, moved = false, follow = true, mark = nil }
  view.self_scrolling[buf] = true

  -- Keeps the window in step with its text: while following, the last line is in view (all of the text
  -- when it fits, from the top); at the end, the top of the answer. A user who scrolled is left alone.
  local function place(finished)
    local w = state.win
    if not util.win_valid(w) or not util.buf_valid(buf) then
      return
    end
    if state.follow and state.mark then
      -- The user moved the cursor or scrolled back up. A top line further down is Neovim's own doing:
      -- it scrolls to keep the cursor in view when wrapped or concealed text takes other rows than
      -- this file's estimate on 0.7 (no nvim_win_text_height), and that must not stop the following,
      -- or the finished float keeps its first lines scrolled out of view above blank rows.
      local row = api.nvim_win_get_cursor(w)[1]
      if row ~= state.mark.row or vim.fn.line('w0', w) < state.mark.top then
        state.follow = false
      end
    end
    local fits = M.resize(w, buf)
    if not state.follow then
      return
    end
    local last = api.nvim_buf_line_count(buf)
    api.nvim_win_call(w, function()
      if finished then
        api.nvim_win_set_cursor(w, { 1, 0 })
        vim.fn.winrestview({ topline = 1, lnum = 1, col = 0 })
      else
        local line = api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ''
        api.nvim_win_set_cursor(w, { last, math.max(#line - 1, 0) })
        if fits then
          vim.fn.winrestview({ topline = 1 })
        else
          vim.cmd('normal! zb')
        end
      end
    end)
    state.mark = { row = api.nvim_win_get_cursor(w)[1], top = vim.fn.line('w0', w) }
  end

  local region = view.region(buf, 0, 0)
  local listener = view.attach(reply, region, {
    fold = config.get().chat.fold_reasoning,
    on_change = function(event)
      if event ~= 'done' then
        place(false)
      end
    end,
  })
  local done_listener
  done_listener = reply:subscribe(function(event)
    if event ~= 'done' or not util.buf_valid(buf) then
      return
    end
    local tail = {}
    local summary = reply:summary()
    if summary ~= '' then
      tail[#tail + 1] = { summary, reply.status == 'done' and 'GlmSummary' or 'GlmWarning' }
    end
    local answered = reply.status == 'done'
    if not answered then
      for _, lhs in ipairs({ km.to_chat, km.apply, km.apply_insert }) do
        if lhs then
          vim.keymap.set('n', lhs, '<Nop>', { buffer = buf, nowait = true })
        end
      end
    end
    local hint = hint_text(session, answered)
    if hint ~= '' then
      tail[#tail + 1] = { hint, 'GlmHint' }
    end
    for i, t in ipairs(tail) do
      view.append(buf, (i == 1 and '\n\n' or '\n') .. t[1])
      view.highlight_line(buf, api.nvim_buf_line_count(buf) - 1, t[2])
    end
    place(true)
  end)
  place(false)

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
    local chat = require('glm.chat').from_reply(session.messages, reply, session.chat_title)
    if src and chat then
      require('glm.source').set(chat.buf, src.buf, src.win, src.range, src.insert)
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
      view.self_scrolling[buf] = nil
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
