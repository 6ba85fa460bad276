-- LSP base-protocol framing (`Content-Length: N\r\n\r\n` + body). Pure: no I/O, no Neovim API, so it
-- may run inside a libuv read callback. Bounded: a header block without an end, or a declared body
-- larger than `max_body`, is a protocol error instead of unbounded buffering.
local M = {}

local MAX_HEADER = 8192

local Parser = {}
Parser.__index = Parser

function M.new(max_body)
  return setmetatable({ buf = '', max_body = max_body or (64 * 1024 * 1024), need = nil }, Parser)
end

-- Feeds bytes; returns a list of complete bodies (strings), or nil plus an error message when the
-- stream is corrupt (the caller should drop the connection: resynchronising is guesswork).
function Parser:feed(data)
  local buf = self.buf .. data
  local out = {}
  local pos = 1
  while true do
    if self.need == nil then
      local hdr_end = buf:find('\r\n\r\n', pos, true)
      if not hdr_end then
        if #buf - pos + 1 > MAX_HEADER then
          self.buf = ''
          return nil, 'header block too long'
        end
        break
      end
      local header = buf:sub(pos, hdr_end - 1)
      local len = header:lower():match('content%-length:%s*(%d+)')
      if not len then
        self.buf = ''
        return nil, 'missing Content-Length'
      end
      len = tonumber(len)
      if len > self.max_body then
        self.buf = ''
        return nil, ('message of %d bytes exceeds the %d byte limit'):format(len, self.max_body)
      end
      self.need = len
      pos = hdr_end + 4
    end
    if #buf - pos + 1 < self.need then
      break
    end
    out[#out + 1] = buf:sub(pos, pos + self.need - 1)
    pos = pos + self.need
    self.need = nil
  end
  self.buf = pos > 1 and buf:sub(pos) or buf
  return out
end

function M.encode(body)
  return 'Content-Length: ' .. #body .. '\r\n\r\n' .. body
end

return M
