-- Options: documented defaults (doc/glm.txt, "glm-options") merged with the user's setup() table.
-- Validation walks the user's table against a schema so a typo or a wrong type is reported by name
-- instead of being silently ignored.
local M = {}

M.defaults = {
  -- "provider/model" sent with every request; nil lets the server use its default_model.
  model = nil,
  -- Request options passed through to the server (temperature, top_p, max_tokens, thinking, ...).
  options = {},
  server = {
    cmd = nil, -- path to glm-server; nil = <plugin root>/build/glm-server
    args = {}, -- extra command-line arguments
    config = {}, -- sent as initialize.config (same schema as the server's config file)
    log_file = nil, -- nil = stdpath('cache')/glm/server.log
    log_level = 'info',
    shutdown_timeout_ms = 300,
  },
  chat = {
    layout = 'split', -- split | vsplit | float | tab
    system_prompt = nil,
    save = true,
    dir = nil, -- nil = stdpath('data')/glm/chats
    save_interval_ms = 500,
    fold_reasoning = true,
  },
  float = {
    width = 80,
    max_height = 20,
    border = 'rounded',
  },
  keymaps = {
    send = '<CR>', -- normal mode, chat buffer
    send_insert = '<C-s>', -- insert mode, chat buffer
    cancel = '<C-c>',
    new_chat = '<C-n>',
    close = 'q',
    to_chat = 'c', -- ask/explain float: continue in a chat
    apply = 'ga', -- chat, float: apply the code block (replace the asked-about range, else insert)
    apply_insert = 'gA', -- chat, float: insert the code block below the cursor of the source window
    accept = 'ga', -- diff preview: accept the proposal
    reject = 'gr', -- diff preview: reject it
    yank_code = 'gy', -- chat: yank the code block under the cursor
    next_reply = ']]', -- chat: jump to the next reply
    prev_reply = '[[', -- chat: jump to the previous reply
    regenerate = 'gr', -- chat: ask again for the last reply
    clear = '<C-l>', -- chat: start over (the old chat stays saved)
    model = 'gm', -- chat: pick this chat's model
    help = '?', -- chat: list these keys
  },
  -- Apply and :GlmEdit previews.
  apply = {
    context = 3, -- unchanged lines shown above and below the change in the diff
    flash_ms = 800, -- how long the applied lines stay highlighted (GlmApplied)
  },
  edit = {
    context_lines = 40, -- lines around the range sent along for reference (not rewritten)
  },
  -- :GlmAction prompts added to (or, set to false, removed from) the built-in library.
  actions = {},
  status_text = 'GLM ⋯',
  -- Inline completion (ghost text). Off by default: it sends buffer text to the provider.
  complete = {
    enabled = false, -- every eligible buffer
    filetypes = {}, -- filetype -> true/false, overrides `enabled` for that filetype
    ghost_text = true, -- false: only the nvim-cmp source asks for completions
    debounce_ms = 150,
    max_file_bytes = 1024 * 1024, -- never in larger buffers
    prefix_bytes = 6000, -- text before the cursor sent, cut on line boundaries
    suffix_bytes = 2000, -- text after the cursor sent
    model = nil, -- nil: the server's completion model
    options = {}, -- max_tokens, temperature, top_p, stop, max_lines, n
    keymaps = {
      accept = '<M-l>',
      accept_line = '<M-C-Right>',
      accept_word = '<M-Right>',
      next = '<M-]>',
      prev = '<M-[>',
      dismiss = '<C-]>',
    },
    status_text = { idle = 'GLM', waiting = 'GLM …', shown = 'GLM ✓', error = 'GLM ✗' },
  },
}

-- Schema: option path -> accepted types. Tables listed as "table" are free-form (passed through).
local key_type = { 'string', 'boolean' } -- a keymap, or false to disable it
local schema = {
  model = { 'string', 'nil' },
  options = { 'table' },
  server = {
    cmd = { 'string', 'nil' },
    args = { 'table' },
    config = { 'table' },
    log_file = { 'string', 'nil' },
    log_level = { 'string' },
    shutdown_timeout_ms = { 'number' },
  },
  chat = {
    layout = { 'string', enum = { 'split', 'vsplit', 'float', 'tab' } },
    system_prompt = { 'string', 'nil' },
    save = { 'boolean' },
    dir = { 'string', 'nil' },
    save_interval_ms = { 'number' },
    fold_reasoning = { 'boolean' },
  },
  float = {
    width = { 'number' },
    max_height = { 'number' },
    border = { 'string', 'table' },
  },
  keymaps = {
    send = key_type,
    send_insert = key_type,
    cancel = key_type,
    new_chat = key_type,
    close = key_type,
    to_chat = key_type,
    apply = key_type,
    apply_insert = key_type,
    accept = key_type,
    reject = key_type,
    yank_code = key_type,
    next_reply = key_type,
    prev_reply = key_type,
    regenerate = key_type,
    clear = key_type,
    model = key_type,
    help = key_type,
  },
  apply = {
    context = { 'number' },
    flash_ms = { 'number' },
  },
  edit = {
    context_lines = { 'number' },
  },
  actions = { 'table' },
  status_text = { 'string' },
  complete = {
    enabled = { 'boolean' },
    filetypes = { 'table' },
    ghost_text = { 'boolean' },
    debounce_ms = { 'number' },
    max_file_bytes = { 'number' },
    prefix_bytes = { 'number' },
    suffix_bytes = { 'number' },
    model = { 'string', 'nil' },
    options = { 'table' },
    keymaps = {
      accept = key_type,
      accept_line = key_type,
      accept_word = key_type,
      next = key_type,
      prev = key_type,
      dismiss = key_type,
    },
    status_text = { idle = { 'string' }, waiting = { 'string' }, shown = { 'string' }, error = { 'string' } },
  },
}

local function is_leaf(spec)
  return spec[1] ~= nil
end

local function check(value, spec, path)
  if type(value) ~= 'table' then
    return ("option '%s' must be a table, got %s"):format(path == '' and 'opts' or path, type(value))
  end
  for k, v in pairs(value) do
    local name = path == '' and tostring(k) or (path .. '.' .. tostring(k))
    local sub = spec[k]
    if sub == nil then
      return ("unknown option '%s'"):format(name)
    end
    if is_leaf(sub) then
      local ok = vim.tbl_contains(sub, type(v))
      if not ok then
        return ("option '%s' must be %s, got %s"):format(name, table.concat(sub, ' or '), type(v))
      end
      if sub.enum and not vim.tbl_contains(sub.enum, v) then
        return ("option '%s' must be one of %s, got '%s'"):format(name, table.concat(sub.enum, ', '), tostring(v))
      end
      if type(v) == 'boolean' and sub == key_type and v == true then
        return ("option '%s' must be a key (string) or false"):format(name)
      end
    else
      local err = check(v, sub, name)
      if err then
        return err
      end
    end
  end
  return nil
end

-- What ./scripts/run.sh sets for this session (g:glm_launch, before the user's init): the model it was
-- asked for (GLM_MODEL), the server of another build directory, and demo mode. Applied over the defaults
-- and over whatever the user's setup() says, so that neither undoes the other (doc/glm.txt, glm-run).
local function launch()
  local l = vim.g.glm_launch
  return type(l) == 'table' and l or {}
end

local function compose(opts)
  local l = launch()
  local values = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts, l.options or {})
  -- Free-form tables replace rather than merge element-wise where merging lists makes no sense.
  if opts.server and opts.server.args then
    values.server.args = vim.deepcopy(opts.server.args)
  end
  return values
end

-- True when this Neovim was started by ./scripts/run.sh in demo mode (no provider key: the answers come
-- from the bundled mock provider).
function M.demo()
  return launch().demo == true
end

M.values = compose({})

-- Returns nil on success, or the error message (already shown to the user) on failure; the previous
-- values stay in effect on failure.
function M.setup(opts)
  opts = opts or {}
  local err = check(opts, schema, '')
  if not err and type(opts.complete) == 'table' and type(opts.complete.filetypes) == 'table' then
    for ft, v in pairs(opts.complete.filetypes) do
      if type(ft) ~= 'string' or type(v) ~= 'boolean' then
        err = ("option 'complete.filetypes' maps filetype names to true or false, got %s = %s"):format(
          tostring(ft),
          vim.inspect(v)
        )
        break
      end
    end
  end
  if err then
    vim.notify('glm.setup: ' .. err, vim.log.levels.ERROR, { title = 'glm' })
    return err
  end
  M.values = compose(opts)
  return nil
end

function M.get()
  return M.values
end

function M.chat_dir()
  return M.values.chat.dir or (vim.fn.stdpath('data') .. '/glm/chats')
end

function M.log_file()
  return M.values.server.log_file or (vim.fn.stdpath('cache') .. '/glm/server.log')
end

function M.server_cmd()
  return M.values.server.cmd or (require('glm.util').plugin_root() .. '/build/glm-server')
end

return M
