-- Inline completion: asks the server's `complete` method for the text at the cursor while the user
-- types in insert mode and shows the answer as ghost text (glm.ghost).
--
-- One insert-mode cursor exists at a time, so there is one state: at most one debounce timer, one
-- request in flight and one suggestion on screen.
--
-- Rules (doc/glm.txt, "glm-complete"):
--  * A request starts `debounce_ms` after the last change; any change or cursor move before its answer
--    cancels it ($/cancelRequest; the server also cancels an older request for the same `document`).
--  * An answer is shown only if the buffer's changedtick and the cursor are still what they were when
--    the request was built. Anything else is stale and dropped.
--  * Typing the characters the ghost text starts with consumes them: the rest stays on screen and no
--    request is sent. Typing anything else drops the suggestion and starts the debounce again.
--  * Never in prompt buffers, chat buffers, other special buffers or buffers over max_file_bytes.
local config = require('glm.config')
local ghost = require('glm.ghost')
local util = require('glm.util')

local api = vim.api
local uv = util.uv

local M = {}

local CODE_CANCELLED = -32800

local state = {
  global = nil, -- :GlmComplete on|off override of setup()'s choice (nil: none)
  status = 'idle', -- idle | waiting | shown
  timer = nil, -- the debounce timer (one uv timer, reused)
  timer_buf = nil,
  pending = nil, -- request in flight: { buf, tick, row, col, cancel = fn, cycle = bool }
  sugg = nil, -- suggestion on screen: { buf, row, col, after, candidates = {..}, index }
  last = nil, -- { buf, tick, row, col } the last state on_change saw
  quiet_until = 0, -- rate limited: no automatic request before this uv.now()
  error_shown = nil, -- the last error message shown (shown once until a request succeeds)
  error = nil, -- that error, short, for the statusline (until a request succeeds)
  attached = {}, -- buf -> the keys mapped in it (set on its first InsertEnter)
  autocmds = false,
  requests = 0, -- requests sent (tests and :checkhealth)
}

-- Test and benchmark hooks. M._transport(params, on_done) sends a request and returns a function that
-- cancels it; M._trace(event, info) sees 'request', 'result', 'stale', 'shown'.
M._transport = nil
M._trace = nil

local function trace(event, info)
  if M._trace then
    M._trace(event, info)
  end
end

local function cfg()
  return config.get().complete
end

local function rpc_transport(params, on_done)
  local client, id = require('glm.rpc').request('complete', params, { on_done = on_done })
  return function()
    if client and id then
      client:cancel(id)
    end
  end
end

M._rpc_transport = rpc_transport

-- A completion menu (the built-in one or nvim-cmp's) is open: ghost text would fight with it.
local function menu_visible()
  if vim.fn.pumvisible() == 1 then
    return true
  end
  local cmp = package.loaded['cmp']
  if cmp and type(cmp.visible) == 'function' then
    local ok, v = pcall(cmp.visible)
    return ok and v == true
  end
  return false
end

local function set_status(s)
  if state.status ~= s then
    state.status = s
    if vim.o.laststatus > 0 then
      pcall(vim.cmd, 'redrawstatus')
    end
  end
end

local function in_insert()
  local m = api.nvim_get_mode().mode
  return m:sub(1, 1) == 'i'
end

local function get_var(buf, name)
  local ok, v = pcall(api.nvim_buf_get_var, buf, name)
  if ok then
    return v
  end
  return nil
end

-- Whether completion runs in `buf`, and if not, why (for :GlmComplete status).
function M.enabled_for(buf)
  buf = buf or api.nvim_get_current_buf()
  if not api.nvim_buf_is_valid(buf) then
    return false, 'invalid buffer'
  end
  local bt = util.buf_get(buf, 'buftype')
  if bt ~= '' and bt ~= 'acwrite' then
    return false, ("'buftype' is %s"):format(bt)
  end
  local chat = package.loaded['glm.chat']
  if chat and chat.for_buf and chat.for_buf(buf) then
    return false, 'chat buffer'
  end
  if not util.buf_get(buf, 'modifiable') then
    return false, 'not modifiable'
  end
  local c = cfg()
  local lines = api.nvim_buf_line_count(buf)
  if api.nvim_buf_get_offset(buf, lines) > c.max_file_bytes then
    return false, ('larger than complete.max_file_bytes (%d)'):format(c.max_file_bytes)
  end
  local b = get_var(buf, 'glm_complete')
  if b ~= nil then
    return b == true or b == 1, 'b:glm_complete'
  end
  if state.global ~= nil then
    return state.global, ':GlmComplete'
  end
  local ft = util.buf_get(buf, 'filetype')
  local v = c.filetypes[ft]
  if v ~= nil then
    return v == true, 'complete.filetypes'
  end
  return c.enabled, 'complete.enabled'
end

-- The request for the cursor at (row, col) (0-based) of `buf`: prefix and suffix cut to their byte
-- budgets on line boundaries (the cursor line's own halves are always sent, cut inside only when
-- they alone exceed the budget).
function M.build_params(buf, row, col)
  local c = cfg()
  local line = api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  local before, after = line:sub(1, col), line:sub(col + 1)
  if #before > c.prefix_bytes then
    before = before:sub(#before - c.prefix_bytes + 1)
    -- Do not start inside a UTF-8 sequence.
    before = before:gsub('^[\128-\191]+', '')
  end
  if #after > c.suffix_bytes then
    after = after:sub(1, c.suffix_bytes)
    after = after:gsub('[\192-\255][\128-\191]*$', '')
  end

  local above, budget = {}, c.prefix_bytes - #before
  local r = row
  while r > 0 and budget > 0 do
    local from = math.max(0, r - 64)
    local chunk = api.nvim_buf_get_lines(buf, from, r, false)
    local stop = false
    for i = #chunk, 1, -1 do
      local cost = #chunk[i] + 1
      if cost > budget then
        stop = true
        break
      end
      budget = budget - cost
      above[#above + 1] = chunk[i]
    end
    if stop then
      break
    end
    r = from
  end
  local prefix_parts = {}
  for i = #above, 1, -1 do
    prefix_parts[#prefix_parts + 1] = above[i]
  end
  prefix_parts[#prefix_parts + 1] = before

  local suffix_parts, sbudget = { after }, c.suffix_bytes - #after
  local n = api.nvim_buf_line_count(buf)
  r = row + 1
  while r < n and sbudget > 0 do
    local to = math.min(n, r + 64)
    local chunk = api.nvim_buf_get_lines(buf, r, to, false)
    local stop = false
    for _, l in ipairs(chunk) do
      local cost = #l + 1
      if cost > sbudget then
        stop = true
        break
      end
      sbudget = sbudget - cost
      suffix_parts[#suffix_parts + 1] = l
    end
    if stop then
      break
    end
    r = to
  end

  local params = {
    prefix = table.concat(prefix_parts, '\n'),
    suffix = table.concat(suffix_parts, '\n'),
    document = vim.uri_from_bufnr(buf),
    stream = false,
  }
  local ft = util.buf_get(buf, 'filetype')
  if ft ~= '' then
    params.language = ft
  end
  local name = api.nvim_buf_get_name(buf)
  if name ~= '' then
    params.path = vim.fn.fnamemodify(name, ':~:.')
  end
  if c.model then
    params.model = c.model
  end
  if next(c.options) ~= nil then
    params.options = vim.deepcopy(c.options)
  end
  return params
end

local function stop_timer()
  if state.timer then
    state.timer:stop()
  end
end

local function cancel_pending()
  local p = state.pending
  state.pending = nil
  if p and p.cancel then
    p.cancel()
  end
end

local function render()
  local s = state.sugg
  local annot = #s.candidates > 1 and ('(%d/%d)'):format(s.index, #s.candidates)
    or s.cycled == 'done' and '(1/1: no other suggestion)'
    or nil
  ghost.show(s.buf, s.row, s.col, s.candidates[s.index], annot)
  set_status('shown')
  trace('shown', s)
end

-- Hides the suggestion, cancels the request in flight and the debounce.
function M.clear()
  stop_timer()
  cancel_pending()
  if state.sugg then
    state.sugg = nil
    ghost.clear()
  end
  set_status('idle')
end

local function cursor_state(buf)
  local cur = api.nvim_win_get_cursor(0)
  return { buf = buf, tick = api.nvim_buf_get_changedtick(buf), row = cur[1] - 1, col = cur[2] }
end

local msg_ns = api.nvim_create_namespace('glm_complete_error')
local flashes = 0

-- An error is shown where the user looks while typing, once per cause: the statusline component and
-- :GlmComplete status say it until a request succeeds, and it stands at the end of the cursor line for
-- a few seconds. Not in the command line: "-- INSERT --" overwrites it there, or a long one stops
-- the typing with a hit-enter prompt.
local function on_error(err)
  local msg = err.message or 'completion failed'
  state.error = (msg:gsub('%s*%(or [^()]*%)$', '')) -- "(or providers.x.api_key_cmd)": no room
  pcall(vim.cmd, 'redrawstatus')
  if state.error_shown == msg then
    return
  end
  state.error_shown = msg
  local buf, row = api.nvim_get_current_buf(), api.nvim_win_get_cursor(0)[1] - 1
  api.nvim_buf_clear_namespace(buf, msg_ns, 0, -1)
  local text = cfg().status_text.error .. ' ' .. state.error
  api.nvim_buf_set_extmark(buf, msg_ns, row, 0, { virt_text = { { text, 'WarningMsg' } }, virt_text_pos = 'eol' })
  flashes = flashes + 1
  local this = flashes
  vim.defer_fn(function()
    if this == flashes and api.nvim_buf_is_valid(buf) then
      api.nvim_buf_clear_namespace(buf, msg_ns, 0, -1)
    end
  end, 5000)
end

-- Candidates from a result: text first, then the other candidates, without empties and repeats.
local function candidates_of(result)
  local out, seen = {}, {}
  local function add(t)
    t = util.nonnil(t)
    if type(t) == 'string' and t ~= '' and not seen[t] then
      seen[t] = true
      out[#out + 1] = t
    end
  end
  add(result.text)
  local list = util.nonnil(result.candidates)
  if type(list) == 'table' then
    for _, t in ipairs(list) do
      add(t)
    end
  end
  return out
end

local function on_result(p, err, result)
  if state.pending ~= p then
    return -- cancelled or superseded: whatever it says is stale
  end
  state.pending = nil
  trace('result', { err = err, result = result })
  if err then
    set_status(state.sugg and 'shown' or 'idle')
    if err.code == CODE_CANCELLED then
      return
    end
    local data = type(util.nonnil(err.data)) == 'table' and err.data or {}
    if data.kind == 'rate_limit' then
      local wait = tonumber(util.nonnil(data.retry_after_ms)) or 5000
      state.quiet_until = uv.now() + wait
    end
    on_error(err)
    return
  end
  state.error_shown, state.error = nil, nil
  local now = api.nvim_get_current_buf()
  local cur = api.nvim_buf_is_valid(p.buf) and now == p.buf and in_insert() and cursor_state(now) or nil
  if not cur or cur.tick ~= p.tick or cur.row ~= p.row or cur.col ~= p.col then
    set_status(state.sugg and 'shown' or 'idle')
    trace('stale', p)
    return
  end
  local cands = candidates_of(result or {})
  if p.cycle and state.sugg then
    -- More candidates for the suggestion on screen: keep the current one first.
    local s = state.sugg
    local seen = {}
    for _, t in ipairs(s.candidates) do
      seen[t] = true
    end
    for _, t in ipairs(cands) do
      if not seen[t] then
        s.candidates[#s.candidates + 1] = t
      end
    end
    s.cycled = 'done' -- with one candidate still, the ghost text says there is no other
    s.index = (s.index + p.cycle - 1) % #s.candidates + 1
    render()
    return
  end
  if #cands == 0 then
    set_status('idle')
    return
  end
  local line = api.nvim_buf_get_lines(p.buf, p.row, p.row + 1, false)[1] or ''
  state.sugg = {
    buf = p.buf,
    row = p.row,
    col = p.col,
    after = line:sub(p.col + 1),
    candidates = cands,
    index = 1,
  }
  render()
end

local function send(buf, extra)
  local cur = cursor_state(buf)
  local params = M.build_params(buf, cur.row, cur.col)
  if extra then
    params.options = vim.tbl_extend('force', params.options or {}, extra.options or {})
  end
  local p = { buf = buf, tick = cur.tick, row = cur.row, col = cur.col, cycle = extra and extra.cycle }
  cancel_pending()
  state.pending = p
  state.requests = state.requests + 1
  if not state.sugg then
    set_status('waiting')
  end
  trace('request', params)
  p.cancel = (M._transport or rpc_transport)(params, function(err, result)
    on_result(p, err, result)
  end)
end

local function fire()
  local buf = state.timer_buf
  if buf ~= api.nvim_get_current_buf() or not in_insert() then
    return
  end
  if menu_visible() or uv.now() < state.quiet_until then
    return
  end
  if not cfg().ghost_text or not M.enabled_for(buf) then
    return
  end
  send(buf)
end

local function schedule(buf)
  if not state.timer then
    state.timer = uv.new_timer()
  end
  state.timer:stop()
  state.timer_buf = buf
  state.timer:start(math.max(0, cfg().debounce_ms), 0, vim.schedule_wrap(fire))
end

-- The typed text since the suggestion was shown, if it is where the suggestion starts; then the rest
-- stays on screen. Returns true when the suggestion was kept.
local function consume(cur)
  local s = state.sugg
  if s.buf ~= cur.buf or cur.row < s.row or (cur.row == s.row and cur.col <= s.col) then
    return false
  end
  local ok, typed = pcall(api.nvim_buf_get_text, s.buf, s.row, s.col, cur.row, cur.col, {})
  if not ok then
    return false
  end
  typed = table.concat(typed, '\n')
  local text = s.candidates[s.index]
  if #typed >= #text or text:sub(1, #typed) ~= typed then
    return false
  end
  local line = api.nvim_buf_get_lines(s.buf, cur.row, cur.row + 1, false)[1] or ''
  if line:sub(cur.col + 1) ~= s.after then
    return false
  end
  local kept, index = {}, 1
  for i, t in ipairs(s.candidates) do
    if #t > #typed and t:sub(1, #typed) == typed then
      kept[#kept + 1] = t:sub(#typed + 1)
      if i == s.index then
        index = #kept
      end
    end
  end
  s.candidates, s.index = kept, index
  s.row, s.col = cur.row, cur.col
  render()
  return true
end

-- TextChangedI / CursorMovedI (both call this; the second one for the same keystroke is a no-op).
local function on_change()
  local buf = api.nvim_get_current_buf()
  local cur = cursor_state(buf)
  local last = state.last
  if last and last.buf == buf and last.tick == cur.tick and last.row == cur.row and last.col == cur.col then
    return
  end
  state.last = cur
  if state.sugg and consume(cur) then
    return
  end
  M.clear()
  if not cfg().ghost_text or menu_visible() or not M.enabled_for(buf) then
    return
  end
  schedule(buf)
end

local function on_insert_enter()
  local buf = api.nvim_get_current_buf()
  if not cfg().ghost_text or not M.enabled_for(buf) then
    return
  end
  M.attach(buf)
  state.last = cursor_state(buf)
  schedule(buf)
end

local function on_leave()
  M.clear()
  state.last = nil
end

-- Inserts `take` (the start of the current candidate) at the cursor and moves the cursor after it.
local function insert(take)
  local s = state.sugg
  local lines = vim.split(take, '\n', { plain = true })
  api.nvim_buf_set_text(s.buf, s.row, s.col, s.row, s.col, lines)
  local row, col
  if #lines == 1 then
    row, col = s.row, s.col + #take
  else
    row, col = s.row + #lines - 1, #lines[#lines]
  end
  api.nvim_win_set_cursor(0, { row + 1, col })
  return row, col
end

local function visible_here()
  local s = state.sugg
  if not s or s.buf ~= api.nvim_get_current_buf() then
    return false
  end
  local cur = api.nvim_win_get_cursor(0)
  return cur[1] - 1 == s.row and cur[2] == s.col
end

function M.is_visible()
  return visible_here()
end

-- How much of `text` each accept action takes.
function M._take(text, kind)
  if kind == 'line' then
    local nl = text:find('\n', 1, true)
    if nl == 1 then
      -- The suggestion continues on the next line: take that whole line.
      local nl2 = text:find('\n', 2, true)
      return nl2 and text:sub(1, nl2 - 1) or text
    end
    return nl and text:sub(1, nl - 1) or text
  elseif kind == 'word' then
    return text:match('^%s*[%w_\128-\255]+') or text:match('^%s*[^%w_%s\128-\255]+') or text
  end
  return text
end

-- Accepts the whole suggestion ('all'), its current line ('line') or its next word ('word').
-- Returns true when something was inserted.
function M.accept(kind)
  if not visible_here() then
    return false
  end
  local s = state.sugg
  local text = s.candidates[s.index]
  local take = M._take(text, kind or 'all')
  stop_timer()
  cancel_pending()
  local row, col = insert(take)
  state.last = cursor_state(s.buf)
  local kept, index = {}, 1
  for i, t in ipairs(s.candidates) do
    if #t > #take and t:sub(1, #take) == take then
      kept[#kept + 1] = t:sub(#take + 1)
      if i == s.index then
        index = #kept
      end
    end
  end
  if #kept > 0 and #take < #text then
    s.candidates, s.index, s.row, s.col = kept, index, row, col
    render()
  else
    state.sugg = nil
    ghost.clear()
    set_status('idle')
    -- Like after typing: the next suggestion comes once the user pauses.
    schedule(s.buf)
  end
  return true
end

function M.dismiss()
  if not state.sugg and not state.pending then
    return false
  end
  M.clear()
  return true
end

-- Next/previous candidate. With one candidate, asks once for more (options.n = 3); with nothing on
-- screen, requests a suggestion now (no debounce).
local function cycle(step)
  local buf = api.nvim_get_current_buf()
  if visible_here() then
    local s = state.sugg
    if #s.candidates > 1 then
      s.index = (s.index - 1 + step) % #s.candidates + 1
      render()
    elseif not s.cycled then
      s.cycled = true
      local n = math.max(tonumber(cfg().options.n) or 1, 3)
      send(buf, { options = { n = n }, cycle = step })
    end
    return true
  end
  if not M.enabled_for(buf) then
    return false
  end
  M.clear()
  send(buf)
  return true
end

function M.next()
  return cycle(1)
end

function M.prev()
  return cycle(-1)
end

-- Runs an action from a keymap (through <Cmd>, so outside the expression-mapping text lock).
function M._run(action)
  if action == 'accept' then
    M.accept('all')
  elseif action == 'accept_line' then
    M.accept('line')
  elseif action == 'accept_word' then
    M.accept('word')
  elseif action == 'next' then
    M.next()
  elseif action == 'prev' then
    M.prev()
  elseif action == 'dismiss' then
    M.dismiss()
  end
end

local always = { next = true, prev = true }

-- Buffer-local insert-mode keymaps. Each falls through to the key's own meaning when it has nothing
-- to do, so a key like <Tab> keeps working when no suggestion is shown.
function M.attach(buf)
  if state.attached[buf] then
    return
  end
  local keys = {}
  state.attached[buf] = keys
  for action, lhs in pairs(cfg().keymaps) do
    if lhs then
      keys[#keys + 1] = lhs
      vim.keymap.set('i', lhs, function()
        local act = visible_here() or (action == 'dismiss' and state.pending ~= nil)
        if not act and always[action] then
          act = M.enabled_for(api.nvim_get_current_buf())
        end
        if act then
          return ('<Cmd>lua require("glm.complete")._run(%q)<CR>'):format(action)
        end
        return lhs
      end, { buffer = buf, expr = true, silent = true, desc = 'glm: ' .. action:gsub('_', ' ') })
    end
  end
end

function M.setup_autocmds()
  if state.autocmds then
    return
  end
  state.autocmds = true
  local group = api.nvim_create_augroup('glm_complete', { clear = true })
  api.nvim_create_autocmd('InsertEnter', { group = group, callback = on_insert_enter })
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, { group = group, callback = on_change })
  api.nvim_create_autocmd({ 'TextChangedP', 'CompleteChanged' }, {
    group = group,
    callback = function()
      -- A completion menu is open: it and the ghost text would cover each other.
      M.clear()
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, { group = group, callback = on_leave })
  api.nvim_create_autocmd('BufWipeout', {
    group = group,
    callback = function(a)
      state.attached[a.buf] = nil
      if state.sugg and state.sugg.buf == a.buf then
        M.clear()
      end
    end,
  })
end

-- Called by glm.setup(): starts listening when some buffer may want completion.
function M.setup()
  local c = cfg()
  local any = c.enabled or state.global
  for _, v in pairs(c.filetypes) do
    any = any or v == true
  end
  if any then
    M.setup_autocmds()
  end
  -- Keymaps are set per buffer on first use; buffers attached with older keys get the new ones on
  -- their next InsertEnter.
  for buf, keys in pairs(state.attached) do
    state.attached[buf] = nil
    if api.nvim_buf_is_valid(buf) then
      for _, lhs in ipairs(keys) do
        pcall(vim.keymap.del, 'i', lhs, { buffer = buf })
      end
    end
  end
  if package.loaded['cmp'] then
    require('glm.cmp_source').register()
  end
end

local SET_BY = {
  ['complete.enabled'] = 'set by ',
  ['complete.filetypes'] = 'set by ',
  ['b:glm_complete'] = 'set by ',
  [':GlmComplete'] = 'set by ',
}

-- :GlmComplete on|off|toggle|status. on/off override setup() for every buffer; with a bang (buffer =
-- true) only for the current buffer (b:glm_complete).
function M.command(arg, buffer_only)
  arg = arg ~= '' and arg or 'toggle'
  local buf = api.nvim_get_current_buf()
  if arg == 'status' then
    local on, why = M.enabled_for(buf)
    local msg = ('completion is %s in this buffer (%s%s)'):format(on and 'on' or 'off', SET_BY[why] or '', why)
    if on and state.status ~= 'idle' then
      msg = msg .. (state.status == 'waiting' and '; a request is in flight' or '; a suggestion is shown')
    end
    if state.error then
      msg = msg .. '; the last request failed: ' .. state.error_shown
    end
    util.notify(msg)
    return
  end
  local value
  if arg == 'on' then
    value = true
  elseif arg == 'off' then
    value = false
  elseif arg == 'toggle' then
    value = not M.enabled_for(buf)
  else
    util.notify('GlmComplete: expected on, off, toggle or status, got ' .. arg, vim.log.levels.ERROR)
    return
  end
  if buffer_only then
    api.nvim_buf_set_var(buf, 'glm_complete', value)
  else
    state.global = value
  end
  if value then
    M.setup_autocmds()
    local on, why = M.enabled_for(buf)
    if not on and why ~= 'b:glm_complete' then
      util.notify('completion stays off in this buffer: ' .. why, vim.log.levels.WARN)
    end
  else
    M.clear()
  end
end

-- idle | waiting | shown, or 'off' when completion is off for the current buffer.
function M.state()
  if not state.autocmds or not M.enabled_for(api.nvim_get_current_buf()) then
    return 'off'
  end
  return state.status
end

-- For the statusline: complete.status_text for the state, with the candidate number when several,
-- the error of the last request when it failed ("GLM ✗ ..."), "" when off.
function M.status()
  local st = M.state()
  if st == 'off' then
    return ''
  end
  if st ~= 'shown' and state.error then
    return cfg().status_text.error .. ' ' .. state.error
  end
  local text = cfg().status_text[st] or ''
  local s = state.sugg
  if st == 'shown' and s and #s.candidates > 1 then
    text = ('%s %d/%d'):format(text, s.index, #s.candidates)
  end
  return text
end

-- Test helpers.
function M._state()
  return state
end

function M._reset()
  M.clear()
  state.global = nil
  state.last = nil
  state.quiet_until = 0
  state.error_shown, state.error = nil, nil
  state.requests = 0
end

return M
