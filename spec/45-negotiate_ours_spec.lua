-- The built-in Negotiate provider against itself, with real inner mechanisms:
-- Kerberos (MIT GSSAPI, throwaway realm) and the built-in NTLM (a user file in
-- a temp dir).  What crossed the wire is checked with sspi.token.

local sspi = require "sspi"
local realm = require "helpers.realm"
local token = require "sspi.token"
local testenv = require "sspi_testenv"
local pair = require "helpers.pair"

local NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD = "TESTDOM", "bob", "Bob-Secret-1"

local handshake = pair.trace

local function decode(t)
  local d, err = token.decode(t)
  assert(d, err)
  return d
end

local function mech_names(init_token)
  local names = {}
  for i, m in ipairs(decode(init_token).mech_types) do names[i] = m.name end
  return names
end

-- Messages both ways, with and without encryption, and signatures.
local function exchange_messages(c, s)
  for _, sides in ipairs{ { c, s }, { s, c } } do
    local a, b = sides[1], sides[2]
    local msg = assert(a:wrap("negotiated secret", { encrypt = true }))
    assert.are_not.equal("negotiated secret", msg)
    local data, encrypted = b:unwrap(msg)
    assert.are.equal("negotiated secret", data)
    assert.is_true(encrypted)
    local mic = assert(a:sign("signed text"))
    assert.is_true(b:verify("signed text", mic))
    local ok, _, st = b:verify("signed text, altered", assert(a:sign("signed text")))
    assert.is_nil(ok)
    assert.are.equal("SEC_E_MESSAGE_ALTERED", st)
  end
end

local CONF = { "ISC_REQ_MUTUAL_AUTH", "ISC_REQ_CONFIDENTIALITY", "ISC_REQ_INTEGRITY",
               "ISC_REQ_SEQUENCE_DETECT", "ISC_REQ_REPLAY_DETECT" }

describe("built-in Negotiate against itself", function()
  local r, user_file

  setup(function()
    r = realm.start()
    user_file = r.dir .. "/negotiate_ntlm_users"
    local f = assert(io.open(user_file, "w"))
    f:write(("%s:%s:%s\n"):format(NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD))
    -- alice as NTLM sends her UPN as the user name, with no domain
    f:write((":alice@SSPI.TEST:%s\n"):format(r.password))
    f:close()
  end)

  local function ntlm_client(extra)
    local o = { package = "Negotiate", username = NTLM_DOMAIN .. "\\" .. NTLM_USER, password = NTLM_PASSWORD }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(sspi.credential(o))
  end

  local function server(extra)
    local o = { package = "Negotiate", usage = "inbound", user_file = user_file }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(sspi.credential(o))
  end

  it("is the default Negotiate implementation", function()
    local first
    for _, p in ipairs(sspi.packages()) do
      if p.name == "Negotiate" then first = first or p end
    end
    assert.is_not_nil(first)
    assert.are.equal("builtin", first.backend)
    local c = sspi.context(assert(sspi.credential{ package = "Negotiate" }))
    assert(c:step_init{ target = "host/localhost" })
    local info = c:query("negotiation_info")
    assert.are.equal("optimistic", info.state)
    assert.are.equal("Kerberos", info.package.name)
  end)

  it("negotiates Kerberos first, with mutual authentication, and forwards messages", function()
    local c = sspi.context(assert(sspi.credential{ package = "Negotiate" }))
    local s = sspi.context(server())
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    local init = decode(trace[1].token)
    assert.are.equal("NegTokenInit", init.type)
    -- no NTLM identity in this credential: NTLM was dropped at acquisition
    assert.are.same({ "Kerberos 5" }, mech_names(trace[1].token))
    assert.is_not_nil(init.mech_token, "an optimistic Kerberos token")
    local reply = decode(trace[2].token)
    assert.are.equal("accept-completed", reply.neg_state)
    assert.is_not_nil(reply.supported_mech)
    assert.is_not_nil(reply.response_token, "the AP-REP")
    assert.is_nil(reply.mech_list_mic, "no MIC exchange: Kerberos was the first choice")
    assert.are.equal(3, #trace)
    assert.are.equal("Ok", trace[3].result)
    assert.is_nil(trace[3].token)

    assert.are_not.equal(0, trace[3].flags & sspi.ISC_RET_MUTUAL_AUTH)
    assert.are_not.equal(0, trace[3].flags & sspi.ISC_RET_CONFIDENTIALITY)
    for _, ctx in ipairs{ c, s } do
      local info = ctx:query("negotiation_info")
      assert.are.equal("Kerberos", info.package.name)
      assert.are.equal("complete", info.state)
      assert.are.equal("Kerberos", ctx:query("package_info").name)
    end
    assert.are.equal(r.user, s:query("names").user)
    assert.are.equal(c:query("session_key"), s:query("session_key"))
    exchange_messages(c, s)
  end)

  it("negotiates NTLM with the mechListMIC exchange its MIC requires", function()
    local c = sspi.context(ntlm_client{ mechs = { "NTLM" } })
    local s = sspi.context(server{ mechs = { "NTLM" } })
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
    assert.are.equal(5, #trace)
    local challenge = decode(trace[2].token)
    assert.are.equal("accept-incomplete", challenge.neg_state)
    assert.are.equal("NTLMSSP", challenge.supported_mech.name)
    local auth = decode(trace[3].token)
    assert.are.equal("AUTHENTICATE", auth.response_token.decoded.type)
    assert.is_not_nil(auth.mech_list_mic, "the initiator's mechListMIC")
    assert.is_nil(auth.supported_mech)
    local final = decode(trace[4].token)
    assert.are.equal("accept-completed", final.neg_state)
    assert.is_nil(final.supported_mech, "supportedMech only in the first reply")
    assert.is_not_nil(final.mech_list_mic, "the acceptor's mechListMIC")
    assert.are.equal("Ok", trace[5].result)
    assert.are.equal(NTLM_DOMAIN .. "\\" .. NTLM_USER, s:query("names").user)
    for _, ctx in ipairs{ c, s } do
      assert.are.equal("NTLM", ctx:query("negotiation_info").package.name)
    end
    -- The sealing state after the MICs is the one Windows expects (MS-SPNG
    -- 3.3.5.1): the first messages of both directions go through.
    exchange_messages(c, s)
  end)

  it("switches to the acceptor's choice and then requires MICs (request-mic)", function()
    -- The client prefers Kerberos (it has alice's ticket); the server only has NTLM.
    local c = sspi.context(ntlm_client{ ccache = r.env.KRB5CCNAME, username = "alice@SSPI.TEST",
                                        password = r.password })
    local s = sspi.context(server{ mechs = { "NTLM" } })
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "Kerberos 5", "NTLMSSP" }, mech_names(trace[1].token))
    local first = decode(trace[2].token)
    assert.are.equal("request-mic", first.neg_state)
    assert.are.equal("NTLMSSP", first.supported_mech.name)
    assert.is_nil(first.response_token, "the optimistic Kerberos token was discarded")
    assert.are.equal("NEGOTIATE", decode(trace[3].token).response_token.decoded.type)
    assert.is_not_nil(decode(trace[5].token).mech_list_mic)
    assert.is_not_nil(decode(trace[6].token).mech_list_mic)
    assert.are.equal("NTLM", c:query("negotiation_info").package.name)
    exchange_messages(c, s)
  end)

  it("falls back to NTLM when there is no Kerberos ticket", function()
    local saved = os.getenv("KRB5CCNAME")
    testenv.setenv("KRB5CCNAME", "FILE:" .. r.dir .. "/no-such-ccache")
    local cred, err = sspi.credential{ package = "Negotiate", username = NTLM_DOMAIN .. "\\" .. NTLM_USER,
                                       password = NTLM_PASSWORD }
    testenv.setenv("KRB5CCNAME", saved)
    assert(cred, err)
    local c, s = sspi.context(cred), sspi.context(server())
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
    assert.are.equal("NTLM", s:query("negotiation_info").package.name)
  end)

  it("falls back to NTLM when the KDC is unreachable", function()
    local conf = r.dir .. "/krb5-dead-kdc.conf"
    local f = assert(io.open(conf, "w"))
    -- a port nothing listens on (the realm's own port + 1 is not ours; use a
    -- closed one from a socket we bind and close)
    local socket = require "socket"
    local probe = assert(socket.bind("127.0.0.1", 0))
    local _, dead_port = probe:getsockname()
    probe:close()
    f:write(("[libdefaults]\n default_realm = SSPI.TEST\n dns_lookup_kdc = false\n"
      .. " dns_lookup_realm = false\n udp_preference_limit = 1\n"
      .. "[realms]\n SSPI.TEST = {\n  kdc = 127.0.0.1:%d\n }\n"):format(dead_port))
    f:close()
    local saved = os.getenv("KRB5_CONFIG")
    testenv.setenv("KRB5_CONFIG", conf)
    local cred, err = sspi.credential{ package = "Negotiate", username = "alice@SSPI.TEST",
                                       password = r.password }
    testenv.setenv("KRB5_CONFIG", saved)
    assert(cred, err)
    local c, s = sspi.context(cred), sspi.context(server())
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
    assert.matches("alice", s:query("names").user)
  end)

  it("drops a mechanism that cannot start (unknown SPN) and uses the next", function()
    local c = sspi.context(ntlm_client{ username = "alice@SSPI.TEST", password = r.password })
    local s = sspi.context(server{ mechs = { "NTLM" } })
    local trace = assert(handshake(c, s, "host/no-such-host.sspi.test", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
    assert.are.equal("NTLM", c:query("package_info").name)
  end)

  it("does not fall back when no_fallback is set", function()
    local c = sspi.context(ntlm_client{ username = "alice@SSPI.TEST", password = r.password,
                                        no_fallback = true })
    local res, err, st = c:step_init{ target = "host/no-such-host.sspi.test" }
    assert.is_nil(res)
    assert.are_not.equal("SEC_E_OK", st)
    assert.are.equal(st, err.status)
    assert.matches("no_fallback", err.message)
    assert.matches("Kerberos", err.message)
  end)

  it("orders mechanisms by the allow list and drops rejected ones", function()
    local c = sspi.context(ntlm_client{ username = "alice@SSPI.TEST", password = r.password,
                                        mechs = { "NTLM", "Kerberos" } })
    local s = sspi.context(server())
    local trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP", "Kerberos 5" }, mech_names(trace[1].token))
    assert.are.equal("NTLM", s:query("negotiation_info").package.name)

    c = sspi.context(ntlm_client{ username = "alice@SSPI.TEST", password = r.password,
                                  reject = { "kerberos" } })
    s = sspi.context(server())
    trace = assert(handshake(c, s, "host/localhost", { isc_req = CONF }))
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
  end)

  it("lets an acceptor speak first (NegTokenInit2) without narrowing the client's list", function()
    -- Like MIT, the hint's list removes nothing from what the client offers:
    -- an NTLM-only hint cannot make a Kerberos-capable client offer NTLM
    -- alone; the acceptor's counter-choice is protected by the MICs, which
    -- cover the client's whole list.
    local c = sspi.context(ntlm_client{ username = "alice@SSPI.TEST", password = r.password })
    local s = sspi.context(server{ mechs = { "NTLM" } })
    local trace = assert(handshake(c, s, "host/localhost", { server_first = true, isc_req = CONF }))
    local hint = decode(trace[1].token)
    assert.are.equal("NegTokenInit2", hint.type)
    assert.are.equal("not_defined_in_RFC4178@please_ignore", hint.neg_hints.hint_name)
    assert.are.same({ "NTLMSSP" }, mech_names(trace[1].token))
    assert.are.same({ "Kerberos 5", "NTLMSSP" }, mech_names(trace[2].token))
    local choice = decode(trace[3].token)
    assert.are.equal("request-mic", choice.neg_state)
    assert.are.equal("NTLMSSP", choice.supported_mech.name)
    assert.is_not_nil(decode(trace[6].token).mech_list_mic, "the client's MIC over both mechanisms")
    assert.is_not_nil(decode(trace[7].token).mech_list_mic, "the acceptor's")
    assert.are.equal("NTLM", c:query("negotiation_info").package.name)
    exchange_messages(c, s)
  end)

  it("accepts a bare NTLMSSP exchange under Negotiate (as browsers and curl send)", function()
    local c = sspi.context(assert(sspi.credential{ package = "NTLM",
      username = NTLM_DOMAIN .. "\\" .. NTLM_USER, password = NTLM_PASSWORD }))
    local s = sspi.context(server())
    local trace = assert(handshake(c, s, "HTTP/localhost", { isc_req = CONF }))
    assert.are.equal("CHALLENGE", decode(trace[2].token).type, "the reply is bare NTLM too")
    local info = s:query("negotiation_info")
    assert.are.equal("NTLM", info.package.name)
    assert.are.equal("complete", info.state)
    exchange_messages(c, s)
  end)

  it("accepts a bare Kerberos AP-REQ under Negotiate", function()
    local c = sspi.context(assert(sspi.credential{ package = "Kerberos" }))
    local s = sspi.context(server())
    local trace = assert(handshake(c, s, "HTTP/localhost", { isc_req = CONF }))
    assert.are.equal("Kerberos", s:query("package_info").name)
    assert.are.equal(r.user, s:query("names").user)
    assert.is_true(#trace >= 2)
    exchange_messages(c, s)
  end)

  it("reports the negotiation state while in progress", function()
    local c = sspi.context(ntlm_client{ mechs = { "NTLM" } })
    local res = assert(c:step_init{ target = "host/localhost" })
    assert.are.equal("ContinueNeeded", res.result)
    local info = c:query("negotiation_info")
    assert.are.equal("optimistic", info.state)
    assert.are.equal("NTLM", info.package.name)
    local s = sspi.context(server())
    res = assert(s:step_accept{})
    assert.are.equal("ContinueNeeded", res.result)
    info = s:query("negotiation_info")
    assert.are.equal("in_progress", info.state)
    assert.are.equal("Negotiate", info.package.name, "no mechanism chosen yet")
  end)
end)
