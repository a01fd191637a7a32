-- The built-in Negotiate provider against MIT's SPNEGO (reached through the
-- GSSAPI provider, backend = "gssapi"), in both directions: with Kerberos
-- inside (throwaway realm) and with NTLM inside (gss-ntlmssp on MIT's side,
-- the built-in NTLM on ours), then messages both ways.

local sspi = require "sspi"
local realm = require "helpers.realm"
local token = require "sspi.token"
local ntlm = require "helpers.ntlm"
local pair = require "helpers.pair"

local NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD = "TESTDOM", "carol", "Carol-Secret-1"

local function handshake(c, s, target, isc_req)
  return pair.trace(c, s, target, { isc_req = isc_req })
end

local function exchange_messages(c, s)
  for _, sides in ipairs{ { c, s }, { s, c }, { c, s } } do
    local a, b = sides[1], sides[2]
    local msg = assert(a:wrap("across implementations", { encrypt = true }))
    local data, encrypted = b:unwrap(msg)
    assert.are.equal("across implementations", data)
    assert.is_true(encrypted)
    assert.is_true(b:verify("signed", assert(a:sign("signed"))))
  end
end

local function backend_of(ctx)
  return ctx:query("package_info").backend
end

local CONF = { "ISC_REQ_MUTUAL_AUTH", "ISC_REQ_CONFIDENTIALITY", "ISC_REQ_INTEGRITY",
               "ISC_REQ_SEQUENCE_DETECT", "ISC_REQ_REPLAY_DETECT" }

describe("built-in Negotiate with MIT's SPNEGO", function()
  local users = ntlm.users({ ("%s:%s:%s"):format(NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD) },
    { env = true }) -- gss-ntlmssp's acceptor reads its users from the environment
  local r
  setup(function()
    r = realm.start()
    users.setup()
  end)
  teardown(users.teardown)

  local function ours(extra)
    local o = { package = "Negotiate" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return sspi.context(assert(sspi.credential(o)))
  end

  local function mit(extra)
    local o = { package = "Negotiate", backend = "gssapi" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return sspi.context(assert(sspi.credential(o)))
  end

  describe("Kerberos inside", function()
    it("MIT initiator, our acceptor", function()
      local c = mit{ mechs = { "Kerberos" } }
      local s = ours{ usage = "inbound", mechs = { "Kerberos" } }
      assert(handshake(c, s, "host/localhost", CONF))
      assert.are.equal("Kerberos", s:query("negotiation_info").package.name)
      assert.are.equal("complete", s:query("negotiation_info").state)
      assert.are.equal(r.user, s:query("names").user)
      exchange_messages(c, s)
    end)

    it("our initiator, MIT acceptor", function()
      local c = ours{ mechs = { "Kerberos" } }
      local s = mit{ usage = "inbound", mechs = { "Kerberos" } }
      local trace = assert(handshake(c, s, "host/localhost", CONF))
      assert.are.equal("NegTokenInit", token.decode(trace[1].token).type)
      assert.are.equal("Kerberos", c:query("package_info").name)
      assert.are.equal("gssapi", backend_of(c))
      exchange_messages(c, s)
    end)
  end)

  describe("NTLM inside (gss-ntlmssp on MIT's side)", function()
    it("MIT initiator, our acceptor: mechListMIC verified both ways", function()
      local c = mit{ mechs = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER,
                     password = NTLM_PASSWORD }
      local s = ours{ usage = "inbound", mechs = { "NTLM" }, user_file = users.path }
      local trace = assert(handshake(c, s, "host/localhost", CONF))
      local auth = token.decode(trace[3].token)
      assert.are.equal("AUTHENTICATE", auth.response_token.decoded.type)
      assert.is_not_nil(auth.mech_list_mic, "MIT sent its mechListMIC")
      assert.is_not_nil(token.decode(trace[4].token).mech_list_mic, "we answered with ours")
      assert.are.equal("NTLM", s:query("negotiation_info").package.name)
      assert.are.equal("builtin", backend_of(s))
      exchange_messages(c, s)
    end)

    it("our initiator, MIT acceptor", function()
      local c = ours{ mechs = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER,
                      password = NTLM_PASSWORD }
      local s = mit{ usage = "inbound", mechs = { "NTLM" } }
      local trace = assert(handshake(c, s, "host/localhost", CONF))
      assert.is_not_nil(token.decode(trace[4].token).mech_list_mic, "MIT's mechListMIC, verified")
      assert.are.equal("NTLM", c:query("negotiation_info").package.name)
      exchange_messages(c, s)
    end)

    it("MIT prefers Kerberos, our acceptor has only NTLM: request-mic and MICs", function()
      -- Kerberos from alice's ticket, NTLM from gss-ntlmssp's default
      -- (the one user of NTLM_USER_FILE)
      local c = mit{ mechs = { "Kerberos", "NTLM" } }
      local s = ours{ usage = "inbound", mechs = { "NTLM" }, user_file = users.path }
      local trace, err = handshake(c, s, "host/localhost", CONF)
      assert(trace, err)
      local names = {}
      for i, m in ipairs(token.decode(trace[1].token).mech_types) do names[i] = m.name end
      assert.are.same({ "Kerberos 5", "NTLMSSP" }, names)
      local first = token.decode(trace[2].token)
      assert.are.equal("request-mic", first.neg_state)
      assert.are.equal("NTLMSSP", first.supported_mech.name)
      assert.is_not_nil(token.decode(trace[#trace - 1].token).mech_list_mic)
      exchange_messages(c, s)
    end)
  end)
end)
