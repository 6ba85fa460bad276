-- Inline completion end to end: a child Neovim typed into, glm-server, the mock provider (CodeGeeX FIM,
-- the default completion model). The mock answers with the text after "mock-reply:" in the prefix.
-- Requests are counted where they cost money: at the mock.
local T = ...

local _, with_child = dofile(T.root .. '/tests/lua/ghost_parent.lua')(T)

local function setup(extra)
  local port = T.start_mock()
  return vim.tbl_deep_extend('force', {
    server = {
      cmd = T.server,
      log_level = 'debug',
      config = {
        default_model = 'openai/glm-4',
        providers = {
          openai = { base_url = ('http://127.0.0.1:%d/v1'):format(port) },
          zhipu = { base_url = ('http://127.0.0.1:%d/api/paas/v4'):format(port), api_key = 'test-key' },
        },
      },
    },
    complete = { enabled = true, debounce_ms = 60 },
  }, extra or {})
end

-- FIM requests the mock received so far.
local function fim_requests()
  local r = {}
  for _, req in ipairs(T.recorded()) do
    if req.json and req.json.extra then
      r[#r + 1] = req
    end
  end
  return r
end

local function ghost_shown(s)
  return s.ghost
end

T.test('ghost text from glm-server; accept inserts it', function()
  with_child(setup(), function(c)
    local n0 = #fim_requests()
    c.lua('G.buffer("python", { "# mock-reply:total = price * qty", "" }, ...)', T.tmp .. '/shop.py')
    c.input('GA')
    local s = c.wait(ghost_shown, 5000, 'ghost text')
    T.eq(s.ghost, { 'total = price * qty' })
    T.eq(s.lines[2], '', 'not in the buffer')
    local reqs = fim_requests()
    T.eq(#reqs, n0 + 1, 'one upstream request')
    local body = reqs[#reqs].json
    T.eq(body.model, 'codegeex-4')
    T.eq(body.extra.target.language, 'python')
    T.contains(body.extra.target.path, 'shop.py')
    T.contains(body.extra.target.code_prefix, 'mock-reply:total')
    c.input('<M-l>')
    s = c.wait(function(s)
      return s.lines[2] ~= ''
    end)
    T.eq(s.lines, { '# mock-reply:total = price * qty', 'total = price * qty' })
    T.eq(s.cursor, { 2, 19 })
  end)
end)

T.test('typing along a 40-character suggestion sends 0 requests (counted at the mock)', function()
  with_child(setup(), function(c)
    local first = 'result = compute_total(items, discount)' .. '!'
    T.eq(#first, 40)
    c.lua('G.buffer("python", { ... , "" })', '# mock-reply:' .. first .. '\\nprint(result)')
    c.input('GA')
    c.wait(ghost_shown, 5000, 'ghost text')
    local n0 = #fim_requests()
    local sent0 = c.lua('return require("glm.complete")._state().requests')
    for i = 1, #first do
      c.input(first:sub(i, i))
      vim.wait(i % 8 == 0 and 100 or 10) -- pauses past the debounce now and then
    end
    vim.wait(200)
    local s = c.snap()
    T.eq(s.lines[2], first)
    T.eq(s.ghost, { '', 'print(result)' }, 'the rest still shown')
    T.eq(#fim_requests() - n0, 0, 'upstream requests while typing along')
    T.eq(c.lua('return require("glm.complete")._state().requests') - sent0, 0, 'complete requests to the server')
  end)
end)

T.test('typing on cancels the request in flight; the next answer shows at once', function()
  with_child(setup(), function(c)
    -- The directive stalls the upstream answer while it is in the prefix; <C-u> deletes it.
    c.lua('G.buffer("python", { "x = 1 # mock:stall_first_ms=4000" })')
    local n0 = #fim_requests()
    c.input('A')
    T.wait(function()
      return #fim_requests() == n0 + 1
    end, 3000, 'stalled request at the mock')
    local t0 = vim.loop.hrtime()
    c.input('<C-u>')
    local s = c.wait(ghost_shown, 3000, 'answer to the new request')
    local ms = (vim.loop.hrtime() - t0) / 1e6
    T.ok(ms < 2000, 'shown after ' .. ms .. ' ms: the stalled request did not hold it up')
    T.contains(s.ghost[1], '<fim lang=python prefix=0')
    T.eq(#fim_requests(), n0 + 2)
    T.eq(c.lua('return require("glm.complete")._state().requests'), 2)
  end)
end)

T.test('an upstream error is told (statusline, not the command line) and nothing is shown', function()
  with_child(setup(), function(c)
    c.lua('G.buffer("python", { "# mock:error=401", "" })')
    c.input('GAa')
    local s = c.wait(function(s)
      return s.status:match('^GLM ✗ ')
    end, 5000, 'error in the statusline')
    c.input('b')
    vim.wait(300)
    T.eq(c.snap().status, s.status)
    local notes = c.lua('return G.notes')
    T.eq(#notes, 0, vim.inspect(notes))
    T.eq(c.snap().ghost, false)
  end)
end)

T.test('next candidate: glm-server asks CodeGeeX for 3 and the ghost text cycles through them', function()
  with_child(setup(), function(c)
    -- The mock writes the request's temperature into its answer: each candidate request differs.
    c.lua('G.buffer("python", { "# mock-reply:x = {temperature}", "" })')
    c.input('GA')
    local s = c.wait(ghost_shown, 5000, 'ghost text')
    local first = s.ghost[1]
    T.ok(first:match('^x = 0%.%d+$'), 'first suggestion: ' .. first)
    local n0 = #fim_requests()
    -- Shown: the candidate and, after it, its place among them.
    local function shown(k, n)
      return function(snap)
        return snap.ghost and snap.ghost[1]:match('^x = 0%.%d+ %(' .. k .. '/' .. n .. '%)$') and snap.ghost[1]
      end
    end
    c.input('<M-]>')
    local second = c.wait(shown(2, 3), 5000, 'the second of 3 candidates').ghost[1]
    T.eq(#fim_requests() - n0, 3, 'one upstream request per candidate')
    local temps = {}
    for _, req in ipairs(vim.list_slice(fim_requests(), n0 + 1)) do
      temps[#temps + 1] = req.json.temperature
    end
    table.sort(temps)
    T.ok(temps[1] < temps[2] and temps[2] < temps[3], 'spread temperatures: ' .. vim.inspect(temps))
    -- Cycling on goes through the third and back to the first, with no further request.
    c.input('<M-]>')
    local third = c.wait(shown(3, 3), 2000, 'the third candidate').ghost[1]
    T.ok(third:sub(1, 9) ~= second:sub(1, 9), 'a different third candidate: ' .. third)
    c.input('<M-]>')
    T.eq(c.wait(shown(1, 3), 2000, 'back to the first').ghost[1], first .. ' (1/3)')
    T.eq(#fim_requests() - n0, 3, 'no request while cycling')
  end)
end)
