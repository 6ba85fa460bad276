-- Context for chat messages.
--
--   :[range]GlmChat      puts the lines into the message being written, fenced, with path and lines
--   #buffer              the whole source buffer
--   #selection           the range the chat was opened with, else the last visual selection there
--   #diagnostics         vim.diagnostic entries of the source buffer (of the range, when there is one)
--   #file:{path}         a file (relative to the current directory, ~ expanded)
--
-- The source buffer is the one the chat was opened from (glm.source), else the code window the user
-- was in last. A message is expanded when it is sent: the model gets the typed text followed by each
-- attachment; the chat shows the typed text and one summary line per attachment, and the saved chat
-- keeps both (the message's `content` is what was sent, `text` what was typed).
local util = require('glm.util')
local view = require('glm.view')

local api = vim.api
local M = {}

M.MAX_BYTES = 256 * 1024

local KINDS = { buffer = true, selection = true, diagnostics = true, file = true }

local function rel(path)
  return path ~= '' and vim.fn.fnamemodify(path, ':~:.') or '(unnamed buffer)'
end

local function count_lines(lines)
  return #lines == 1 and '1 line' or (#lines .. ' lines')
end

local function fence(lines, lang)
  local longest = 2
  for _, l in ipairs(lines) do
    for run in l:gmatch('`+') do
      longest = math.max(longest, #run)
    end
  end
  local f = string.rep('`', longest + 1)
  return f .. (lang or '') .. '\n' .. table.concat(lines, '\n') .. '\n' .. f
end

local has_08 = vim.fn.has('nvim-0.8') == 1

-- The filetype of a file by its name (for the fence's language tag).
local function filetype_of(path)
  local ft
  if has_08 then
    local ok, r = pcall(vim.filetype.match, { filename = path })
    ft = ok and type(r) == 'string' and r or nil
  elseif vim.filetype and vim.filetype.match then
    -- 0.7: match(name, buf) sets the filetype of `buf` instead of returning it.
    local buf = api.nvim_create_buf(false, true)
    pcall(vim.filetype.match, path, buf)
    ft = util.buf_get(buf, 'filetype')
    api.nvim_buf_delete(buf, { force = true })
  end
  if not ft or ft == '' then
    ft = path:match('%.([%w_]+)$')
  end
  return ft or ''
end

local function too_big(what, bytes)
  local kib = math.floor(bytes / 1024)
  return ('%s is too large to attach (%d KiB, at most %d KiB)'):format(what, kib, M.MAX_BYTES / 1024)
end

local function lines_bytes(lines)
  local n = 0
  for _, l in ipairs(lines) do
    n = n + #l + 1
  end
  return n
end

-- The selection of the source: its recorded range, else the last visual selection in that buffer.
local function selection_of(src)
  if src.range then
    return src.range[1], src.range[2]
  end
  local a = api.nvim_buf_get_mark(src.buf, '<')
  local b = api.nvim_buf_get_mark(src.buf, '>')
  if a[1] > 0 and b[1] >= a[1] then
    return a[1], math.min(b[1], api.nvim_buf_line_count(src.buf))
  end
  return nil
end

local SEVERITY = { 'ERROR', 'WARN', 'INFO', 'HINT' }

local function need_source(src, token)
  if not src then
    return nil, token .. ': no code buffer to take it from; start the chat from a file window (or open one next to it)'
  end
  return src
end

local attach = {}

function attach.buffer(src)
  local lines = api.nvim_buf_get_lines(src.buf, 0, -1, false)
  if lines_bytes(lines) > M.MAX_BYTES then
    return nil, '#buffer: ' .. too_big(rel(api.nvim_buf_get_name(src.buf)), lines_bytes(lines))
  end
  local path = rel(api.nvim_buf_get_name(src.buf))
  return {
    kind = 'buffer',
    summary = ('#buffer: %s, %s'):format(path, count_lines(lines)),
    body = ('#buffer `%s`:\n%s'):format(path, fence(lines, util.buf_get(src.buf, 'filetype'))),
  }
end

function attach.selection(src)
  local l1, l2 = selection_of(src)
  if not l1 then
    return nil,
      '#selection: nothing selected in '
        .. rel(api.nvim_buf_get_name(src.buf))
        .. " (select lines, or open the chat with :'<,'>GlmChat)"
  end
  local lines = api.nvim_buf_get_lines(src.buf, l1 - 1, l2, false)
  local path = rel(api.nvim_buf_get_name(src.buf))
  return {
    kind = 'selection',
    summary = ('#selection: %s lines %d-%d'):format(path, l1, l2),
    body = ('#selection `%s` lines %d-%d:\n%s'):format(path, l1, l2, fence(lines, util.buf_get(src.buf, 'filetype'))),
  }
end

function attach.diagnostics(src)
  local all = vim.diagnostic.get(src.buf)
  local l1, l2 = 1, math.huge
  if src.range then
    l1, l2 = src.range[1], src.range[2]
  end
  local picked = {}
  for _, d in ipairs(all) do
    if d.lnum + 1 >= l1 and d.lnum + 1 <= l2 then
      picked[#picked + 1] = d
    end
  end
  table.sort(picked, function(a, b)
    if a.lnum ~= b.lnum then
      return a.lnum < b.lnum
    end
    return (a.col or 0) < (b.col or 0)
  end)
  local path = rel(api.nvim_buf_get_name(src.buf))
  local where = src.range and ('%s lines %d-%d'):format(path, l1, l2) or path
  local out = {}
  for _, d in ipairs(picked) do
    local code = api.nvim_buf_get_lines(src.buf, d.lnum, d.lnum + 1, false)[1] or ''
    local line = ('%s:%d:%d: %s: %s'):format(path, d.lnum + 1, (d.col or 0) + 1, SEVERITY[d.severity] or '?', d.message)
    if d.source and d.source ~= '' then
      line = line .. ' [' .. d.source .. (d.code and (' ' .. tostring(d.code)) or '') .. ']'
    end
    out[#out + 1] = line
    out[#out + 1] = '    ' .. vim.trim(code)
  end
  local body
  if #picked == 0 then
    body = ('#diagnostics of `%s`: none.'):format(where)
  else
    body = ('#diagnostics of `%s` (%d):\n%s'):format(where, #picked, fence(out, ''))
  end
  return {
    kind = 'diagnostics',
    summary = ('#diagnostics: %s, %d %s'):format(where, #picked, #picked == 1 and 'entry' or 'entries'),
    body = body,
  }
end

function attach.file(_, path)
  if path == '' then
    return nil, '#file: give a path, e.g. #file:src/main.c'
  end
  -- The path is text: fnamemodify expands a leading ~ and nothing else (expand() would run `=expr`
  -- and shell backticks pasted into a message).
  local full = vim.fn.fnamemodify(path, ':p')
  if vim.fn.isdirectory(full) == 1 then
    return nil, '#file:' .. path .. ' is a directory'
  end
  if vim.fn.filereadable(full) == 0 then
    return nil, '#file:' .. path .. ': no such file (paths are relative to ' .. vim.fn.getcwd() .. ')'
  end
  local size = vim.fn.getfsize(full)
  if size > M.MAX_BYTES then
    return nil, '#file:' .. path .. ': ' .. too_big(path, size)
  end
  local lines = vim.fn.readfile(full)
  local shown = rel(full)
  return {
    kind = 'file',
    summary = ('#file: %s, %s'):format(shown, count_lines(lines)),
    body = ('#file `%s`:\n%s'):format(shown, fence(lines, filetype_of(full))),
  }
end

-- The #tokens in `text`, in order, each once: { {kind, arg, token} }.
function M.tokens(text)
  local out, seen = {}, {}
  for pos, word, rest in text:gmatch('()#(%a+)(%S*)') do
    local prev = pos > 1 and text:sub(pos - 1, pos - 1) or ''
    if KINDS[word] and (prev == '' or prev:match('[%s%(%[{"\']')) then
      local arg
      if word == 'file' then
        if rest:sub(1, 1) == ':' then
          arg = rest:sub(2)
        end
      elseif rest == '' or rest:match('^[%p]+$') and not rest:match('^[:_%-/]') then
        arg = ''
      end
      if arg ~= nil then
        local key = word .. ':' .. arg
        if not seen[key] then
          seen[key] = true
          out[#out + 1] = { kind = word, arg = arg, token = '#' .. word .. (word == 'file' and (':' .. arg) or '') }
        end
      end
    end
  end
  return out
end

-- Expands the #tokens of a chat message. Returns content (what the model gets), attachments (nil when
-- there were none), or nil and an error message (nothing is sent then). The source is the one of
-- `view_buf` (a chat), or `src` = { buf, win, range } when given (:GlmAsk).
function M.expand(text, view_buf, src)
  local tokens = M.tokens(text)
  if #tokens == 0 then
    return text, nil
  end
  src = src or require('glm.source').get(view_buf)
  local attachments, bodies = {}, {}
  for _, t in ipairs(tokens) do
    local a, err
    if t.kind == 'file' then
      a, err = attach.file(src, t.arg)
      if not a and t.arg:match('[%.,;:%)!?]+$') then
        -- "see #file:foo.lua." : the sentence's punctuation is not part of the path.
        local trimmed = t.arg:gsub('[%.,;:%)!?]+$', '')
        a, err = attach.file(src, trimmed)
      end
    else
      local s
      s, err = need_source(src, t.token)
      if s then
        a, err = attach[t.kind](s)
      end
    end
    if not a then
      return nil, err
    end
    attachments[#attachments + 1] = { kind = a.kind, summary = a.summary }
    bodies[#bodies + 1] = a.body
  end
  return text .. '\n\n' .. table.concat(bodies, '\n\n'), attachments
end

-- Shows what was attached under a message: one line per attachment, e.g.
-- "[attached #buffer: lua/foo.lua, 120 lines]".
function M.show(buf, attachments)
  if not attachments or #attachments == 0 or not util.buf_valid(buf) then
    return
  end
  local lines = {}
  for _, a in ipairs(attachments) do
    lines[#lines + 1] = '[attached ' .. tostring(a.summary) .. ']'
  end
  view.append(buf, '\n\n' .. table.concat(lines, '\n'))
  local last = api.nvim_buf_line_count(buf)
  for row = last - #lines, last - 1 do
    view.highlight_line(buf, row, 'GlmSummary')
  end
end

local WORDS = {
  { word = '#buffer', menu = 'the source buffer' },
  { word = '#selection', menu = 'the range or last visual selection' },
  { word = '#diagnostics', menu = 'vim.diagnostic entries' },
  { word = '#file:', menu = 'a file' },
}

-- 'completefunc' of chat buffers (<C-x><C-u>): the #words, and paths after #file:.
function M.complete(findstart, base)
  if findstart == 1 then
    local line = api.nvim_get_current_line():sub(1, api.nvim_win_get_cursor(0)[2])
    local start = line:find('#[%w:/%._~%-]*$')
    return start and (start - 1) or -3
  end
  if base:sub(1, 6) == '#file:' then
    return vim.tbl_map(function(f)
      return '#file:' .. f
    end, vim.fn.getcompletion(base:sub(7), 'file'))
  end
  return vim.tbl_filter(function(item)
    return item.word:sub(1, #base) == base
  end, vim.deepcopy(WORDS))
end

function M.setup_buffer(buf)
  util.buf_set(buf, 'completefunc', "v:lua.require'glm.context'.complete")
end

-- :[range]GlmChat: the lines go into the message being written, fenced, with path and line numbers.
function M.add_range(chat, buf, range)
  if chat.reply and chat.reply:is_streaming() then
    util.notify('a reply is still streaming in this chat; add the lines once it has finished', vim.log.levels.WARN)
    return
  end
  local glm = require('glm')
  local block = glm._fence(glm._context(buf, range[1], range[2]))
  local _, row = chat:_input_text()
  local lines = api.nvim_buf_get_lines(chat.buf, row, -1, false)
  while #lines > 0 and vim.trim(lines[#lines]) == '' do
    table.remove(lines)
  end
  if #lines > 0 then
    lines[#lines + 1] = ''
  end
  vim.list_extend(lines, vim.split(block, '\n', { plain = true }))
  lines[#lines + 1] = ''
  api.nvim_buf_set_lines(chat.buf, row, -1, false, lines)
  for _, w in ipairs(util.wins_for_buf(chat.buf)) do
    api.nvim_win_set_cursor(w, { api.nvim_buf_line_count(chat.buf), 0 })
  end
end

return M
