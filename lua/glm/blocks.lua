-- Fenced code blocks in markdown lines (chat buffers, floats): where they are and what they hold.
local M = {}

-- Every fenced block of `lines` (a list of strings): { start, finish, lang, code, open } with 1-based
-- rows of the opening and closing fence lines and the code as one string. A fence is ``` or ~~~ (or
-- longer), indented at most three spaces; it closes on a line of the same character, at least as long,
-- with nothing else after it. An unclosed block (still streaming) runs to the last line and is `open`.
-- The code loses the fence's own indentation (a fence inside a list item). This only finds where blocks
-- are in a buffer, for the keys that act on the one under the cursor; taking code out of a model's
-- answer is the server's job (`edit`, core/extract).
function M.parse(lines)
  local out = {}
  local open
  for i, line in ipairs(lines) do
    local indent, fence, info = line:match('^(%s*)(```+)(.*)$')
    if not fence then
      indent, fence, info = line:match('^(%s*)(~~~+)(.*)$')
    end
    if open then
      if fence and fence:sub(1, 1) == open.char and #fence >= #open.fence and info:match('^%s*$') then
        open.finish = i
        out[#out + 1] = open
        open = nil
      end
    elseif fence and #indent <= 3 and not (fence:sub(1, 1) == '`' and info:find('`', 1, true)) then
      open = { start = i, char = fence:sub(1, 1), fence = fence, indent = indent }
      open.lang = vim.trim(info):match('^(%S*)')
    end
  end
  if open then
    open.finish = #lines + 1 -- still streaming: no closing fence yet
    open.open = true
    out[#out + 1] = open
  end
  for _, b in ipairs(out) do
    local code = vim.list_slice(lines, b.start + 1, math.min(b.finish - 1, #lines))
    for k, l in ipairs(code) do
      if #b.indent > 0 and l:sub(1, #b.indent) == b.indent then
        code[k] = l:sub(#b.indent + 1)
      end
    end
    b.code = table.concat(code, '\n')
    b.char, b.fence, b.indent = nil, nil, nil
  end
  return out
end

-- The block at `row` (on its fences or inside), else the nearest one above, else the first below.
function M.at(lines, row)
  local blocks = M.parse(lines)
  local above, below
  for _, b in ipairs(blocks) do
    if row >= b.start and row <= b.finish then
      return b
    elseif b.finish < row then
      above = b
    elseif not below then
      below = b
    end
  end
  return above or below
end

return M
