-- The built-in NTLM provider's refusals, each with its status: wrong
-- password, unknown user, tampered MIC, flags and NT response, stale
-- timestamp, bindings mismatch, altered, replayed and reordered messages,
-- and truncated or oversized tokens at every step.

local sspi = require "sspi"
local socket = require "socket"
local ntlm = require "helpers.ntlm"

local REQ, TARGET = ntlm.REQ, ntlm.TARGET


local function le16(s, at) return s:byte(at + 1) | (s:byte(at + 2) << 8) end
local function le32(s, at) return le16(s, at) | (le16(s, at + 2) << 16) end

-- s with the byte at 0-based offset `at` XORed with 1
local function flip(s, at)
  return s:sub(1, at) .. string.char(s:byte(at + 1) ~ 1) .. s:sub(at + 2)
end

local function client(username, password)
  return assert(sspi.credential { package = "NTLM", backend = "builtin",
                                  username = username or "DOM\\alice", password = password or "Secret-1" })
end

local users = ntlm.users { "DOM:alice:Secret-1" }
setup(users.setup)
teardown(users.teardown)

local function server(opts) return ntlm.server(opts, users.path) end

-- A client context that has sent its NEGOTIATE, and the server context
-- that answered it: returns c, s, negotiate, challenge.
local function two_legs(ccred, scred)
  local c, s = sspi.context(ccred or client()), sspi.context(scred or server())
  local r1 = assert(c:step_init { target = TARGET, context_req = REQ })
  local r2 = assert(s:step_accept { input = r1.token })
  return c, s, r1.token, r2.token
end

local function authenticate(c, challenge)
  return assert(c:step_init { target = TARGET, context_req = REQ, input = challenge }).token
end

local function established()
  local c, s, _, ch = two_legs()
  assert(s:step_accept { input = authenticate(c, ch) })
  return c, s
end

local function fails(status, ok, err, st)
  assert.is_nil(ok, "expected " .. status)
  assert.are.equal(status, st, tostring(err))
  assert.are.equal(status, err.status)
  return err
end


describe("NTLM built-in refuses", function()
  it("a wrong password with SEC_E_LOGON_DENIED", function()
    local c, s, _, ch = two_legs(client("DOM\\alice", "wrong"))
    local err = fails("SEC_E_LOGON_DENIED", s:step_accept { input = authenticate(c, ch) })
    assert.matches("wrong password", err.message)
  end)

  it("a wrong password over NTLMv1 with SEC_E_LOGON_DENIED", function()
    local cred = assert(sspi.credential { package = "NTLM", backend = "builtin", username = "DOM\\alice",
                                          password = "wrong", lm_compat_level = 1 })
    local c, s, _, ch = two_legs(cred)
    fails("SEC_E_LOGON_DENIED", s:step_accept { input = authenticate(c, ch) })
  end)

  it("an unknown user with SEC_E_LOGON_DENIED saying so", function()
    local c, s, _, ch = two_legs(client("DOM\\mallory", "Secret-1"))
    local err = fails("SEC_E_LOGON_DENIED", s:step_accept { input = authenticate(c, ch) })
    assert.matches("unknown user DOM\\mallory", err.message, 1, true)
  end)

  it("a tampered MIC with SEC_E_MESSAGE_ALTERED", function()
    local c, s, _, ch = two_legs()
    local auth = authenticate(c, ch)
    fails("SEC_E_MESSAGE_ALTERED", s:step_accept { input = flip(auth, 72 + 5) })
  end)

  it("tampered flags (covered by the MIC) with SEC_E_MESSAGE_ALTERED", function()
    local c, s, _, ch = two_legs()
    local auth = authenticate(c, ch)
    fails("SEC_E_MESSAGE_ALTERED", s:step_accept { input = flip(auth, 60 + 2) }) -- IDENTIFY bit
  end)

  it("a tampered NT proof or client blob with SEC_E_LOGON_DENIED", function()
    for _, delta in ipairs { 0, 15, 16 + 8, 16 + 30 } do
      local c, s, _, ch = two_legs()
      local auth = authenticate(c, ch)
      local nt_at = le32(auth, 24)
      fails("SEC_E_LOGON_DENIED", s:step_accept { input = flip(auth, nt_at + delta) })
    end
  end)

  it("a tampered challenge (the client answers, the server's MIC check fails)", function()
    local c, s, _, ch = two_legs()
    -- a byte of the target name: the NT proof still verifies, the MIC does not
    local auth = authenticate(c, flip(ch, le32(ch, 16)))
    fails("SEC_E_MESSAGE_ALTERED", s:step_accept { input = auth })
  end)

  it("a stale timestamp with SEC_E_TIME_SKEW", function()
    local c, s, _, ch = two_legs(nil, server { timestamp_window = 1 })
    socket.sleep(2.2)
    local err = fails("SEC_E_TIME_SKEW", s:step_accept { input = authenticate(c, ch) })
    assert.matches("window 1 s", err.message, 1, true)
  end)

  it("an AUTHENTICATE replayed to a new server context with SEC_E_LOGON_DENIED", function()
    local c, s, _, ch = two_legs()
    local auth = authenticate(c, ch)
    assert(s:step_accept { input = auth })
    local c2, s2 = two_legs()
    assert.is_not_nil(c2)
    fails("SEC_E_LOGON_DENIED", s2:step_accept { input = auth })
  end)

  it("mismatched channel bindings with SEC_E_BAD_BINDINGS", function()
    local c, s = sspi.context(client()), sspi.context(server())
    local a = sspi.channel_bindings { application_data = "tls-server-end-point:A" }
    local b = sspi.channel_bindings { application_data = "tls-server-end-point:B" }
    local r1 = assert(c:step_init { target = TARGET, context_req = REQ, input = { a } })
    local r2 = assert(s:step_accept { input = { sspi.buffer(sspi.SECBUFFER_TOKEN, r1.token), b } })
    local r3 = assert(c:step_init { target = TARGET, context_req = REQ,
                                    input = { sspi.buffer(sspi.SECBUFFER_TOKEN, r2.token), a } })
    fails("SEC_E_BAD_BINDINGS", s:step_accept { input = { sspi.buffer(sspi.SECBUFFER_TOKEN, r3.token), b } })
  end)

  it("malformed channel bindings with SEC_E_INVALID_TOKEN", function()
    local c = sspi.context(client())
    local bad = sspi.buffer(sspi.SECBUFFER_CHANNEL_BINDINGS, ("\255"):rep(32))
    local r1 = assert(c:step_init { target = TARGET, context_req = REQ })
    local _, _, ch = two_legs()
    assert.is_not_nil(r1)
    fails("SEC_E_INVALID_TOKEN", c:step_init { target = TARGET, context_req = REQ,
                                               input = { sspi.buffer(sspi.SECBUFFER_TOKEN, ch), bad } })
  end)

  describe("messages", function()
    it("altered sealed data with SEC_E_MESSAGE_ALTERED", function()
      local c, s = established()
      local w = c:wrap("some sealed text")
      fails("SEC_E_MESSAGE_ALTERED", s:unwrap(flip(w, 20)))
    end)

    it("an altered signature with SEC_E_MESSAGE_ALTERED", function()
      local c, s = established()
      fails("SEC_E_MESSAGE_ALTERED", s:unwrap(flip(c:wrap("text"), 6)))
      local c2, s2 = established()
      fails("SEC_E_MESSAGE_ALTERED", s2:verify("data", flip(c2:sign("data"), 4)))
      local c3, s3 = established()
      fails("SEC_E_MESSAGE_ALTERED", s3:verify("datA", c3:sign("data")))
    end)

    it("a replayed message with SEC_E_OUT_OF_SEQUENCE", function()
      local c, s = established()
      local w = c:wrap("once")
      assert.are.equal("once", (s:unwrap(w)))
      fails("SEC_E_OUT_OF_SEQUENCE", s:unwrap(w))
      -- the refusal moved no state: the next message still verifies
      assert.are.equal("twice", (s:unwrap(c:wrap("twice"))))
    end)

    it("a reordered message with SEC_E_OUT_OF_SEQUENCE", function()
      local c, s = established()
      local _, second = c:wrap("first"), c:wrap("second")
      fails("SEC_E_OUT_OF_SEQUENCE", s:unwrap(second))
      local mic1, mic2 = c:sign("a"), c:sign("b")
      assert.is_not_nil(mic1)
      fails("SEC_E_OUT_OF_SEQUENCE", s:verify("b", mic2))
    end)

    it("a message reflected back to its sender", function()
      local c = established()
      local ok, _, st = c:unwrap(c:wrap("mirror"))
      assert.is_nil(ok)
      assert.is_truthy(st == "SEC_E_MESSAGE_ALTERED", st)
    end)

    it("short messages and signatures with SEC_E_INVALID_TOKEN", function()
      local c, s = established()
      assert.is_not_nil(c)
      fails("SEC_E_INVALID_TOKEN", s:unwrap(("\1"):rep(15)))
      fails("SEC_E_INVALID_TOKEN", s:verify("x", ("\1"):rep(15)))
      fails("SEC_E_INVALID_TOKEN", s:verify("x", ("\1"):rep(17)))
      fails("SEC_E_INVALID_TOKEN", s:decrypt_message { "x", sspi.buffer(sspi.SECBUFFER_TOKEN, "short") })
      fails("SEC_E_INVALID_TOKEN", s:decrypt_message { "x" })
    end)

    it("a too small signature buffer with SEC_E_BUFFER_TOO_SMALL", function()
      local c = established()
      fails("SEC_E_BUFFER_TOO_SMALL", c:encrypt_message { "x", { sspi.SECBUFFER_TOKEN, 8 } })
    end)

    it("an unsupported quality of protection with SEC_E_QOP_NOT_SUPPORTED", function()
      local c = established()
      fails("SEC_E_QOP_NOT_SUPPORTED", c:encrypt_message({ "x", { sspi.SECBUFFER_TOKEN, 16 } }, 7))
      fails("SEC_E_QOP_NOT_SUPPORTED", c:encrypt_message({ "x", { sspi.SECBUFFER_TOKEN, 16 } },
                                                         sspi.SECQOP_WRAP_NO_ENCRYPT))
      fails("SEC_E_QOP_NOT_SUPPORTED", c:make_signature({ "x", { sspi.SECBUFFER_TOKEN, 16 } }, 1))
    end)
  end)

  describe("malformed tokens with SEC_E_INVALID_TOKEN", function()
    it("every truncation of the NEGOTIATE", function()
      local _, _, neg = two_legs()
      for n = 1, #neg - 1 do
        local s = sspi.context(server())
        fails("SEC_E_INVALID_TOKEN", s:step_accept { input = neg:sub(1, n) })
      end
    end)

    it("every truncation of the CHALLENGE", function()
      local _, _, _, ch = two_legs()
      for n = 1, #ch - 1 do
        local c = sspi.context(client())
        assert(c:step_init { target = TARGET, context_req = REQ })
        fails("SEC_E_INVALID_TOKEN", c:step_init { target = TARGET, context_req = REQ, input = ch:sub(1, n) })
      end
    end)

    it("every truncation of the AUTHENTICATE", function()
      local c, _, _, ch = two_legs()
      local auth = authenticate(c, ch)
      for n = 1, #auth - 1 do
        local c2, s2, _, ch2 = two_legs()
        assert.is_not_nil(c2, ch2)
        fails("SEC_E_INVALID_TOKEN", s2:step_accept { input = auth:sub(1, n) })
      end
    end)

    it("oversized tokens at every step", function()
      local c, s, neg, ch = two_legs()
      local pad = ("\0"):rep(3000)
      fails("SEC_E_INVALID_TOKEN", sspi.context(server()):step_accept { input = neg .. pad })
      fails("SEC_E_INVALID_TOKEN", c:step_init { target = TARGET, context_req = REQ, input = ch .. pad })
      local c2, s2, _, ch2 = two_legs()
      assert.is_not_nil(s)
      fails("SEC_E_INVALID_TOKEN", s2:step_accept { input = authenticate(c2, ch2) .. pad })
    end)

    it("a wrong signature or message type at every step", function()
      local c, s, neg, ch = two_legs()
      fails("SEC_E_INVALID_TOKEN", sspi.context(server()):step_accept { input = flip(neg, 0) })
      fails("SEC_E_INVALID_TOKEN", sspi.context(server()):step_accept { input = flip(neg, 8) })
      fails("SEC_E_INVALID_TOKEN", c:step_init { target = TARGET, context_req = REQ, input = neg })
      local c2, s2, _, ch2 = two_legs()
      fails("SEC_E_INVALID_TOKEN", s2:step_accept { input = ch2 })
      assert.is_not_nil(s, c2, ch)
    end)

    it("a field pointing outside the message", function()
      local c, s, _, ch = two_legs()
      local auth = authenticate(c, ch)
      -- the NT response's offset past the end
      local bad = auth:sub(1, 24) .. string.pack("<I4", #auth) .. auth:sub(29)
      fails("SEC_E_INVALID_TOKEN", s:step_accept { input = bad })
      -- a CHALLENGE target info field pointing into the header
      local c2 = sspi.context(client())
      assert(c2:step_init { target = TARGET, context_req = REQ })
      local bad_ch = ch:sub(1, 44) .. string.pack("<I4", 8) .. ch:sub(49)
      fails("SEC_E_INVALID_TOKEN", c2:step_init { target = TARGET, context_req = REQ, input = bad_ch })
    end)

    it("an NT response of an impossible length", function()
      local c, s, _, ch = two_legs()
      local auth = authenticate(c, ch)
      local bad = auth:sub(1, 20) .. string.pack("<I2I2", 30, 30) .. auth:sub(25)
      fails("SEC_E_INVALID_TOKEN", s:step_accept { input = bad })
    end)

    it("an initiator's first step with an input token", function()
      local c = sspi.context(client())
      fails("SEC_E_INVALID_TOKEN", c:step_init { target = TARGET, input = "NTLMSSP\0" })
    end)

    it("a failed context refuses further steps", function()
      local c, s, _, ch = two_legs(client("DOM\\alice", "wrong"))
      fails("SEC_E_LOGON_DENIED", s:step_accept { input = authenticate(c, ch) })
      fails("SEC_E_INVALID_HANDLE", s:step_accept { input = "anything" })
    end)
  end)
end)
