-- make demo: real handshakes, printed as a transcript.
--
-- Starts a throwaway MIT Kerberos realm (a KDC on 127.0.0.1 in a temp dir),
-- then steps client and server contexts of each package to completion in one
-- Lua state, the way the seed's Step-InitSecContext example does, and
-- protects a message with the result.  Nothing outside the temp dir is used.
local sspi = require "sspi"
local realm = require "helpers.realm"
local testenv = require "sspi_testenv"

local function hr(title)
  print(("\n== %s %s"):format(title, ("="):rep(math.max(0, 66 - #title))))
end

local function names(mask, kind)
  local list = sspi.flag_names(mask or 0, kind)
  return #list > 0 and table.concat(list, " ") or "(none)"
end

-- Steps both sides until the client says Ok, printing every step.
local function handshake(title, client_opts, server_opts, target, req)
  hr(title)
  local ccred, err = sspi.credential(client_opts)
  if not ccred then print("  client credential: " .. tostring(err)); return false end
  local scred; scred, err = sspi.credential(server_opts)
  if not scred then print("  server credential: " .. tostring(err)); return false end
  -- explicit closes (not `<close>`): the demo runs under Lua 5.3 too
  local client = sspi.context(ccred)
  local server = sspi.context(scred)
  print(("  package %s (backend %s), target %s"):format(client_opts.package,
    client_opts.backend or "default", target))
  print("  requested: " .. names(req, "ISC_REQ"))
  local token, cres, sres
  local n = 0
  repeat
    n = n + 1
    cres, err = client:step_init { target = target, context_req = req, input = token }
    if not cres then print("  client step failed: " .. tostring(err)); return false end
    print(("  client step %d: %-15s token %5d bytes"):format(n, cres.result, cres.token and #cres.token or 0))
    token = nil
    if cres.token then
      sres, err = server:step_accept { input = cres.token }
      if not sres then print("  server step failed: " .. tostring(err)); return false end
      print(("  server step %d: %-15s token %5d bytes"):format(n, sres.result, sres.token and #sres.token or 0))
      token = sres.token
    end
  until cres.result == "Ok" and (not token)
  print("  client flags: " .. names(cres.flags, "ISC_RET"))
  print("  server flags: " .. names(sres.flags, "ASC_RET"))
  local cinfo = client:query("package_info")
  print(("  package in use: %s (%s)"):format(cinfo.name, cinfo.backend))
  print("  client sees user: " .. tostring(client:query("names").user))
  print("  server sees user: " .. tostring(server:query("names").user))
  local msg = "Plaintext for " .. title
  local wrapped = assert(client:wrap(msg, { encrypt = true }))
  local plain, encrypted = assert(server:unwrap(wrapped))
  print(("  wrapped %d bytes -> %d-byte message, unwrapped %q (encrypted: %s)"):format(#msg, #wrapped,
    plain, tostring(encrypted)))
  local mic = assert(server:sign("reply"))
  print(("  server signed a reply: %d-byte MIC, client verifies: %s"):format(#mic,
    tostring(client:verify("reply", mic))))
  client:close()
  server:close()
  return true
end

print("sspi for Lua demo: packages on this machine")
for _, p in ipairs(sspi.packages()) do
  print(("  %-10s backend %-8s max_token %6d  %s"):format(p.name, p.backend, p.max_token, p.comment or ""))
end

local r = realm.start()
print(("\nthrowaway realm %s: KDC on 127.0.0.1:%d in %s"):format(r.name, r.kdc_port, r.dir))

local ok = true
local kreq = sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY
  | sspi.ISC_REQ_SEQUENCE_DETECT | sspi.ISC_REQ_REPLAY_DETECT
ok = handshake("Kerberos", { package = "Kerberos" },
  { package = "Kerberos", usage = "inbound", keytab = r.keytab }, "host/localhost", kreq) and ok
ok = handshake("Kerberos with a password credential",
  { package = "Kerberos", username = r.user, password = r.password },
  { package = "Kerberos", usage = "inbound", keytab = r.keytab }, "HTTP/localhost", kreq) and ok
ok = handshake("Negotiate (Kerberos inside)", { package = "Negotiate" },
  { package = "Negotiate", usage = "inbound", keytab = r.keytab }, "HTTP/localhost", kreq) and ok

-- NTLM users live in a user file (the format gss-ntlmssp reads).
local user_file = r.dir .. "/ntlm_users"
local f = assert(io.open(user_file, "w"))
f:write("SSPI:alice:Secret-NTLM-1\n")
f:close()
testenv.setenv("NTLM_USER_FILE", user_file)
local nreq = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY
for _, backend in ipairs { "builtin", "gssapi" } do
  local have = false
  for _, p in ipairs(sspi.packages()) do
    if p.name == "NTLM" and p.backend == backend then have = true end
  end
  if have then
    ok = handshake("NTLM (" .. backend .. ")",
      { package = "NTLM", backend = backend, username = "SSPI\\alice", password = "Secret-NTLM-1" },
      { package = "NTLM", backend = backend, usage = "inbound", user_file = user_file },
      "host/localhost", nreq) and ok
  else
    hr("NTLM (" .. backend .. ")")
    print("  not available on this machine")
    ok = false
  end
end
ok = handshake("Negotiate (NTLM inside, no Kerberos offered)",
  { package = "Negotiate", mechs = { "NTLM" }, username = "SSPI\\alice", password = "Secret-NTLM-1" },
  { package = "Negotiate", usage = "inbound", keytab = r.keytab, user_file = user_file },
  "HTTP/localhost", nreq) and ok
ok = handshake("Negotiate through MIT's SPNEGO (backend gssapi)", { package = "Negotiate", backend = "gssapi" },
  { package = "Negotiate", backend = "gssapi", usage = "inbound", keytab = r.keytab }, "HTTP/localhost", kreq) and ok
testenv.setenv("NTLM_USER_FILE", nil)

r:stop()
print(ok and "\ndemo: every handshake completed" or "\ndemo: some handshakes FAILED")
os.exit(ok and 0 or 1)
