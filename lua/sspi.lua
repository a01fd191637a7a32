--- sspi for Lua: the Windows SSPI security-context model on Linux.
--
-- `require "sspi"` returns the C module `sspi.core` (credentials, contexts,
-- buffers, constants; see csrc/lua/) with the pure-Lua layer reachable as
-- submodules: `sspi.handshake`, `sspi.transport`, `sspi.http`, `sspi.sasl`,
-- `sspi.token` (loaded on first use, so `require "sspi"` stays cheap and the
-- submodules may themselves `require "sspi"`).
--
--     local sspi = require "sspi"
--     local cred = assert(sspi.credential{ package = "Kerberos" })
--     local ctx = sspi.context(cred)
--     local res, err = ctx:step_init{ target = "host/server.example.test" }
--
-- The classes are `sspi.credential`, `sspi.context`, `sspi.buffer` and
-- `sspi.error` (below).  Programming errors raise; security failures
-- return `nil, err, status`.  docs/api.md (the "api" topic here) is the
-- hand-written reference with checked examples, the status each failure
-- gives per package, the pure-Lua modules and the C API.
--
-- @module sspi

local core = require "sspi.core"

local sspi = core

--- Version of the module ("sspi x.y").
sspi._VERSION = "sspi 0.1"

-- Submodules, loaded when first indexed.  Only these names: any other
-- missing field stays nil instead of trying to load a module.
local submodules = {
  handshake = "sspi.handshake",
  transport = "sspi.transport",
  http = "sspi.http",
  sasl = "sspi.sasl",
  token = "sspi.token",
}

setmetatable(sspi, {
  __index = function(t, key)
    local name = submodules[key]
    if name == nil then return nil end
    local mod = require(name)
    rawset(t, key, mod)
    return mod
  end,
})

return sspi
