-- :[range]GlmAction [name]: the action library. The built-in actions (explain, review, fix, tests,
-- document, commit) and the server config's own are the server's (`actions/list`, also in initialize's
-- result; docs/protocol.md "Actions"), the same list LSP mode offers as code actions. Each runs on the
-- range (or the whole buffer) and opens its answer like :GlmAsk (a float; `ga` applies a code block from
-- it), like :GlmExplain, or like :GlmEdit (a diff preview to accept or reject).
--
-- setup({ actions = { name = spec | false } }) adds actions, changes fields of the server's ones, or
-- (false) removes them. A spec:
--   description  shown in the picker
--   kind         'ask' (default) | 'edit' | 'explain'
--   prompt       string, or function(ctx) -> string; ctx = { buf, range = {l1, l2}, path, filetype }
--   context      'code' (default: the range or the buffer) | 'staged' (the staged git diff) | 'none'
--   diagnostics  true: add the range's vim.diagnostic entries to the prompt
--   apply        'replace' (default) | 'insert': `ga` in the answer's float inserts the code below the
--                range instead of replacing it (kind 'ask')
local util = require('glm.util')
local config = require('glm.config')

local api = vim.api
local M = {}

M.MAX_DIFF_BYTES = 200 * 1024

-- The server's library, by name (starts the server when needed; nil + message when it cannot start).
local function library()
  local client, err = require('glm.rpc').get()
  if not client then
    return nil, err
  end
  vim.wait(3000, function()
    return client.ready or not client:is_running()
  end, 5)
  local list = client.ready and client.init_result and util.nonnil(client.init_result.actions)
  if type(list) ~= 'table' then
    return nil, 'glm-server did not list its actions (' .. (client.stderr_text or 'not running') .. ')'
  end
  local out = {}
  for _, a in ipairs(list) do
    out[a.name] = {
      description = a.description,
      kind = a.kind,
      prompt = a.prompt,
      context = a.context,
      diagnostics = a.diagnostics or nil,
      apply = a.apply ~= 'replace' and a.apply or nil,
    }
  end
  return out
end

local KINDS = { ask = true, edit = true, explain = true }
local CONTEXTS = { code = true, staged = true, none = true }

-- The actions in effect (built-in merged with setup()'s), or nil and an error naming the bad one.
function M.all()
  local out, lerr = library()
  if not out then
    return nil, lerr
  end
  for name, spec in pairs(config.get().actions or {}) do
    if type(name) ~= 'string' then
      return nil, 'actions: names must be strings'
    end
    if spec == false then
      out[name] = nil
    elseif type(spec) ~= 'table' then
      return nil, ('actions.%s must be a table or false, got %s'):format(name, type(spec))
    else
      local merged = vim.tbl_extend('force', out[name] or {}, spec)
      merged.kind = merged.kind or 'ask'
      merged.context = merged.context or 'code'
      if not KINDS[merged.kind] then
        return nil, ("actions.%s.kind must be ask, edit or explain, got '%s'"):format(name, tostring(merged.kind))
      end
      if not CONTEXTS[merged.context] then
        return nil, ("actions.%s.context must be code, staged or none, got '%s'"):format(name, tostring(merged.context))
      end
      if merged.apply ~= nil and merged.apply ~= 'insert' and merged.apply ~= 'replace' then
        return nil, ("actions.%s.apply must be insert or replace, got '%s'"):format(name, tostring(merged.apply))
      end
      if type(merged.prompt) ~= 'string' and type(merged.prompt) ~= 'function' then
        return nil, ('actions.%s needs a prompt (a string or a function)'):format(name)
      end
      out[name] = merged
    end
  end
  return out
end

function M.names()
  local all = M.all() or {}
  local names = vim.tbl_keys(all)
  table.sort(names)
  return names
end

-- The directory whose repository holds `buf` (a COMMIT_EDITMSG inside .git counts as its work tree).
local function git_dir(buf)
  local name = api.nvim_buf_get_name(buf)
  if name == '' then
    return vim.fn.getcwd()
  end
  local dir = vim.fn.fnamemodify(name, ':p:h')
  local top = dir:match('^(.*)/%.git$') or dir:match('^(.*)/%.git/')
  return top or dir
end

-- The staged diff of the repository of `buf`, or nil and a message.
function M.staged_diff(buf)
  local dir = git_dir(buf)
  if vim.fn.executable('git') == 0 then
    return nil, 'git is not installed'
  end
  local out = vim.fn.system({ 'git', '-C', dir, 'diff', '--cached', '--no-color', '--no-ext-diff' })
  if vim.v.shell_error ~= 0 then
    return nil, 'git diff --cached failed in ' .. dir .. ': ' .. vim.trim(out)
  end
  if vim.trim(out) == '' then
    return nil, 'nothing is staged in ' .. dir .. ' (git add first)'
  end
  if #out > M.MAX_DIFF_BYTES then
    local stat = vim.fn.system({ 'git', '-C', dir, 'diff', '--cached', '--stat', '--no-color' })
    out = stat .. '\n' .. out:sub(1, M.MAX_DIFF_BYTES) .. '\n[diff truncated]'
  end
  return out
end

local function diagnostics_text(buf, l1, l2)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.lnum + 1 >= l1 and d.lnum + 1 <= l2 then
      out[#out + 1] = ('line %d: %s'):format(d.lnum + 1, d.message)
    end
  end
  return out
end

-- Runs action `name` (nil: pick one with vim.ui.select). opts.range = {l1, l2} of the current buffer.
function M.run(name, opts)
  opts = opts or {}
  local all, err = M.all()
  if not all then
    util.notify(err, vim.log.levels.ERROR)
    return
  end
  if name == nil or name == '' then
    local names = M.names()
    vim.ui.select(names, {
      prompt = 'GLM action',
      format_item = function(n)
        return n .. (all[n].description and ('  ' .. all[n].description) or '')
      end,
    }, function(choice)
      if choice then
        M.run(choice, opts)
      end
    end)
    return
  end
  local spec = all[name]
  if not spec then
    local known = table.concat(M.names(), ', ')
    util.notify(('no action named %s (there are: %s)'):format(name, known), vim.log.levels.ERROR)
    return
  end
  local glm = require('glm')
  local buf = api.nvim_get_current_buf()
  local range = opts.range or { 1, api.nvim_buf_line_count(buf) }
  local ctx = {
    buf = buf,
    range = range,
    path = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':~:.'),
    filetype = util.buf_get(buf, 'filetype'),
  }
  local prompt = spec.prompt
  if type(prompt) == 'function' then
    local ok, res = pcall(prompt, ctx)
    if not ok or type(res) ~= 'string' then
      util.notify(('action %s: its prompt function failed: %s'):format(name, tostring(res)), vim.log.levels.ERROR)
      return
    end
    prompt = res
  end
  if opts.extra and opts.extra ~= '' then
    prompt = prompt .. '\n\n' .. opts.extra
  end
  if spec.diagnostics then
    local diags = diagnostics_text(buf, range[1], range[2])
    if #diags > 0 then
      prompt = prompt .. '\n\nDiagnostics:\n' .. table.concat(diags, '\n') -- as core/actions.cpp
    end
  end
  local context = spec.context or 'code'
  if context == 'staged' then
    local diff, derr = M.staged_diff(buf)
    if not diff then
      util.notify(derr, vim.log.levels.WARN)
      return
    end
    return glm.ask(prompt .. '\n\n```diff\n' .. diff .. '\n```', { title = 'GLM ' .. name, context = false })
  end
  local kind = spec.kind or 'ask'
  if kind == 'edit' then
    return glm.edit(prompt, { range = range })
  elseif kind == 'explain' then
    return glm.explain({ range = range, question = prompt })
  end
  return glm.ask(prompt, {
    range = context == 'code' and range or nil,
    title = 'GLM ' .. name,
    context = false,
    apply = spec.apply,
  })
end

return M
