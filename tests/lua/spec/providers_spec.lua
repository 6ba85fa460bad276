-- :checkhealth glm reads the server's provider registry (providers/list): built-in instances, the
-- user's named instances, Qianfan v1/v2, and a provider kind added by the recipe (glm-server-recipe).
local T = ...

local api = vim.api

local function health()
  vim.cmd('silent checkhealth glm')
  local text = T.buf_text(api.nvim_get_current_buf())
  vim.cmd('silent! bwipeout!')
  return text
end

T.test(':checkhealth glm lists the registry instances, named instances and which Qianfan API', function()
  T.setup({
    server = {
      config = {
        providers = {
          ['zhipu-work'] = { kind = 'zhipu', api_key = 'zk-inline-secret' },
          ['qianfan-v2'] = { api_key = 'qf-v2-inline-secret' },
        },
      },
    },
  })
  local text = health()
  T.contains(text, 'zai [zhipu: ')
  T.contains(text, 'ZAI_API_KEY not set')
  T.contains(text, 'zhipu-work [zhipu: ')
  T.contains(text, 'zhipu-work [zhipu: Zhipu AI open platform v4 (key or JWT)]: inline api_key in server.config')
  T.contains(text, 'qianfan [qianfan: Baidu Qianfan v1')
  T.contains(text, 'QIANFAN_AK, QIANFAN_SK not set')
  T.contains(text, 'qianfan-v2 [qianfan-v2: Baidu Qianfan v2')
  T.contains(text, 'Baidu Qianfan API configured: v2 (qianfan-v2)')
  T.ok(not text:find('secret', 1, true), 'no secret printed')
  T.ok(not text:find('ERROR', 1, true), 'no error: ' .. text)
end)

T.test(':checkhealth glm reports a rejected server.config as an error naming the key', function()
  T.setup({ server = { config = { providers = { mine = { kind = 'nonesuch' } } } } })
  local text = health()
  T.contains(text, "providers.mine.kind: unknown provider kind 'nonesuch'")
end)

T.test(':checkhealth glm shows a provider kind added by the recipe (test-only server build)', function()
  local recipe = os.getenv('GLM_TEST_RECIPE_SERVER')
  T.ok(recipe and vim.fn.executable(recipe) == 1, 'glm-server-recipe built: ' .. tostring(recipe))
  T.setup({ server = { cmd = recipe, config = { providers = { ['acme-eu'] = { kind = 'acme' } } } } })
  local text = health()
  T.contains(text, 'acme [acme: Acme Cloud (the recipe')
  T.contains(text, 'ACME_API_KEY not set')
  T.contains(text, 'acme-eu [acme: ')
  -- The normal server does not know the kind: the same config is an error there.
  T.setup({ server = { config = { providers = { ['acme-eu'] = { kind = 'acme' } } } } })
  T.contains(health(), "unknown provider kind 'acme'")
end)
