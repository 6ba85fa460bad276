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
      if a == nil then
        out[#out + 1] = { role = 'user', content = m.content }
      elseif a.role == 'assistant' then
        if usable(a) then
          out[#out + 1] = { role = 'user', content = m.content }
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
    messages = self.messages,
  }
end

function Chat:save_now()
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

-- Draws the whole conversation (opening a chat); streaming afterwards only appends.
function Chat:render_all(with_input)
  local buf = self.buf
  util.buf_set(buf, 'modifiable', true)
  api.nvim_buf_set_lines(buf, 0, -1, false, {})
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
    self:_append_summary(rec)
    view.append(self.buf, '\n\n' .. USER .. '\n\n')
    self:_set_input_mark()
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
  self.messages[#self.messages + 1] =
    { role = 'user', content = content, text = attachments and text or nil, attachments = attachments }
  context.show(self.buf, attachments)
  if not self.title then
    self.title = text:match('[^\n]*'):sub(1, 80)
  end
  local cfg = config.get()
  local params = { messages = self:history(), stream = true }
  params.model = require('glm').current_model()
  if next(cfg.options) ~= nil then
    params.options = cfg.options
  end
  self:attach_reply(Reply.new():start('chat', params))
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
  pcall(api.nvim_buf_set_name, buf, 'glm://chat/' .. self.id)
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
    api.nvim_win_set_buf(0, chat.buf)
    M._setup_window(0, chat)
  end)
  map('n', km.close, close_window)
  require('glm.apply').attach(buf)
  require('glm.context').setup_buffer(buf)
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
  return chat
end

-- Continues a float's conversation (ask/explain) in a chat: `messages` is what was asked, `reply` the
-- answer (possibly still streaming; it keeps streaming into the chat).
function M.from_reply(messages, reply)
  local chat = M.new()
  for _, m in ipairs(messages) do
    if m.role ~= 'system' then
      chat.messages[#chat.messages + 1] = { role = m.role, content = m.content }
    end
  end
  chat.title = chat.messages[1] and chat.messages[1].content:match('[^\n]*'):sub(1, 80) or nil
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
