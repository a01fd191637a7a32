-- A context whose step failed is dead, in every package and backend: it
-- refuses queries (names, keys, sizes ...) and message functions with
-- SEC_E_INVALID_HANDLE, as a Windows handle is after a failed
-- InitializeSecurityContext / AcceptSecurityContext.  Built-in Negotiate
-- used to answer names and session_key from its (complete) inner context
-- after a tampered mechListMIC, and MIT's contexts from what they had.

local sspi = require "sspi"
local realm = require "helpers.realm"
local ntlm = require "helpers.ntlm"

local DOMAIN, USER, PASSWORD = "FAILDOM", "erin", "Erin-Secret-1"
local REQ = { "MUTUAL_AUTH", "INTEGRITY", "CONFIDENTIALITY" }
local QUERIES = { "names", "native_names", "session_key", "sizes", "lifespan", "flags" }

-- Flips one bit of byte i counted from the end (1 = last).
local function flip_from_end(s, i)
  local at = #s - i + 1
  return s:sub(1, at - 1) .. string.char(s:byte(at) ~ 0x01) .. s:sub(at + 1)
end

local function refuses_everything(ctx)
  assert.equal("failed", ctx:state())
  for _, what in ipairs(QUERIES) do
    local v, err, status = ctx:query(what)
    assert.is_nil(v, what .. " answered on a failed context")
    assert.equal("SEC_E_INVALID_HANDLE", status, what)
    assert.equal("SEC_E_INVALID_HANDLE", err.status, what)
  end
  local calls = {
    wrap = function() return ctx:wrap("x") end,
    unwrap = function() return ctx:unwrap(string.rep("\0", 64)) end,
    sign = function() return ctx:sign("x") end,
    verify = function() return ctx:verify("x", string.rep("\0", 16)) end,
    encrypt_message = function()
      return ctx:encrypt_message({ { sspi.SECBUFFER_TOKEN, 64 }, "x" })
    end,
    make_signature = function()
      return ctx:make_signature({ "x", { sspi.SECBUFFER_TOKEN, 64 } })
    end,
  }
  for name, call in pairs(calls) do
    local v, err, status = call()
    assert.is_nil(v, name .. " worked on a failed context")
    assert.equal("SEC_E_INVALID_HANDLE", status, name .. ": " .. tostring(err))
  end
end

describe("a failed context refuses queries and messages", function()
  local users = ntlm.users({ ("%s:%s:%s"):format(DOMAIN, USER, PASSWORD) }, { env = true })
  setup(function()
    realm.start()
    users.setup()
  end)
  teardown(users.teardown)

  local function ntlm_client(package, backend)
    return sspi.context(assert(sspi.credential{ package = package, backend = backend,
      mechs = package == "Negotiate" and { "NTLM" } or nil,
      username = DOMAIN .. "\\" .. USER, password = PASSWORD }))
  end

  local function ntlm_server(package, backend)
    return sspi.context(assert(sspi.credential{ package = package, backend = backend,
      usage = "inbound", user_file = backend == "builtin" and users.path or nil,
      mechs = package == "Negotiate" and { "NTLM" } or nil }))
  end

  for _, backend in ipairs { "builtin", "gssapi" } do
    describe("Negotiate (" .. backend .. ", NTLM inside)", function()
      it("after a tampered client mechListMIC, on the acceptor", function()
        local c, s = ntlm_client("Negotiate", backend), ntlm_server("Negotiate", backend)
        local t1 = assert(c:step_init{ target = "host/localhost", context_req = REQ }).token
        local t2 = assert(s:step_accept{ input = t1 }).token
        local t3 = assert(c:step_init{ target = "host/localhost", context_req = REQ, input = t2 })
        -- the mechListMIC is the token's last field: 16 bytes, checksum at 5..12 from the end
        local res, _, status = s:step_accept{ input = flip_from_end(t3.token, 6) }
        assert.is_nil(res)
        assert.equal("SEC_E_MESSAGE_ALTERED", status)
        refuses_everything(s)
      end)
    end)

    describe("NTLM (" .. backend .. ")", function()
      it("after a wrong password, on the acceptor", function()
        local c = sspi.context(assert(sspi.credential{ package = "NTLM", backend = backend,
          username = DOMAIN .. "\\" .. USER, password = "wrong" }))
        local s = ntlm_server("NTLM", backend)
        local t1 = assert(c:step_init{ target = "host/localhost", context_req = REQ }).token
        local t2 = assert(s:step_accept{ input = t1 }).token
        local t3 = assert(c:step_init{ target = "host/localhost", context_req = REQ, input = t2 })
        local res, _, status = s:step_accept{ input = t3.token }
        assert.is_nil(res)
        assert.equal("SEC_E_LOGON_DENIED", status)
        refuses_everything(s)
      end)
    end)
  end

  for _, package in ipairs { "Kerberos", "Negotiate" } do
    describe(package .. " (gssapi, Kerberos inside)", function()
      it("after a tampered AP-REP, on the initiator", function()
        local c = sspi.context(assert(sspi.credential{ package = package, backend = "gssapi",
          mechs = package == "Negotiate" and { "Kerberos" } or nil }))
        local s = sspi.context(assert(sspi.credential{ package = package, backend = "gssapi",
          usage = "inbound" }))
        local t1 = assert(c:step_init{ target = "HTTP/localhost", context_req = REQ }).token
        local t2 = assert(s:step_accept{ input = t1 }).token
        local res, _, status = c:step_init{ target = "HTTP/localhost", context_req = REQ,
          input = flip_from_end(t2, 3) }
        assert.is_nil(res)
        assert.is_string(status)
        refuses_everything(c)
      end)
    end)
  end

  describe("Negotiate (builtin, Kerberos inside)", function()
    it("after a tampered AP-REP, on the initiator", function()
      local c = sspi.context(assert(sspi.credential{ package = "Negotiate",
        mechs = { "Kerberos" } }))
      local s = sspi.context(assert(sspi.credential{ package = "Negotiate", usage = "inbound" }))
      local t1 = assert(c:step_init{ target = "HTTP/localhost", context_req = REQ }).token
      local t2 = assert(s:step_accept{ input = t1 }).token
      local res, _, status = c:step_init{ target = "HTTP/localhost", context_req = REQ,
        input = flip_from_end(t2, 3) }
      assert.is_nil(res)
      assert.is_string(status)
      refuses_everything(c)
    end)
  end)
end)
