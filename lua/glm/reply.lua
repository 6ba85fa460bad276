-- One streamed answer (a `chat` or `explain` request): the state, apart from any window showing it.
-- Views subscribe to events and render; a reply can move from one view to another (float -> chat)
-- without the request noticing.
--
-- Events passed to listeners as fn(event, reply, text):
--   'reasoning' text  appended to reply.reasoning
--   'content'   text  appended to reply.content
--   'replace'         reply.content / reply.reasoning were rewritten wholesale
--   'done'            finished; reply.status is done | withdrawn | cancelled | error
local rpc = require('glm.rpc')
local util = require('glm.util')

local M = {}

local active = {} -- reply -> true while streaming
local active_count = 0

local Reply = {}
Reply.__index = Reply

function M.new(fields)
  local r = setmetatable({
    content = '',
    reasoning = '',
    status = 'new',
    listeners = {},
  }, Reply)
  for k, v in pairs(fields or {}) do
    r[k] = v
  end
  return r
end

function Reply:subscribe(fn)
  self.listeners[#self.listeners + 1] = fn
  return fn
end

function Reply:unsubscribe(fn)
  for i, f in ipairs(self.listeners) do
    if f == fn then
      table.remove(self.listeners, i)
      return
    end
  end
end

function Reply:_emit(event, text)
  for _, fn in ipairs(vim.list_slice(self.listeners, 1)) do
    local ok, err = pcall(fn, event, self, text)
    if not ok then
      util.notify('internal error in view: ' .. tostring(err), vim.log.levels.ERROR)
    end
  end
end

-- glm.status() changed: statuslines are redrawn (the current window's alone is not enough, e.g. when a
-- float has focus) and `User GlmStatus` lets statusline plugins refresh.
local function status_changed()
  pcall(vim.cmd, 'redrawstatus!')
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'GlmStatus', modeline = false })
end

local function set_active(r, on)
  local before = active_count
  if on and not active[r] then
    active[r] = true
    active_count = active_count + 1
  elseif not on and active[r] then
    active[r] = nil
    active_count = active_count - 1
  end
  if (before == 0) ~= (active_count == 0) then
    status_changed()
  end
end

function Reply:is_streaming()
  return self.status == 'streaming'
end

function Reply:_on_delta(p)
  if p.replace then
    self.content = util.nonnil(p.content) or ''
    self.reasoning = util.nonnil(p.reasoning) or ''
    self:_emit('replace')
    return
  end
  local r = util.nonnil(p.reasoning)
  if r and r ~= '' then
    self.reasoning = self.reasoning .. r
    self:_emit('reasoning', r)
  end
  local c = util.nonnil(p.content)
  if c and c ~= '' then
    self.content = self.content .. c
    self:_emit('content', c)
  end
end

-- A failure a person understands: a dropped connection or a stall after text arrived is said as such
-- (libcurl's own words, e.g. "Transferred a partial file", stay in the server log and in raw_message).
local function explain_error(err, data, kept)
  local kind = data and util.nonnil(data.kind)
  local provider = data and util.nonnil(data.provider) or 'the provider'
  local msg
  if kind == 'network' and kept then
    msg = ('the connection to %s dropped; the partial answer was kept'):format(provider)
  elseif kind == 'timeout' and kept then
    msg = ('%s stopped sending (timeout); the partial answer was kept'):format(provider)
  end
  if not msg then
    return err
  end
  local out = vim.deepcopy(err)
  out.raw_message, out.message = err.message, msg
  return out
end

function Reply:_on_done(err, result)
  set_active(self, false)
  if not self.model and self.client then
    -- No model was named: the server used its default; say which.
    self.model = self.client.default_model
  end
  if err then
    self.error = err
    local data = util.nonnil(err.data)
    data = type(data) == 'table' and data or nil
    if err.code == rpc.CODE_CANCELLED then
      self.status = 'cancelled'
    elseif data and data.kind == 'content_filter' then
      self.status = 'withdrawn'
    else
      self.status = 'error'
    end
    local partial = data and util.nonnil(data.partial)
    if type(partial) == 'table' and self.content == '' and self.reasoning == '' then
      local pc, pr = util.nonnil(partial.content) or '', util.nonnil(partial.reasoning) or ''
      if pc ~= '' or pr ~= '' then
        self.content, self.reasoning = pc, pr
        self:_emit('replace')
      end
    end
    if self.status == 'error' then
      self.error = explain_error(err, data, self.content ~= '' or self.reasoning ~= '')
      if not err.quiet then
        util.notify(self.error.message or 'request failed', vim.log.levels.ERROR)
      end
    end
  else
    result = result or {}
    local content = util.nonnil(result.content) or self.content
    local reasoning = util.nonnil(result.reasoning) or self.reasoning
    if content ~= self.content or reasoning ~= self.reasoning then
      -- The result is authoritative; deltas should already add up to it.
      self.content, self.reasoning = content, reasoning
      self:_emit('replace')
    end
    self.finish_reason = util.nonnil(result.finish_reason)
    self.usage = util.nonnil(result.usage)
    self.model = util.nonnil(result.model) or self.model
    self.provider = util.nonnil(result.provider)
    self.status = self.finish_reason == 'content_filter' and 'withdrawn' or 'done'
  end
  self:_emit('done')
end

-- Starts the request. `method` is 'chat' or 'explain'.
function Reply:start(method, params)
  self.status = 'streaming'
  local running = rpc.current()
  self.model = params.model or (running and running.default_model) or nil
  set_active(self, true)
  self.client, self.id = rpc.request(method, params, {
    on_delta = function(p)
      self:_on_delta(p)
    end,
    on_done = function(err, result)
      self:_on_done(err, result)
    end,
  })
  return self
end

function Reply:cancel()
  if self.status == 'streaming' and self.client and self.id then
    self.client:cancel(self.id)
  end
end

-- A one-line summary shown under a reply: model and token usage, or why it ended.
function Reply:summary()
  local parts = {}
  local model = self.model
  -- Results name the upstream model ("glm-4"); show it the way requests name it ("openai/glm-4").
  if model and self.provider and not model:find('/', 1, true) then
    model = self.provider .. '/' .. model
  end
  if model then
    parts[#parts + 1] = model
  end
  local u = type(self.usage) == 'table' and self.usage or nil
  if u and util.nonnil(u.input_tokens) then
    parts[#parts + 1] = ('%d in / %d out tokens'):format(u.input_tokens, util.nonnil(u.output_tokens) or 0)
  end
  if self.status == 'cancelled' then
    parts[#parts + 1] = 'cancelled'
  elseif self.status == 'interrupted' then
    parts[#parts + 1] = 'interrupted'
  elseif self.status == 'withdrawn' then
    parts[#parts + 1] = 'withdrawn by the provider'
  elseif self.status == 'error' then
    -- A live reply holds the error object; a saved chat turn holds its message (a string).
    local e = self.error
    local msg = type(e) == 'table' and util.nonnil(e.message) or (type(e) == 'string' and e) or nil
    parts[#parts + 1] = 'error: ' .. (msg or 'unknown error')
  elseif self.finish_reason and self.finish_reason ~= 'stop' then
    parts[#parts + 1] = 'finish: ' .. self.finish_reason
  end
  return table.concat(parts, ' · ')
end

function M.active_count()
  return active_count
end

function M.cancel_all()
  for r in pairs(active) do
    r:cancel()
  end
end

return M
