-- Last spec (files run sorted): after every other spec has exercised the plugin (chat, ask, explain,
-- apply, edit, ghost text, health, floats), Neovim's own list of deprecated calls holds nothing from
-- glm (issue 17). `:checkhealth vim.deprecated` exists from 0.11; older Neovim has nothing to check.
local T = ...
local api = vim.api

if vim.fn.has('nvim-0.11') == 0 then
  return
end

local function deprecated_report()
  vim.cmd('silent checkhealth vim.deprecated')
  local text = T.buf_text(api.nvim_get_current_buf())
  vim.cmd('silent! bwipeout!')
  return text
end

local function from_glm(text)
  return text:find('/lua/glm/', 1, true) or text:find('/plugin/glm.lua', 1, true)
end

T.test(':checkhealth vim.deprecated lists nothing from glm after the whole suite', function()
  local text = deprecated_report()
  T.ok(text:find('vim.deprecated', 1, true), 'the check ran: ' .. text)
  T.ok(not from_glm(text), 'a deprecated call from glm: ' .. text)
end)

T.test(':checkhealth vim.deprecated would name glm (the check above can fail)', function()
  -- A deprecated call made from a chunk named like a file of the plugin: the report must show it.
  local probe = T.root .. '/lua/glm/deprecated_probe.lua'
  -- Neovim reports a deprecation from the release before its removal on: pick one due then.
  local call = vim.fn.has('nvim-0.12') == 1 and 'vim.lsp.get_log_path()' or 'vim.lsp.get_active_clients()'
  assert(load('local _ = ' .. call, '@' .. probe))()
  local text = deprecated_report()
  T.ok(text:find(probe, 1, true), 'the probe is reported: ' .. text)
end)
