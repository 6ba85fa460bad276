-- Regression tests for the plugin items of issue 15 ("first contact") and issue 16 item 6.
local T = ...

local api = vim.api

-- Issue 16.6: attachment paths are text; nothing in a message is evaluated (no `=expr`, no shell).
T.test('#file: and image paths are text: a backtick expression in a message runs nothing', function()
  local marks = { T.tmp .. '/evaluated_file', T.tmp .. '/evaluated_image', T.tmp .. '/evaluated_shell' }
  for _, m in ipairs(marks) do
    os.remove(m)
  end
  local ctx = require('glm.context')
  local content, err = ctx.expand(("see #file:`=writefile(['x'],'%s')`"):format(marks[1]), nil, {})
  T.ok(content == nil and err:find('no such file', 1, true), 'an error, not an attachment: ' .. tostring(err))
  content, err = ctx.expand(('see #file:`touch${IFS}%s`'):format(marks[3]), nil, {})
  T.ok(content == nil, 'shell backticks are a file name: ' .. tostring(err))
  local ok, ierr = require('glm.image').extract(("![image](`=writefile(['x'],'%s')`)"):format(marks[2]))
  T.ok(not ok and ierr:find('image not found', 1, true), 'image: ' .. tostring(ierr))
  for _, m in ipairs(marks) do
    T.eq(vim.fn.filereadable(m), 0, 'not created: ' .. m)
  end
  -- A leading ~ still means the home directory.
  local home = os.getenv('HOME')
  local name = 'glm_tilde_' .. vim.fn.getpid() .. '.txt'
  vim.fn.writefile({ 'tilde' }, home .. '/' .. name)
  content = ctx.expand('see #file:~/' .. name, nil, {})
  os.remove(home .. '/' .. name)
  T.ok(content and content:find('tilde', 1, true), '~ expanded: ' .. tostring(content))
end)
