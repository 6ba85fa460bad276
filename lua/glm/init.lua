-- Public Lua API (doc/glm.txt, "glm-lua"). Works without setup(): defaults apply until it is called.
-- Heavy modules (rpc, views) load on first use.
local config = require('glm.config')
local util = require('glm.util')

local api = vim.api
local M = {}

-- Merges `opts` over the defaults. Returns true, or false after telling the user which option is wrong.
function M.setup(opts)
  local before = config.get().server
  if config.setup(opts) ~= nil then
    return false
  end
  -- A running server was started with the old server options; the next request starts a new one.
  local rpc = package.loaded['glm.rpc']
  if rpc and not vim.deep_equal(before, config.get().server) then
    rpc.stop()
  end
  -- Inline completion loads only when configured (or already in use).
  if (opts and opts.complete) or package.loaded['glm.complete'] then
    require('glm.complete').setup()
  elseif package.loaded['cmp'] then
    require('glm.cmp_source').register()
  end
  return true
end

-- The model requests use: the one picked with :GlmModel in this session, else opts.model, else the one
-- picked in an earlier session, else nil (server default). See glm.model.
function M.current_model()
  return require('glm.model').current()
end

-- Uses `id` from now on (and in later sessions); nil goes back to opts.model / the server default.
function M.set_model(id)
  require('glm.model').set(id)
end

-- For the statusline: status_text while a request streams, "" otherwise. Cheap: loads nothing.
function M.status()
  local reply = package.loaded['glm.reply']
  if reply and reply.active_count() > 0 then
    return config.get().status_text
  end
  return ''
end

-- For the statusline: the inline completion state (complete.status_text: idle, waiting, shown), ""
-- where completion is off. Cheap: loads nothing.
function M.complete_status()
  local complete = package.loaded['glm.complete']
  return complete and complete.status() or ''
end

local function trim(s)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- Lines l1..l2 (1-based, inclusive) of `buf` with what the model needs to read them.
function M._context(buf, l1, l2)
  local lines = api.nvim_buf_get_lines(buf, l1 - 1, l2, false)
  local name = api.nvim_buf_get_name(buf)
  return {
    code = table.concat(lines, '\n'),
    language = util.buf_get(buf, 'filetype'),
    path = name ~= '' and vim.fn.fnamemodify(name, ':~:.') or '',
    l1 = l1,
    l2 = l2,
  }
end

-- A markdown fence long enough not to be closed by backticks inside the code.
function M._fence(ctx)
  local longest = 2
  for run in ctx.code:gmatch('`+') do
    longest = math.max(longest, #run)
  end
  local ticks = string.rep('`', longest + 1)
  local where = ctx.path ~= '' and ('`%s` lines %d-%d'):format(ctx.path, ctx.l1, ctx.l2)
    or ('lines %d-%d'):format(ctx.l1, ctx.l2)
  return where .. ':\n' .. ticks .. ctx.language .. '\n' .. ctx.code .. '\n' .. ticks
end

local function base_params()
  local params = { model = M.current_model(), stream = true }
  local options = config.get().options
  if next(options) ~= nil then
    params.options = options
  end
  return params
end

-- Asks one question; the answer streams into a float. opts.range = {l1, l2} of the current buffer
-- sends those lines along. Returns the reply object (see glm.reply) and the float state.
function M.ask(question, opts)
  opts = opts or {}
  if question == nil or trim(question) == '' then
    vim.ui.input({ prompt = 'Ask GLM: ' }, function(q)
      if q and trim(q) ~= '' then
        M.ask(q, opts)
      end
    end)
    return
  end
  local content = question
  local win = api.nvim_get_current_win()
  if opts.context ~= false then
    -- #buffer, #selection, #diagnostics, #file:{path} in the question (glm.context).
    local source = require('glm.source')
    local src
    if source.is_code_window(win) then
      src = { buf = opts.buf or api.nvim_win_get_buf(win), win = win, range = opts.range }
    end
    local expanded, err = require('glm.context').expand(question, nil, src)
    if not expanded then
      util.notify(err, vim.log.levels.ERROR)
      return
    end
    content = expanded
  end
  if opts.range then
    local buf = opts.buf or api.nvim_get_current_buf()
    content = content .. '\n\n' .. M._fence(M._context(buf, opts.range[1], opts.range[2]))
  end
  local messages = {}
  local sys = config.get().chat.system_prompt
  if sys then
    messages[#messages + 1] = { role = 'system', content = sys }
  end
  messages[#messages + 1] = { role = 'user', content = content }
  local params = base_params()
  params.messages = messages
  local reply = require('glm.reply').new():start('chat', params)
  local insert = opts.apply == 'insert'
  local f = require('glm.float').stream(reply, { messages = messages, title = opts.title or 'GLM', insert = insert })
  -- Where `ga` in the float applies code: the range asked about (below it with opts.apply = 'insert'),
  -- else the cursor of this window.
  local source = require('glm.source')
  if source.is_code_window(win) then
    source.set(f.buf, opts.buf or api.nvim_win_get_buf(win), win, opts.range, insert)
  end
  return reply, f
end

-- The function around the cursor (Tree-sitter, when a parser is available), else the paragraph.
function M._default_range(buf, win)
  local cursor = api.nvim_win_get_cursor(win)
  local row = cursor[1]
  local ok, parser = pcall(vim.treesitter.get_parser, buf)
  if ok and parser then
    local ok2, trees = pcall(function()
      return parser:parse()
    end)
    if ok2 and trees and trees[1] then
      local node = trees[1]:root():named_descendant_for_range(row - 1, cursor[2], row - 1, cursor[2])
      while node do
        local t = node:type()
        if t:find('function') or t:find('method') or t:find('definition') or t:find('class') then
          local sr, _, er, ec = node:range()
          if ec == 0 and er > sr then
            er = er - 1
          end
          return sr + 1, er + 1
        end
        node = node:parent()
      end
    end
  end
  local n = api.nvim_buf_line_count(buf)
  local function blank(l)
    return (api.nvim_buf_get_lines(buf, l - 1, l, false)[1] or ''):match('^%s*$') ~= nil
  end
  local l1, l2 = row, row
  while l1 > 1 and not blank(l1 - 1) do
    l1 = l1 - 1
  end
  while l2 < n and not blank(l2 + 1) do
    l2 = l2 + 1
  end
  return l1, l2
end

-- The name of the function (or class) defined at the top of lines l1..l2: from Tree-sitter when a
-- parser is available, else from the first non-blank line for common definition syntaxes.
function M._definition_name(buf, l1, l2)
  local ok, parser = pcall(vim.treesitter.get_parser, buf)
  if ok and parser then
    local ok2, name = pcall(function()
      local root = parser:parse()[1]:root()
      local text = api.nvim_buf_get_lines(buf, l1 - 1, l1, false)[1] or ''
      local col = #(text:match('^%s*') or '')
      local node = root:named_descendant_for_range(l1 - 1, col, l1 - 1, col)
      while node do
        local t = node:type()
        if t:find('function') or t:find('method') or t:find('class') or t:find('definition') then
          local id = node:field('name')[1]
          if id then
            local sr, sc, er, ec = id:range()
            return table.concat(api.nvim_buf_get_text(buf, sr, sc, er, ec, {}), ' ')
          end
        end
        node = node:parent()
      end
    end)
    if ok2 and name then
      return name
    end
  end
  for _, line in ipairs(api.nvim_buf_get_lines(buf, l1 - 1, l2, false)) do
    if line:match('%S') then
      local patterns = {
        'function%s+([%w_%.:]+)%s*%(', -- Lua, JavaScript, PHP, shell
        '^%s*local%s+([%w_]+)%s*=%s*function', -- Lua
        '^%s*async%s+def%s+([%w_]+)', -- Python
        '^%s*def%s+([%w_%.?!]+)', -- Python, Ruby
        'fn%s+([%w_]+)', -- Rust
        '^func%s+%b()%s*([%w_]+)', -- Go method
        '^func%s+([%w_]+)', -- Go
        '^%s*[%w_]*%s*class%s+([%w_]+)', -- classes
        '^[%w_][%w_%s%*&:<>,]-[%s%*&]([%w_:~]+)%s*%b()%s*[%w%s]*{?%s*$', -- C, C++, Java
      }
      local keywords = { ['if'] = true, ['for'] = true, ['while'] = true, ['switch'] = true, ['return'] = true }
      for _, p in ipairs(patterns) do
        local name = line:match(p)
        if name and not keywords[name] then
          return name
        end
      end
      return nil
    end
  end
end

-- What a chat continued from an explain float is called in :GlmChats: the file and the function, or
-- the line range ("Explain hyp() in explain_me.py", "Explain explain_me.py:3-4").
function M._explain_title(buf, ctx, question)
  local file = ctx.path ~= '' and vim.fn.fnamemodify(ctx.path, ':t') or '[No Name]'
  local name = M._definition_name(buf, ctx.l1, ctx.l2)
  local where = name and (name .. '() in ' .. file) or ('%s:%d-%d'):format(file, ctx.l1, ctx.l2)
  if question then
    local q = question:match('[^\n]*')
    if #q > 50 then
      q = q:sub(1, 47) .. '...'
    end
    return q .. ' (' .. where .. ')'
  end
  return 'Explain ' .. where
end

-- Where an explain float goes: just below line l2 of `win`, or above l1 (growing upwards) when there
-- is more room there.
function M._anchor(win, l1, l2)
  local wpos = vim.fn.win_screenpos(win)
  local info = vim.fn.getwininfo(win)[1] or {}
  local col = (info.textoff or 0) + 2
  local below = vim.fn.screenpos(win, l2, 1).row
  local row
  if below > 0 then
    row = below - wpos[1] + 1
  else
    row = api.nvim_win_call(win, vim.fn.winline)
  end
  local win_h = api.nvim_win_get_height(win)
  local need = config.get().float.max_height + 2
  if row + need > win_h then
    local top = vim.fn.screenpos(win, l1, 1).row
    top = top > 0 and (top - wpos[1]) or (row - 1)
    if top > win_h - row then
      return { win = win, row = top, col = col, corner = 'SW' }
    end
  end
  return { win = win, row = row, col = col, corner = 'NW' }
end

-- Explains lines of the current buffer (opts.range = {l1, l2}, default: function or paragraph at the
-- cursor) in a float anchored next to them. opts.question: what to ask about the code.
function M.explain(opts)
  opts = opts or {}
  local win = api.nvim_get_current_win()
  local buf = api.nvim_win_get_buf(win)
  local l1, l2
  if opts.range then
    l1, l2 = opts.range[1], opts.range[2]
  else
    l1, l2 = M._default_range(buf, win)
  end
  local ctx = M._context(buf, l1, l2)
  local params = base_params()
  params.code = ctx.code
  params.language = ctx.language ~= '' and ctx.language or nil
  params.path = ctx.path ~= '' and ctx.path or nil
  local question = opts.question and trim(opts.question) ~= '' and opts.question or nil
  params.question = question
  local reply = require('glm.reply').new():start('explain', params)
  -- What a follow-up chat shows as the first question.
  local asked = (question or 'Explain this code.') .. '\n\n' .. M._fence(ctx)
  local f = require('glm.float').stream(reply, {
    messages = { { role = 'user', content = asked } },
    anchor = M._anchor(win, l1, l2),
    title = 'GLM explain',
    chat_title = M._explain_title(buf, ctx, question),
  })
  require('glm.source').set(f.buf, buf, win, { l1, l2 })
  return reply, f
end

-- opts.range = {l1, l2}: put those lines of the current buffer into the message being written.
function M.chat(opts)
  opts = opts or {}
  local win = api.nvim_get_current_win()
  local source = require('glm.source')
  local from_code = source.is_code_window(win)
  local chat = require('glm.chat').open(opts)
  if chat and from_code then
    -- Apply (ga) and #buffer/#selection/#diagnostics refer to this buffer (and range).
    source.set(chat.buf, api.nvim_win_get_buf(win), win, opts.range)
    if opts.range then
      require('glm.context').add_range(chat, api.nvim_win_get_buf(win), opts.range)
    end
  end
  return chat
end

-- :[range]GlmEdit. opts.range = {l1, l2}; without it the code is inserted below the cursor.
function M.edit(instruction, opts)
  return require('glm.edit').edit(instruction, opts)
end

-- :[range]GlmAction. opts.range = {l1, l2}; without it the action runs on the whole buffer.
function M.action(name, opts)
  return require('glm.actions').run(name, opts)
end

function M.chats(layout)
  return require('glm.chat').pick(layout)
end

-- Cancels every request in flight.
function M.cancel()
  local reply = package.loaded['glm.reply']
  if reply then
    reply.cancel_all()
  end
end

-- :GlmModel: pick the model for later requests from the server's models/list (or type one). In a chat
-- buffer it sets that chat's model only.
function M.select_model()
  local chat = package.loaded['glm.chat'] and require('glm.chat').for_buf(api.nvim_get_current_buf())
  if chat then
    return chat:select_model()
  end
  require('glm.model').select()
end

function M.open_log()
  local path = config.log_file()
  if vim.fn.filereadable(path) == 0 then
    util.notify('no server log yet at ' .. path, vim.log.levels.WARN)
    return
  end
  vim.cmd('split ' .. vim.fn.fnameescape(path))
end

return M
