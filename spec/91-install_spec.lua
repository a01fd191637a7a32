-- `make install` into a staging directory gives a module that loads and
-- works from there alone (the C part, the pure-Lua part with its
-- subfolders, the token decoders, the header, the static library and
-- bin/sspi-token).  The Makefile's test target stages it (install-stage:
-- `make install DESTDIR=build/stage PREFIX=/usr`); specs never run make.
local sh = require "helpers.sh"

local STAGE = "build/stage"

describe("make install", function()
  local stage

  setup(function()
    assert(io.open(STAGE .. "/usr/lib/lua/5.4/sspi/core.so"),
      STAGE .. " is missing or incomplete: run `make install-stage`"):close()
    stage = sh.must("cd " .. sh.quote(STAGE) .. " && pwd"):gsub("%s+$", "")
  end)

  it("installs every part in the usual places", function()
    for _, f in ipairs {
      "/usr/lib/lua/5.4/sspi/core.so", "/usr/share/lua/5.4/sspi.lua",
      "/usr/share/lua/5.4/sspi/handshake.lua", "/usr/share/lua/5.4/sspi/base.lua",
      "/usr/share/lua/5.4/sspi/token.lua", "/usr/share/lua/5.4/sspi/token/ntlm.lua",
      "/usr/share/lua/5.4/sspi/http.lua", "/usr/share/lua/5.4/sspi/http/headers.lua",
      "/usr/share/lua/5.4/sspi/http/client.lua", "/usr/share/lua/5.4/sspi/http/server.lua",
      "/usr/include/sspi.h", "/usr/lib/libsspi.a", "/usr/bin/sspi-token",
    } do
      assert.is_truthy(io.open(stage .. f), f .. " is not installed")
    end
  end)

  it("loads and runs from the staged tree only", function()
    local env = ("LUA_PATH='%s/usr/share/lua/5.4/?.lua' LUA_CPATH='%s/usr/lib/lua/5.4/?.so'"):format(stage, stage)
    local out, ok = sh.run(env .. [[ lua5.4 -e '
      local sspi = require "sspi"
      local c = sspi.context(assert(sspi.credential { package = "NTLM", username = "D\\u", password = "p" }))
      local r = assert(c:step_init { target = "host/x" })
      local t = assert(sspi.token.decode(r.token))
      local http = require "sspi.http"
      assert(http.parse_challenges(http.format_challenge("NTLM", http.b64encode(r.token))))
      print(package.searchpath("sspi.core", package.cpath), package.searchpath("sspi.http.server", package.path),
            t.protocol, t.type)']])
    assert.is_true(ok, out)
    assert.matches(stage .. "/usr/lib/lua/5.4/sspi/core.so", out, 1, true)
    assert.matches(stage .. "/usr/share/lua/5.4/sspi/http/server.lua", out, 1, true)
    assert.matches("NEGOTIATE", out)
  end)
end)
