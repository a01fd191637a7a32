-- One thread's work for spec/c/threads.c: NTLM handshakes (built-in) and
-- Kerberos handshakes with wrap/unwrap, all on this thread's own objects.
-- Arguments: thread index, NTLM count, Kerberos count, NTLM user file.
local index, ntlm_count, krb_count, user_file = ...
ntlm_count, krb_count = tonumber(ntlm_count), tonumber(krb_count)
local sspi = require "sspi"

local function handshake(ccred, scred, target, req)
  local client = sspi.context(ccred) -- closed below: Lua 5.3 has no <close>
  local server = sspi.context(scred)
  local token, cres, sres, err
  for _ = 1, 10 do
    cres, err = client:step_init { target = target, context_req = req, input = token }
    assert(cres, tostring(err))
    token = nil
    if cres.token then
      sres, err = server:step_accept { input = cres.token }
      assert(sres, tostring(err))
      token = sres.token
    end
    if cres.result == "Ok" and not token then break end
  end
  assert(cres.result == "Ok", "handshake did not complete")
  local msg = ("thread %d message"):format(index)
  local wrapped = assert(client:wrap(msg, { encrypt = true }))
  assert(assert(server:unwrap(wrapped)) == msg)
  local back = assert(server:wrap(msg))
  assert(assert(client:unwrap(back)) == msg)
  client:close()
  server:close()
end

local conf = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY
local nclient = assert(sspi.credential { package = "NTLM", backend = "builtin",
  username = "SSPI\\alice", password = "Secret-NTLM-1" })
local nserver = assert(sspi.credential { package = "NTLM", backend = "builtin", usage = "inbound",
  user_file = user_file })
for _ = 1, ntlm_count do handshake(nclient, nserver, "host/localhost", conf) end

local kclient = assert(sspi.credential { package = "Kerberos" })
local kserver = assert(sspi.credential { package = "Kerberos", usage = "inbound" })
for _ = 1, krb_count do
  handshake(kclient, kserver, "host/localhost", conf | sspi.ISC_REQ_MUTUAL_AUTH)
end
