-- The glm-server process: spawned on first use, spoken to with JSON-RPC 2.0 over its stdio.
--
-- Threading: libuv callbacks run in a "fast" context where most of the Neovim API is off limits, so a
-- read callback only splits frames and hands the whole batch to ONE vim.schedule; decoding and every
-- user callback run on the main loop from there.
--
-- Lifetime: one client at a time (M.get()). If the process exits without being asked to, the user is told
-- once, every pending request gets an error, and the next request starts a fresh process.
local util = require('glm.util')
local framing = require('glm.framing')
local config = require('glm.config')

local uv = util.uv
local M = {}

M.CODE_CANCELLED = -32800
M.CODE_UPSTREAM = -32001
-- Client-side code: the server could not be started or went away before answering.
M.CODE_SERVER_GONE = -32099

local Client = {}
Client.__index = Client

local current = nil
local watch_config -- below: watches the config file once a server runs

-- JSON has objects and arrays; Lua has tables. Config is all objects, so empty tables there mean {}.
local function as_object(t)
  if type(t) ~= 'table' then
    return t
  end
  if next(t) == nil then
    return vim.empty_dict()
  end
  local out = {}
  for k, v in pairs(t) do
    out[k] = as_object(v)
  end
  return out
end

local function gone_error(message)
  return { code = M.CODE_SERVER_GONE, message = message }
end

function Client.new()
  return setmetatable({
    next_id = 1,
    pending = {}, -- id -> { method, on_delta, on_done }
    queue = {}, -- frames waiting for initialize's answer
    ready = false,
    exited = false,
    stopping = false,
    models = nil,
    server_info = nil,
  }, Client)
end

function Client:_write(msg)
  if self.stdin and not self.stdin:is_closing() then
    self.stdin:write(framing.encode(util.json_encode(msg)))
  end
end

function Client:start()
  local cmd = config.server_cmd()
  if vim.fn.executable(cmd) ~= 1 then
    return nil, ('glm-server not found at %s: run `make` in the plugin directory or set server.cmd'):format(cmd)
  end
  local opts = config.get().server
  local log_file = config.log_file()
  util.mkdir_p(vim.fn.fnamemodify(log_file, ':h'))
  local args = { '--log-file', log_file, '--log-level', opts.log_level }
  for _, a in ipairs(opts.args) do
    args[#args + 1] = a
  end

  self.stdin = uv.new_pipe(false)
  self.stdout = uv.new_pipe(false)
  self.stderr = uv.new_pipe(false)
  local handle, pid = uv.spawn(cmd, {
    args = args,
    stdio = { self.stdin, self.stdout, self.stderr },
  }, function(code, signal)
    self.exited = true
    vim.schedule(function()
      self:_on_exit(code, signal)
    end)
  end)
  if not handle then
    self.stdin:close()
    self.stdout:close()
    self.stderr:close()
    return nil, ('could not start %s: %s'):format(cmd, tostring(pid))
  end
  self.handle, self.pid = handle, pid

  local parser = framing.new()
  self.stdout:read_start(function(err, data)
    if err or not data then
      return -- EOF: the exit callback reports it
    end
    local bodies, perr = parser:feed(data)
    if not bodies then
      vim.schedule(function()
        util.notify('protocol error from glm-server (' .. perr .. '); restarting it', vim.log.levels.ERROR)
        self:kill()
      end)
      return
    end
    if #bodies > 0 then
      vim.schedule(function()
        self:_dispatch(bodies)
      end)
    end
  end)
  -- The server logs to --log-file; stderr is drained so a chatty server can never block on it, and its
  -- start holds the reason a server exits at once (e.g. a broken config file).
  self.stderr_text = ''
  self.stderr:read_start(function(_, data)
    if not data then
      self.stderr_eof = true
    elseif #self.stderr_text < 4096 then
      self.stderr_text = self.stderr_text .. data
    end
  end)

  local init_id = self:_next_id()
  self.pending[init_id] = {
    method = 'initialize',
    on_done = function(err, result)
      if err then
        self:_fail_queue({ code = M.CODE_SERVER_GONE, message = err.message, quiet = true })
        -- Stopped on purpose (setup() changed server options) or already reported (it exited): no message.
        if not (self.stopping or err.quiet or self.trial) then
          util.notify('glm-server did not initialize: ' .. (err.message or '?'), vim.log.levels.ERROR)
        end
        self:stop()
        if self.on_init then
          self.on_init(err)
        end
        return
      end
      self.server_info = util.nonnil(result.serverInfo)
      self.models = util.nonnil(result.models)
      self.default_model = util.nonnil(result.default_model)
      self.init_result = result
      self.ready = true
      self:_write({ jsonrpc = '2.0', method = 'initialized', params = vim.empty_dict() })
      local queue = self.queue
      self.queue = {}
      for _, msg in ipairs(queue) do
        self:_write(msg)
      end
      if self.on_init then
        self.on_init(nil)
      end
    end,
  }
  local params = {
    processId = vim.fn.getpid(),
    clientInfo = { name = 'glm.nvim', version = require('glm.version') },
  }
  if next(opts.config) ~= nil then
    params.config = as_object(opts.config)
  end
  self:_write({ jsonrpc = '2.0', id = init_id, method = 'initialize', params = params })
  return self
end

function Client:_next_id()
  local id = self.next_id
  self.next_id = id + 1
  return id
end

local function safe_call(fn, ...)
  if not fn then
    return
  end
  local ok, err = pcall(fn, ...)
  if not ok then
    util.notify('internal error: ' .. tostring(err), vim.log.levels.ERROR)
  end
end

function Client:_dispatch(bodies)
  for _, body in ipairs(bodies) do
    local msg = util.json_decode(body)
    if type(msg) == 'table' then
      local method = util.nonnil(msg.method)
      local id = util.nonnil(msg.id)
      if method == nil and id ~= nil then
        local p = self.pending[id]
        self.pending[id] = nil
        if p then
          local err = util.nonnil(msg.error)
          safe_call(p.on_done, err, err == nil and util.nonnil(msg.result) or nil)
        end
        if self.retire and next(self.pending) == nil then
          self.retire = false
          self:stop() -- replaced by a restart; its last request has ended
        end
      elseif method == 'chat/delta' then
        local params = util.nonnil(msg.params)
        local p = params and self.pending[params.id]
        if p then
          safe_call(p.on_delta, params)
        end
      elseif method ~= nil and id ~= nil then
        self:_write({ jsonrpc = '2.0', id = id, error = { code = -32601, message = 'method not found' } })
      end
    end
  end
end

-- Sends a request. handlers: { on_delta = fn(params), on_done = fn(err, result) }; on_done is called
-- exactly once (from the main loop). Returns the request id.
function Client:request(method, params, handlers)
  local id = self:_next_id()
  self.pending[id] = { method = method, on_delta = handlers.on_delta, on_done = handlers.on_done }
  local msg = { jsonrpc = '2.0', id = id, method = method, params = params or vim.empty_dict() }
  if self.ready then
    self:_write(msg)
  else
    self.queue[#self.queue + 1] = msg
  end
  return id
end

function Client:cancel(id)
  local p = self.pending[id]
  if not p then
    return
  end
  for i, msg in ipairs(self.queue) do
    if msg.id == id then
      -- Never sent: answer it here, as the server would have.
      table.remove(self.queue, i)
      self.pending[id] = nil
      vim.schedule(function()
        safe_call(p.on_done, { code = M.CODE_CANCELLED, message = 'request cancelled' }, nil)
      end)
      return
    end
  end
  self:_write({ jsonrpc = '2.0', method = '$/cancelRequest', params = { id = id } })
end

function Client:_fail_queue(err)
  local queued = self.queue
  self.queue = {}
  for _, msg in ipairs(queued) do
    local p = self.pending[msg.id]
    self.pending[msg.id] = nil
    if p then
      safe_call(p.on_done, err, nil)
    end
  end
end

function Client:_fail_all(err)
  local pending = self.pending
  self.pending = {}
  self.queue = {}
  for _, p in pairs(pending) do
    safe_call(p.on_done, err, nil)
  end
end

function Client:_close_handles()
  for _, h in ipairs({ self.stdin, self.stdout, self.stderr, self.handle }) do
    if h and not h:is_closing() then
      h:close()
    end
  end
end

function Client:_on_exit(code, signal)
  self.exit_code, self.exit_signal = code, signal
  self:_close_handles()
  if current == self then
    current = nil
  end
  local expected = self.stopping or self.trial
  local what = signal ~= 0 and ('signal ' .. signal) or ('exit code ' .. code)
  vim.wait(200, function()
    return self.stderr_eof
  end, 5)
  local said = vim.trim(self.stderr_text or ''):match('[^\n]*$'):gsub('^glm%-server: ', '')
  if said ~= '' then
    what = what .. ': ' .. said
  end
  if not expected then
    util.notify(
      ('glm-server exited unexpectedly (%s); it restarts on the next request. Log: %s'):format(what, config.log_file()),
      vim.log.levels.WARN
    )
  end
  local err = gone_error('glm-server exited (' .. what .. ')')
  err.quiet = true -- the user was told above (or asked for it)
  self:_fail_all(err)
end

function Client:kill()
  self.stopping = true
  if self.handle and not self.handle:is_closing() then
    self.handle:kill('sigterm')
  end
end

-- Polite shutdown: shutdown request, then exit; waits up to `timeout_ms` and kills what is left.
function Client:stop(timeout_ms)
  if self.exited then
    return
  end
  self.stopping = true
  if current == self then
    current = nil
  end
  if self.ready then
    local id = self:_next_id()
    self.pending[id] = {
      method = 'shutdown',
      on_done = function()
        self:_write({ jsonrpc = '2.0', method = 'exit' })
        if self.stdin and not self.stdin:is_closing() then
          self.stdin:shutdown()
        end
      end,
    }
    self:_write({ jsonrpc = '2.0', id = id, method = 'shutdown' })
  else
    self:kill()
  end
  if timeout_ms and timeout_ms > 0 then
    vim.wait(timeout_ms, function()
      return self.exited
    end, 5)
    if not self.exited then
      self:kill()
    end
  end
end

function Client:is_running()
  return not self.exited and self.handle ~= nil
end

-- The running client, starting one when needed. Returns nil + message when the server cannot start.
function M.get()
  if current and current:is_running() then
    return current
  end
  local c = Client.new()
  local ok, err = c:start()
  if not ok then
    return nil, err
  end
  current = c
  watch_config()
  return c
end

-- The running client without starting one.
function M.current()
  return current
end

local trial = nil -- the client a restart is starting

-- Starts a new server and says so: `done` ('config.json re-read', default 'glm-server restarted'), or
-- when it fails, `failed` ('config.json changed'). Requests go to the old server until the new one
-- has initialized; the old one stops once its requests have ended. If the new one fails (e.g. a broken
-- config file), the old one keeps running.
function M.restart(done, failed)
  done = done or 'glm-server restarted'
  failed = failed or 'restart'
  local old = current
  local c = Client.new()
  c.trial = true
  trial = c
  c.on_init = function(err)
    c.on_init = nil
    if trial ~= c then
      c:stop() -- a later restart superseded this one
      return
    end
    trial = nil
    if err then
      local msg = ('%s, but glm-server did not start: %s'):format(failed, err.message or '?')
      if old and old:is_running() then
        msg = msg .. '; the running server keeps the previous configuration'
      end
      util.notify(msg, vim.log.levels.ERROR)
      return
    end
    c.trial = nil
    current = c
    if old and old:is_running() then
      if next(old.pending) == nil then
        old:stop()
      else
        old.retire = true
      end
    end
    util.notify(('%s; default model %s'):format(done, c.default_model or '(none)'))
  end
  local ok, err = c:start()
  if not ok then
    trial = nil
    util.notify(failed .. ', but ' .. err, vim.log.levels.ERROR)
  end
end

-- The server's config file (glm-server --config, else $XDG_CONFIG_HOME/glm-server/config.json, as
-- src/core/config.cpp finds it).
function M.config_path()
  local args = config.get().server.args
  for i, a in ipairs(args) do
    if a == '--config' then
      return args[i + 1]
    end
    local v = a:match('^%-%-config=(.+)')
    if v then
      return v
    end
  end
  local dir = os.getenv('XDG_CONFIG_HOME')
  if not dir or dir == '' then
    dir = (os.getenv('HOME') or '') .. '/.config'
  end
  return dir .. '/glm-server/config.json'
end

M._poll_ms = 1000
local watch = nil -- { path, ms, handle, missing }

-- Watches the config file once a server runs: a change (or its creation or removal) restarts it.
function watch_config()
  local path = M.config_path()
  if not path or (watch and watch.path == path and watch.ms == M._poll_ms) then
    return
  end
  if watch then
    watch.handle:close()
  end
  local w = { path = path, ms = M._poll_ms, handle = uv.new_fs_poll(), missing = uv.fs_stat(path) == nil }
  watch = w
  w.handle:start(path, M._poll_ms, function(err)
    local missing = err ~= nil
    if missing and w.missing then
      return -- still not there
    end
    w.missing = missing
    vim.schedule(function()
      if current and watch == w then
        local name = vim.fn.fnamemodify(path, ':t')
        M.restart(name .. (missing and ' removed' or ' re-read'), name .. (missing and ' removed' or ' changed'))
      end
    end)
  end)
end

-- Sends a request, starting the server if needed. If it cannot start, on_done gets the error (on the
-- main loop, as usual). Returns (client, id) or nil.
function M.request(method, params, handlers)
  local c, err = M.get()
  if not c then
    vim.schedule(function()
      safe_call(handlers.on_done, gone_error(err), nil)
    end)
    return nil
  end
  return c, c:request(method, params, handlers)
end

function M.stop(timeout_ms)
  if current then
    current:stop(timeout_ms or config.get().server.shutdown_timeout_ms)
  end
end

M.as_object = as_object
M._Client = Client

return M
