-- `make install` into a staging directory gives a module that loads and
-- works from there alone (the C part, the pure-Lua part, the token
-- decoders, the header, the static library, sspi.pc and bin/sspi-token), and
-- a C host builds against the staged tree through pkg-config.
local build = require "helpers.build"
local realm = require "helpers.realm"
local V = build.version

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
    local out, ok = sh(("make -s install LUA_VERSION=%s BUILD=%s DESTDIR=%s PREFIX=/usr"):format(V, build.dir, stage))
    assert(ok, out)
  end)

  teardown(function()
    if stage then sh("rm -rf " .. stage) end
  end)

  it("installs every part in the usual places", function()
    for _, f in ipairs {
      "/usr/lib/lua/" .. V .. "/sspi/core.so", "/usr/share/lua/" .. V .. "/sspi.lua",
      "/usr/share/lua/" .. V .. "/sspi/handshake.lua", "/usr/share/lua/" .. V .. "/sspi/token.lua",
      "/usr/share/lua/" .. V .. "/sspi/token/ntlm.lua", "/usr/include/sspi.h", "/usr/lib/libsspi.a",
      "/usr/lib/pkgconfig/sspi.pc", "/usr/bin/sspi-token",
    } do
      assert.is_truthy(io.open(stage .. f), f .. " is not installed")
    end
  end)

  it("loads and runs from the staged tree only", function()
    local env = ("LUA_PATH='%s/usr/share/lua/%s/?.lua' LUA_CPATH='%s/usr/lib/lua/%s/?.so'"):format(stage, V, stage, V)
    local out, ok = sh(env .. " " .. build.lua .. [[ -e '
      local sspi = require "sspi"
      local c = sspi.context(assert(sspi.credential { package = "NTLM", username = "D\\u", password = "p" }))
      local r = assert(c:step_init { target = "host/x" })
      local t = assert(sspi.token.decode(r.token))
      print(package.searchpath("sspi.core", package.cpath), t.protocol, t.type)']])
    assert.is_true(ok, out)
    assert.matches(stage .. "/usr/lib/lua/" .. V .. "/sspi/core.so", out, 1, true)
    assert.matches("NEGOTIATE", out)
  end)

  it("builds the C embedding example against the staged tree with pkg-config", function()
    -- the staged sspi.pc says prefix=/usr: the sysroot maps it into the stage
    local pc = ("PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s"):format(stage, stage)
    local flags, ok = sh(pc .. " pkg-config --cflags --libs sspi")
    assert.is_true(ok, flags)
    assert.matches("-I" .. stage .. "/usr/include", flags, 1, true)
    assert.matches("-L" .. stage .. "/usr/lib", flags, 1, true)
    local exe = stage .. "/sspi-host"
    local out
    out, ok = sh(("sh -c 'cc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -o %s examples/host/host.c"
      .. " $(%s pkg-config --cflags --libs sspi) $(pkg-config --cflags --libs lua%s) -lm'"):format(exe, pc, V))
    assert.is_true(ok, out)
    local r = realm.start()
    assert(r)
    out, ok = sh(("LUA_PATH='%s/usr/share/lua/%s/?.lua' %s examples/host/handshake.lua host/localhost"):format(
      stage, V, exe))
    assert.is_true(ok, out)
    assert.matches("handshake ok: alice@SSPI%.TEST %-> host/localhost", out)
    assert.matches("0 left after close", out)
  end)
end)
