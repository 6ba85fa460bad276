-- Ghost text: a completion suggestion drawn at the cursor with extmarks, never in the buffer itself.
--
-- Neovim 0.10+ draws the first line inline (virt_text_pos = 'inline'), pushing the rest of the line
-- right. Older releases (0.7.2 is the oldest supported) have no inline virtual text: there the first
-- line overlays the cells after the cursor when nothing follows it on the line, and otherwise shows as
-- end-of-line text. Further lines are virtual lines under the cursor line (virt_lines, 0.6+).
local api = vim.api

local M = {}

M.ns = api.nvim_create_namespace('glm_ghost')
M.hl = 'GlmGhost'

local has_inline = vim.fn.has('nvim-0.10') == 1
-- Tests set this to exercise the 0.7 path on a newer Neovim.
M.force_legacy = false

local shown = nil -- { buf, id, mode }

-- Comment's effective attributes: `cterm` true when it has any colour or attribute for a terminal
-- without 'termguicolors', and its GUI foreground.
local function comment_attrs()
  if vim.fn.has('nvim-0.9') == 1 then
    local c = api.nvim_get_hl(0, { name = 'Comment', link = false })
    return { cterm = c.ctermfg ~= nil or c.ctermbg ~= nil or next(c.cterm or {}) ~= nil, fg = c.fg, italic = c.italic }
  end
  local ok_c, cterm = pcall(api.nvim_get_hl_by_name, 'Comment', false)
  local ok_g, gui = pcall(api.nvim_get_hl_by_name, 'Comment', true)
  return {
    cterm = ok_c
      and (cterm.foreground or cterm.background or cterm.bold or cterm.italic or cterm.underline or cterm.reverse)
        ~= nil,
    fg = ok_g and gui.foreground or nil,
    italic = ok_g and gui.italic or nil,
  }
end

-- GlmGhost links to Comment, unless Comment has no terminal colour: Neovim 0.10+'s default colour scheme
-- gives it only a GUI colour, so without 'termguicolors' ghost text would look exactly like typed code.
-- Then GlmGhost gets Comment's GUI colour plus a grey (colour 8) for the terminal. Rerun after every
-- `:colorscheme` (which clears the group). `default`: a colorscheme or the user's own definition wins.
local function define_hl()
  local c = comment_attrs()
  if c.cterm then
    api.nvim_set_hl(0, M.hl, { link = 'Comment', default = true })
  else
    api.nvim_set_hl(0, M.hl, { fg = c.fg, italic = c.italic, ctermfg = 8, default = true })
  end
end
define_hl()
api.nvim_create_autocmd('ColorScheme', {
  group = api.nvim_create_augroup('glm_ghost_hl', { clear = true }),
  callback = define_hl,
})

-- Virtual text shows a tab as a single cell; expand tabs the way the buffer would, from display column
-- `vcol` (0-based).
local function expand_tabs(s, vcol, ts)
  if not s:find('\t', 1, true) then
    return s
  end
  local out, col = {}, vcol
  local parts = vim.split(s, '\t', { plain = true })
  for i, part in ipairs(parts) do
    out[#out + 1] = part
    col = col + vim.fn.strdisplaywidth(part)
    if i < #parts then
      local n = ts - (col % ts)
      out[#out + 1] = string.rep(' ', n)
      col = col + n
    end
  end
  return table.concat(out)
end
M._expand_tabs = expand_tabs

-- Draws `text` (may hold newlines) at (row, col) (0-based, byte column) of `buf`. `annot` (e.g.
-- "(2/3)") goes after the last line. Replaces what was shown before. Returns the mode used:
-- 'inline', 'overlay' or 'eol'.
function M.show(buf, row, col, text, annot)
  M.clear()
  local lines = vim.split(text, '\n', { plain = true })
  local line = api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  if col > #line then
    col = #line
  end
  local ts = vim.bo[buf].tabstop
  local vcol = vim.fn.strdisplaywidth(line:sub(1, col))
  local mode
  if has_inline and not M.force_legacy then
    mode = 'inline'
  elseif line:sub(col + 1):match('^%s*$') then
    mode = 'overlay'
  else
    mode = 'eol'
  end
  local first = expand_tabs(lines[1], mode == 'eol' and 0 or vcol, ts)
  local opts = { hl_mode = 'combine', priority = 200 }
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { expand_tabs(lines[i], 0, ts), M.hl } }
  end
  if annot and annot ~= '' then
    if #virt_lines > 0 then
      local last = virt_lines[#virt_lines]
      last[#last + 1] = { ' ' .. annot, M.hl }
    else
      first = first .. ' ' .. annot
    end
  end
  if first ~= '' then
    opts.virt_text = { { first, M.hl } }
    opts.virt_text_pos = mode
  end
  if #virt_lines > 0 then
    opts.virt_lines = virt_lines
  end
  local id = api.nvim_buf_set_extmark(buf, M.ns, row, col, opts)
  shown = { buf = buf, id = id, mode = mode }
  return mode
end

function M.clear()
  if shown then
    if api.nvim_buf_is_valid(shown.buf) then
      pcall(api.nvim_buf_del_extmark, shown.buf, M.ns, shown.id)
    end
    shown = nil
  end
end

-- What is on display: { buf, row, col, mode, lines = { 'first', 'second', ... } } or nil.
function M.get()
  if not shown or not api.nvim_buf_is_valid(shown.buf) then
    return nil
  end
  local m = api.nvim_buf_get_extmark_by_id(shown.buf, M.ns, shown.id, { details = true })
  if not m or not m[1] then
    return nil
  end
  local d = m[3] or {}
  local lines = {}
  local first = ''
  for _, chunk in ipairs(d.virt_text or {}) do
    first = first .. chunk[1]
  end
  lines[1] = first
  for _, vl in ipairs(d.virt_lines or {}) do
    local s = ''
    for _, chunk in ipairs(vl) do
      s = s .. chunk[1]
    end
    lines[#lines + 1] = s
  end
  return { buf = shown.buf, row = m[1], col = m[2], mode = shown.mode, lines = lines }
end

return M
