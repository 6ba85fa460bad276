-- Run by tests/lsp/run_docs_install.sh: loads docs/lsp.md's Neovim snippet (copied to
-- $GLM_TEST_TMP/snippet.lua), opens a Lua file and waits for the snippet's client ('glm', started as
-- `glm-server --lsp` from PATH) to initialize. Exits non-zero on failure.
local tmp = os.getenv('GLM_TEST_TMP')
local function fail(msg)
  io.stdout:write('FAIL: ' .. msg .. '\n')
  vim.cmd('cquit 1')
end
if vim.fn.executable('glm-server') ~= 1 then
  fail('glm-server is not on PATH after the documented install')
end
local ok, err = pcall(vim.cmd, 'luafile ' .. tmp .. '/snippet.lua')
if not ok then
  fail('the snippet does not load: ' .. tostring(err))
end
vim.cmd('filetype on') -- as in any user's configuration (-u NONE has it off)
local file = tmp .. '/demo.lua'
vim.fn.writefile({ 'local x = 1' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local client
local ready = vim.wait(20000, function()
  for _, c in pairs(vim.lsp.buf_get_clients(0)) do
    if c.name == 'glm' and c.server_capabilities and c.server_capabilities.codeActionProvider then
      client = c
      return true
    end
  end
  return false
end, 50)
if not ready then
  fail('the snippet started no initialized glm client (is glm-server on PATH?)')
end
io.stdout:write('ok: the snippet started glm-server from PATH and it initialized\n')
client.stop()
vim.cmd('qall!')
