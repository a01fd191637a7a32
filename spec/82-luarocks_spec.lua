-- LuaRocks builds and installs the rock for Lua 5.3 and for 5.4
-- (`luarocks --lua-version V make`, the rockspec's make build), each into a
-- tree of its own in a temp dir, and `require "sspi"` works from that tree
-- alone.  The rock is built from a copy of the checkout, so the suite's own
-- build/ is left as it is.
local sh = require "helpers.sh"
local shell_quote, read_file = sh.quote, sh.read_file

local VERSIONS = { "5.3", "5.4" }

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

describe("luarocks make", function()
  local dir

  setup(function()
    assert(select(2, run("command -v luarocks")), "luarocks is required (apt-get install luarocks)")
    dir = run("mktemp -d \"${TMPDIR:-/tmp}/sspi-rocks.XXXXXX\""):match("[^\n]+")
    assert(dir and dir:match("/sspi%-rocks%.%w+$"), "mktemp failed")
    -- the checkout without build/ and .git
    local out, ok = run(("mkdir %s/src && tar -cf - --exclude=./build --exclude=./.git . | tar -xf - -C %s/src")
      :format(shell_quote(dir), shell_quote(dir)))
    assert(ok, out)
    -- both versions side by side (each one is a full build)
    local cmds = {}
    for _, v in ipairs(VERSIONS) do
      -- nothing of the suite's make and Lua environment (LUA_VERSION=5.3 in
      -- MAKEFLAGS and, given on make's command line, in the environment too;
      -- LUA_CPATH, SSPI_BUILD) may reach luarocks and the make it runs
      cmds[#cmds + 1] = ("(cd %s/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LUA_PATH -u LUA_CPATH"
        .. " -u LUA_VERSION -u SSPI_BUILD luarocks --lua-version %s --tree %s/tree%s make rockspec/sspi-scm-1.rockspec"
        .. " >%s/rock%s.log 2>&1; echo $? >%s/rock%s.rc) &"):format(shell_quote(dir), v, shell_quote(dir), v,
        shell_quote(dir), v, shell_quote(dir), v)
    end
    run("(" .. table.concat(cmds, " ") .. " wait)")
  end)

  teardown(function()
    if dir then run("rm -rf " .. shell_quote(dir)) end
  end)

  for _, v in ipairs(VERSIONS) do
    it("installs for Lua " .. v .. " into its own tree, where require \"sspi\" works", function()
      local log = read_file(dir .. "/rock" .. v .. ".log")
      assert.equal("0", read_file(dir .. "/rock" .. v .. ".rc"):match("%d+"), log)
      assert.matches("depends on lua >= 5.3, < 5.5 (" .. v, log, 1, true)
      local tree = dir .. "/tree" .. v
      local out, ok = run(("cd / && eval \"$(luarocks --lua-version %s --tree %s path)\" && lua%s -e '%s'"):format(
        v, shell_quote(tree), v, [[
        local sspi = require "sspi"
        local c = sspi.context(assert(sspi.credential { package = "NTLM", username = "D\\u", password = "p" }))
        assert(c:step_init { target = "host/x" })
        print(_VERSION, package.searchpath("sspi", package.path), package.searchpath("sspi.core", package.cpath))]]))
      assert.is_true(ok, out)
      assert.matches("Lua " .. v .. "\t" .. tree .. "/share/lua/" .. v .. "/sspi.lua\t"
        .. tree .. "/lib/lua/" .. v .. "/sspi/core.so", out, 1, true)
    end)
  end
end)
