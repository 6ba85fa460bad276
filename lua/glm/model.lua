-- Which model requests use, and :GlmModel.
--
-- Outside a chat: the model picked with :GlmModel in this session, else setup()'s `model`, else the
-- one picked in an earlier session (kept in stdpath('data')/glm/model.json), else nil (the server's
-- default_model). A model set in setup() therefore wins over an earlier session's pick at startup.
-- Inside a chat, :GlmModel sets that chat's model only (saved with the chat; see glm.chat).
local util = require('glm.util')
local config = require('glm.config')

local M = {}

local state = { session = nil, saved = nil, loaded = false }

function M.path()
  return vim.fn.stdpath('data') .. '/glm/model.json'
end

-- The model kept from an earlier session, or nil.
function M.saved()
  if not state.loaded then
    state.loaded = true
    local text = util.read_file(M.path())
    local data = text and util.json_decode(text)
    local id = type(data) == 'table' and util.nonnil(data.model) or nil
    state.saved = type(id) == 'string' and id ~= '' and id or nil
  end
  return state.saved
end

function M.current()
  return state.session or config.get().model or M.saved()
end

-- Where M.current() comes from, for :checkhealth: "this session (:GlmModel)", "setup()", ...
function M.source()
  if state.session then
    return 'picked with :GlmModel'
  elseif config.get().model then
    return "setup()'s model"
  elseif M.saved() then
    return 'picked with :GlmModel in an earlier session (' .. M.path() .. ')'
  end
  return "the server's default_model"
end

-- Uses `id` from now on and keeps it for later sessions; nil forgets both.
function M.set(id)
  state.session = id
  state.saved, state.loaded = id, true
  local path = M.path()
  if id == nil then
    os.remove(path)
    return true
  end
  util.mkdir_p(vim.fn.fnamemodify(path, ':h'))
  local ok, err = util.write_file(path, util.json_encode({ model = id }))
  if not ok then
    util.notify('could not keep the model choice in ' .. path .. ': ' .. tostring(err), vim.log.levels.WARN)
  end
  return ok
end

-- For tests: what a restart does (the session's pick is gone, the kept one is read again).
function M._restart()
  state.session, state.saved, state.loaded = nil, nil, false
end

-- The server's default_model, once a server answered initialize (nil before).
function M.server_default()
  local rpc = package.loaded['glm.rpc']
  local client = rpc and rpc.current()
  return client and client.default_model or nil
end

-- A model id as the user would read it: "openai/glm-4", or the server's default named when known.
function M.describe(id)
  if id then
    return id
  end
  local d = M.server_default()
  return d and (d .. ' (server default)') or 'the server default'
end

-- Vision: what models/list says of a listed model; for a model outside the list (any `openai/...`
-- name), whether its name looks like a vision model (glm-4v, glm-4.5v, glm-4v-flash, *-vl-*, *vision*).
function M.has_vision(id, models)
  for _, m in ipairs(models or {}) do
    if m.id == id then
      return util.nonnil(m.vision) == true
    end
  end
  local name = (id or ''):gsub('^[^/]*/', ''):lower()
  return name:match('%dv$') ~= nil
    or name:match('%dv%-') ~= nil
    or name:match('%-vl') ~= nil
    or name:match('vision') ~= nil
end

local OTHER = {}

local function valid_id(id)
  return type(id) == 'string' and id:match('^[%w%._%-]+/%S+$') ~= nil
end

-- :GlmModel. opts.on_choice(id) receives the choice (default: M.set); opts.current is the model to mark
-- (default: M.current()); opts.prompt names what is being set.
function M.select(opts)
  opts = opts or {}
  local on_choice = opts.on_choice or function(id)
    M.set(id)
    util.notify('model: ' .. id)
  end
  require('glm.rpc').request('models/list', vim.empty_dict(), {
    on_done = function(err, result)
      if err then
        if not err.quiet then
          util.notify('models/list failed: ' .. (err.message or '?'), vim.log.levels.ERROR)
        end
        return
      end
      local models = util.nonnil(result and result.models) or {}
      local default = M.server_default()
      local current = opts.current
      if current == nil then
        current = M.current()
      end
      current = current or default
      local providers = {}
      local items = {}
      for _, m in ipairs(models) do
        providers[m.provider or ''] = true
        items[#items + 1] = m
      end
      items[#items + 1] = OTHER
      vim.ui.select(items, {
        prompt = opts.prompt or 'GLM model',
        format_item = function(m)
          if m == OTHER then
            return '  other: type provider/model (e.g. openai/<name> for a local server)'
          end
          local s = (m.id == current and '* ' or '  ') .. m.id
          local notes = {}
          if m.id == default then
            notes[#notes + 1] = 'server default'
          end
          if util.nonnil(m.vision) then
            notes[#notes + 1] = 'vision'
          end
          if m.configured == false then
            notes[#notes + 1] = 'no credentials'
          end
          if #notes > 0 then
            s = s .. '  (' .. table.concat(notes, ', ') .. ')'
          end
          return s
        end,
      }, function(choice)
        if not choice then
          return
        end
        -- After the builtin inputlist() the screen is full of the list: redraw before saying anything,
        -- or the message would need a hit-enter prompt.
        local function done(id)
          vim.schedule(function()
            pcall(vim.cmd, 'redraw')
            on_choice(id)
          end)
        end
        if choice ~= OTHER then
          return done(choice.id)
        end
        vim.schedule(function()
          pcall(vim.cmd, 'redraw')
          vim.ui.input({ prompt = 'Model (provider/model): ', default = 'openai/' }, function(id)
            id = id and vim.trim(id) or ''
            if id == '' or id == 'openai/' then
              return
            end
            local provider = id:match('^([^/]+)/')
            if not valid_id(id) or not providers[provider] and provider ~= 'openai' then
              local known = vim.tbl_keys(providers)
              table.sort(known)
              pcall(vim.cmd, 'redraw')
              util.notify(
                ("'%s' is not provider/model with a known provider (%s)"):format(id, table.concat(known, ', ')),
                vim.log.levels.ERROR
              )
              return
            end
            done(id)
          end)
        end)
      end)
    end,
  })
end

return M
