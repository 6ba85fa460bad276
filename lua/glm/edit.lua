-- :[range]GlmEdit {instruction}: the model rewrites the range (or writes code to insert below the
-- cursor line); its answer streams into a diff preview (glm.preview) and is applied only when accepted.
--
-- The request asks for code only, but models still wrap it in a fence or add a sentence; clean()
-- keeps only the code, on every delta while it streams and once more at the end.
local util = require('glm.util')
local config = require('glm.config')

local api = vim.api
local M = {}

M.SYSTEM = table.concat({
  'You are a code editing engine inside a text editor.',
  'You get part of a file and an instruction. Answer with code only: exactly the lines that replace',
  'the given lines (or, when asked to insert, the lines to insert), with the same indentation as the',
  'surrounding code. No explanations, no comments about the change, no markdown fences, no text',
  'before or after the code. Never repeat the surrounding lines you were given for reference.',
}, '\n')

local function fence_for(lines)
  local longest = 2
  for _, l in ipairs(lines) do
    for run in l:gmatch('`+') do
      longest = math.max(longest, #run)
    end
  end
  return string.rep('`', longest + 1)
end

local function fenced(lines, lang)
  local f = fence_for(lines)
  return f .. (lang or '') .. '\n' .. table.concat(lines, '\n') .. '\n' .. f
end

local function leading_ws(l)
  return l:match('^(%s*)')
end

-- Smallest indentation of the non-blank lines ('' when none).
local function min_indent(lines)
  local best
  for _, l in ipairs(lines) do
    if l:match('%S') then
      local ws = leading_ws(l)
      if not best or #ws < #best then
        best = ws
      end
    end
  end
  return best or ''
end

local PROSE_START = {
  '^here',
  '^sure',
  '^certainly',
  '^below',
  '^the ',
  '^this ',
  '^i ',
  "^i'",
  '^ok',
  '^okay',
  '^updated',
  '^rewritten',
  '^of course',
  '^note',
}

-- A sentence around the code ("Here is the updated function:"), not code: it starts like prose and
-- ends like a sentence or has none of the characters code is made of.
local function looks_like_prose(line)
  local l = vim.trim(line):lower()
  if l == '' then
    return false
  end
  for _, p in ipairs(PROSE_START) do
    if l:match(p) then
      return l:match('[:%.!]$') ~= nil or not l:match('[=%(%){}%[%];]')
    end
  end
  return false
end

-- The code in a model's answer: the fenced block if there is one (the longest, when several; the
-- open one while it streams), else the text without a leading or trailing sentence of prose and
-- without a <think> block. Returns a list of lines.
--   indent: indentation the code must have (the original's); added when the answer lost it.
--   partial: the answer is still streaming; its last, unfinished line is left out until it is whole
--            (so a sentence never flashes up before it can be recognised as one).
function M.clean(text, indent, partial)
  text = (text or ''):gsub('\r\n', '\n')
  if partial then
    text = text:match('^(.*)\n') or ''
  end
  text = text:gsub('<think>.-</think>', '')
  text = text:gsub('^%s*<think>.*$', '') -- a think block still streaming
  local lines = vim.split(text, '\n', { plain = true })
  local blocks = require('glm.apply').blocks(lines)
  local out
  if #blocks > 0 then
    local best = blocks[1]
    for _, b in ipairs(blocks) do
      if #b.code > #best.code then
        best = b
      end
    end
    out = vim.deepcopy(best.code)
    -- A closing fence half-way in while it streams ("``").
    while best.open and #out > 0 and out[#out]:match('^%s*[`~]+%s*$') do
      table.remove(out)
    end
  else
    out = lines
    -- A partial closing fence line at the very end while streaming ("``").
    while #out > 0 and out[#out]:match('^%s*`+%s*$') do
      table.remove(out)
    end
    while #out > 0 and (vim.trim(out[1]) == '' or looks_like_prose(out[1])) do
      table.remove(out, 1)
    end
    while #out > 0 and (vim.trim(out[#out]) == '' or looks_like_prose(out[#out])) do
      table.remove(out)
    end
  end
  while #out > 0 and vim.trim(out[1]) == '' do
    table.remove(out, 1)
  end
  while #out > 0 and vim.trim(out[#out]) == '' do
    table.remove(out)
  end
  if indent and indent ~= '' and #out > 0 and min_indent(out) == '' then
    for i, l in ipairs(out) do
      if l ~= '' then
        out[i] = indent .. l
      end
    end
  end
  return out
end

-- The messages of an edit request (exposed for tests).
function M.messages(instruction, buf, mode, l1, l2)
  local n = api.nvim_buf_line_count(buf)
  local k = config.get().edit.context_lines
  local name = api.nvim_buf_get_name(buf)
  local path = name ~= '' and vim.fn.fnamemodify(name, ':~:.') or '(unnamed buffer)'
  local lang = util.buf_get(buf, 'filetype')
  local parts = { 'Instruction: ' .. instruction, '' }
  local lang_note = lang ~= '' and (' (' .. lang .. ')') or ''
  local before_last, after_first
  if mode == 'replace' then
    local lines = api.nvim_buf_get_lines(buf, l1 - 1, l2, false)
    parts[#parts + 1] = ('File `%s`%s. Rewrite lines %d-%d:'):format(path, lang_note, l1, l2)
    parts[#parts + 1] = fenced(lines, lang)
    before_last, after_first = l1 - 1, l2 + 1
  else
    local ask = 'File `%s`%s. Write the code to insert after line %d (answer with the new lines only).'
    parts[#parts + 1] = ask:format(path, lang_note, l1)
    before_last, after_first = l1, l1 + 1
  end
  local before, after = {}, {}
  if before_last >= 1 then
    before = api.nvim_buf_get_lines(buf, math.max(0, before_last - k), before_last, false)
  end
  if after_first <= n then
    after = api.nvim_buf_get_lines(buf, after_first - 1, math.min(n, after_first - 1 + k), false)
  end
  if #before > 0 then
    parts[#parts + 1] = ''
    parts[#parts + 1] = 'For reference only (do not repeat), the lines before:'
    parts[#parts + 1] = fenced(before, lang)
  end
  if #after > 0 then
    parts[#parts + 1] = ''
    parts[#parts + 1] = 'and the lines after:'
    parts[#parts + 1] = fenced(after, lang)
  end
  return {
    { role = 'system', content = M.SYSTEM },
    { role = 'user', content = table.concat(parts, '\n') },
  }
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
  local mode, l1, l2, indent
  if opts.range then
    mode, l1, l2 = 'replace', math.max(1, opts.range[1]), math.min(n, opts.range[2])
    indent = min_indent(api.nvim_buf_get_lines(buf, l1 - 1, l2, false))
  else
    mode = 'insert'
    l1 = api.nvim_win_get_buf(win) == buf and api.nvim_win_get_cursor(win)[1] or n
    l2 = l1
    indent = leading_ws(api.nvim_buf_get_lines(buf, l1 - 1, l1, false)[1] or '')
  end
  local messages = M.messages(instruction, buf, mode, l1, l2)
  local params = { messages = messages, stream = true, model = require('glm').current_model() }
  local options = config.get().options
  if next(options) ~= nil then
    params.options = options
  end
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
    if event == 'content' or event == 'replace' then
      preview:set_lines(M.clean(reply.content, indent, true))
    elseif event == 'done' then
      if preview.closed then
        return
      end
      preview:set_lines(M.clean(reply.content, indent))
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
  reply:start('chat', params)
  return reply, preview
end

return M
