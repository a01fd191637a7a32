-- Run by spec/34-ntlm_security_spec.lua with LUA_CPATH pointing at the
-- test build whose NTLM sequence numbers end after four messages
-- (SSPI_NTLM_SEQ_LAST=3, see the Makefile).  Prints one line per message:
-- "<what> <n> ok" or "<what> <n> <status>", through the public Lua API.

local sspi = require "sspi"

local HASH = "a4f49c406510bdcab6824ee7c30fd852"
local REQ = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY

local function pair()
  local c = sspi.context(assert(sspi.credential { package = "NTLM", backend = "builtin",
                                                  username = "DOM\\alice", nt_hash = HASH }))
  local s = sspi.context(assert(sspi.credential { package = "NTLM", backend = "builtin", usage = "inbound",
                                                  lookup = function() return HASH end }))
  local t = assert(c:step_init { target = "host/x", context_req = REQ }).token
  t = assert(s:step_accept { input = t }).token
  t = assert(c:step_init { target = "host/x", context_req = REQ, input = t }).token
  assert(s:step_accept { input = t })
  return c, s
end

local function report(what, n, ok, err, st)
  print(("%s %d %s"):format(what, n, ok and "ok" or tostring(st or err)))
end

-- wrap/unwrap: the client's sending numbers and the server's receiving ones
local c, s = pair()
local last
for n = 1, 5 do
  local w, err, st = c:wrap("message " .. n)
  report("wrap", n, w, err, st)
  if w then
    last = w
    local got, uerr, ust = s:unwrap(w)
    report("unwrap", n, got, uerr, ust)
  end
end
-- the receiver has used its last number too: even the last message again
report("unwrap-again", 4, s:unwrap(last))

-- the SecBuffer forms and signatures share the numbers of their direction
c, s = pair()
for n = 1, 5 do
  local sig, err, st = s:sign("signed " .. n)
  report("sign", n, sig, err, st)
  if sig then report("verify", n, c:verify("signed " .. n, sig)) end
end
local tok = sspi.buffer(sspi.SECBUFFER_TOKEN, 16)
report("encrypt_message", 6, s:encrypt_message { tok, sspi.buffer(sspi.SECBUFFER_DATA, "late") })
