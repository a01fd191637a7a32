-- fuzz/make_corpus.lua: writes the seed corpora of the fuzz targets from
-- real handshakes, so that the fuzzers start from tokens this library and
-- MIT's GSSAPI actually exchange instead of from nothing.
--
--   make all build/5.4/lua/sspi_testenv.so
--   export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;"
--   export LUA_CPATH="$PWD/build/5.4/lua/?.so;;"
--   lua5.4 fuzz/make_corpus.lua [fuzz/corpus]
--
-- Sources: the built-in NTLM at every LM_COMPAT_LEVEL (sealing, signing,
-- anonymous, channel bindings), the built-in Negotiate with NTLM inside
-- (both who-speaks-first orders), the contexts of both exported, and, over
-- a throwaway MIT realm (spec/helpers/realm.lua), Kerberos and SPNEGO/Kerberos tokens from the
-- gssapi backend with their wrap and MIC tokens.  Targets with
-- configuration bytes in front of the payload (see each fuzz/fuzz_*.c) get
-- seeds with those bytes set to match the token.  The identity is the one
-- fuzz/fuzz_common.h uses (DOMAIN\alice, Passw0rd), so that the acceptor
-- targets know the user.  Existing seeds are replaced; token contents are
-- random per run (challenges, keys), their structure is what matters.

local sspi = require "sspi"
local token = require "sspi.token"

local OUT = arg[1] or "fuzz/corpus"
local USER, DOMAIN, PASSWORD = "alice", "DOMAIN", "Passw0rd"
local TARGET = "host/localhost"
local CONF = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY | sspi.ISC_REQ_REPLAY_DETECT |
             sspi.ISC_REQ_SEQUENCE_DETECT | sspi.ISC_REQ_CONNECTION
local INTEG = sspi.ISC_REQ_INTEGRITY | sspi.ISC_REQ_CONNECTION

local written = {}

local sh = require "helpers.sh"

local tmp = sh.tmpdir("corpus")
local user_file = tmp .. "/users"
sh.write_file(user_file, DOMAIN .. ":" .. USER .. ":" .. PASSWORD .. "\n")

local function put(target, name, bytes)
  assert(type(bytes) == "string", name)
  local dir = OUT .. "/" .. target
  if not written[target] then
    sh.must("mkdir -p " .. sh.quote(dir))
    written[target] = 0
  end
  sh.write_file(dir .. "/" .. name, bytes)
  written[target] = written[target] + 1
end

local function byte(n) return string.char(n & 0xff) end

-- The bindings fuzz_common.c gives the harnesses (sspi_fuzz_bindings).
local function bindings()
  local hash = {}
  for i = 0, 31 do hash[#hash + 1] = string.char(0xA0 + i) end
  return sspi.channel_bindings { application_data = "tls-server-end-point:" .. table.concat(hash) }
end

local function input(tok, cb)
  if cb then return { sspi.buffer(sspi.SECBUFFER_TOKEN, tok), cb } end
  return tok
end

local function ntlm_cred(usage, lm)
  local o = { package = "NTLM", backend = "builtin", usage = usage, lm_compat_level = lm }
  if usage == "outbound" then
    o.username, o.password = DOMAIN .. "\\" .. USER, PASSWORD
  else
    o.user_file = user_file
  end
  return assert(sspi.credential(o))
end

-- Token inspector seeds: raw, and the text forms token.parse recognises.
local lua_seeds = 0
local function inspect(name, bytes)
  put("token_lua", name, bytes)
  lua_seeds = lua_seeds + 1
  if lua_seeds % 3 == 0 then
    put("token_lua", name .. ".b64", token.base64(bytes))
    put("token_lua", name .. ".hdr", "Negotiate " .. token.base64(bytes))
  end
end

-- ------------------------------------------------------------- built-in NTLM
for lm = 0, 5 do
  for _, flavor in ipairs { "conf", "integ", "anon", "cb" } do
    local name = ("lm%d-%s"):format(lm, flavor)
    local req = flavor == "integ" and INTEG or CONF
    if flavor == "anon" then req = req | sspi.ISC_REQ_NULL_SESSION end
    local cb = flavor == "cb" and bindings() or nil
    local c = sspi.context(ntlm_cred("outbound", lm))
    local s = sspi.context(ntlm_cred("inbound", 0))
    local asc = sspi.ASC_REQ_ALLOW_NULL_SESSION | sspi.ASC_REQ_ALLOW_MISSING_BINDINGS
    local r1 = assert(c:step_init { target = TARGET, context_req = req })
    local r2 = assert(s:step_accept { input = input(r1.token, cb), context_req = asc })
    local r3 = assert(c:step_init { target = TARGET, context_req = req, input = input(r2.token, cb) })
    local r4, err = s:step_accept { input = input(r3.token, cb), context_req = asc }
    assert(r4, tostring(err))
    put("ntlm_negotiate", name, r1.token)
    put("ntlm_challenge", name, r2.token)
    put("ntlm_authenticate", name, r3.token)
    inspect("ntlm-" .. name .. "-1", r1.token)
    inspect("ntlm-" .. name .. "-2", r2.token)
    inspect("ntlm-" .. name .. "-3", r3.token)
    -- fuzz_ntlm_init.c: cfg = lm | conf 8 | anonymous 16 | bindings 32
    local icfg = lm | (flavor ~= "integ" and 8 or 0) | (flavor == "anon" and 16 or 0) |
                 (flavor == "cb" and 32 or 0)
    put("ntlm_init", name, byte(icfg) .. r2.token)
    -- fuzz_ntlm_accept.c: cfg0 = server lm | null session 16 | bindings 32 | fix-ups 0xC0;
    -- cfg1 = NEGOTIATE (bit 1: ESS client, bit 2: signing only)
    local cfg1 = ((lm >= 1) and 2 or 0) | (flavor == "integ" and 4 or 0)
    local acfg = 0xC0 | (flavor == "anon" and 16 or 0) | (flavor == "cb" and 32 or 0)
    put("ntlm_accept", name .. "-fixed", byte(acfg) .. byte(cfg1) .. r3.token)
    put("ntlm_accept", name .. "-file", byte(acfg | 8) .. byte(cfg1) .. r3.token)
    put("ntlm_accept", name .. "-raw", byte(lm) .. byte(cfg1) .. r3.token)
    -- fuzz_ntlm_unwrap.c, raw messages: op | pair << 2 (pair 0 v2 sealing,
    -- 1 v2 signing, 2 v1, 3 v1 ESS)
    if flavor == "conf" or flavor == "integ" then
      local pair = lm == 0 and 2 or (lm <= 2 and 3 or (flavor == "integ" and 1 or 0))
      local msg = assert(c:wrap("a message from the client"))
      inspect("ntlm-" .. name .. "-wrap", msg)
      put("ntlm_unwrap", name .. "-unwrap", byte(pair << 2) .. "\1\0\0" .. msg)
      local mic = assert(c:sign("signed data"))
      put("ntlm_unwrap", name .. "-verify", byte(1 | pair << 2) .. "\1\0\0" .. mic .. "signed data")
    end
    -- fuzz_envelope.c: exported contexts (the export closes them)
    if flavor ~= "cb" and (lm == 0 or lm == 3) then
      put("envelope", "ntlm-" .. name .. "-client", assert(c:export()))
      put("envelope", "ntlm-" .. name .. "-server", assert(s:export()))
    end
    c:close()
    s:close()
  end
end

-- fuzz_ntlm_unwrap.c, genuine messages: cfg0 = op | pair << 2 | 16 (| 32 server
-- sends, | 64 a message first); cfg1 layout; cfg2/cfg3 the edit.
for op = 0, 3 do
  for pair = 0, 3 do
    local layout = (op >= 2) and 0x05 or 0
    put("ntlm_unwrap", ("genuine-op%d-pair%d"):format(op, pair),
        byte(op | pair << 2 | 16) .. byte(layout) .. "\0\0" .. "payload for the peer")
    put("ntlm_unwrap", ("edited-op%d-pair%d"):format(op, pair),
        byte(op | pair << 2 | 16 | 32 | 64) .. byte(layout | 0xC2) .. "\x80\x11" ..
        "payload for the peer, edited")
  end
end

-- ---------------------------------------------------------- channel bindings
local cbs = {
  { application_data = "tls-server-end-point:" .. ("\1"):rep(32) },
  { application_data = "tls-unique:" .. ("\2"):rep(12) },
  { initiator_addrtype = 2, initiator_address = "\127\0\0\1", acceptor_addrtype = 2,
    acceptor_address = "\127\0\0\1", application_data = "x" },
  { initiator_addrtype = 24, initiator_address = ("\0"):rep(16) },
  {},
}
for i, spec in ipairs(cbs) do put("channel_bindings", "cb" .. i, sspi.channel_bindings(spec):data()) end

-- ------------------------------------------- built-in Negotiate (NTLM inside)
local function nego_cred(usage, lm)
  local o = { package = "Negotiate", backend = "builtin", usage = usage, mechs = { "NTLM" },
              lm_compat_level = lm or 3 }
  if usage == "outbound" then
    o.username, o.password = DOMAIN .. "\\" .. USER, PASSWORD
  else
    o.user_file = user_file
  end
  return assert(sspi.credential(o))
end

for _, flavor in ipairs { "conf", "integ", "cb" } do
  local req = flavor == "integ" and INTEG or CONF
  local cb = flavor == "cb" and bindings() or nil
  local c, s = sspi.context(nego_cred("outbound")), sspi.context(nego_cred("inbound"))
  local t1 = assert(c:step_init { target = TARGET, context_req = req, input = cb and { cb } or nil })
  local t2 = assert(s:step_accept { input = input(t1.token, cb) })
  local t3 = assert(c:step_init { target = TARGET, context_req = req, input = input(t2.token, cb) })
  local t4 = assert(s:step_accept { input = input(t3.token, cb) })
  assert(t4.result == "Ok")
  local name = "nego-" .. flavor
  local cbit = cb and 4 or 0
  for i, t in ipairs { t1, t2, t3, t4 } do
    if t.token then
      put("spnego_decode", name .. "-" .. i, t.token)
      inspect(name .. "-" .. i, t.token)
    end
  end
  -- fuzz_negotiate_accept.c: mode | bindings 4
  put("negotiate_accept", name .. "-first", byte(0 | cbit) .. t1.token)
  put("negotiate_accept", name .. "-second", byte(1 | cbit) .. t3.token)
  put("negotiate_accept", name .. "-real", byte(2 | cbit))
  put("negotiate_accept", name .. "-edit", byte(2 | cbit) .. "\1\0\1")
  -- fuzz_negotiate_init.c: mode | bindings 4 | signing only 8
  local ibit = cbit | (flavor == "integ" and 8 or 0)
  put("negotiate_init", name .. "-reply", byte(0 | ibit) .. t2.token)
  if t4.token then put("negotiate_init", name .. "-final", byte(1 | ibit) .. t4.token) end
  put("negotiate_init", name .. "-real", byte(2 | ibit))
  put("negotiate_init", name .. "-edit", byte(2 | ibit) .. "\0\0\1")
  -- fuzz_envelope.c: exported contexts, NTLM's payload inside Negotiate's
  if flavor ~= "cb" then
    if t4.token then
      assert(c:step_init { target = TARGET, context_req = req, input = input(t4.token, cb) })
    end
    assert(s:verify("before the move", assert(c:sign("before the move"))))
    put("envelope", name .. "-client", assert(c:export()))
    put("envelope", name .. "-server", assert(s:export()))
  end
  c:close()
  s:close()
end

do -- the acceptor speaks first: NegTokenInit2, then the client's answer
  local c, s = sspi.context(nego_cred("outbound")), sspi.context(nego_cred("inbound"))
  local h = assert(s:step_accept {})
  local a = assert(c:step_init { target = TARGET, context_req = CONF, input = h.token })
  put("spnego_decode", "nego-init2", h.token)
  put("spnego_decode", "nego-init2-answer", a.token)
  inspect("nego-init2", h.token)
  put("negotiate_accept", "nego-init2-answer", byte(3) .. a.token)
  put("negotiate_init", "nego-init2", byte(3) .. h.token)
  -- a bare NTLMSSP token under Negotiate, as curl and browsers send
  local bare = assert(sspi.context(ntlm_cred("outbound", 3)):step_init { target = TARGET, context_req = CONF })
  put("negotiate_accept", "bare-ntlm", byte(0) .. bare.token)
  c:close()
  s:close()
end

-- ------------------------------------- Kerberos and SPNEGO over MIT's GSSAPI
local realm = require "helpers.realm"
realm.start()
local ok, err = pcall(function()
  for _, package in ipairs { "Kerberos", "Negotiate" } do
    local ccred = assert(sspi.credential { package = package, backend = "gssapi" })
    local scred = assert(sspi.credential { package = package, backend = "gssapi", usage = "inbound" })
    local c, s = sspi.context(ccred), sspi.context(scred)
    local tok, sres
    local cres = assert(c:step_init { target = TARGET, context_req = CONF | sspi.ISC_REQ_MUTUAL_AUTH })
    local n = 0
    while cres.token do
      n = n + 1
      local name = ("gss-%s-%d"):format(package:lower(), n)
      put("spnego_decode", name .. "-c", cres.token)
      inspect(name .. "-c", cres.token)
      if package == "Negotiate" and n == 1 then
        put("negotiate_accept", name, byte(0) .. cres.token)
      elseif package == "Kerberos" and n == 1 then
        put("negotiate_accept", name .. "-bare", byte(0) .. cres.token)
      end
      sres = assert(s:step_accept { input = cres.token })
      tok = sres.token
      if not tok then break end
      put("spnego_decode", name .. "-s", tok)
      inspect(name .. "-s", tok)
      if package == "Negotiate" then put("negotiate_init", name, byte(0) .. tok) end
      if cres.result == "Ok" then break end
      cres = assert(c:step_init { target = TARGET, context_req = CONF | sspi.ISC_REQ_MUTUAL_AUTH,
                                  input = tok })
    end
    local w = assert(c:wrap("kerberos wrapped"))
    inspect(("gss-%s-wrap"):format(package:lower()), w)
    inspect(("gss-%s-wrap-clear"):format(package:lower()), assert(c:wrap("clear", { encrypt = false })))
    inspect(("gss-%s-mic"):format(package:lower()), assert(c:sign("kerberos signed")))
    c:close()
    s:close()
  end
end)
realm.stop_all()
sh.must("rm -rf " .. sh.quote(tmp))

-- ---------------------------------------------------- KDC-PROXY-MESSAGE
-- Hand-built shapes (the decoder does not look inside kerb-message): with
-- and without target-domain and dclocator-hint, short and long-form lengths.
do
  local kdcproxy = require "sspi.kdcproxy"
  local shapes = {
    { "as-req", { message = kdcproxy.frame("\x6a\x03\x02\x01\x05"), realm = "SSPI.TEST" } },
    { "tgs-req-hint", { message = kdcproxy.frame("\x6c\x00"), realm = "EXAMPLE.COM", hint = 2 } },
    { "no-realm", { message = kdcproxy.frame("\x6a\x00") } },
    { "negative-hint", { message = kdcproxy.frame("x"), realm = "R", hint = -129 } },
    { "long", { message = kdcproxy.frame(("\x6a"):rep(300)), realm = "SSPI.TEST", hint = 70000 } },
    { "empty", { message = kdcproxy.frame("") } },
  }
  for _, s in ipairs(shapes) do put("kdcproxy_lua", s[1], kdcproxy.encode(s[2])) end
end
-- ------------------------------------ SECBUFFER_APPLICATION_PROTOCOLS
-- Valid buffers as sspi.tls.alpn_buffer makes them and as Windows allows
-- (an NPN list beside, NPN only, no list), and the malformed cases of
-- spec/75-schannel_features_spec.lua.
do
  local tls = require "sspi.tls"
  local function lists(...)
    local body = table.concat({ ... })
    return string.pack("<I4", #body) .. body
  end
  local function list(ext, wire) return string.pack("<I4I2", ext, #wire) .. wire end
  local shapes = {
    { "h2-http11", tls.alpn_buffer({ "h2", "http/1.1" }):data() },
    { "one", tls.alpn_buffer({ "x" }):data() },
    { "long-name", tls.alpn_buffer({ ("n"):rep(255), "h2" }):data() },
    { "npn-and-alpn", lists(list(1, "\6spdy/3"), list(2, "\2h2\8http/1.1")) },
    { "npn-only", lists(list(1, "\2h2")) },
    { "no-list", lists() },
    { "too-short", "\1\0\0" },
    { "size-mismatch", "\10\0\0\0" .. "\2\0\0\0" .. "\3\0" .. "\2h2" },
    { "header-cut", "\4\0\0\0" .. "\2\0\0\0" },
    { "list-past-end", "\9\0\0\0" .. "\2\0\0\0" .. "\4\0" .. "\2h2" },
    { "name-past-end", "\9\0\0\0" .. "\2\0\0\0" .. "\3\0" .. "\5h2" },
    { "empty-list", "\6\0\0\0" .. "\2\0\0\0" .. "\0\0" },
    { "ext-7", "\9\0\0\0" .. "\7\0\0\0" .. "\3\0" .. "\2h2" },
    { "two-alpn", "\18\0\0\0" .. ("\2\0\0\0" .. "\3\0" .. "\2h2"):rep(2) },
  }
  for _, s in ipairs(shapes) do put("schannel_alpn", s[1], s[2]) end
end
if not ok then error(err, 0) end

local names = {}
for t in pairs(written) do names[#names + 1] = t end
table.sort(names)
for _, t in ipairs(names) do print(("%-20s %3d seeds"):format(t, written[t])) end
