-- Apply: put a code block from an answer (a chat or an ask/explain float) into the code it is about.
--
--   keymaps.apply (ga)         the block under the cursor, else the last block of the last answer,
--                              replaces the lines the question was about (a range given to :GlmAsk,
--                              :GlmExplain or :GlmChat) or, without such a range, goes in below the
--                              cursor line of the source window; an answer that goes with the code
--                              (the tests action) goes in below the range instead of replacing it
--   keymaps.apply_insert (gA)  the same block, always inserted below the cursor line
--
-- Either way the change is first shown as a diff (glm.preview): accept (ga) or reject (gr).
local util = require('glm.util')
local config = require('glm.config')
local source = require('glm.source')

local api = vim.api
local M = {}

-- The assistant sections of a chat buffer: a row (1-based) -> true when it is inside a "## GLM" turn.
local function assistant_rows(lines)
  local rows, inside = {}, false
  for i, l in ipairs(lines) do
    if l == '## GLM' then
      inside = true
    elseif l == '## You' then
      inside = false
    end
    rows[i] = inside
  end
  return rows
end

-- The block to apply from `buf`: the one under `row` (1-based), else the last one in an answer.
function M.pick_block(buf, row)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local blocks = require('glm.blocks').parse(lines)
  for _, b in ipairs(blocks) do
    if row and row >= b.start and row <= b.finish then
      return b
    end
  end
  local is_chat = false
  for _, l in ipairs(lines) do
    if l == '## GLM' then
      is_chat = true
      break
    end
  end
  local rows = is_chat and assistant_rows(lines) or nil
  for i = #blocks, 1, -1 do
    if not rows or rows[blocks[i].start] then
      return blocks[i]
    end
  end
  return nil
end

local replies = {} -- float buffer -> reply (fallback to the whole answer when it has no code block)

-- Maps the apply keys in a chat or float buffer. `reply`: for floats, the answer shown (its text is
-- used when the answer has no code block at all, e.g. a commit message).
function M.attach(view_buf, reply)
  replies[view_buf] = reply
  local km = config.get().keymaps
  local function map(lhs, insert)
    if lhs then
      vim.keymap.set('n', lhs, function()
        M.apply(view_buf, { insert = insert })
      end, { buffer = view_buf, nowait = true, silent = true, desc = 'GLM: apply the code block' })
    end
  end
  map(km.apply, false)
  map(km.apply_insert, true)
  api.nvim_create_autocmd('BufWipeout', {
    buffer = view_buf,
    once = true,
    callback = function()
      replies[view_buf] = nil
    end,
  })
end

local function is_float(win)
  return api.nvim_win_get_config(win).relative ~= ''
end

-- Applies from `view_buf` (the current buffer by default). opts.insert: insert at the cursor even when
-- the question was about a range. opts.row: the row to look for a block at (default: the cursor's).
-- Returns the preview, or nil after telling the user why not.
function M.apply(view_buf, opts)
  opts = opts or {}
  view_buf = view_buf or api.nvim_get_current_buf()
  local view_win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(view_win) ~= view_buf then
    view_win = util.wins_for_buf(view_buf)[1]
  end
  local row = opts.row or (view_win and api.nvim_win_get_cursor(view_win)[1])
  local block = M.pick_block(view_buf, row)
  local lines
  if block then
    lines = vim.split(block.code, '\n', { plain = true })
  else
    local reply = replies[view_buf]
    if reply and reply.content and vim.trim(reply.content) ~= '' then
      lines = vim.split(vim.trim(reply.content), '\n', { plain = true })
    end
  end
  if not lines then
    util.notify('no code block to apply', vim.log.levels.WARN)
    return nil
  end
  local reply = replies[view_buf]
  local in_float = view_win and is_float(view_win)
  if reply and reply:is_streaming() and (in_float or (block and block.open)) then
    util.notify('the answer is still streaming: apply once it has finished', vim.log.levels.WARN)
    return nil
  end
  local src = source.get(view_buf)
  if not src then
    util.notify('no code window to apply to: open the file in a window first', vim.log.levels.WARN)
    return nil
  end
  local popts = { buf = src.buf, win = src.win, lines = lines, label = 'apply' }
  if src.range and src.insert and not opts.insert then
    popts.mode, popts.after = 'insert', src.range[2] -- e.g. tests: below the code they test
  elseif src.range and not opts.insert then
    popts.mode, popts.l1, popts.l2 = 'replace', src.range[1], src.range[2]
  else
    popts.mode = 'insert'
    local cur = src.win and api.nvim_win_get_cursor(src.win)[1]
    if not cur then
      cur = (api.nvim_buf_get_mark(src.buf, '"')[1] or 0)
    end
    popts.after = math.max(0, math.min(cur, api.nvim_buf_line_count(src.buf)))
  end
  -- A float would sit on top of the diff: close it (the answer is done; `c` keeps it in a chat).
  if in_float then
    pcall(api.nvim_win_close, view_win, true)
  end
  return require('glm.preview').open(popts)
end

return M
