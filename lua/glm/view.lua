-- Rendering of streamed text into buffers. Text is only ever appended at an extmark (or a reply's own
-- region rewritten), never by replacing the whole buffer, so nothing flickers and the user's edits
-- elsewhere survive. A window follows the stream only while its cursor sits on the last line.
local util = require('glm.util')

local api = vim.api
local M = {}

M.ns = api.nvim_create_namespace('glm')

-- `default` links: a colorscheme or the user's own :highlight wins.
vim.cmd([[
  highlight default link GlmSummary Comment
  highlight default link GlmWarning WarningMsg
  highlight default link GlmHint Comment
]])

local function split_lines(text)
  return vim.split(text, '\n', { plain = true })
end

-- End position after inserting `lines` at (row, col).
local function end_pos(row, col, lines)
  if #lines == 1 then
    return row, col + #lines[1]
  end
  return row + #lines - 1, #lines[#lines]
end

-- Runs fn with `buf` modifiable, restoring the previous state (float buffers are read-only to the user).
local function with_modifiable(buf, fn)
  local was = util.buf_get(buf, 'modifiable')
  if not was then
    util.buf_set(buf, 'modifiable', true)
  end
  local ok, err = pcall(fn)
  if not was then
    util.buf_set(buf, 'modifiable', false)
  end
  if not ok then
    error(err, 0)
  end
end

-- Buffers whose windows scroll themselves (ask/explain floats, see glm.float): buf -> true.
M.self_scrolling = {}

-- Windows whose cursor is on the buffer's last line: these follow the end of the stream.
local function followers(buf)
  if M.self_scrolling[buf] then
    return {}
  end
  local last = api.nvim_buf_line_count(buf)
  local out = {}
  for _, win in ipairs(util.wins_for_buf(buf)) do
    if api.nvim_win_get_cursor(win)[1] == last then
      out[#out + 1] = win
    end
  end
  return out
end

-- Runs fn (which appends text to `buf`) and puts back the cursor of every window on `buf` that is not
-- in `followers`: nvim_buf_set_text moves a cursor that sits on the last character of the line text is
-- appended to (seen on 0.7.2), which would drag a window the user placed along with the stream.
local function keep_cursors(buf, followers_, fn)
  local skip = {}
  for _, w in ipairs(followers_) do
    skip[w] = true
  end
  local saved = {}
  for _, win in ipairs(util.wins_for_buf(buf)) do
    if not skip[win] then
      saved[win] = api.nvim_win_get_cursor(win)
    end
  end
  fn()
  for win, pos in pairs(saved) do
    if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == buf then
      local now = api.nvim_win_get_cursor(win)
      if now[1] ~= pos[1] or now[2] ~= pos[2] then
        pcall(api.nvim_win_set_cursor, win, pos)
      end
    end
  end
end

local function follow(buf, wins)
  local last = api.nvim_buf_line_count(buf)
  for _, win in ipairs(wins) do
    if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == buf then
      local line = api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ''
      api.nvim_win_set_cursor(win, { last, math.max(#line - 1, 0) })
    end
  end
end

-- A stretch of text in a buffer, delimited by two extmarks, that grows at its end.
local Region = {}
Region.__index = Region

function M.region(buf, row, col)
  local self = setmetatable({ buf = buf }, Region)
  self.start = api.nvim_buf_set_extmark(buf, M.ns, row, col, { right_gravity = false })
  self.finish = api.nvim_buf_set_extmark(buf, M.ns, row, col, { right_gravity = true })
  return self
end

function Region:_pos(mark)
  local p = api.nvim_buf_get_extmark_by_id(self.buf, M.ns, mark, {})
  return p[1], p[2]
end

function Region:valid()
  return util.buf_valid(self.buf)
end

function Region:start_row()
  return (self:_pos(self.start))
end

function Region:end_pos()
  return self:_pos(self.finish)
end

-- Appends text at the region's end. Returns false when the buffer is gone.
function Region:append(text)
  if not self:valid() or text == '' then
    return self:valid()
  end
  local buf = self.buf
  local row, col = self:_pos(self.finish)
  local lines = split_lines(text)
  local wins = followers(buf)
  keep_cursors(buf, wins, function()
    with_modifiable(buf, function()
      api.nvim_buf_set_text(buf, row, col, row, col, lines)
    end)
  end)
  local er, ec = end_pos(row, col, lines)
  api.nvim_buf_set_extmark(buf, M.ns, er, ec, { id = self.finish, right_gravity = true })
  if #lines > 1 then
    follow(buf, wins)
  end
  return true
end

-- Replaces the region's whole text.
function Region:set(text)
  if not self:valid() then
    return false
  end
  local buf = self.buf
  local sr, sc = self:_pos(self.start)
  local fr, fc = self:_pos(self.finish)
  local lines = split_lines(text)
  local wins = followers(buf)
  local function replace()
    with_modifiable(buf, function()
      api.nvim_buf_set_text(buf, sr, sc, fr, fc, lines)
    end)
  end
  if M.self_scrolling[buf] then
    keep_cursors(buf, wins, replace)
  else
    replace()
  end
  local er, ec = end_pos(sr, sc, lines)
  api.nvim_buf_set_extmark(buf, M.ns, sr, sc, { id = self.start, right_gravity = false })
  api.nvim_buf_set_extmark(buf, M.ns, er, ec, { id = self.finish, right_gravity = true })
  follow(buf, wins)
  return true
end

-- Appends text at the end of the buffer (outside any region).
function M.append(buf, text)
  if not util.buf_valid(buf) then
    return
  end
  local last = api.nvim_buf_line_count(buf) - 1
  local col = #(api.nvim_buf_get_lines(buf, last, last + 1, false)[1] or '')
  local lines = split_lines(text)
  local wins = followers(buf)
  keep_cursors(buf, wins, function()
    with_modifiable(buf, function()
      api.nvim_buf_set_text(buf, last, col, last, col, lines)
    end)
  end)
  follow(buf, wins)
end

M.THINKING = '> thinking'

-- Closes a fold over every "> thinking" block in `win` (manual folds are per window).
function M.fold_thinking(win, only_row)
  if not util.win_valid(win) then
    return
  end
  local buf = api.nvim_win_get_buf(win)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  util.win_set(win, 'foldmethod', 'manual')
  util.win_set(win, 'foldenable', true)
  local i = 1
  api.nvim_win_call(win, function()
    while i <= #lines do
      if lines[i] == M.THINKING and (only_row == nil or only_row == i - 1) then
        local j = i
        while j + 1 <= #lines and lines[j + 1]:sub(1, 1) == '>' do
          j = j + 1
        end
        -- Only fold a finished block (something other than the quote follows it).
        if j > i and j < #lines then
          if vim.fn.foldclosed(i) == -1 then
            vim.cmd(('silent! %d,%dfold'):format(i, j))
          end
        end
        i = j + 1
      else
        i = i + 1
      end
    end
  end)
end

local function quote(text)
  return (text:gsub('\n', '\n> '))
end

-- The text a reply shows as: an optional "> thinking" block, a blank line, then the answer.
function M.render_reply(reasoning, content)
  if reasoning == '' then
    return content
  end
  local s = M.THINKING .. '\n> ' .. quote(reasoning)
  if content ~= '' then
    s = s .. '\n\n' .. content
  end
  return s
end

M.wait_ns = api.nvim_create_namespace('glm_waiting')

-- Keeps a Region in step with a Reply, incrementally. opts.fold: fold the thinking block once the
-- answer starts. opts.on_change: called after each change (e.g. to resize a float).
-- Until the first token a "thinking…" placeholder (virtual text, never in the buffer) stands there.
function M.attach(reply, region, opts)
  opts = opts or {}
  local phase = 'empty'
  local waiting
  if reply:is_streaming() and reply.reasoning == '' and reply.content == '' then
    local row = region:start_row()
    waiting = api.nvim_buf_set_extmark(region.buf, M.wait_ns, row, 0, {
      virt_text = { { 'thinking…', 'GlmHint' } },
      virt_text_pos = 'overlay',
    })
  end
  local function phase_of()
    if reply.content ~= '' then
      return 'content'
    elseif reply.reasoning ~= '' then
      return 'reasoning'
    end
    return 'empty'
  end
  local function fold()
    if opts.fold then
      local row = region:start_row()
      for _, win in ipairs(util.wins_for_buf(region.buf)) do
        M.fold_thinking(win, row)
      end
    end
  end
  local function rerender()
    region:set(M.render_reply(reply.reasoning, reply.content))
    phase = phase_of()
    if phase == 'content' then
      fold()
    end
  end
  local listener = function(event, _, text)
    if not region:valid() then
      return
    end
    if waiting then
      api.nvim_buf_del_extmark(region.buf, M.wait_ns, waiting)
      waiting = nil
    end
    if event == 'reasoning' then
      if phase == 'content' then
        rerender()
      elseif phase == 'empty' then
        region:append(M.THINKING .. '\n> ' .. quote(text))
        phase = 'reasoning'
      else
        region:append(quote(text))
      end
    elseif event == 'content' then
      if phase == 'reasoning' then
        region:append('\n\n' .. text)
        fold()
      else
        region:append(text)
      end
      phase = 'content'
    elseif event == 'replace' then
      rerender()
    end
    if opts.on_change then
      opts.on_change(event)
    end
  end
  -- Catch up with whatever already arrived (a reply moving from a float into a chat).
  if reply.reasoning ~= '' or reply.content ~= '' then
    region:append(M.render_reply(reply.reasoning, reply.content))
    phase = phase_of()
    if phase == 'content' then
      fold()
    end
  end
  reply:subscribe(listener)
  return listener
end

-- Highlights a whole line (0-based) with a group, e.g. the summary under a reply.
function M.highlight_line(buf, row, group)
  if util.buf_valid(buf) then
    api.nvim_buf_add_highlight(buf, M.ns, group, row, 0, -1)
  end
end

return M
