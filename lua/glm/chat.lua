-- Chat buffers (:GlmChat). The conversation (self.messages) is the model; the markdown buffer is its
-- view. What is sent each turn is built from the model, not scraped from the buffer, so edits to old
-- text do not change history. The user types under the last "## You" heading and sends with <CR>.
--
-- Saved as it streams: a throttled write every chat.save_interval_ms while a reply streams, and one at
-- each end, so at most that much text is lost if Neovim dies mid-reply.
local util = require('glm.util')
local view = require('glm.view')
local config = require('glm.config')
local store = require('glm.store')
local Reply = require('glm.reply')

local api = vim.api
local M = {}

local USER = '## You'
local ASSISTANT = '## GLM'

local by_buf = {}
local by_id = {}
local last_chat = nil

local Chat = {}
Chat.__index = Chat

local function trim(s)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- A finished assistant turn counts as context for the next request only if the user saw a real answer.
-- A withdrawn or failed reply is dropped together with the prompt that produced it: re-sending a
-- prompt the provider filtered would only get the conversation filtered again.
-- A new chat's title: the first line the user wrote, not what :[range]GlmChat put in the message (a
-- "`path` lines a-b:" line and fenced code), which gives "path lines a-b" when nothing else was written.
local function title_of(text)
  local where, fence
  for _, l in ipairs(vim.split(text, '\n', { plain = true })) do
    local f = l:match('^%s*(```+)') or l:match('^%s*(~~~+)')
    if fence then
      if f and #f >= #fence and trim(l) == f then
        fence = nil
      end
    elseif f then
      fence = f
    elseif l:match('lines %d+%-%d+:$') then
      where = where or l:gsub('`', ''):gsub(':$', '')
    elseif trim(l) ~= '' then
      return trim(l):sub(1, 80)
    end
  end
  return where or text:match('[^\n]*'):sub(1, 80)
end

local function usable(msg)
  if msg.status == 'done' then
    return true
  end
  return (msg.status == 'cancelled' or msg.status == 'interrupted') and (msg.content or '') ~= ''
end

function Chat:history()
  local out = {}
  local sys = config.get().chat.system_prompt
  if sys then
    out[#out + 1] = { role = 'system', content = sys }
  end
  local msgs = self.messages
  local i = 1
  while i <= #msgs do
    local m = msgs[i]
    if m.role == 'user' then
      local a = msgs[i + 1]
      local content = m.content
      if m.images and #m.images > 0 then
        content = require('glm.image').parts(m.content or '', m.images)
      end
      if a == nil then
        out[#out + 1] = { role = 'user', content = content }
      elseif a.role == 'assistant' then
        if usable(a) then
          out[#out + 1] = { role = 'user', content = content }
          out[#out + 1] = { role = 'assistant', content = a.content }
        end
        i = i + 1
      end
    end
    i = i + 1
  end
  return out
end

function Chat:data()
  local rec, reply = self.rec, self.reply
  if rec and reply then
    rec.content, rec.reasoning, rec.model = reply.content, reply.reasoning, reply.model
  end
  return {
    version = 1,
    id = self.id,
    title = self.title,
    created = self.created,
    updated = os.time(),
    model = self.model,
    messages = self.messages,
  }
end

function Chat:save_now()
  if self.deleted then
    return
  end
  if self.save_timer then
    self.save_timer:stop()
    if not self.save_timer:is_closing() then
      self.save_timer:close()
    end
    self.save_timer = nil
  end
  if config.get().chat.save and #self.messages > 0 then
    store.save(self:data())
  end
end

function Chat:schedule_save()
  if self.save_timer or not config.get().chat.save then
    return
  end
  local timer = util.uv.new_timer()
  self.save_timer = timer
  timer:start(config.get().chat.save_interval_ms, 0, function()
    vim.schedule(function()
      if self.save_timer == timer then
        self:save_now()
      end
    end)
  end)
end

local function summary_of(msg)
  return Reply.new(msg):summary()
end

-- Input starts at the line after the last "## You" heading.
function Chat:_set_input_mark()
  local last = api.nvim_buf_line_count(self.buf) - 1
  self.input_mark =
    api.nvim_buf_set_extmark(self.buf, view.ns, last, 0, { id = self.input_mark, right_gravity = false })
end

function Chat:_input_text()
  local p = api.nvim_buf_get_extmark_by_id(self.buf, view.ns, self.input_mark, {})
  local lines = api.nvim_buf_get_lines(self.buf, p[1], -1, false)
  return trim(table.concat(lines, '\n')), p[1]
end

local function summary_group(status)
  return status == 'done' and 'GlmSummary' or 'GlmWarning'
end

function Chat:_append_summary(msg)
  local s = summary_of(msg)
  if s == '' then
    return
  end
  view.append(self.buf, '\n\n[' .. s .. ']')
  view.highlight_line(self.buf, api.nvim_buf_line_count(self.buf) - 1, summary_group(msg.status))
end

-- The model this chat's next request uses: its own (:GlmModel in the chat), else the global one
-- (nil: the server's default).
function Chat:model_id()
  return self.model or require('glm').current_model()
end

local HEADER_LINES = 3 -- "# title", "model: ...", blank

function Chat:_header()
  local keys = config.get().keymaps
  local help = keys.help and (' · ' .. keys.help .. ' for keys') or ''
  return {
    '# ' .. (self.title or 'New chat'),
    'model: ' .. require('glm.model').describe(self:model_id()) .. help,
    '',
  }
end

-- The buffer's name, which tab labels and :ls show: "GLM: <title>", without slashes (a tab label
-- shortens every path component before the last one) and unique among buffers.
function Chat:_set_name()
  local title = (self.title or 'new chat'):gsub('[/\\]', '∕'):gsub('%s+', ' ')
  if vim.fn.strchars(title) > 40 then
    title = vim.fn.strcharpart(title, 0, 39) .. '…'
  end
  local taken = {}
  for _, b in ipairs(api.nvim_list_bufs()) do
    if b ~= self.buf then
      taken[vim.fn.bufname(b)] = true
    end
  end
  local name, n = 'GLM: ' .. title, 1
  while taken[name] do
    n = n + 1
    name = ('GLM: %s (%d)'):format(title, n)
  end
  local old = api.nvim_buf_get_name(self.buf)
  if vim.fn.bufname(self.buf) == name or not pcall(api.nvim_buf_set_name, self.buf, name) then
    return
  end
  -- Renaming leaves an unloaded, unlisted buffer holding the old name (the alternate file): drop it.
  if old ~= '' then
    for _, b in ipairs(api.nvim_list_bufs()) do
      if b ~= self.buf and api.nvim_buf_get_name(b) == old and not api.nvim_buf_is_loaded(b) then
        pcall(api.nvim_buf_delete, b, { force = true })
      end
    end
  end
end

-- Rewrites the header (title and model) in place; the conversation below is untouched.
function Chat:render_header()
  if not util.buf_valid(self.buf) then
    return
  end
  self:_set_name()
  api.nvim_buf_set_lines(self.buf, 0, HEADER_LINES - 1, false, vim.list_slice(self:_header(), 1, HEADER_LINES - 1))
  view.highlight_line(self.buf, 1, 'GlmHint')
end

-- Draws the whole conversation (opening a chat); streaming afterwards only appends.
function Chat:render_all(with_input)
  local buf = self.buf
  util.buf_set(buf, 'modifiable', true)
  -- The header, then an empty line the conversation is appended to.
  local lines = self:_header()
  lines[#lines + 1] = ''
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  view.highlight_line(buf, 1, 'GlmHint')
  self:_set_name()
  local first = true
  for _, m in ipairs(self.messages) do
    local text
    if m.role == 'user' then
      text = USER .. '\n\n' .. (m.text or m.content or '')
    elseif m.role == 'assistant' then
      text = ASSISTANT .. '\n\n' .. view.render_reply(m.reasoning or '', m.content or '')
    end
    if text then
      view.append(buf, (first and '' or '\n\n') .. text)
      first = false
      if m.role == 'assistant' then
        self:_append_summary(m)
      elseif m.attachments then
        require('glm.context').show(buf, m.attachments)
      end
    end
  end
  if with_input then
    view.append(buf, (first and '' or '\n\n') .. USER .. '\n\n')
    self:_set_input_mark()
  end
end

function Chat:_finish(reply, rec)
  rec.content, rec.reasoning = reply.content, reply.reasoning
  rec.status = reply.status
  rec.model = reply.model
  rec.provider = reply.provider
  rec.usage = reply.usage
  rec.finish_reason = reply.finish_reason
  rec.error = reply.error and reply.error.message or nil
  self.reply, self.rec = nil, nil
  if util.buf_valid(self.buf) then
    self:render_header() -- the server's default model is known now
    self:_append_summary(rec)
    view.append(self.buf, '\n\n' .. USER .. '\n\n')
    self:_set_input_mark()
    if self.keep_input then
      -- What the user had typed before regenerating goes back under the new heading.
      view.append(self.buf, self.keep_input)
      self.keep_input = nil
    end
  end
  self:save_now()
end

-- Shows `reply` as the next assistant turn (the reply may already be streaming, or even finished).
function Chat:attach_reply(reply)
  local rec = { role = 'assistant', content = '', reasoning = '', status = 'streaming', model = reply.model }
  self.messages[#self.messages + 1] = rec
  self.reply, self.rec = reply, rec
  view.append(self.buf, '\n\n' .. ASSISTANT .. '\n\n')
  local last = api.nvim_buf_line_count(self.buf) - 1
  local region = view.region(self.buf, last, 0)
  view.attach(reply, region, {
    fold = config.get().chat.fold_reasoning,
    on_change = function()
      self:schedule_save()
    end,
  })
  if reply.status == 'streaming' then
    reply:subscribe(function(event)
      if event == 'done' then
        self:_finish(reply, rec)
      end
    end)
    self:save_now()
  else
    self:_finish(reply, rec)
  end
end

function Chat:send(text)
  if self.reply and self.reply:is_streaming() then
    util.notify('a reply is still streaming; cancel it first', vim.log.levels.WARN)
    return
  end
  local input_row
  if text == nil then
    text, input_row = self:_input_text()
  end
  if text == '' then
    util.notify("nothing to send: type a message under the last '" .. USER .. "'", vim.log.levels.WARN)
    return
  end
  -- #buffer, #selection, #diagnostics, #file:{path} (glm.context); on error nothing is sent.
  local context = require('glm.context')
  local content, attachments = context.expand(text, self.buf)
  if not content then
    util.notify(attachments, vim.log.levels.ERROR)
    return
  end
  -- Image lines are looked for in what was typed only (an attached file may hold markdown images).
  local images
  if text:find('![', 1, true) then
    local parsed, perr = require('glm.image').extract(text)
    if not parsed then
      util.notify(perr, vim.log.levels.ERROR)
      return
    end
    if #parsed.images > 0 then
      images = parsed
      -- context.expand appends the attachments after the typed text.
      images.text = parsed.text .. content:sub(#text + 1)
    end
  end
  if images and not self.vision_checked then
    -- Only a vision model can read them: ask the server's model list first (the message stays put).
    return self:_check_vision(function()
      self.vision_checked = true
      local ok, err = pcall(self.send, self, input_row == nil and text or nil)
      self.vision_checked = nil
      if not ok then
        error(err, 0)
      end
    end)
  end
  if input_row == nil then
    -- Programmatic send: put the text where the user would have typed it.
    local _, r = self:_input_text()
    api.nvim_buf_set_lines(self.buf, r, -1, false, vim.split(text, '\n', { plain = true }))
  else
    -- Drop trailing blank lines so the reply heading sits one blank line below the message.
    local lines = api.nvim_buf_get_lines(self.buf, input_row, -1, false)
    local keep = #lines
    while keep > 0 and trim(lines[keep]) == '' do
      keep = keep - 1
    end
    api.nvim_buf_set_lines(self.buf, input_row + keep, -1, false, {})
  end
  local msg = { role = 'user', content = content, text = (attachments or images) and text or nil }
  msg.attachments = attachments
  if images then
    -- The image lines become image parts (glm.image); the text sent is the rest.
    msg.content, msg.images = images.text, images.images
  end
  self.messages[#self.messages + 1] = msg
  context.show(self.buf, attachments)
  if not self.title then
    self.title = title_of(text)
    self:render_header()
  end
  self:_request()
end

-- Calls `proceed` when this chat's model can read images; otherwise says so and which models can.
function Chat:_check_vision(proceed)
  local model = require('glm.model')
  local function decide(models)
    local id = self:model_id() or model.server_default()
    if model.has_vision(id, models) then
      return proceed()
    end
    local vision = {}
    for _, m in ipairs(models or {}) do
      if util.nonnil(m.vision) then
        vision[#vision + 1] = m.id
      end
    end
    util.notify(
      ('%s cannot read images: pick a vision model for this chat with :GlmModel (%s), or remove the image line'):format(
        id or 'the default model',
        #vision > 0 and table.concat(vision, ', ') or 'glm-4v, glm-4.5v, ...'
      ),
      vim.log.levels.ERROR
    )
  end
  local client = require('glm.rpc').current()
  if client and client.ready and client.models then
    return decide(util.nonnil(client.models))
  end
  require('glm.rpc').request('models/list', vim.empty_dict(), {
    on_done = function(err, result)
      if err then
        if not err.quiet then
          util.notify('models/list failed: ' .. (err.message or '?'), vim.log.levels.ERROR)
        end
        return
      end
      decide(util.nonnil(result and result.models) or {})
    end,
  })
end

-- :GlmImage: adds `path` to the message being typed, as a `![image](path)` line.
function Chat:attach_image(path)
  local line = require('glm.image').line(path)
  local parsed, err = require('glm.image').extract(line)
  if not parsed then
    util.notify(err, vim.log.levels.ERROR)
    return false
  end
  if not self.input_mark then
    util.notify('wait for the reply to finish before attaching an image', vim.log.levels.WARN)
    return false
  end
  local text, row = self:_input_text()
  local last = api.nvim_buf_line_count(self.buf)
  if text == '' then
    api.nvim_buf_set_lines(self.buf, row, -1, false, { line, '' })
  else
    local tail = api.nvim_buf_get_lines(self.buf, last - 1, last, false)[1]
    local at = trim(tail) == '' and last - 1 or last
    api.nvim_buf_set_lines(self.buf, at, -1, false, { line, '' })
  end
  for _, win in ipairs(util.wins_for_buf(self.buf)) do
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(self.buf), 0 })
  end
  return true
end

-- Asks for the next reply to the conversation as it stands.
function Chat:_request()
  local cfg = config.get()
  local params = { messages = self:history(), stream = true }
  params.model = self:model_id()
  if next(cfg.options) ~= nil then
    params.options = cfg.options
  end
  self:attach_reply(Reply.new():start('chat', params))
end

-- :GlmModel in a chat: this chat's model (shown in its header, saved with it).
function Chat:select_model()
  require('glm.model').select({
    current = self:model_id(),
    prompt = 'GLM model for this chat',
    on_choice = function(id)
      self:set_model(id)
      util.notify('model for this chat: ' .. id)
    end,
  })
end

function Chat:set_model(id)
  self.model = id
  self:render_header()
  if #self.messages > 0 then
    self:save_now()
  end
end

-- Yanks the code block under the cursor (else the nearest one above it) into `register`.
function Chat:yank_code(register)
  local lines = api.nvim_buf_get_lines(self.buf, 0, -1, false)
  local row = api.nvim_win_get_cursor(0)[1]
  local block = require('glm.blocks').at(lines, row)
  if not block then
    util.notify('no code block in this chat', vim.log.levels.WARN)
    return
  end
  register = (register == nil or register == '') and '"' or register
  vim.fn.setreg(register, block.code .. '\n', 'l')
  local n = select(2, block.code:gsub('\n', '')) + 1
  util.notify(('yanked %d line%s%s'):format(n, n == 1 and '' or 's', block.lang ~= '' and (' of ' .. block.lang) or ''))
end

-- Moves the cursor to the first line of the `n`th reply after it (n < 0: before it).
function Chat:jump_reply(n)
  local lines = api.nvim_buf_get_lines(self.buf, 0, -1, false)
  local row = api.nvim_win_get_cursor(0)[1]
  -- Where each reply's text starts: two lines below its heading (a blank line between).
  local starts = {}
  for i, l in ipairs(lines) do
    if l == ASSISTANT then
      starts[#starts + 1] = math.min(i + 2, #lines)
    end
  end
  local target
  if n > 0 then
    local left = n
    for _, r in ipairs(starts) do
      if r > row then
        target, left = r, left - 1
        if left == 0 then
          break
        end
      end
    end
  else
    local left = -n
    for i = #starts, 1, -1 do
      if starts[i] < row then
        target, left = starts[i], left - 1
        if left == 0 then
          break
        end
      end
    end
  end
  if not target then
    return
  end
  vim.cmd("normal! m'")
  api.nvim_win_set_cursor(0, { target, 0 })
end

-- Asks again for the last reply (with this chat's current model), replacing it.
function Chat:regenerate()
  if self.reply and self.reply:is_streaming() then
    util.notify('a reply is still streaming; cancel it first', vim.log.levels.WARN)
    return
  end
  local n = #self.messages
  if n == 0 or (self.messages[n].role == 'assistant' and n == 1) then
    util.notify('nothing to regenerate yet', vim.log.levels.WARN)
    return
  end
  local typed = self.input_mark and self:_input_text() or ''
  if self.messages[n].role == 'assistant' then
    table.remove(self.messages, n)
  end
  self:render_all(false)
  self.keep_input = typed ~= '' and typed or nil
  self:_request()
end

-- Starts over in the same window: the conversation so far stays saved (see :GlmChats); this buffer
-- becomes a new, empty chat that keeps this chat's model.
function Chat:clear()
  self:cancel()
  self:save_now()
  by_id[self.id] = nil
  self.id = store.new_id()
  by_id[self.id] = self
  self.title = nil
  self.created = os.time()
  self.messages = {}
  self.reply, self.rec = nil, nil
  self:render_all(true)
  for _, win in ipairs(util.wins_for_buf(self.buf)) do
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(self.buf), 0 })
  end
end

-- :GlmChatRename: renames this chat (what :GlmChats lists and the header shows).
function Chat:rename(title)
  title = title and trim(title) or ''
  if title == '' then
    return
  end
  self.title = title:gsub('\n', ' ')
  self:render_header()
  self:save_now()
end

function Chat:cancel()
  if self.reply then
    self.reply:cancel()
  end
end

local function close_window()
  if not pcall(api.nvim_win_close, 0, false) then
    vim.cmd('enew')
  end
end

function Chat:_setup_buffer()
  local buf = self.buf
  util.buf_set(buf, 'buftype', 'nofile')
  util.buf_set(buf, 'bufhidden', 'hide')
  util.buf_set(buf, 'swapfile', false)
  util.buf_set(buf, 'filetype', 'markdown')
  self:_set_name()
  local km = config.get().keymaps
  local function map(mode, lhs, fn)
    if lhs then
      vim.keymap.set(mode, lhs, fn, { buffer = buf, silent = true, nowait = true })
    end
  end
  map('n', km.send, function()
    self:send()
  end)
  map('i', km.send_insert, function()
    self:send()
  end)
  map({ 'n', 'i' }, km.cancel, function()
    self:cancel()
  end)
  map('n', km.new_chat, function()
    local chat = M.new()
    chat:render_all(true)
    api.nvim_win_set_buf(0, chat.buf)
    M._setup_window(0, chat)
  end)
  map('n', km.close, close_window)
  require('glm.apply').attach(buf)
  require('glm.context').setup_buffer(buf)
  map('n', km.yank_code, function()
    self:yank_code(vim.v.register)
  end)
  map('n', km.next_reply, function()
    self:jump_reply(vim.v.count1)
  end)
  map('n', km.prev_reply, function()
    self:jump_reply(-vim.v.count1)
  end)
  map('n', km.regenerate, function()
    self:regenerate()
  end)
  map('n', km.clear, function()
    self:clear()
  end)
  map('n', km.model, function()
    self:select_model()
  end)
  map('n', km.help, function()
    M.show_help()
  end)
  api.nvim_create_autocmd({ 'BufWipeout', 'BufDelete' }, {
    buffer = buf,
    once = true,
    callback = function()
      self:cancel()
      by_buf[buf] = nil
      if by_id[self.id] == self then
        by_id[self.id] = nil
      end
    end,
  })
end

function M.new(data)
  data = data or {}
  local self = setmetatable({
    id = util.nonnil(data.id) or store.new_id(),
    title = util.nonnil(data.title),
    model = util.nonnil(data.model),
    created = util.nonnil(data.created) or os.time(),
    messages = {},
  }, Chat)
  for _, m in ipairs(util.nonnil(data.messages) or {}) do
    local rec = {}
    for k, v in pairs(m) do
      rec[k] = util.nonnil(v)
    end
    if rec.status == 'streaming' then
      rec.status = 'interrupted' -- Neovim went away mid-reply
    end
    self.messages[#self.messages + 1] = rec
  end
  self.buf = api.nvim_create_buf(false, true)
  self:_setup_buffer()
  by_buf[self.buf] = self
  by_id[self.id] = self
  last_chat = self
  return self
end

function M._setup_window(win, chat)
  util.win_set(win, 'wrap', true)
  util.win_set(win, 'linebreak', true)
  util.win_set(win, 'foldmethod', 'manual')
  if config.get().chat.fold_reasoning then
    view.fold_thinking(win)
  end
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_win_set_cursor(win, { last, 0 })
end

-- Shows a chat in a window laid out per `layout` (split | vsplit | float | tab); reuses a window in
-- the current tab that already shows it.
function M.show(chat, layout)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == chat.buf then
      api.nvim_set_current_win(win)
      return win
    end
  end
  layout = layout or config.get().chat.layout
  local win
  if layout == 'float' then
    local w = math.floor(vim.o.columns * 0.8)
    local h = math.floor(vim.o.lines * 0.8)
    win = api.nvim_open_win(chat.buf, true, {
      relative = 'editor',
      width = w,
      height = h,
      row = math.floor((vim.o.lines - h) / 2) - 1,
      col = math.floor((vim.o.columns - w) / 2),
      border = config.get().float.border,
      style = 'minimal',
    })
  else
    local cmd = ({ split = 'botright split', vsplit = 'botright vsplit', tab = 'tab split' })[layout]
    vim.cmd(cmd)
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, chat.buf)
  end
  M._setup_window(win, chat)
  return win
end

-- opts: { new = bool, layout = string }
function M.open(opts)
  opts = opts or {}
  local chat = (not opts.new and last_chat and util.buf_valid(last_chat.buf)) and last_chat or nil
  if not chat then
    chat = M.new()
    chat:render_all(true)
  end
  M.show(chat, opts.layout)
  chat:_learn_default_model()
  return chat
end

-- A chat without its own model shows the server's default in its header; ask the server (starting it,
-- as the chat is about to be used) when that is not known yet.
function Chat:_learn_default_model()
  if self:model_id() or require('glm.model').server_default() then
    return
  end
  require('glm.rpc').request('models/list', vim.empty_dict(), {
    on_done = function()
      if util.buf_valid(self.buf) and not (self.reply and self.reply:is_streaming()) then
        self:render_header()
      end
    end,
  })
end

-- Continues a float's conversation (ask/explain) in a chat: `messages` is what was asked, `reply` the
-- answer (possibly still streaming; it keeps streaming into the chat).
-- `title`: what :GlmChats lists it as (default: the first line of the first message).
function M.from_reply(messages, reply, title)
  local chat = M.new()
  for _, m in ipairs(messages) do
    if m.role ~= 'system' then
      chat.messages[#chat.messages + 1] = { role = m.role, content = m.content }
    end
  end
  chat.title = title or chat.messages[1] and chat.messages[1].content:match('[^\n]*'):sub(1, 80) or nil
  chat:render_all(false)
  chat:attach_reply(reply)
  M.show(chat)
  return chat
end

function M.open_saved(path, layout)
  local data, err = store.load(path)
  if not data then
    util.notify(err, vim.log.levels.ERROR)
    return
  end
  local existing = by_id[data.id]
  if existing and util.buf_valid(existing.buf) then
    M.show(existing, layout)
    return existing
  end
  local chat = M.new(data)
  chat:render_all(true)
  M.show(chat, layout)
  return chat
end

-- :GlmChats
function M.pick(layout)
  local items = store.list()
  if #items == 0 then
    util.notify('no saved chats in ' .. config.chat_dir())
    return
  end
  vim.ui.select(items, {
    prompt = 'GLM chats',
    format_item = function(it)
      return os.date('%Y-%m-%d %H:%M', it.updated) .. '  ' .. it.title
    end,
  }, function(choice)
    if choice then
      M.open_saved(choice.path, layout)
    end
  end)
end

local function pick_saved(prompt, fn)
  local items = store.list()
  if #items == 0 then
    util.notify('no saved chats in ' .. config.chat_dir())
    return
  end
  vim.ui.select(items, {
    prompt = prompt,
    format_item = function(it)
      return os.date('%Y-%m-%d %H:%M', it.updated) .. '  ' .. it.title
    end,
  }, function(choice)
    if choice then
      fn(choice)
    end
  end)
end

-- :GlmImage [{file}]: attaches an image to the message being typed in this chat (or the chat of this
-- session, opened when needed). Without {file} it is asked for.
function M.attach_image_cmd(path)
  local function go(p)
    if not p or trim(p) == '' then
      return
    end
    local chat = by_buf[api.nvim_get_current_buf()] or M.open()
    chat:attach_image(trim(p))
  end
  if path and trim(path) ~= '' then
    return go(path)
  end
  vim.ui.input({ prompt = 'Image file: ', completion = 'file' }, go)
end

-- :GlmChatRename [{title}]: the chat in the current buffer, else one picked from the saved chats.
-- Without {title} the new one is asked for (the old one as the default).
function M.rename_cmd(title)
  title = trim(title or '')
  local function with_title(current, apply)
    if title ~= '' then
      return apply(title)
    end
    vim.ui.input({ prompt = 'Rename chat: ', default = current }, function(t)
      if t and trim(t) ~= '' then
        apply(trim(t))
      end
    end)
  end
  local chat = by_buf[api.nvim_get_current_buf()]
  if chat then
    return with_title(chat.title or '', function(t)
      chat:rename(t)
      util.notify('chat renamed: ' .. chat.title)
    end)
  end
  pick_saved('Rename which chat?', function(item)
    with_title(item.title, function(t)
      local open = by_id[item.id]
      if open and util.buf_valid(open.buf) then
        open:rename(t)
      else
        local ok, err = store.rename(item.path, t)
        if not ok then
          return util.notify('could not rename: ' .. tostring(err), vim.log.levels.ERROR)
        end
      end
      util.notify('chat renamed: ' .. t)
    end)
  end)
end

-- Deletes a chat: its file, and its buffer if it is open (a streaming reply is cancelled).
local function delete_chat(id, path, title, force)
  if not force then
    local answer = vim.fn.confirm(('Delete the chat "%s"?'):format(title), '&Yes\n&No', 2)
    if answer ~= 1 then
      return false
    end
  end
  local open = by_id[id]
  if open then
    open.deleted = true
    if open.save_timer then
      open.save_timer:stop()
    end
    open:cancel()
    if util.buf_valid(open.buf) then
      pcall(api.nvim_buf_delete, open.buf, { force = true })
    end
    if last_chat == open then
      last_chat = nil
    end
  end
  local ok, err = store.delete(path)
  if not ok then
    util.notify('could not delete ' .. path .. ': ' .. tostring(err), vim.log.levels.ERROR)
    return false
  end
  util.notify('chat deleted: ' .. title)
  return true
end

-- :GlmChatDelete[!]: the chat in the current buffer, else one picked from the saved chats; asks first
-- unless [!] is given.
function M.delete_cmd(force)
  local chat = by_buf[api.nvim_get_current_buf()]
  if chat then
    return delete_chat(chat.id, store.path(chat.id), chat.title or 'New chat', force)
  end
  pick_saved('Delete which chat?', function(item)
    delete_chat(item.id, item.path, item.title, force)
  end)
end

-- What the `?` help lists: { keymaps option name, what it does }. Other modules may add lines.
M.help_entries = {
  { 'send', 'send the message (normal mode)' },
  { 'send_insert', 'send the message (insert mode)' },
  { 'cancel', 'cancel the reply that is streaming' },
  { 'yank_code', 'yank the code block under the cursor (or the one above); "x gy: into register x' },
  { 'apply', 'apply the code block to the source window, through a diff (:help glm-apply)' },
  { 'apply_insert', 'insert the code block below the cursor of the source window' },
  { 'next_reply', 'next reply ([count] replies on)' },
  { 'prev_reply', 'previous reply' },
  { 'regenerate', "ask again for the last reply (with this chat's model)" },
  { 'clear', 'clear: start a new chat here (this one stays saved, :GlmChats)' },
  { 'model', "pick this chat's model (also :GlmModel in the chat)" },
  { 'new_chat', 'open a new chat in this window' },
  { 'close', 'close the window (a streaming reply is cancelled)' },
  { 'help', 'this help' },
}

-- The `?` float: the chat's keys as configured, and the chat commands.
function M.show_help()
  local km = config.get().keymaps
  local lines = {}
  local width = 0
  for _, e in ipairs(M.help_entries) do
    local key = km[e[1]]
    if key then
      lines[#lines + 1] = ('  %-8s %s'):format(key, e[2])
    end
  end
  vim.list_extend(lines, {
    '',
    '  :GlmModel           model of this chat (in a chat) or of new requests',
    '  :GlmChatRename {t}  rename this chat      :GlmChatDelete  delete it',
    '  :GlmChats           reopen a saved chat   :GlmImage {file}  attach an image',
    '  :help glm-chat      more',
  })
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  util.buf_set(buf, 'modifiable', false)
  util.buf_set(buf, 'bufhidden', 'wipe')
  width = math.min(width + 2, vim.o.columns - 4)
  local height = math.min(#lines, vim.o.lines - 4)
  local cfg = {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = 'minimal',
    border = config.get().float.border,
  }
  if vim.fn.has('nvim-0.9') == 1 and cfg.border ~= 'none' then
    cfg.title = ' GLM chat keys '
  end
  local win = api.nvim_open_win(buf, true, cfg)
  for _, lhs in ipairs({ 'q', '<Esc>', km.help or '?' }) do
    vim.keymap.set('n', lhs, function()
      pcall(api.nvim_win_close, win, true)
    end, { buffer = buf, nowait = true, silent = true })
  end
  return buf, win
end

function M.for_buf(buf)
  return by_buf[buf]
end

-- Closing the last window on a chat that is streaming cancels the request (the buffer stays).
local group = api.nvim_create_augroup('glm_chat', { clear = true })
api.nvim_create_autocmd('WinClosed', {
  group = group,
  callback = function(args)
    local win = tonumber(args.match)
    if not win or not api.nvim_win_is_valid(win) then
      return
    end
    local chat = by_buf[api.nvim_win_get_buf(win)]
    if not chat or not chat.reply then
      return
    end
    for _, w in ipairs(util.wins_for_buf(chat.buf)) do
      if w ~= win then
        return
      end
    end
    chat:cancel()
  end,
})

return M
