-- The built-in NTLM provider against itself, in one Lua state: default
-- flags, every LM_COMPAT_LEVEL pair, channel bindings, anonymous, NT-hash
-- and non-BMP credentials, the lookup function, the user file formats, and
-- session security both ways (wrap/unwrap, sign/verify, SecBuffer lists).

local sspi = require "sspi"
local ntlm = require "helpers.ntlm"

local MS_PASSWORD = "Password" -- MS-NLMP 4.2.1: NTOWFv1("Password")
local MS_NT_HASH = "a4f49c406510bdcab6824ee7c30fd852"
local KEY = "p\u{1F511}ss-w\u{00F6}rd" -- a password outside the BMP
local REQ = ntlm.REQ


local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function le16(s, at) return s:byte(at + 1) | (s:byte(at + 2) << 8) end
local function le32(s, at) return le16(s, at) | (le16(s, at + 2) << 16) end

local users = ntlm.users {
  "# DOMAIN:USER:PASSWORD lines, as gss-ntlmssp reads them",
  "DOM:alice:Secret-1",
  "Domain:User:" .. MS_PASSWORD,
  "DOM:bob:" .. KEY,
  "DOM:colon:pass:with:colons",
  -- smbpasswd: USER:UID:LMHASH:NTHASH:FLAGS:LCT
  "carol:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:" .. MS_NT_HASH:upper() .. ":[U          ]:LCT-00000000:",
}
setup(users.setup)
teardown(users.teardown)

local client = ntlm.client
local function server(opts) return ntlm.server(opts, users.path) end

-- ntlm.handshake, both last steps Ok.
local function handshake(ccred, scred, o)
  local c, s, t, leg = ntlm.handshake(ccred, scred, o)
  if c then
    assert.are.equal("Ok", t.cresult)
    assert.are.equal("Ok", t.sresult)
  end
  return c, s, t, leg
end

local function round_trips(c, s)
  for i = 1, 3 do
    local m = ("message %d "):format(i) .. ("x"):rep(i * 100)
    local w = assert(c:wrap(m))
    assert.are.equal(#m + 16, #w)
    local got, encrypted = assert(s:unwrap(w))
    assert.are.equal(m, got)
    assert.is_true(encrypted)
    local back = assert(s:wrap("reply " .. i))
    assert.are.equal("reply " .. i, (c:unwrap(back)))
    assert.is_true(s:verify("mic " .. i, assert(c:sign("mic " .. i))))
    assert.is_true(c:verify("mic " .. i, assert(s:sign("mic " .. i))))
  end
end


describe("NTLM built-in", function()
  it("is the default NTLM backend and reports its package info", function()
    local found
    for _, p in ipairs(sspi.packages()) do
      if p.name == "NTLM" then found = found or p end
    end
    assert.are.equal("builtin", found.backend)
    assert.are.equal(2888, found.max_token)
    local cred = assert(sspi.credential { package = "NTLM", username = "DOM\\alice", password = "x" })
    local c = sspi.context(cred)
    assert(c:step_init { target = "host/localhost" })
    assert.are.equal("builtin", c:query("package_info").backend)
  end)

  it("completes with the default flags: NTLMv2, MIC, VERSION, KEY_EXCH, 128-bit", function()
    local c, s, t = handshake(client(), server())
    assert.is_not_nil(c, s)
    local nflags = le32(t.negotiate, 12)
    assert.are_not.equal(0, nflags & 0x02000000) -- VERSION
    assert.are_not.equal(0, nflags & 0x00080000) -- ESS
    assert.are_not.equal(0, nflags & 0x40000000) -- KEY_EXCH
    assert.are_not.equal(0, nflags & 0x20000000) -- 128
    assert.is_true(le16(t.authenticate, 20) > 24, "an NTLMv2 response")
    local lowest = math.huge
    for _, at in ipairs { 12, 20, 28, 36, 44, 52 } do
      if le16(t.authenticate, at) > 0 then lowest = math.min(lowest, le32(t.authenticate, at + 4)) end
    end
    assert.are.equal(88, lowest, "the header has room for VERSION and the MIC")
    assert.are_not.equal(("\0"):rep(16), t.authenticate:sub(73, 88), "a MIC is sent")
    assert.are.equal(("\0"):rep(24), t.authenticate:sub(le32(t.authenticate, 16) + 1, le32(t.authenticate, 16) + 24),
                     "LMv2 zeroed when a MIC is sent")
    assert.are.equal("DOM\\alice", s:query("names").user)
    assert.are.equal("DOM\\alice", c:query("names").user)
    local ckey, ktype = c:query("session_key")
    assert.are.equal(16, #ckey)
    assert.are.equal(0, ktype)
    assert.are.equal(ckey, (s:query("session_key")))
    local sizes = c:query("sizes")
    assert.are.same({ 2888, 16, 0, 16 },
                    { sizes.max_token, sizes.max_signature, sizes.block_size, sizes.security_trailer })
    assert.are_not.equal(0, t.cflags & sspi.ISC_RET_CONFIDENTIALITY)
    assert.are_not.equal(0, t.sflags & sspi.ASC_RET_CONFIDENTIALITY)
    assert.are_not.equal(0, t.sflags & sspi.ASC_RET_INTEGRITY)
    round_trips(c, s)
  end)

  describe("LM_COMPAT_LEVEL", function()
    for cl = 0, 5 do
      for sl = 0, 5 do
        local should = not (cl <= 2 and sl == 5)
        it(("client %d, server %d %s"):format(cl, sl, should and "succeeds" or "fails"), function()
          local c, s, t = handshake(client { lm_compat_level = cl }, server { lm_compat_level = sl })
          if not should then
            assert.is_nil(c)
            assert.are.equal("SEC_E_LOGON_DENIED", t)
            return
          end
          assert.is_not_nil(c, tostring(s))
          local ntlen = le16(t.authenticate, 20)
          local lm_at = le32(t.authenticate, 16)
          local lm = t.authenticate:sub(lm_at + 1, lm_at + le16(t.authenticate, 12))
          local nt = t.authenticate:sub(le32(t.authenticate, 24) + 1, le32(t.authenticate, 24) + ntlen)
          local ess = le32(t.authenticate, 60) & 0x00080000 ~= 0
          if cl >= 3 then
            assert.is_true(ntlen > 24)
          else
            assert.are.equal(24, ntlen)
            assert.are.equal(cl >= 1, ess)
            if ess then
              assert.are.equal(("\0"):rep(16), lm:sub(9), "ESS: client challenge then Z(16)")
            else
              assert.are_not.equal(nt, lm, "level 0 sends a real LM response")
            end
          end
          round_trips(c, s)
        end)
      end
    end

    it("comes from the LM_COMPAT_LEVEL environment variable when no option is given", function()
      local env = require "sspi_testenv"
      env.setenv("LM_COMPAT_LEVEL", "2")
      local ok, c, _, t = pcall(function() return handshake(client(), server()) end)
      env.setenv("LM_COMPAT_LEVEL", nil)
      assert(ok, c)
      assert.are.equal(24, le16(t.authenticate, 20))
      assert.is_not_nil(c)
    end)

    it("refuses a level outside 0..5", function()
      assert.has_error(function()
        sspi.credential { package = "NTLM", username = "a", password = "b", lm_compat_level = 6 }
      end)
    end)
  end)

  describe("channel bindings", function()
    local cb = sspi.channel_bindings { application_data = "tls-server-end-point:" .. ("\1"):rep(32) }
    local other = sspi.channel_bindings { application_data = "tls-server-end-point:" .. ("\2"):rep(32) }

    it("succeed when equal", function()
      local c, s = handshake(client(), server(), { ccb = cb, scb = cb })
      assert.is_not_nil(c, tostring(s))
      round_trips(c, s)
    end)

    it("fail with SEC_E_BAD_BINDINGS when different", function()
      local c, _, st = handshake(client(), server(), { ccb = cb, scb = other })
      assert.is_nil(c)
      assert.are.equal("SEC_E_BAD_BINDINGS", st)
    end)

    it("fail with SEC_E_BAD_BINDINGS when the client sends none", function()
      local c, _, st = handshake(client(), server(), { scb = cb })
      assert.is_nil(c)
      assert.are.equal("SEC_E_BAD_BINDINGS", st)
    end)

    it("may be missing with ASC_REQ_ALLOW_MISSING_BINDINGS", function()
      local c, s = handshake(client(), server(), { scb = cb, asc = sspi.ASC_REQ_ALLOW_MISSING_BINDINGS })
      assert.is_not_nil(c, tostring(s))
    end)

    it("are ignored by a server that binds to no channel", function()
      local c, s = handshake(client(), server(), { ccb = cb })
      assert.is_not_nil(c, tostring(s))
    end)
  end)

  describe("anonymous (MS-NLMP 3.1.5.1.2)", function()
    it("with an empty user name, accepted under ASC_REQ_ALLOW_NULL_SESSION", function()
      local c, s, t = handshake(client { username = "" }, server(), { asc = sspi.ASC_REQ_ALLOW_NULL_SESSION })
      assert.is_not_nil(c, tostring(s))
      assert.are.equal(0, le16(t.authenticate, 20), "no NT response")
      assert.are.equal(1, le16(t.authenticate, 12), "LM response Z(1)")
      assert.are_not.equal(0, t.cflags & sspi.ISC_RET_NULL_SESSION)
      assert.are_not.equal(0, t.sflags & sspi.ASC_RET_NULL_SESSION)
      assert.are.equal("NT AUTHORITY\\ANONYMOUS LOGON", s:query("names").user)
      round_trips(c, s)
    end)

    it("with ISC_REQ_NULL_SESSION on a credential that has a user", function()
      local c, s = handshake(client(), server(), { req = REQ | sspi.ISC_REQ_NULL_SESSION,
                                                   asc = sspi.ASC_REQ_ALLOW_NULL_SESSION })
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("NT AUTHORITY\\ANONYMOUS LOGON", s:query("names").user)
    end)

    it("refused with SEC_E_LOGON_DENIED without ASC_REQ_ALLOW_NULL_SESSION", function()
      local c, err, st = handshake(client { username = "" }, server())
      assert.is_nil(c)
      assert.are.equal("SEC_E_LOGON_DENIED", st)
      assert.matches("anonymous", tostring(err))
    end)
  end)

  describe("credentials", function()
    it("an NT hash instead of a password", function()
      local c, s = handshake(client { username = "Domain\\User", nt_hash = MS_NT_HASH }, server())
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("Domain\\User", s:query("names").user)
    end)

    it("a password outside the BMP", function()
      local c, s = handshake(client { username = "DOM\\bob", password = KEY }, server())
      assert.is_not_nil(c, tostring(s))
      local c2, _, st = handshake(client { username = "DOM\\bob", password = "p\u{1F512}ss-w\u{00F6}rd" }, server())
      assert.is_nil(c2)
      assert.are.equal("SEC_E_LOGON_DENIED", st)
    end)

    it("a password containing colons from a user file", function()
      local c, s = handshake(client { username = "DOM\\colon", password = "pass:with:colons" }, server())
      assert.is_not_nil(c, tostring(s))
    end)

    it("an smbpasswd line in the user file", function()
      local c, s = handshake(client { username = "carol", password = MS_PASSWORD }, server())
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("carol", s:query("names").user)
    end)

    it("a UPN, sent whole with an empty domain", function()
      local upn_file = users.dir .. "/upn"
      write(upn_file, ":dave@example.test:upn-pass\n")
      local c, s = handshake(client { username = "dave@example.test", password = "upn-pass" },
                             server { user_file = upn_file })
      os.remove(upn_file)
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("dave@example.test", s:query("names").user)
    end)

    it("the first entry of the user file when no username is given", function()
      local cred = assert(sspi.credential { package = "NTLM", backend = "builtin", user_file = users.path })
      local c, s = handshake(cred, server())
      assert.is_not_nil(c, tostring(s))
    end)

    it("the matching user file entry when only a username is given", function()
      local cred = assert(sspi.credential { package = "NTLM", username = "Domain\\User", user_file = users.path })
      local c, s = handshake(cred, server())
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("Domain\\User", s:query("names").user)
    end)

    it("user names match case-insensitively on the server", function()
      local c, s = handshake(client { username = "dom\\ALICE", password = "Secret-1" }, server())
      assert.is_not_nil(c, tostring(s))
    end)

    it("fail to acquire without any identity (SEC_E_NO_CREDENTIALS)", function()
      local env = require "sspi_testenv"
      env.setenv("NTLM_USER_FILE", nil)
      local cred, _, st = sspi.credential { package = "NTLM", backend = "builtin" }
      assert.is_nil(cred)
      assert.are.equal("SEC_E_NO_CREDENTIALS", st)
      cred, _, st = sspi.credential { package = "NTLM", backend = "builtin", username = "DOM\\nobody",
                                      user_file = users.path }
      assert.is_nil(cred)
      assert.are.equal("SEC_E_NO_CREDENTIALS", st)
    end)

    it("fail to acquire with an unreadable or malformed user file", function()
      local cred, err, st = sspi.credential { package = "NTLM", backend = "builtin", usage = "inbound",
                                              user_file = users.dir .. "/missing" }
      assert.is_nil(cred)
      assert.are.equal("SEC_E_NO_CREDENTIALS", st)
      assert.matches("missing", tostring(err))
      local bad = users.dir .. "/bad"
      write(bad, "no colons here\n")
      cred, err, st = sspi.credential { package = "NTLM", backend = "builtin", usage = "inbound", user_file = bad }
      os.remove(bad)
      assert.is_nil(cred)
      assert.are.equal("SEC_E_NO_CREDENTIALS", st)
      assert.matches("line 1", tostring(err))
    end)
  end)

  describe("the lookup function", function()
    it("authenticates against the host's user store", function()
      local calls = {}
      local scred = server { lookup = function(user, domain)
        calls[#calls + 1] = domain .. "\\" .. user
        if user == "User" then return MS_NT_HASH end
      end }
      local c, s = handshake(client { username = "Domain\\User", password = MS_PASSWORD }, scred)
      assert.is_not_nil(c, tostring(s))
      assert.are.same({ "Domain\\User" }, calls)
      round_trips(c, s)
    end)

    it("returning nil makes the user unknown (SEC_E_LOGON_DENIED)", function()
      local scred = server { lookup = function() return nil end }
      local c, err, st = handshake(client(), scred)
      assert.is_nil(c)
      assert.are.equal("SEC_E_LOGON_DENIED", st)
      assert.matches("unknown user DOM\\alice", tostring(err), 1, true)
    end)

    it("raising an error fails the step with the error's text", function()
      local scred = server { lookup = function() error("user store is down") end }
      local c, err = handshake(client(), scred)
      assert.is_nil(c)
      assert.matches("user store is down", tostring(err), 1, true)
    end)
  end)

  describe("session security", function()
    it("seals SecBuffer lists in place with READONLY data signed, not sealed", function()
      local c, s = handshake(client(), server())
      local data = sspi.buffer(sspi.SECBUFFER_DATA, "secret part")
      local header = sspi.buffer(sspi.SECBUFFER_DATA | sspi.SECBUFFER_READONLY_WITH_CHECKSUM, "header")
      local list = assert(c:encrypt_message { header, data, { sspi.SECBUFFER_TOKEN, 16 } })
      assert.are.equal(16, #list[3])
      assert.are.equal("header", header:data())
      assert.are_not.equal("secret part", data:data())
      assert(s:decrypt_message { header, data, list[3] })
      assert.are.equal("secret part", data:data())
      -- the read-only part is covered by the signature
      local d2 = sspi.buffer(sspi.SECBUFFER_DATA, "more")
      local h2 = sspi.buffer(sspi.SECBUFFER_DATA | sspi.SECBUFFER_READONLY, "head")
      local l2 = assert(c:encrypt_message { h2, d2, { sspi.SECBUFFER_TOKEN, 16 } })
      h2:set("hexd")
      local ok, _, st = s:decrypt_message { h2, d2, l2[3] }
      assert.is_nil(ok)
      assert.are.equal("SEC_E_MESSAGE_ALTERED", st)
    end)

    it("makes and verifies signatures on lists both ways", function()
      local c, s = handshake(client(), server())
      local l = assert(c:make_signature { "a", "b", { sspi.SECBUFFER_TOKEN, 16 } })
      assert(s:verify_signature { "a", "b", l[3] })
      local l2 = assert(s:make_signature { "c", { sspi.SECBUFFER_TOKEN, 16 } })
      assert(c:verify_signature { "c", l2[2] })
    end)

    it("a signature and a wrap cross the two API forms", function()
      local c, s = handshake(client(), server())
      local mic = assert(c:sign("same bytes"))
      assert(s:verify_signature { "same bytes", sspi.buffer(sspi.SECBUFFER_TOKEN, mic) })
      local w = assert(c:wrap("sealed bytes"))
      local data = sspi.buffer(sspi.SECBUFFER_DATA, w:sub(17))
      assert(s:decrypt_message { sspi.buffer(sspi.SECBUFFER_TOKEN, w:sub(1, 16)), data })
      assert.are.equal("sealed bytes", data:data())
    end)

    it("wraps sign-only when SEAL was not negotiated", function()
      local c, s = handshake(client(), server(), { req = sspi.ISC_REQ_INTEGRITY })
      local w = assert(c:wrap("clear text"))
      assert.are.equal("clear text", w:sub(17))
      local got, encrypted = assert(s:unwrap(w))
      assert.are.equal("clear text", got)
      assert.is_false(encrypted)
      local l = assert(c:encrypt_message({ "x", { sspi.SECBUFFER_TOKEN, 16 } }, sspi.SECQOP_WRAP_NO_ENCRYPT))
      assert.are.equal("x", l[1]:data())
      local _, qop = assert(s:decrypt_message { l[1], l[2] })
      assert.are.equal(sspi.SECQOP_WRAP_NO_ENCRYPT, qop)
    end)

    it("gives ALWAYS_SIGN's dummy signature when neither SIGN nor SEAL was negotiated", function()
      local c, s = handshake(client(), server(), { req = 0 })
      local mic = assert(c:sign("anything"))
      assert.are.equal("\1" .. ("\0"):rep(15), mic)
      assert.is_true(s:verify("other", mic))
      local ok, _, st = s:verify("other", "\2" .. ("\0"):rep(15))
      assert.is_nil(ok)
      assert.are.equal("SEC_E_MESSAGE_ALTERED", st)
      ok, _, st = c:wrap("x")
      assert.is_nil(ok)
      assert.are.equal("SEC_E_UNSUPPORTED_FUNCTION", st)
    end)

    it("keeps session state per context", function()
      local c1, s1 = handshake(client(), server())
      local c2, s2 = handshake(client(), server())
      local w1, w2 = c1:wrap("one"), c2:wrap("two")
      assert.are.equal("two", (s2:unwrap(w2)))
      assert.are.equal("one", (s1:unwrap(w1)))
      local ok, _, st = s1:unwrap(c2:wrap("cross"))
      assert.is_nil(ok)
      assert.is_truthy(st == "SEC_E_MESSAGE_ALTERED" or st == "SEC_E_OUT_OF_SEQUENCE")
    end)
  end)
end)
