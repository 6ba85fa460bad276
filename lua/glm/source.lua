-- Where an answer came from: the code buffer and window a chat or float was opened for, and the lines
-- the question was about. Apply (glm.apply) puts code back there; chat context (#buffer, #selection,
-- #diagnostics) reads from there.
--
-- The range is tracked with extmarks, so lines inserted or deleted above it between the question and
-- the apply do not make it point at the wrong code.
local util = require('glm.util')

local api = vim.api
local M = {}

M.ns = api.nvim_create_namespace('glm_source')

local by_view = {} -- view buffer (chat or float) -> { buf, win, start_mark, end_mark }
local watched = {} -- view buffers with a BufWipeout autocmd that forgets them

local function is_float(win)
  return api.nvim_win_get_config(win).relative ~= ''
end

-- A window showing an ordinary file buffer (not a chat, float, help or terminal).
function M.is_code_window(win)
  if not util.win_valid(win) or is_float(win) then
    return false
  end
  local buf = api.nvim_win_get_buf(win)
  return util.buf_get(buf, 'buftype') == '' and not api.nvim_buf_get_name(buf):match('^glm://')
end

local function forget(view_buf)
  local s = by_view[view_buf]
  if s and util.buf_valid(s.buf) then
    pcall(api.nvim_buf_del_extmark, s.buf, M.ns, s.start_mark)
    pcall(api.nvim_buf_del_extmark, s.buf, M.ns, s.end_mark)
  end
  by_view[view_buf] = nil
end

-- Records that `view_buf` (a chat or float buffer) was opened for `buf` shown in `win`, about lines
-- range = {l1, l2} (1-based, inclusive) or nil. insert: code applied from the view goes in below the
-- range, never replaces it (e.g. tests for a function). A later call for the same view replaces it.
function M.set(view_buf, buf, win, range, insert)
  forget(view_buf)
  if not util.buf_valid(buf) then
    return
  end
  local s = { buf = buf, win = win, insert = insert }
  if range then
    local n = api.nvim_buf_line_count(buf)
    local l1 = math.max(1, math.min(range[1], n))
    local l2 = math.max(l1, math.min(range[2], n))
    s.start_mark = api.nvim_buf_set_extmark(buf, M.ns, l1 - 1, 0, { right_gravity = false })
    s.end_mark = api.nvim_buf_set_extmark(buf, M.ns, l2 - 1, 0, { right_gravity = false })
  end
  by_view[view_buf] = s
  if not watched[view_buf] and util.buf_valid(view_buf) then
    watched[view_buf] = true
    api.nvim_create_autocmd('BufWipeout', {
      buffer = view_buf,
      once = true,
      callback = function()
        watched[view_buf] = nil
        forget(view_buf)
      end,
    })
  end
end

-- The source recorded for `view_buf` (nil when none was), to hand on with M.set() to another view
-- (a float's answer moving into a chat).
function M.recorded(view_buf)
  if by_view[view_buf] then
    return M.get(view_buf)
  end
  return nil
end

-- The window to use for `buf`: `win` if it still shows it, else any window of the current tab that does.
local function window_for(buf, win)
  if util.win_valid(win) and api.nvim_win_get_buf(win) == buf and not is_float(win) then
    return win
  end
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(w) == buf and not is_float(w) then
      return w
    end
  end
  return nil
end

-- A code window of the current tab to fall back on: the previous window, else the first one.
function M.fallback_window(exclude_buf)
  local prev = vim.fn.win_getid(vim.fn.winnr('#'))
  if prev ~= 0 and M.is_code_window(prev) and api.nvim_win_get_buf(prev) ~= exclude_buf then
    return prev
  end
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if M.is_code_window(w) and api.nvim_win_get_buf(w) ~= exclude_buf then
      return w
    end
  end
  return nil
end

-- { buf, win (may be nil when the buffer is not shown), range = {l1, l2} or nil, insert } for `view_buf`.
-- Without a recorded source: the code window the user was in last (for chats opened plainly).
function M.get(view_buf)
  local s = by_view[view_buf]
  if s and util.buf_valid(s.buf) then
    local out = { buf = s.buf, win = window_for(s.buf, s.win), insert = s.insert }
    if s.start_mark then
      local a = api.nvim_buf_get_extmark_by_id(s.buf, M.ns, s.start_mark, {})
      local b = api.nvim_buf_get_extmark_by_id(s.buf, M.ns, s.end_mark, {})
      if a[1] and b[1] and b[1] >= a[1] then
        out.range = { a[1] + 1, b[1] + 1 }
      end
    end
    return out
  end
  local win = M.fallback_window(view_buf)
  if win then
    return { buf = api.nvim_win_get_buf(win), win = win }
  end
  return nil
end

return M
