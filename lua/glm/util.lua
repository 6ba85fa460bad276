-- Small compatibility helpers shared by the plugin. Neovim 0.7.2 is the oldest supported release, so
-- everything here avoids APIs that came later (vim.fs, vim.system, option-value scopes, ...).
local M = {}

M.uv = vim.uv or vim.loop

local has_json = vim.json ~= nil and vim.json.encode ~= nil

function M.json_encode(value)
  if has_json then
    return vim.json.encode(value)
  end
  return vim.fn.json_encode(value)
end

-- Returns (value) or (nil, message); never throws on bad input.
function M.json_decode(text)
  local ok, value
  if has_json then
    ok, value = pcall(vim.json.decode, text)
  else
    ok, value = pcall(vim.fn.json_decode, text)
  end
  if not ok then
    return nil, tostring(value)
  end
  return value
end

-- JSON null decodes to vim.NIL (a userdata); callers want plain nil.
function M.nonnil(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

local has_08 = vim.fn.has('nvim-0.8') == 1

function M.buf_set(buf, name, value)
  if has_08 then
    vim.api.nvim_set_option_value(name, value, { buf = buf })
  else
    vim.api.nvim_buf_set_option(buf, name, value)
  end
end

function M.buf_get(buf, name)
  if has_08 then
    return vim.api.nvim_get_option_value(name, { buf = buf })
  end
  return vim.api.nvim_buf_get_option(buf, name)
end

function M.win_set(win, name, value)
  if has_08 then
    vim.api.nvim_set_option_value(name, value, { win = win, scope = 'local' })
  else
    vim.api.nvim_win_set_option(win, name, value)
  end
end

-- Every user-visible message goes through here so tests can count them and the prefix is uniform.
function M.notify(msg, level)
  vim.notify('glm: ' .. msg, level or vim.log.levels.INFO, { title = 'glm' })
end

function M.plugin_root()
  -- lua/glm/util.lua -> plugin root is three levels up.
  local src = debug.getinfo(1, 'S').source:sub(2)
  return vim.fn.fnamemodify(src, ':p:h:h:h')
end

-- Creates `path` and any missing parents, each 0700: chats and logs hold code and questions, so only
-- the user may list or read them. Existing directories are left as they are.
function M.mkdir_p(path)
  if vim.fn.isdirectory(path) == 1 then
    return
  end
  local parent = vim.fn.fnamemodify(path, ':h')
  if parent ~= path then
    M.mkdir_p(parent)
  end
  M.uv.fs_mkdir(path, 448) -- 0700
end

-- Makes an existing directory private (0700) when group or others may enter it. For directories the
-- plugin owns (e.g. stdpath('data')/glm) that an older version created 0755.
function M.make_private(path)
  local st = M.uv.fs_stat(path)
  if st and st.type == 'directory' and st.mode % 64 ~= 0 then
    M.uv.fs_chmod(path, 448)
  end
end

-- Atomic small-file write: a crash mid-write leaves the previous version intact. The file is 0600
-- (see mkdir_p), whatever the umask.
function M.write_file(path, data)
  local tmp = path .. '.tmp'
  os.remove(tmp) -- a stale temp file would keep its old mode
  local fd, err = M.uv.fs_open(tmp, 'w', 384) -- 0600
  if not fd then
    return false, err
  end
  M.uv.fs_fchmod(fd, 384)
  local ok, werr = M.uv.fs_write(fd, data, 0)
  M.uv.fs_close(fd)
  if not ok then
    return false, werr
  end
  local rok, rerr = M.uv.fs_rename(tmp, path)
  if not rok then
    return false, rerr
  end
  return true
end

function M.read_file(path)
  local fd = M.uv.fs_open(path, 'r', 420)
  if not fd then
    return nil
  end
  local stat = M.uv.fs_fstat(fd)
  local data = stat and M.uv.fs_read(fd, stat.size, 0) or nil
  M.uv.fs_close(fd)
  return data
end

function M.buf_valid(buf)
  return buf ~= nil and vim.api.nvim_buf_is_valid(buf)
end

function M.win_valid(win)
  return win ~= nil and vim.api.nvim_win_is_valid(win)
end

-- Windows (in all tabs) currently showing `buf`.
function M.wins_for_buf(buf)
  return vim.fn.win_findbuf(buf)
end

return M
