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

-- Default credential variables (DESIGN.md §2); a user's server.config may name others.
local default_env = {
  zhipu = { 'ZHIPUAI_API_KEY' },
  dashscope = { 'DASHSCOPE_API_KEY' },
  ['dashscope-compat'] = { 'DASHSCOPE_API_KEY' },
  qianfan = { 'QIANFAN_AK', 'QIANFAN_SK' },
  openai = { 'OPENAI_API_KEY' },
}

local function set(name)
  local v = vim.env[name]
  return v ~= nil and v ~= ''
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

  h.start('glm: configuration')
  M.check_config(client)

  h.start('glm: provider credentials')
  local providers = (config.get().server.config or {}).providers or {}
  local names = {}
  for name in pairs(default_env) do
    names[#names + 1] = name
  end
  for name in pairs(providers) do
    if not default_env[name] then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  local any = false
  for _, name in ipairs(names) do
    local p = providers[name] or {}
    if p.api_key and p.api_key ~= '' then
      h.ok(name .. ': inline api_key in server.config')
      any = true
    elseif p.api_key_cmd then
      h.ok(name .. ': api_key_cmd configured (run on first use)')
      any = true
    else
      local vars = {}
      vars[1] = p.api_key_env or (default_env[name] or {})[1]
      if name == 'qianfan' or p.secret_key_env then
        vars[2] = p.secret_key_env or 'QIANFAN_SK'
      end
      local missing = {}
      for _, var in ipairs(vars) do
        if not set(var) then
          missing[#missing + 1] = var
        end
      end
      if #vars == 0 then
        h.info(name .. ': no api_key_env configured')
      elseif #missing == 0 then
        h.ok(name .. ': ' .. table.concat(vars, ', ') .. ' set')
        any = true
      else
        h.info(name .. ': ' .. table.concat(missing, ', ') .. ' not set')
      end
    end
  end
  if not any then
    h.warn(
      'no provider has credentials; set one of the variables above (a local openai-compatible server may need none)'
    )
  end

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
