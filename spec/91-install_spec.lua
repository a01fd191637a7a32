-- `make install` into a staging directory gives a module that loads and
-- works from there alone (the C part, the pure-Lua part, the token
-- decoders, the header, the static library and bin/sspi-token).
local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  return out, p:close()
end

describe("make install", function()
  local stage

  setup(function()
    stage = os.tmpname()
    os.remove(stage)
    local out, ok = sh("make -s install DESTDIR=" .. stage .. " PREFIX=/usr")
    assert(ok, out)
  end)

  teardown(function()
    if stage then sh("rm -rf " .. stage) end
  end)

  it("installs every part in the usual places", function()
    for _, f in ipairs {
      "/usr/lib/lua/5.4/sspi/core.so", "/usr/share/lua/5.4/sspi.lua",
      "/usr/share/lua/5.4/sspi/handshake.lua", "/usr/share/lua/5.4/sspi/token.lua",
      "/usr/share/lua/5.4/sspi/token/ntlm.lua", "/usr/include/sspi.h", "/usr/lib/libsspi.a",
      "/usr/bin/sspi-token",
    } do
      assert.is_truthy(io.open(stage .. f), f .. " is not installed")
    end
  end)

  it("loads and runs from the staged tree only", function()
    local env = ("LUA_PATH='%s/usr/share/lua/5.4/?.lua' LUA_CPATH='%s/usr/lib/lua/5.4/?.so'"):format(stage, stage)
    local out, ok = sh(env .. [[ lua5.4 -e '
      local sspi = require "sspi"
      local c = sspi.context(assert(sspi.credential { package = "NTLM", username = "D\\u", password = "p" }))
      local r = assert(c:step_init { target = "host/x" })
      local t = assert(sspi.token.decode(r.token))
      print(package.searchpath("sspi.core", package.cpath), t.protocol, t.type)']])
    assert.is_true(ok, out)
    assert.matches(stage .. "/usr/lib/lua/5.4/sspi/core.so", out, 1, true)
    assert.matches("NEGOTIATE", out)
  end)
end)
