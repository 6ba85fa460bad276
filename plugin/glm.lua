-- Load guard and user commands only: everything else loads on first use.
if vim.g.loaded_glm then
  return
end
vim.g.loaded_glm = 1

local cmd = vim.api.nvim_create_user_command

local function range_of(c)
  if c.range and c.range > 0 then
    return { c.line1, c.line2 }
  end
  return nil
end

cmd('GlmAsk', function(c)
  require('glm').ask(c.args, { range = range_of(c) })
end, { nargs = '*', range = true, desc = 'Ask GLM a question (with a range: about those lines)' })

cmd('GlmExplain', function(c)
  require('glm').explain({ range = range_of(c), question = c.args })
end, { nargs = '*', range = true, desc = 'Explain the selection (or the function/paragraph at the cursor)' })

cmd('GlmChat', function(c)
  require('glm').chat({ new = c.bang, layout = c.args ~= '' and c.args or nil, range = range_of(c) })
end, {
  nargs = '?',
  bang = true,
  range = true,
  complete = function()
    return { 'split', 'vsplit', 'float', 'tab' }
  end,
  desc = 'Open the GLM chat (! starts a new one; with a range: add those lines to the message)',
})

cmd('GlmEdit', function(c)
  require('glm').edit(c.args, { range = range_of(c) })
end, { nargs = '*', range = true, desc = 'GLM rewrites the range (or inserts at the cursor), shown as a diff' })

cmd('GlmAction', function(c)
  local name, extra = c.args:match('^(%S*)%s*(.-)%s*$')
  require('glm').action(name ~= '' and name or nil, { range = range_of(c), extra = extra })
end, {
  nargs = '*',
  range = true,
  complete = function(lead)
    return vim.tbl_filter(function(n)
      return n:sub(1, #lead) == lead
    end, require('glm.actions').names())
  end,
  desc = 'Run a GLM action (explain, review, fix, tests, document, commit) on the range or buffer',
})

cmd('GlmChats', function(c)
  require('glm').chats(c.args ~= '' and c.args or nil)
end, { nargs = '?', desc = 'Reopen a saved GLM chat' })

cmd('GlmChatRename', function(c)
  require('glm.chat').rename_cmd(c.args)
end, { nargs = '*', desc = 'Rename this GLM chat (outside a chat: pick a saved one)' })

cmd('GlmChatDelete', function(c)
  require('glm.chat').delete_cmd(c.bang)
end, { bang = true, desc = 'Delete this GLM chat (outside a chat: pick a saved one); ! skips the question' })

cmd('GlmImage', function(c)
  require('glm.chat').attach_image_cmd(c.args)
end, { nargs = '?', complete = 'file', desc = 'Attach an image file to the GLM chat message (vision models)' })

cmd('GlmModel', function()
  require('glm').select_model()
end, { desc = 'Pick the GLM model' })

cmd('GlmCancel', function()
  require('glm').cancel()
end, { desc = 'Cancel GLM requests in flight' })

cmd('GlmComplete', function(c)
  require('glm.complete').command(c.args, c.bang)
end, {
  nargs = '?',
  bang = true,
  complete = function()
    return { 'on', 'off', 'toggle', 'status' }
  end,
  desc = 'Inline completion on/off/toggle/status (! for this buffer only)',
})

cmd('GlmRestart', function()
  require('glm.rpc').restart()
end, { desc = 'Restart glm-server (it re-reads its config file)' })

cmd('GlmLog', function()
  require('glm').open_log()
end, { desc = 'Open the glm-server log' })

-- Started by ./scripts/run.sh (g:glm_launch): inline completion when the launch turns it on (demo mode),
-- and a banner that says where demo answers come from. The user's own setup() is left as it is.
if type(vim.g.glm_launch) == 'table' then
  vim.api.nvim_create_autocmd('VimEnter', {
    group = vim.api.nvim_create_augroup('glm_launch', { clear = true }),
    once = true,
    callback = function()
      local config = require('glm.config')
      if config.get().complete.enabled then
        require('glm.complete').setup()
      end
      if config.demo() then
        vim.defer_fn(function()
          -- One line that fits (a longer one would stop at a hit-enter prompt); :messages keeps it.
          local rest = (': a bundled mock answers, not a model. Set ZHIPUAI_API_KEY to leave.'):sub(
            1,
            math.max(0, vim.o.columns - 15)
          )
          vim.api.nvim_echo({ { 'GLM demo mode', 'WarningMsg' }, { rest } }, true, {})
        end, 50)
      end
    end,
  })
end

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = vim.api.nvim_create_augroup('glm_exit', { clear = true }),
  callback = function()
    local rpc = package.loaded['glm.rpc']
    if rpc then
      rpc.stop()
    end
  end,
})
