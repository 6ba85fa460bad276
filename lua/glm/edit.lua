-- :[range]GlmEdit {instruction}: the model rewrites the range (or writes code to insert below the
-- cursor line); its answer streams into a diff preview (glm.preview) and is applied only when accepted.
--
-- The server's `edit` method does the text work (docs/protocol.md "Edit"): the one edit prompt, and the
-- code taken out of the answer (fences, prose, think blocks, indentation) on every delta and at the end.
-- This file gathers what only the editor knows and draws what comes back.
local util = require('glm.util')
local config = require('glm.config')

local api = vim.api
local M = {}

local function text_of(lines)
  return #lines > 0 and (table.concat(lines, '\n') .. '\n') or ''
end

-- The code of the answer as lines ("a\nb\n" -> { 'a', 'b' }).
local function lines_of(code)
  if code == nil or code == '' then
    return {}
  end
  return vim.split((code:gsub('\n$', '')), '\n', { plain = true })
end

-- The params of an edit request (exposed for tests).
function M.params(instruction, buf, mode, l1, l2)
  local n = api.nvim_buf_line_count(buf)
  local k = config.get().edit.context_lines
  local name = api.nvim_buf_get_name(buf)
  local before_last, after_first = l1 - 1, l2 + 1
  local p = {
    instruction = instruction,
    language = util.buf_get(buf, 'filetype'),
    path = name ~= '' and vim.fn.fnamemodify(name, ':~:.') or nil,
    model = require('glm').current_model(),
    stream = true,
  }
  if mode == 'replace' then
    p.code = text_of(api.nvim_buf_get_lines(buf, l1 - 1, l2, false))
  else
    before_last, after_first = l1, l1 + 1
  end
  p.before = text_of(api.nvim_buf_get_lines(buf, math.max(0, before_last - k), math.max(0, before_last), false))
  p.after = text_of(api.nvim_buf_get_lines(buf, math.min(n, after_first - 1), math.min(n, after_first - 1 + k), false))
  local options = config.get().options
  if next(options) ~= nil then
    p.options = options
  end
  return p
end

-- Starts an edit of the current buffer. opts.range = {l1, l2} rewrites those lines; without it the
-- answer is inserted below the cursor line. opts.buf/opts.win: another source than the current window.
-- Returns the reply and the preview.
function M.edit(instruction, opts)
  opts = opts or {}
  if instruction == nil or vim.trim(instruction) == '' then
    vim.ui.input({ prompt = opts.range and 'GLM edit: ' or 'GLM insert: ' }, function(text)
      if text and vim.trim(text) ~= '' then
        M.edit(text, opts)
      end
    end)
    return
  end
  local win = opts.win or api.nvim_get_current_win()
  local buf = opts.buf or api.nvim_win_get_buf(win)
  if not util.buf_get(buf, 'modifiable') then
    util.notify('this buffer is not modifiable', vim.log.levels.ERROR)
    return
  end
  local n = api.nvim_buf_line_count(buf)
  local mode, l1, l2
  if opts.range then
    mode, l1, l2 = 'replace', math.max(1, opts.range[1]), math.min(n, opts.range[2])
  else
    mode = 'insert'
    l1 = api.nvim_win_get_buf(win) == buf and api.nvim_win_get_cursor(win)[1] or n
    l2 = l1
  end
  local params = M.params(instruction, buf, mode, l1, l2)
  local reply = require('glm.reply').new()
  local label = 'edit: ' .. vim.trim(instruction):match('[^\n]*'):sub(1, 40)
  local preview = require('glm.preview').open({
    buf = buf,
    win = win,
    mode = mode,
    l1 = l1,
    l2 = l2,
    after = l1,
    lines = {},
    streaming = true,
    label = label,
    on_cancel = function()
      reply:cancel()
    end,
  })
  reply:subscribe(function(event)
    if event == 'replace' then
      preview:set_lines(lines_of(reply.content))
    elseif event == 'done' then
      if preview.closed then
        return
      end
      preview:set_lines(lines_of(reply.content))
      preview:finish()
      local summary = reply:summary()
      if reply.status == 'done' then
        local km = config.get().keymaps
        local keys = ('%s accept, %s reject'):format(tostring(km.accept), tostring(km.reject))
        util.notify(('%s ready (%s): %s'):format(label, summary, keys))
      elseif #preview:lines() == 0 or (#preview:lines() == 1 and preview:lines()[1] == '') then
        -- Nothing to show: an error or a cancel before any code. (The reply reported errors already.)
        preview:reject()
        if reply.status ~= 'error' then
          util.notify(label .. ': ' .. summary, vim.log.levels.WARN)
        end
      else
        util.notify(label .. ': ' .. summary .. ' (partial proposal kept)', vim.log.levels.WARN)
      end
    end
  end)
  reply:start('edit', params)
  return reply, preview
end

return M
