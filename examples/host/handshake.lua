-- Run by examples/host/host.c (sspi-host): a Kerberos client and server
-- context in one Lua state, stepped to completion, then one wrapped message.
--   sspi-host examples/host/handshake.lua [TARGET]
-- Credentials come from the environment (KRB5CCNAME for the client,
-- KRB5_KTNAME for the server), as for any MIT Kerberos program.
local sspi = require "sspi"

local target = arg[1] or "host/localhost"

local client_cred = assert(sspi.credential { package = "Kerberos", usage = "outbound" })
local server_cred = assert(sspi.credential { package = "Kerberos", usage = "inbound" })
-- closed explicitly at the end (a host may embed Lua 5.3, which has no `<close>`)
local client = sspi.context(client_cred)
local server = sspi.context(server_cred)

local req = sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY
local token, cres, sres
repeat
  cres = assert(client:step_init { target = target, context_req = req, input = token })
  if cres.token then
    sres = assert(server:step_accept { input = cres.token })
    token = sres.token
  end
until cres.result == "Ok"

local wrapped = assert(client:wrap("hello from the host", { encrypt = true }))
local plain = assert(server:unwrap(wrapped))
assert(plain == "hello from the host", "unwrap gave back other bytes")
print(("handshake ok: %s -> %s, flags %s"):format(server:query("names").user, target,
  table.concat(sspi.flag_names(cres.flags, "ISC_RET"), ",")))
print("unwrapped: " .. plain)
client:close()
server:close()
