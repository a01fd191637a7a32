-- RFC 4178 section 5 on both sides of the built-in Negotiate: when the
-- chosen mechanism is not the initiator's first choice (a Kerberos -> NTLM
-- downgrade), the mechListMIC exchange is required, whatever negState says
-- and whether or not NTLM put a MIC in its AUTHENTICATE; a chosen mechanism
-- without integrity cannot carry that MIC, so the exchange fails
-- (SEC_E_DOWNGRADE_DETECTED).  The peers are real contexts; the messages
-- between them are crafted or edited in transit.

local sspi = require "sspi"
local realm = require "helpers.realm"
local token = require "sspi.token"

local KRB5 = "\42\134\72\134\247\18\1\2\2"
local NTLM = "\43\6\1\4\1\130\55\2\2\10"
local SPNEGO = "\43\6\1\5\5\2"
local TARGET = "host/localhost"
local CONF = { "ISC_REQ_MUTUAL_AUTH", "ISC_REQ_CONFIDENTIALITY", "ISC_REQ_INTEGRITY" }

local function tlv(tag, content)
  local n = #content
  local len = n < 0x80 and string.char(n)
    or n < 0x100 and "\x81" .. string.char(n)
    or "\x82" .. string.char(n >> 8, n & 0xFF)
  return string.char(tag) .. len .. content
end

-- A NegTokenResp carrying a mechanism token and, optionally, a mechListMIC.
local function neg_resp(tok, mic)
  local fields = tlv(0xa2, tlv(0x04, tok))
  if mic then fields = fields .. tlv(0xa3, tlv(0x04, mic)) end
  return tlv(0xa1, tlv(0x30, fields))
end

-- The NTLM message inside an acceptor's NegTokenResp (it is the last field
-- while no MIC travels).
local function ntlm_inside(resp)
  local at = assert(resp:find("NTLMSSP\0", 1, true), "no NTLM message in the reply")
  return resp:sub(at)
end

local function decode(t)
  return assert(token.decode(t))
end

describe("built-in Negotiate: a choice that is not the initiator's first", function()
  local r, user_file

  setup(function()
    r = realm.start()
    user_file = r.dir .. "/negotiate_downgrade_users"
    local f = assert(io.open(user_file, "w"))
    f:write("DGDOM:carol:Carol-Secret-1\n")
    f:write((":alice@SSPI.TEST:%s\n"):format(r.password)) -- alice's UPN as NTLM user
    f:close()
  end)

  local function ntlm_only_server()
    return sspi.context(assert(sspi.credential{ package = "Negotiate", usage = "inbound",
      mechs = { "NTLM" }, user_file = user_file }))
  end

  describe("on the acceptor", function()
    -- The client lists Kerberos first, NTLM second, with no optimistic
    -- token; the acceptor has only NTLM and counters with request-mic.
    -- A plain NTLM context answers, framed by hand.
    local MECH_TYPES = tlv(0x30, tlv(0x06, KRB5) .. tlv(0x06, NTLM))
    local INIT = tlv(0x60, tlv(0x06, SPNEGO) .. tlv(0xa0, tlv(0x30, tlv(0xa0, MECH_TYPES))))

    local function to_authenticate(isc_req)
      local s = ntlm_only_server()
      local c = sspi.context(assert(sspi.credential{ package = "NTLM",
        username = "DGDOM\\carol", password = "Carol-Secret-1" }))
      local first = assert(s:step_accept{ input = INIT })
      assert.equal("ContinueNeeded", first.result)
      local d = decode(first.token)
      assert.equal("request-mic", d.neg_state)
      assert.equal("NTLMSSP", d.supported_mech.name)
      local neg = assert(c:step_init{ target = TARGET, context_req = isc_req })
      local chal = assert(s:step_accept{ input = neg_resp(neg.token) })
      local auth = assert(c:step_init{ target = TARGET, context_req = isc_req,
        input = ntlm_inside(chal.token) })
      return c, s, auth.token
    end

    it("refuses to complete when the mechanism has no integrity to carry the MIC", function()
      local _, s, auth = to_authenticate(0) -- NTLM without SIGN
      local res, err, status = s:step_accept{ input = neg_resp(auth) }
      assert.is_nil(res, "completed a downgrade that no MIC protects")
      assert.equal("SEC_E_DOWNGRADE_DETECTED", status)
      assert.matches("first choice", err.message)
    end)

    it("refuses a client that finished without its mechListMIC", function()
      local _, s, auth = to_authenticate(sspi.ISC_REQ_INTEGRITY)
      local res, err, status = s:step_accept{ input = neg_resp(auth) }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
      assert.matches("mechListMIC", err.message)
    end)

    it("completes with the client's MIC over the whole list, and answers with its own", function()
      local c, s, auth = to_authenticate(sspi.ISC_REQ_INTEGRITY)
      local res = assert(s:step_accept{ input = neg_resp(auth, assert(c:sign(MECH_TYPES))) })
      assert.equal("Ok", res.result)
      local d = decode(res.token)
      assert.equal("accept-completed", d.neg_state)
      assert.is_not_nil(d.mech_list_mic)
      assert.is_true(c:verify(MECH_TYPES, res.token:sub(-16))) -- the last field: 04 10 <MIC>
      assert.equal("DGDOM\\carol", s:query("names").user)
    end)
  end)

  describe("on the initiator", function()
    -- alice has a Kerberos ticket, so the client offers Kerberos first;
    -- the acceptor has only NTLM.
    local function client()
      return sspi.context(assert(sspi.credential{ package = "Negotiate",
        ccache = r.env.KRB5CCNAME, username = "alice@SSPI.TEST", password = r.password }))
    end

    -- Up to the client's AUTHENTICATE, with the acceptor's counter-choice
    -- edited to accept-incomplete (Windows 2003's RFC 2478 style, or an
    -- attacker's) and MsvAvTimestamp renamed in the CHALLENGE, so that NTLM
    -- puts no MIC in its AUTHENTICATE.  edit_challenge edits it further.
    local function to_authenticate(edit_challenge, keep_timestamp)
      local c, s = client(), ntlm_only_server()
      local t1 = assert(c:step_init{ target = TARGET, context_req = CONF })
      local names = {}
      for i, m in ipairs(decode(t1.token).mech_types) do names[i] = m.name end
      assert.same({ "Kerberos 5", "NTLMSSP" }, names)
      local t2 = assert(s:step_accept{ input = t1.token })
      local edited, n = t2.token:gsub("\160\3\10\1\3", "\160\3\10\1\1", 1) -- request-mic -> accept-incomplete
      assert.equal(1, n)
      local t3 = assert(c:step_init{ target = TARGET, context_req = CONF, input = edited })
      local t4 = assert(s:step_accept{ input = t3.token })
      local chal, m = t4.token, 1
      if not keep_timestamp then chal, m = chal:gsub("\7\0\8\0", "\135\0\8\0", 1) end
      assert.equal(1, m)
      if edit_challenge then chal = edit_challenge(chal) end
      return c, s, c:step_init{ target = TARGET, context_req = CONF, input = chal }
    end

    it("requires the acceptor's mechListMIC even when negState asked for none", function()
      local c, _, t5 = to_authenticate()
      assert(t5)
      assert.equal("ContinueNeeded", t5.result)
      assert.is_not_nil(decode(t5.token).mech_list_mic, "the client's own MIC goes with AUTHENTICATE")
      -- An attacker answers in the acceptor's place: accept-completed, no MIC.
      local res, err, status = c:step_init{ target = TARGET, context_req = CONF,
        input = "\161\7\48\5\160\3\10\1\0" }
      assert.is_nil(res, "the initiator completed a downgrade without the acceptor's MIC")
      assert.equal("SEC_E_INVALID_TOKEN", status)
      assert.matches("mechListMIC", err.message)
    end)

    it("is refused by a real acceptor when MsvAvTimestamp was renamed in transit", function()
      local _, s, t5 = to_authenticate()
      local res, err, status = s:step_accept{ input = assert(t5).token }
      assert.is_nil(res)
      assert.equal("SEC_E_MESSAGE_ALTERED", status, tostring(err))
    end)

    it("still completes with a real acceptor, the MICs exchanged", function()
      local c, s, t5 = to_authenticate(nil, true)
      local t6 = assert(s:step_accept{ input = assert(t5).token })
      assert.equal("Ok", t6.result)
      assert.is_not_nil(decode(t6.token).mech_list_mic)
      local t7 = assert(c:step_init{ target = TARGET, context_req = CONF, input = t6.token })
      assert.equal("Ok", t7.result)
      assert.equal("alice@SSPI.TEST", s:query("names").user:match("alice@SSPI.TEST"))
      assert.equal("ping", (s:unwrap(assert(c:wrap("ping", { encrypt = true })))))
    end)

    it("refuses the downgrade when the edited CHALLENGE takes integrity away", function()
      -- Clear NTLMSSP_NEGOTIATE_SIGN and SEAL (flags at offset 20 of the CHALLENGE).
      local function strip_sign(chal)
        local at = assert(chal:find("NTLMSSP\0\2\0\0\0", 1, true)) + 20
        return chal:sub(1, at - 1) .. string.char(chal:byte(at) & ~0x30) .. chal:sub(at + 1)
      end
      local _, _, status = select(3, to_authenticate(strip_sign))
      assert.equal("SEC_E_DOWNGRADE_DETECTED", status)
    end)
  end)
end)
