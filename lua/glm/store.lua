-- Chats on disk: one JSON file per chat under chat.dir (default stdpath('data')/glm/chats), written
-- atomically (temp file + rename) so a crash mid-write keeps the previous version.
local util = require('glm.util')
local config = require('glm.config')

local M = {}

function M.path(id)
  return config.chat_dir() .. '/' .. id .. '.json'
end

function M.new_id()
  -- hrtime's low bits differ between two Neovims started in the same second; math.random is unseeded.
  return os.date('%Y%m%d-%H%M%S') .. ('-%04x'):format(math.floor(util.uv.hrtime() / 1000) % 0x10000)
end

-- Chats hold code and questions: files 0600, directories 0700 (util.mkdir_p). The default directories,
-- which earlier versions created 0755, are made private again; a chat.dir of the user's is not touched.
local function ensure_dir(dir)
  util.mkdir_p(dir)
  if config.get().chat.dir == nil then
    util.make_private(vim.fn.fnamemodify(dir, ':h'))
    util.make_private(dir)
  end
end

function M.save(chat_data)
  local dir = config.chat_dir()
  ensure_dir(dir)
  local ok, err = util.write_file(M.path(chat_data.id), util.json_encode(chat_data))
  if not ok then
    util.notify('could not save chat: ' .. tostring(err), vim.log.levels.WARN)
  end
  return ok
end

function M.load(path)
  local text = util.read_file(path)
  if not text then
    return nil, 'cannot read ' .. path
  end
  local data, err = util.json_decode(text)
  if type(data) ~= 'table' or type(data.messages) ~= 'table' then
    return nil, 'not a chat file: ' .. path .. (err and (' (' .. err .. ')') or '')
  end
  return data
end

-- Renames a saved chat on disk (its `updated` time is kept).
function M.rename(path, title)
  local data, err = M.load(path)
  if not data then
    return false, err
  end
  data.title = title
  local ok, werr = util.write_file(path, util.json_encode(data))
  return ok, werr
end

function M.delete(path)
  local ok, err = os.remove(path)
  if not ok and vim.fn.filereadable(path) == 1 then
    return false, err
  end
  return true
end

-- Saved chats, most recently updated first: { {path, id, title, updated} }.
function M.list()
  local dir = config.chat_dir()
  local out = {}
  if vim.fn.isdirectory(dir) == 0 then
    return out
  end
  for _, name in ipairs(vim.fn.readdir(dir)) do
    if name:match('%.json$') then
      local path = dir .. '/' .. name
      local data = M.load(path)
      if data then
        out[#out + 1] = {
          path = path,
          id = data.id or name:gsub('%.json$', ''),
          title = util.nonnil(data.title) or '(untitled)',
          updated = tonumber(util.nonnil(data.updated)) or 0,
        }
      end
    end
  end
  table.sort(out, function(a, b)
    return a.updated > b.updated
  end)
  return out
end

return M
