-- :checkhealth glm. Reports whether credentials are present, never their values.
local config = require('glm.config')
local rpc = require('glm.rpc')
local util = require('glm.util')

local M = {}

-- vim.health (0.9+: start/ok/warn/error/info) or the 0.7/0.8 `health` module (report_*).
local h = vim.health
if not (h and h.start) then
  local old = require('health')
  h = {
    start = old.report_start,
    ok = old.report_ok,
    warn = old.report_warn,
    error = old.report_error,
    info = old.report_info,
  }
end

-- Asks the server binary what it knows (providers/list, docs/protocol.md): the provider kinds of its
-- registry and every instance of the user's server.config, with which credentials are present (never
-- their values). One short-lived process: initialize + providers/list as NDJSON, --drain so the
-- replies are written before it exits at end of input. Returns the result table, or nil and a reason.
local function query_providers(cmd)
  local cfg = config.get().server.config or {}
  local init = { jsonrpc = '2.0', id = 1, method = 'initialize', params = vim.empty_dict() }
  if next(cfg) ~= nil then
    init.params = { config = cfg }
  end
  local input = util.json_encode(init)
    .. '\n'
    .. util.json_encode({ jsonrpc = '2.0', id = 2, method = 'providers/list' })
    .. '\n'
  -- The user's server.args too (e.g. --config PATH): the answer must describe the server they run.
  local argv = { cmd }
  for _, a in ipairs(config.get().server.args or {}) do
    argv[#argv + 1] = a
  end
  vim.list_extend(argv, { '--drain', '--log-level', 'off' })
  local out = vim.fn.system(argv, input)
  if vim.v.shell_error ~= 0 then
    return nil, ('exit %d: %s'):format(vim.v.shell_error, (out:gsub('%s+$', '')))
  end
  for line in out:gmatch('[^\n]+') do
    local ok, msg = pcall(vim.fn.json_decode, line)
    if ok and type(msg) == 'table' then
      if msg.id == 1 and msg.error then
        return nil, 'server.config rejected: ' .. tostring(msg.error.message)
      end
      if msg.id == 2 then
        if msg.error then
          return nil, tostring(msg.error.message)
        end
        return msg.result
      end
    end
  end
  return nil, 'no providers/list reply'
end

-- "ZHIPUAI_API_KEY set" / "QIANFAN_AK, QIANFAN_SK not set" for one instance, and whether it can work.
local function credential_line(p)
  local c = p.credentials or {}
  if c.api_key then
    return true, 'inline api_key in server.config'
  end
  if c.api_key_cmd then
    return true, 'api_key_cmd configured (run on first use)'
  end
  local vars, missing = {}, {}
  for _, key in ipairs({ 'api_key_env', 'secret_key_env' }) do
    local v = c[key]
    if type(v) == 'table' and v.name then
      vars[#vars + 1] = v.name
      if not v.set then
        missing[#missing + 1] = v.name
      end
    end
  end
  if #vars == 0 then
    return p.key_optional, p.key_optional and 'no key configured (none needed)' or 'no api_key_env configured'
  end
  if #missing == 0 then
    return true, table.concat(vars, ', ') .. ' set'
  end
  local text = table.concat(missing, ', ') .. ' not set'
  if p.key_optional then
    text = text .. ' (optional)'
  end
  return p.key_optional and p.configured, text
end

local function report_providers(cmd)
  h.start('glm: providers')
  if vim.fn.executable(cmd) ~= 1 then
    h.info('the provider list comes from glm-server, which is not built yet')
    return
  end
  local list, err = query_providers(cmd)
  if not list then
    h.error('could not ask glm-server for its providers: ' .. err)
    return
  end
  h.info('default model: ' .. tostring(list.default_model))
  local any = false
  local qianfan = {}
  for _, p in ipairs(list.providers or {}) do
    local ok, text = credential_line(p)
    local label = ('%s [%s: %s]'):format(p.name, p.kind, p.summary or '')
    if ok then
      h.ok(label .. ': ' .. text)
      if not text:find('not set', 1, true) and not text:find('none needed', 1, true) then
        any = true
      end
    else
      h.info(label .. ': ' .. text)
    end
    if ok and (p.kind == 'qianfan' or p.kind == 'qianfan-v2') then
      qianfan[#qianfan + 1] = ('%s (%s)'):format(p.kind == 'qianfan' and 'v1' or 'v2', p.name)
    end
  end
  if #qianfan > 0 then
    h.ok('Baidu Qianfan API configured: ' .. table.concat(qianfan, ', '))
  end
  if not any then
    h.warn(
      'no provider has credentials; set one of the variables above (a local openai-compatible server may need none)'
    )
  end
end

-- What the server uses, as it reports it in initialize's result (starting it if it is not running):
-- the config file, each provider's base URL, the default model; and the model requests use now.
function M.check_config(client)
  if not (client and client:is_running()) then
    local c, err = rpc.get()
    if not c then
      h.warn('cannot start the server to ask for its configuration: ' .. tostring(err))
      return
    end
    client = c
  end
  vim.wait(5000, function()
    return client.ready or client.exited
  end, 10)
  local r = client.ready and client.init_result or nil
  if not r then
    h.error('the server did not answer initialize; see ' .. config.log_file())
    return
  end
  local file = util.nonnil(r.config_file)
  if file then
    h.ok('config file: ' .. file)
  else
    h.info('config file: none (built-in defaults; the server looks for $XDG_CONFIG_HOME/glm-server/config.json)')
  end
  local overlay = config.get().server.config or {}
  if next(overlay) ~= nil then
    local keys = vim.tbl_keys(overlay)
    table.sort(keys)
    h.info("setup()'s server.config is merged over it: " .. table.concat(keys, ', '))
  end
  local providers = util.nonnil(r.providers) or {}
  local names = vim.tbl_keys(providers)
  table.sort(names)
  for _, name in ipairs(names) do
    h.info(('provider %s: %s'):format(name, util.nonnil(providers[name].base_url) or '?'))
  end
  local default = util.nonnil(r.default_model)
  h.ok("server's default model: " .. tostring(default))
  local model = require('glm.model')
  local current = model.current()
  h.ok(('current model: %s (%s)'):format(current or tostring(default), model.source()))
end

function M.check()
  h.start('glm: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') == 1 then
    h.ok('Neovim ' .. version .. ' is supported (0.7.2 and later)')
  else
    h.error('Neovim ' .. version .. ' is too old: glm needs 0.7.2 or later')
  end

  h.start('glm: server')
  local cmd = config.server_cmd()
  if vim.fn.executable(cmd) == 1 then
    local out = vim.fn.system({ cmd, '--version' })
    if vim.v.shell_error == 0 then
      h.ok(('%s: %s'):format(cmd, (out:gsub('%s+$', ''))))
    else
      h.warn(('%s --version failed (exit %d): %s'):format(cmd, vim.v.shell_error, (out:gsub('%s+$', ''))))
    end
  else
    h.error('glm-server not found at ' .. cmd, {
      'Run `make` in the plugin directory (needs cmake, a C++20 compiler, libcurl, nlohmann-json, asio, spdlog)',
      'or set server.cmd in setup()',
    })
  end
  h.info('log file: ' .. config.log_file())
  local client = rpc.current()
  if client and client:is_running() then
    h.ok('server running (pid ' .. tostring(client.pid) .. ')')
  else
    h.info('server not running (it starts on first use; the next section starts it to ask for its configuration)')
  end

  -- The binary another editor's LSP client should run (docs/lsp.md): `make install`'s copy (PREFIX
  -- ~/.local), else this checkout's build.
  h.start('glm: LSP mode (other editors)')
  local installed = (os.getenv('HOME') or '') .. '/.local/bin/glm-server'
  local lsp = vim.fn.executable(installed) == 1 and installed or vim.fn.fnamemodify(cmd, ':p')
  if vim.fn.executable(lsp) == 1 then
    h.ok('glm-server for an LSP config: ' .. lsp)
    h.info(("e.g. cmd = { '%s', '--lsp' } (see docs/lsp.md)"):format(lsp))
    if lsp ~= installed then
      h.info('`make install` puts it in ~/.local/bin, a path that does not change when the plugin is updated')
    end
  else
    h.warn('no glm-server built yet: run `make`, then `make install` for ~/.local/bin/glm-server')
  end

  h.start('glm: configuration')
  M.check_config(client)

  report_providers(cmd)

  h.start('glm: inline completion')
  local c = config.get().complete
  local fts = {}
  for ft, on in pairs(c.filetypes) do
    fts[#fts + 1] = ft .. '=' .. tostring(on)
  end
  table.sort(fts)
  h.info(
    ('complete.enabled = %s, filetypes: %s (off by default: it sends text around the cursor upstream)'):format(
      tostring(c.enabled),
      #fts > 0 and table.concat(fts, ', ') or 'none'
    )
  )
  h.info('model: ' .. (c.model or "the server's completion.model"))
  local complete = package.loaded['glm.complete']
  if complete then
    h.info('state in the current buffer: ' .. complete.state())
  end
end

return M
