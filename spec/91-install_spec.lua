-- `make install` into a staging directory gives a module that loads and
-- works from there alone (the C part, the pure-Lua part with its
-- subfolders, the token decoders, the header, the static library, sspi.pc
-- and bin/sspi-token), and a C host builds against the staged tree through
-- pkg-config.  The Makefile's test target stages it (install-stage:
-- `make install DESTDIR=$(BUILD)/stage PREFIX=/usr`); specs never run make.
local build = require "helpers.build"
local realm = require "helpers.realm"
local sh = require "helpers.sh"
local V = build.version

local STAGE = build.dir .. "/stage"

describe("make install", function()
  local stage

  setup(function()
    assert(io.open(STAGE .. "/usr/lib/lua/" .. V .. "/sspi/core.so"),
      STAGE .. " is missing or incomplete: run `make install-stage`"):close()
    stage = sh.must("cd " .. sh.quote(STAGE) .. " && pwd"):gsub("%s+$", "")
  end)

  it("installs every part in the usual places", function()
    local share = "/usr/share/lua/" .. V
    for _, f in ipairs {
      "/usr/lib/lua/" .. V .. "/sspi/core.so", share .. "/sspi.lua",
      share .. "/sspi/handshake.lua", share .. "/sspi/base.lua",
      share .. "/sspi/token.lua", share .. "/sspi/token/ntlm.lua",
      share .. "/sspi/http.lua", share .. "/sspi/http/headers.lua",
      share .. "/sspi/http/client.lua", share .. "/sspi/http/server.lua",
      "/usr/include/sspi.h", "/usr/include/sspi_constants.h", "/usr/lib/libsspi.a",
      "/usr/lib/pkgconfig/sspi.pc", "/usr/bin/sspi-token",
    } do
      assert.is_truthy(io.open(stage .. f), f .. " is not installed")
    end
  end)

  it("loads and runs from the staged tree only", function()
    local env = ("LUA_PATH='%s/usr/share/lua/%s/?.lua' LUA_CPATH='%s/usr/lib/lua/%s/?.so'"):format(stage, V, stage, V)
    local out, ok = sh.run(env .. " " .. build.lua .. [[ -e '
      local sspi = require "sspi"
      local c = sspi.context(assert(sspi.credential { package = "NTLM", username = "D\\u", password = "p" }))
      local r = assert(c:step_init { target = "host/x" })
      local t = assert(sspi.token.decode(r.token))
      local http = require "sspi.http"
      assert(http.parse_challenges(http.format_challenge("NTLM", http.b64encode(r.token))))
      print(package.searchpath("sspi.core", package.cpath), package.searchpath("sspi.http.server", package.path),
            t.protocol, t.type)']])
    assert.is_true(ok, out)
    assert.matches(stage .. "/usr/lib/lua/" .. V .. "/sspi/core.so", out, 1, true)
    assert.matches(stage .. "/usr/share/lua/" .. V .. "/sspi/http/server.lua", out, 1, true)
    assert.matches("NEGOTIATE", out)
  end)

  it("builds the C embedding example against the staged tree with pkg-config", function()
    -- the staged sspi.pc says prefix=/usr: the sysroot maps it into the stage
    local pc = ("PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s"):format(stage, stage)
    local flags, ok = sh.run(pc .. " pkg-config --cflags --libs sspi")
    assert.is_true(ok, flags)
    assert.matches("-I" .. stage .. "/usr/include", flags, 1, true)
    assert.matches("-L" .. stage .. "/usr/lib", flags, 1, true)
    local exe = os.tmpname()
    local out
    out, ok = sh.run(("sh -c 'cc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -o %s examples/host/host.c"
      .. " $(%s pkg-config --cflags --libs sspi) $(pkg-config --cflags --libs lua%s) -lm'"):format(exe, pc, V))
    assert.is_true(ok, out)
    local r = realm.start()
    assert(r)
    out, ok = sh.run(("LUA_PATH='%s/usr/share/lua/%s/?.lua' %s examples/host/handshake.lua host/localhost"):format(
      stage, V, exe))
    os.remove(exe)
    assert.is_true(ok, out)
    assert.matches("handshake ok: alice@SSPI%.TEST %-> host/localhost", out)
    assert.matches("0 left after close", out)
  end)
end)
