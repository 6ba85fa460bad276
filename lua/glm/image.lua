-- Images in chat messages, for vision models. A message line of the form `![...](path)` (what
-- :GlmImage inserts) attaches that image file: it is read when the message is sent (and again each turn
-- the message is part of the history) and sent as a `data:` URL image_url part. An http(s) URL in that
-- place is sent as it is. The saved chat keeps the path, not the bytes.
local util = require('glm.util')

local M = {}

M.MAX_BYTES = 5 * 1024 * 1024 -- Zhipu's limit per image; others are similar or larger

local MIME = {
  png = 'image/png',
  jpg = 'image/jpeg',
  jpeg = 'image/jpeg',
  gif = 'image/gif',
  webp = 'image/webp',
  bmp = 'image/bmp',
}

function M.mime(path)
  local ext = (path:match('%.([%w]+)$') or ''):lower()
  return MIME[ext]
end

local b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

-- vim.base64 (0.10+) or a plain Lua encoder for older releases.
function M.base64(data)
  if vim.base64 and vim.base64.encode then
    return vim.base64.encode(data)
  end
  local bit = require('bit')
  local out = {}
  local n = #data
  for i = 1, n, 3 do
    local a, b, c = data:byte(i, i + 2)
    local v = bit.bor(bit.lshift(a, 16), bit.lshift(b or 0, 8), c or 0)
    local c1 = bit.band(bit.rshift(v, 18), 63) + 1
    local c2 = bit.band(bit.rshift(v, 12), 63) + 1
    local c3 = bit.band(bit.rshift(v, 6), 63) + 1
    local c4 = bit.band(v, 63) + 1
    out[#out + 1] = b64chars:sub(c1, c1)
      .. b64chars:sub(c2, c2)
      .. (b and b64chars:sub(c3, c3) or '=')
      .. (c and b64chars:sub(c4, c4) or '=')
  end
  return table.concat(out)
end

local function is_url(s)
  return s:match('^https?://') ~= nil
end

-- The line :GlmImage inserts for `path`.
function M.line(path)
  return ('![image](%s)'):format(path)
end

-- Splits a message into its text and its images: { text = string without the image lines, images =
-- { {path=absolute} | {url=...} } }, or nil + a message saying what is wrong with an image line.
function M.extract(text)
  local keep, images = {}, {}
  for _, line in ipairs(vim.split(text, '\n', { plain = true })) do
    local target = line:match('^%s*!%[[^%]]*%]%((.-)%)%s*$')
    if target and target ~= '' then
      if is_url(target) then
        images[#images + 1] = { url = target }
      else
        local path = vim.fn.fnamemodify(target, ':p') -- text: only a leading ~ is expanded
        if vim.fn.filereadable(path) ~= 1 then
          return nil, 'image not found: ' .. target
        end
        if not M.mime(path) then
          return nil, ('not an image file (png, jpg, jpeg, gif, webp, bmp): %s'):format(target)
        end
        local size = vim.fn.getfsize(path)
        if size > M.MAX_BYTES then
          local mib = 1048576
          return nil, ('image too large: %s is %.1f MiB (at most %d MiB)'):format(target, size / mib, M.MAX_BYTES / mib)
        end
        images[#images + 1] = { path = path }
      end
    else
      keep[#keep + 1] = line
    end
  end
  return { text = vim.trim(table.concat(keep, '\n')), images = images }
end

-- The `content` to send for a user message with images: text part first, then one image_url part
-- each. An image file gone since it was attached is said in the text instead.
function M.parts(text, images)
  local parts = {}
  local missing = {}
  local imgs = {}
  for _, img in ipairs(images) do
    if img.url then
      imgs[#imgs + 1] = { type = 'image_url', image_url = { url = img.url } }
    else
      local data = util.read_file(img.path)
      if data then
        imgs[#imgs + 1] = {
          type = 'image_url',
          image_url = { url = 'data:' .. (M.mime(img.path) or 'image/png') .. ';base64,' .. M.base64(data) },
        }
      else
        missing[#missing + 1] = '[image no longer available: ' .. img.path .. ']'
      end
    end
  end
  local t = text
  if #missing > 0 then
    t = vim.trim(t .. '\n' .. table.concat(missing, '\n'))
  end
  if t ~= '' then
    parts[1] = { type = 'text', text = t }
  end
  vim.list_extend(parts, imgs)
  return parts
end

return M
