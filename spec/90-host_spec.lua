-- The embedding example: a C host that links sspi statically and runs a
-- handshake script (examples/host/).  Built by `make test` (target host).
local realm = require "helpers.realm"
local sh = require "helpers.sh"

-- The host finds the pure-Lua part through LUA_PATH, as any embedding would.
local lua_path = ("%s/lua/?.lua;%s/lua/?/init.lua;;"):format(os.getenv("PWD"), os.getenv("PWD"))

local function run(cmd)
  return sh.run(("LUA_PATH=%s %s"):format(sh.quote(lua_path), cmd))
end

describe("the embedding host (examples/host)", function()
  -- The host reads the realm from the environment the helper sets.
  setup(function() realm.start() end)

  it("runs a Kerberos handshake with the module linked statically", function()
    local host = "build/examples/sspi-host"
    assert.is_truthy(io.open(host), "build/examples/sspi-host is missing: run `make host`")
    local out, ok = run(host .. " examples/host/handshake.lua host/localhost")
    assert.is_true(ok, out)
    assert.matches("handshake ok: alice@SSPI%.TEST %-> host/localhost", out)
    assert.matches("unwrapped: hello from the host", out)
    -- Every byte the module allocated went through the host's allocator and came back.
    assert.matches("0 left after close", out)
  end)

  it("reports a script error and fails", function()
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write('local sspi = require "sspi"\n')
    f:write('local cred, err = sspi.credential { package = "NoSuchPackage" }\n')
    f:write('assert(cred == nil and err.status == "SEC_E_SECPKG_NOT_FOUND")\n')
    f:write('error("boom")\n')
    f:close()
    local out, ok = run("build/examples/sspi-host " .. tmp)
    os.remove(tmp)
    assert.is_not_true(ok)
    assert.matches("boom", out)
  end)
end)
