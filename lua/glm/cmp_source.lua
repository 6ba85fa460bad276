-- nvim-cmp source "glm": the same `complete` requests as the ghost text, offered as menu items.
-- Registered by glm.setup() only when nvim-cmp is already loaded (or by calling register() later);
-- add `{ name = 'glm' }` to cmp's sources to use it. It runs only where completion is enabled
-- (glm.complete.enabled_for), so it is off by default too.
local complete = require('glm.complete')
local config = require('glm.config')
local util = require('glm.util')

local api = vim.api
local uv = util.uv

local Source = {}
Source.__index = Source

local M = {}

function M.new()
  return setmetatable({ timer = nil, inflight = nil }, Source)
end

function Source:get_debug_name()
  return 'glm'
end

function Source:is_available()
  return (complete.enabled_for(api.nvim_get_current_buf()))
end

-- Model answers start at the cursor, not at the start of a keyword: an empty keyword keeps cmp from
-- filtering them against the word being typed.
function Source:get_keyword_pattern()
  return [[^$]]
end

function Source:get_trigger_characters()
  return { '.', ':', '(', '[', '{', ',', ' ', '=', '\n' }
end

-- Menu items for the candidates of a `complete` result.
function M.items(result, filetype)
  local items, seen = {}, {}
  local list = { util.nonnil(result.text) }
  for _, t in ipairs(util.nonnil(result.candidates) or {}) do
    list[#list + 1] = t
  end
  for _, text in ipairs(list) do
    if type(text) == 'string' and text ~= '' and not seen[text] then
      seen[text] = true
      local first = text:match('^[^\n]*')
      if first:match('^%s*$') then
        first = text:match('^%s*([^\n]*)')
      end
      local label = vim.trim(first)
      if text:find('\n', 1, true) then
        label = label .. ' …'
      end
      items[#items + 1] = {
        label = label,
        insertText = text,
        filterText = '',
        kind = 1, -- Text
        documentation = { kind = 'markdown', value = '```' .. (filetype or '') .. '\n' .. text .. '\n```' },
        cmp = { kind_text = 'GLM', kind_hl_group = 'GlmGhost' },
      }
    end
  end
  return items
end

function Source:_cancel()
  if self.timer then
    self.timer:stop()
  end
  local f = self.inflight
  self.inflight = nil
  if f then
    f.cancel()
    f.callback({ items = {}, isIncomplete = true })
  end
end

function Source:complete(params, callback)
  self:_cancel()
  local ctx = params.context or {}
  local buf = ctx.bufnr or api.nvim_get_current_buf()
  local row, col = ctx.cursor.row - 1, ctx.cursor.col - 1
  local function run()
    if not api.nvim_buf_is_valid(buf) then
      return callback({ items = {}, isIncomplete = true })
    end
    local req = complete.build_params(buf, row, col)
    -- Its own document key: a menu request must not cancel the ghost text's, nor the other way round.
    req.document = req.document .. '#cmp'
    local f = { callback = callback }
    self.inflight = f
    f.cancel = (complete._transport or complete._rpc_transport)(req, function(err, result)
      if self.inflight ~= f then
        return
      end
      self.inflight = nil
      if err or type(result) ~= 'table' then
        return callback({ items = {}, isIncomplete = true })
      end
      callback({ items = M.items(result, req.language), isIncomplete = true })
    end)
  end
  local manual = ctx.option and ctx.option.reason == 'manual'
  local delay = config.get().complete.debounce_ms
  if manual or delay <= 0 then
    return run()
  end
  self.timer = self.timer or uv.new_timer()
  self.timer:start(delay, 0, vim.schedule_wrap(run))
end

local registered = nil

-- Registers the source with nvim-cmp (once). Returns the id, or nil when nvim-cmp is not available.
function M.register()
  if registered then
    return registered
  end
  local ok, cmp = pcall(require, 'cmp')
  if not ok or type(cmp) ~= 'table' or not cmp.register_source then
    return nil
  end
  registered = cmp.register_source('glm', M.new())
  return registered
end

return M
