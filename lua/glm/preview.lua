-- Proposed code shown as a diff before it touches a buffer (apply from a chat or float, :GlmEdit).
--
-- The preview is two scratch windows split below the source window, in Neovim's own diff mode: left
-- the original lines, right the proposal, each with a few lines of context around them. Nothing in
-- the source buffer changes until the proposal is accepted; accepting writes it with one
-- nvim_buf_set_lines call, so a single `u` undoes it. The proposal buffer is editable once it has
-- finished streaming: what it holds when accepted is what goes in (edits to the context lines above
-- and below are ignored).
--
-- The place in the source is tracked with extmarks, so edits elsewhere in the buffer while the preview
-- is open do not shift it. If the original lines themselves changed, accepting refuses once and shows
-- the new original; accepting again applies.
local util = require('glm.util')
local config = require('glm.config')

local api = vim.api
local M = {}

M.ns = api.nvim_create_namespace('glm_preview')
local flash_ns = api.nvim_create_namespace('glm_applied')

vim.cmd([[
  highlight default link GlmApplied DiffAdd
  highlight default link GlmPreviewStatus StatusLine
]])

local Preview = {}
Preview.__index = Preview

local active = {} -- preview -> true
local counter = 0

local function is_float(win)
  return api.nvim_win_get_config(win).relative ~= ''
end

local function slice(buf, first, last) -- 1-based inclusive; empty when last < first
  if last < first then
    return {}
  end
  return api.nvim_buf_get_lines(buf, first - 1, last, false)
end

local function scratch(name, filetype)
  local buf = api.nvim_create_buf(false, true)
  util.buf_set(buf, 'buftype', 'nofile')
  util.buf_set(buf, 'bufhidden', 'wipe')
  util.buf_set(buf, 'swapfile', false)
  pcall(api.nvim_buf_set_name, buf, name)
  if filetype and filetype ~= '' then
    util.buf_set(buf, 'filetype', filetype)
  end
  return buf
end

local function set_all(buf, lines, modifiable_after)
  util.buf_set(buf, 'modifiable', true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  util.buf_set(buf, 'modifiable', modifiable_after)
end

local function concat(...)
  local out = {}
  for _, t in ipairs({ ... }) do
    for _, l in ipairs(t) do
      out[#out + 1] = l
    end
  end
  return out
end

-- Opens a preview. opts:
--   buf, win     the source buffer and the window showing it (win may be nil)
--   mode         'replace' (lines l1..l2, 1-based inclusive) or 'insert' (after line `after`, 0 = top)
--   l1, l2, after
--   lines        the proposal (:set_lines() replaces it while a reply streams)
--   streaming    true while a reply still writes the proposal (accept waits for it)
--   on_cancel    called when the user rejects or closes the preview (e.g. to cancel the request)
--   label        what the proposal is, for the status line ("edit: make it faster")
function M.open(opts)
  local src = opts.buf
  assert(util.buf_valid(src), 'preview: source buffer is gone')
  -- One preview per source buffer: a new one replaces the old.
  for p in pairs(active) do
    if p.src == src then
      p:reject()
    end
  end
  counter = counter + 1
  local self = setmetatable({
    id = counter,
    src = src,
    mode = opts.mode,
    streaming = opts.streaming or false,
    on_cancel = opts.on_cancel,
    label = opts.label or 'proposal',
  }, Preview)
  local n = api.nvim_buf_line_count(src)
  -- Inserting into an empty buffer replaces its one empty line.
  if self.mode == 'insert' and n == 1 and api.nvim_buf_get_lines(src, 0, 1, false)[1] == '' then
    self.mode, opts.l1, opts.l2 = 'replace', 1, 1
  end
  -- Inserting "at" a blank line (the cursor on an empty line) fills that line rather than adding below it.
  if self.mode == 'insert' and (opts.after or 0) >= 1 and opts.after <= n then
    local l = api.nvim_buf_get_lines(src, opts.after - 1, opts.after, false)[1]
    if l and l:match('^%s*$') then
      self.mode, opts.l1, opts.l2 = 'replace', opts.after, opts.after
    end
  end
  local k = config.get().apply.context
  local first, last -- the original lines (1-based; last < first for an insertion)
  if self.mode == 'replace' then
    first = math.max(1, math.min(opts.l1, n))
    last = math.max(first, math.min(opts.l2, n))
    self.start_mark = api.nvim_buf_set_extmark(src, M.ns, first - 1, 0, { right_gravity = false })
    self.end_mark = api.nvim_buf_set_extmark(src, M.ns, last - 1, 0, { right_gravity = false })
  else
    local after = math.max(0, math.min(opts.after or 0, n))
    first, last = after + 1, after
    if after == 0 then
      self.anchor_before = true
      self.anchor = api.nvim_buf_set_extmark(src, M.ns, 0, 0, { right_gravity = false })
    else
      self.anchor = api.nvim_buf_set_extmark(src, M.ns, after - 1, 0, { right_gravity = false })
    end
  end
  self.orig = slice(src, first, last)
  self.before = slice(src, math.max(1, first - k), first - 1)
  self.after = slice(src, last + 1, math.min(n, last + k))
  self.proposal = vim.deepcopy(opts.lines or {})
  self.where = self.mode == 'replace' and ('lines %d-%d'):format(first, last) or ('after line %d'):format(last)

  local name = api.nvim_buf_get_name(src)
  local short = name ~= '' and vim.fn.fnamemodify(name, ':~:.') or ('buffer ' .. src)
  self.short = short
  local ft = util.buf_get(src, 'filetype')
  self.orig_buf = scratch(('glm://original/%d/%s'):format(self.id, short), ft)
  self.prop_buf = scratch(('glm://proposed/%d/%s'):format(self.id, short), ft)
  set_all(self.orig_buf, concat(self.before, self.orig, self.after), false)
  set_all(self.prop_buf, concat(self.before, self.proposal, self.after), not self.streaming)

  -- Windows: split below the source window, original left, proposal right.
  local win = opts.win
  if not (util.win_valid(win) and api.nvim_win_get_buf(win) == src and not is_float(win)) then
    win = nil
    for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
      if api.nvim_win_get_buf(w) == src and not is_float(w) then
        win = w
        break
      end
    end
  end
  if not win then
    -- The source is not shown: show it in a code window (or a new split) first.
    local fallback = require('glm.source').fallback_window(nil)
    if fallback then
      win = fallback
    else
      if is_float(0) then
        api.nvim_set_current_win(api.nvim_tabpage_list_wins(0)[1])
      end
      vim.cmd('split')
      win = api.nvim_get_current_win()
    end
    api.nvim_win_set_buf(win, src)
  end
  self.src_win = win
  api.nvim_set_current_win(win)
  local h = api.nvim_win_get_height(win)
  local need = #self.before + math.max(#self.orig, #self.proposal, 8) + #self.after + 1
  -- The diff gets what it needs, up to half the screen: below the code window when that leaves it a
  -- few lines, else (e.g. above a chat split) across the bottom of the screen.
  local want = math.max(3, math.min(need, math.floor(vim.o.lines / 2)))
  local where = h - want >= 5 and 'belowright' or 'botright'
  if not pcall(vim.cmd, ('%s %dsplit'):format(where, want)) then
    vim.cmd('tab split') -- no room below a tiny window (E36): a tab of its own
  end
  self.orig_win = api.nvim_get_current_win()
  api.nvim_win_set_buf(self.orig_win, self.orig_buf)
  vim.cmd('belowright vsplit')
  self.prop_win = api.nvim_get_current_win()
  api.nvim_win_set_buf(self.prop_win, self.prop_buf)
  for _, w in ipairs({ self.orig_win, self.prop_win }) do
    api.nvim_win_call(w, function()
      vim.cmd('diffthis')
    end)
    util.win_set(w, 'winfixheight', true)
  end
  self:_statusline()
  self:_map()
  self:_watch()
  active[self] = true
  return self
end

function Preview:_statusline()
  local km = config.get().keymaps
  local keys = {}
  if self.streaming then
    keys[#keys + 1] = 'streaming…'
    if km.cancel then
      keys[#keys + 1] = km.cancel .. ' stop'
    end
  else
    if km.accept then
      keys[#keys + 1] = km.accept .. ' accept'
    end
  end
  if km.reject then
    keys[#keys + 1] = km.reject .. ' reject'
  end
  local function esc(text)
    return (text:gsub('%%', '%%%%'))
  end
  -- Each pane says one thing, short enough for half a window: the original which lines of which file,
  -- the proposal what it is and which keys act. The left part is truncated first (%<).
  local file = vim.fn.fnamemodify(self.short, ':t')
  if util.win_valid(self.orig_win) then
    util.win_set(
      self.orig_win,
      'statusline',
      ('%%#GlmPreviewStatus# GLM original:%%< %s %s '):format(esc(file), esc(self.where))
    )
  end
  if util.win_valid(self.prop_win) then
    util.win_set(
      self.prop_win,
      'statusline',
      ('%%#GlmPreviewStatus# GLM %s%%<%%= %s '):format(esc(self.label), esc(table.concat(keys, ' · ')))
    )
  end
end

function Preview:_map()
  local km = config.get().keymaps
  for _, buf in ipairs({ self.orig_buf, self.prop_buf }) do
    local function map(lhs, fn)
      if lhs then
        vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true })
      end
    end
    map(km.accept, function()
      self:accept()
    end)
    map(km.reject, function()
      self:reject()
    end)
    map(km.close, function()
      self:reject()
    end)
    map(km.cancel, function()
      if self.streaming and self.on_cancel then
        self.on_cancel()
      end
    end)
  end
end

-- Closing either window (:q) or wiping either buffer rejects the proposal.
function Preview:_watch()
  for _, buf in ipairs({ self.orig_buf, self.prop_buf }) do
    api.nvim_create_autocmd('BufWipeout', {
      buffer = buf,
      once = true,
      callback = function()
        if not self.closed then
          vim.schedule(function()
            self:reject()
          end)
        end
      end,
    })
  end
end

function Preview:_diffupdate()
  if util.win_valid(self.prop_win) then
    api.nvim_win_call(self.prop_win, function()
      vim.cmd('silent! diffupdate')
    end)
  end
end

-- Replaces the proposal (while a reply streams). Cheap enough to call on every delta: the diff is
-- recomputed at most every 50 ms.
function Preview:set_lines(lines)
  if self.closed or not util.buf_valid(self.prop_buf) then
    return
  end
  local buf = self.prop_buf
  local was = util.buf_get(buf, 'modifiable')
  util.buf_set(buf, 'modifiable', true)
  local total = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, #self.before, total - #self.after, false, lines)
  util.buf_set(buf, 'modifiable', was)
  self.proposal = lines
  if not self.diff_timer then
    self.diff_timer = vim.defer_fn(function()
      self.diff_timer = nil
      if not self.closed then
        self:_diffupdate()
      end
    end, 50)
  end
end

-- The proposal is complete (the reply ended): it becomes editable and can be accepted.
function Preview:finish()
  self.streaming = false
  if util.buf_valid(self.prop_buf) then
    util.buf_set(self.prop_buf, 'modifiable', true)
  end
  self:_diffupdate()
  self:_statusline()
end

-- What accepting would write: the proposal buffer without its context lines.
function Preview:lines()
  if not util.buf_valid(self.prop_buf) then
    return self.proposal
  end
  local total = api.nvim_buf_line_count(self.prop_buf)
  return api.nvim_buf_get_lines(self.prop_buf, #self.before, math.max(#self.before, total - #self.after), false)
end

-- Current rows of the target in the source (0-based, end exclusive).
function Preview:_target()
  if self.mode == 'replace' then
    local a = api.nvim_buf_get_extmark_by_id(self.src, M.ns, self.start_mark, {})
    local b = api.nvim_buf_get_extmark_by_id(self.src, M.ns, self.end_mark, {})
    return a[1], math.max(a[1], b[1] + 1)
  end
  local a = api.nvim_buf_get_extmark_by_id(self.src, M.ns, self.anchor, {})
  local row = self.anchor_before and a[1] or a[1] + 1
  return row, row
end

function Preview:_close()
  if self.closed then
    return
  end
  self.closed = true
  active[self] = nil
  if util.buf_valid(self.src) then
    pcall(api.nvim_buf_clear_namespace, self.src, M.ns, 0, -1)
  end
  for _, w in ipairs({ self.prop_win, self.orig_win }) do
    if util.win_valid(w) then
      pcall(api.nvim_win_close, w, true)
    end
  end
  for _, b in ipairs({ self.prop_buf, self.orig_buf }) do
    if util.buf_valid(b) then
      pcall(api.nvim_buf_delete, b, { force = true })
    end
  end
  if util.win_valid(self.src_win) then
    pcall(api.nvim_set_current_win, self.src_win)
  end
end

-- Writes the proposal into the source as one change (one undo step). Returns true when applied.
function Preview:accept()
  if self.closed then
    return false
  end
  if self.streaming then
    local stop = tostring(config.get().keymaps.cancel)
    util.notify('the proposal is still streaming: wait for it, or stop it with ' .. stop, vim.log.levels.WARN)
    return false
  end
  if not util.buf_valid(self.src) then
    util.notify('the buffer to apply to is gone', vim.log.levels.ERROR)
    self:_close()
    return false
  end
  if not util.buf_get(self.src, 'modifiable') then
    util.notify('the buffer is not modifiable', vim.log.levels.ERROR)
    return false
  end
  local lines = self:lines()
  local r1, r2 = self:_target()
  local now = api.nvim_buf_get_lines(self.src, r1, r2, false)
  if not vim.deep_equal(now, self.orig) then
    -- The original changed under the preview: show what is there now, apply on the next accept.
    self.orig = now
    local total = api.nvim_buf_line_count(self.orig_buf)
    util.buf_set(self.orig_buf, 'modifiable', true)
    api.nvim_buf_set_lines(self.orig_buf, #self.before, total - #self.after, false, now)
    util.buf_set(self.orig_buf, 'modifiable', false)
    self:_diffupdate()
    util.notify(
      'the original lines changed since the preview opened; the diff shows them now. Accept again to apply.',
      vim.log.levels.WARN
    )
    return false
  end
  if self.mode == 'insert' and (#lines == 0 or (#lines == 1 and lines[1] == '')) then
    util.notify('nothing to insert', vim.log.levels.WARN)
    self:_close()
    return false
  end
  api.nvim_buf_set_lines(self.src, r1, r2, false, lines)
  self.applied = { r1 + 1, r1 + #lines }
  local win = self.src_win
  self:_close()
  if util.win_valid(win) and api.nvim_win_get_buf(win) == self.src then
    local row = math.min(r1 + 1, api.nvim_buf_line_count(self.src))
    pcall(api.nvim_win_set_cursor, win, { row, 0 })
  end
  -- A short highlight over the new lines, so the eye finds them.
  local flash = config.get().apply.flash_ms
  for row = r1, r1 + #lines - 1 do
    if flash > 0 then
      pcall(api.nvim_buf_add_highlight, self.src, flash_ns, 'GlmApplied', row, 0, -1)
    end
  end
  local src = self.src
  vim.defer_fn(function()
    if util.buf_valid(src) then
      api.nvim_buf_clear_namespace(src, flash_ns, 0, -1)
    end
  end, flash)
  return true
end

-- Drops the proposal; the source is untouched.
function Preview:reject()
  if self.closed then
    return
  end
  local cancel = self.streaming and self.on_cancel
  self:_close()
  if cancel then
    cancel()
  end
end

-- The open previews (for tests and :GlmAccept-style mappings of one's own).
function M.list()
  local out = {}
  for p in pairs(active) do
    out[#out + 1] = p
  end
  table.sort(out, function(a, b)
    return a.id < b.id
  end)
  return out
end

-- The preview shown in `win` (either of its two windows), or the most recent one.
function M.current(win)
  win = win or api.nvim_get_current_win()
  local last
  for _, p in ipairs(M.list()) do
    if p.prop_win == win or p.orig_win == win then
      return p
    end
    last = p
  end
  return last
end

return M
