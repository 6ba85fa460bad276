-- The parent side of tests/lua/ghost_child.lua: starts a child Neovim (`nvim --embed --headless`),
-- types into it with nvim_input and reads back G.snap(). Used by the ghost text specs.
--   local child, with_child = dofile(root .. '/tests/lua/ghost_parent.lua')(T)
return function(T)
  local function child(setup)
    local ch = vim.fn.jobstart({ vim.v.progpath, '--embed', '--headless', '-u', 'NONE', '-i', 'NONE', '-n' }, {
      rpc = true,
    })
    assert(ch > 0, 'could not start a child Neovim')
    local c = { ch = ch }
    function c.lua(code, ...)
      return vim.fn.rpcrequest(ch, 'nvim_exec_lua', code, { ... })
    end
    function c.input(keys)
      vim.fn.rpcrequest(ch, 'nvim_input', keys)
    end
    -- Types `s` one key at a time, `gap_ms` apart.
    function c.type(s, gap_ms)
      for ch_ in s:gmatch('.') do
        c.input(ch_ == '<' and '<lt>' or ch_)
        vim.wait(gap_ms or 10)
      end
    end
    function c.snap()
      return c.lua('return G.snap()')
    end
    function c.wait(cond, ms, what)
      T.wait(function()
        return cond(c.snap())
      end, ms or 3000, what)
      return c.snap()
    end
    c.lua('local path, root = ...; assert(loadfile(path))(root)', T.root .. '/tests/lua/ghost_child.lua', T.root)
    c.lua('vim.o.columns = 80; vim.o.lines = 20')
    c.lua('require("glm").setup(...)', setup or { complete = { enabled = true, debounce_ms = 60 } })
    return c
  end

  -- Runs fn(child) and always stops the child.
  local function with_child(setup, fn)
    local c = child(setup)
    local ok, err = xpcall(fn, debug.traceback, c)
    vim.fn.jobstop(c.ch)
    if not ok then
      error(err, 0)
    end
  end

  return child, with_child
end
