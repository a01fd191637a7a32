-- The built-in Negotiate provider's failure paths, each with its status:
-- tampered or missing mechListMIC, no common mechanism, credentials with no
-- usable mechanism, and truncated or malformed SPNEGO at every length, fed
-- to real contexts (the built-in NTLM and Kerberos of the throwaway realm).

local sspi = require "sspi"
local realm = require "helpers.realm"

local DOMAIN, USER, PASSWORD = "TESTDOM", "dave", "Dave-Secret-1"

local function unhex(s)
  return (s:gsub("%s", ""):gsub("..", function(c) return string.char(tonumber(c, 16)) end))
end

-- DER length octets for n.
local function der_len(n)
  if n < 0x80 then return string.char(n) end
  if n < 0x100 then return "\x81" .. string.char(n) end
  return "\x82" .. string.char(n >> 8, n & 0xFF)
end

-- Header length of the element starting at position i of s.
local function header_len(s, i)
  local b = s:byte(i + 1)
  if b < 0x80 then return 2 end
  return 2 + (b & 0x7F)
end

-- A NegTokenResp (a1 { 30 { fields } }) without its last field, re-framed.
local function drop_last_field(resp, last_field_len)
  local h1 = header_len(resp, 1)
  local h2 = header_len(resp, 1 + h1)
  local fields = resp:sub(1 + h1 + h2, #resp - last_field_len)
  local seq = "\x30" .. der_len(#fields) .. fields
  return "\xa1" .. der_len(#seq) .. seq
end

describe("built-in Negotiate failures", function()
  local r, user_file

  setup(function()
    r = realm.start()
    user_file = r.dir .. "/negotiate_errors_users"
    local f = assert(io.open(user_file, "w"))
    f:write(("%s:%s:%s\n"):format(DOMAIN, USER, PASSWORD))
    f:close()
  end)

  local function client(extra)
    local o = { package = "Negotiate", username = DOMAIN .. "\\" .. USER, password = PASSWORD,
                mechs = { "NTLM" } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return sspi.context(assert(sspi.credential(o)))
  end

  local function server(extra)
    local o = { package = "Negotiate", usage = "inbound", user_file = user_file }
    for k, v in pairs(extra or {}) do o[k] = v end
    return sspi.context(assert(sspi.credential(o)))
  end

  local function expect_failure(res, err, st, status)
    assert.is_nil(res)
    assert.are.equal(status, st, err and tostring(err))
    assert.are.equal(status, err.status)
    assert.is_true(#err.message > 0)
  end

  -- NTLM under Negotiate up to the client's AUTHENTICATE (+ mechListMIC).
  local function to_authenticate()
    local c, s = client(), server()
    local t1 = assert(c:step_init{ target = "host/localhost" }).token
    local t2 = assert(s:step_accept{ input = t1 }).token
    local t3 = assert(c:step_init{ target = "host/localhost", input = t2 }).token
    return c, s, t1, t2, t3
  end

  describe("mechListMIC", function()
    it("a tampered client MIC is SEC_E_MESSAGE_ALTERED, and the context refuses more steps", function()
      local _, s, _, _, t3 = to_authenticate()
      -- the MIC is the last field: 16 bytes, checksum at offset 4..11
      local i = #t3 - 8
      local bad = t3:sub(1, i - 1) .. string.char(t3:byte(i) ~ 0x01) .. t3:sub(i + 1)
      local res, err, st = s:step_accept{ input = bad }
      expect_failure(res, err, st, "SEC_E_MESSAGE_ALTERED")
      assert.matches("mechListMIC", err.message)
      res, err, st = s:step_accept{ input = t3 }
      assert.is_nil(res, "a failed context refuses further steps, even with the genuine token")
      assert.are_not.equal("SEC_E_MESSAGE_ALTERED", st)
      assert.matches("failed earlier", err.message)
    end)

    it("a tampered acceptor MIC is SEC_E_MESSAGE_ALTERED for the initiator", function()
      local c, s, _, _, t3 = to_authenticate()
      local t4 = assert(s:step_accept{ input = t3 }).token
      local i = #t4 - 8
      local bad = t4:sub(1, i - 1) .. string.char(t4:byte(i) ~ 0x80) .. t4:sub(i + 1)
      local res, err, st = c:step_init{ target = "host/localhost", input = bad }
      expect_failure(res, err, st, "SEC_E_MESSAGE_ALTERED")
      assert.matches("mechListMIC", err.message)
    end)

    it("a MIC the negotiation requires but the client left out is SEC_E_INVALID_TOKEN", function()
      local _, s, _, _, t3 = to_authenticate()
      local stripped = drop_last_field(t3, 2 + 2 + 16) -- a3 12 04 10 <16 bytes>
      local res, err, st = s:step_accept{ input = stripped }
      expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
      assert.matches("mechListMIC", err.message)
    end)

    it("a MIC the acceptor left out is SEC_E_INVALID_TOKEN for the initiator", function()
      local c, s, _, _, t3 = to_authenticate()
      local t4 = assert(s:step_accept{ input = t3 }).token
      local res, err, st = c:step_init{ target = "host/localhost", input = drop_last_field(t4, 20) }
      expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
    end)
  end)

  describe("no common mechanism", function()
    it("the acceptor refuses a list it supports nothing of: SEC_E_SECPKG_NOT_FOUND", function()
      local c = client{ mechs = { "Kerberos" }, username = "alice@SSPI.TEST", password = r.password }
      local s = server{ mechs = { "NTLM" } }
      local t1 = assert(c:step_init{ target = "host/localhost" }).token
      local res, err, st = s:step_accept{ input = t1 }
      expect_failure(res, err, st, "SEC_E_SECPKG_NOT_FOUND")
    end)

    it("the initiator given a reject before any choice: SEC_E_SECPKG_NOT_FOUND", function()
      local c = client()
      assert(c:step_init{ target = "host/localhost" })
      local res, err, st = c:step_init{ target = "host/localhost", input = unhex("a1073005a0030a0102") }
      expect_failure(res, err, st, "SEC_E_SECPKG_NOT_FOUND")
    end)

    it("the initiator given a reject after the choice: SEC_E_LOGON_DENIED", function()
      local c, s = client(), server()
      local t1 = assert(c:step_init{ target = "host/localhost" }).token
      local t2 = assert(s:step_accept{ input = t1 }).token
      assert(c:step_init{ target = "host/localhost", input = t2 })
      local res, err, st = c:step_init{ target = "host/localhost", input = unhex("a1073005a0030a0102") }
      expect_failure(res, err, st, "SEC_E_LOGON_DENIED")
    end)

    it("an acceptor speaking first with nothing in common: the client offers its own list "
       .. "(the hint narrows nothing) and the acceptor refuses it: SEC_E_SECPKG_NOT_FOUND", function()
      local s = server{ mechs = { "NTLM" } }
      local hint = assert(s:step_accept{}).token
      local c = client{ mechs = { "Kerberos" }, username = "alice@SSPI.TEST", password = r.password }
      local t1 = assert(c:step_init{ target = "host/localhost", input = hint }).token
      local res, err, st = s:step_accept{ input = t1 }
      expect_failure(res, err, st, "SEC_E_SECPKG_NOT_FOUND")
    end)

    it("a counter-choice that was never offered: SEC_E_INVALID_TOKEN", function()
      local c = client()
      assert(c:step_init{ target = "host/localhost" })
      -- accept-incomplete, supportedMech Kerberos (not offered: NTLM only)
      local reply = unhex("a1143012a0030a0101a10b06092a864886f712010202")
      local res, err, st = c:step_init{ target = "host/localhost", input = reply }
      expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
    end)
  end)

  describe("credentials", function()
    it("no usable mechanism: SEC_E_NO_CREDENTIALS with each reason", function()
      local cred, err, st = sspi.credential{ package = "Negotiate", mechs = { "Kerberos", "NTLM" },
                                             ccache = "FILE:" .. r.dir .. "/no-such-ccache" }
      expect_failure(cred, err, st, "SEC_E_NO_CREDENTIALS")
      assert.matches("Kerberos: ", err.message)
      assert.matches("NTLM: ", err.message)
    end)

    it("a reject list that removes everything: SEC_E_NO_CREDENTIALS", function()
      local cred, err, st = sspi.credential{ package = "Negotiate", mechs = { "NTLM" }, reject = { "NTLM" },
                                             username = DOMAIN .. "\\" .. USER, password = PASSWORD }
      expect_failure(cred, err, st, "SEC_E_NO_CREDENTIALS")
      assert.matches("reject", err.message)
    end)

    it("an unknown package in mechs or reject: SEC_E_SECPKG_NOT_FOUND", function()
      for _, o in ipairs{ { mechs = { "Digest" } }, { reject = { "Kerberoz" } }, { mechs = { "Negotiate" } } } do
        o.package = "Negotiate"
        local cred, err, st = sspi.credential(o)
        expect_failure(cred, err, st, "SEC_E_SECPKG_NOT_FOUND")
      end
    end)
  end)

  describe("malformed SPNEGO", function()
    it("every truncation of the client's NegTokenInit: SEC_E_INVALID_TOKEN", function()
      for _, mechs in ipairs{ { "NTLM" }, { "Kerberos" } } do
        local c = client{ mechs = mechs, username = mechs[1] == "Kerberos" and "alice@SSPI.TEST" or nil,
                          password = mechs[1] == "Kerberos" and r.password or nil }
        local t1 = assert(c:step_init{ target = "host/localhost" }).token
        for n = 1, #t1 - 1 do
          local res, err, st = server():step_accept{ input = t1:sub(1, n) }
          expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
        end
      end
    end)

    it("every truncation of the acceptor's reply: SEC_E_INVALID_TOKEN", function()
      local c0, s0 = client(), server()
      local t2 = assert(s0:step_accept{ input = assert(c0:step_init{ target = "host/localhost" }).token }).token
      for n = 1, #t2 - 1 do
        local c = client()
        assert(c:step_init{ target = "host/localhost" })
        local res, err, st = c:step_init{ target = "host/localhost", input = t2:sub(1, n) }
        expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
      end
    end)

    it("every truncation of the client's AUTHENTICATE + mechListMIC: SEC_E_INVALID_TOKEN", function()
      local n = 1
      repeat
        local _, s, _, _, t3 = to_authenticate()
        local res, err, st = s:step_accept{ input = t3:sub(1, n) }
        expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
        n = n + 1
      until n >= #t3
    end)

    it("malformed tokens of every kind: SEC_E_INVALID_TOKEN", function()
      local bad = {
        "a1803005a0030a01000000",       -- indefinite length
        "a181073005a0030a0100",         -- long form for a short length
        "a1073005a0030a0104",           -- negState out of range
        "a10b3009a2020400a0030a0101",   -- fields out of order
        "a1073005a0030a010000",         -- trailing byte
        "3003020100",                   -- not SPNEGO
        "6010 06062b0601050502 a006 3004 a2020400",               -- no mechTypes
        "6014 06062b0601050502 a00a 3008 a006 3004 06028686",     -- unterminated OID
        "6014 06062b0601050502 a00a 3008 a006 3004 06028001",     -- non-minimal OID
        "6016 06062b0601050502 a00c 300a a0023000 a104 03020800", -- bad reqFlags
      }
      for _, hex in ipairs(bad) do
        local res, err, st = server():step_accept{ input = unhex(hex) }
        expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
      end
      -- a NegTokenResp cannot open an exchange, nor a NegTokenInit continue one
      local res, err, st = server():step_accept{ input = unhex("a1073005a0030a0100") }
      expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
      local c = client()
      local t1 = assert(c:step_init{ target = "host/localhost" }).token
      res, err, st = c:step_init{ target = "host/localhost", input = t1 }
      expect_failure(res, err, st, "SEC_E_INVALID_TOKEN")
    end)

    it("every byte of the SPNEGO framing altered: refused, never accepted", function()
      local c = client()
      local t1 = assert(c:step_init{ target = "host/localhost" }).token
      -- the framing is everything before the NTLM NEGOTIATE ("NTLMSSP\0")
      local frame_end = assert(t1:find("NTLMSSP\0", 1, true)) - 1
      for i = 1, frame_end do
        for _, x in ipairs{ 0x01, 0x80, 0xFF } do
          local bad = t1:sub(1, i - 1) .. string.char(t1:byte(i) ~ x) .. t1:sub(i + 1)
          local res, err, st = server():step_accept{ input = bad }
          assert.is_nil(res, ("byte %d ^ 0x%02x was accepted"):format(i, x))
          assert.is_true(st == "SEC_E_INVALID_TOKEN" or st == "SEC_E_SECPKG_NOT_FOUND",
            ("byte %d ^ 0x%02x: %s"):format(i, x, tostring(err)))
        end
      end
    end)
  end)
end)
