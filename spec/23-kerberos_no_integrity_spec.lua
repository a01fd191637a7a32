-- ISC_REQ_NO_INTEGRITY (LDAP over TLS) and ISC_REQ_USE_SESSION_KEY through
-- the system GSSAPI: the first is honoured (MIT's GSS_KRB5_CRED_NO_CI_FLAGS_X
-- on a credential handle of the context's own), the second refused.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function cred(package, usage)
  return assert(sspi.credential{ package = package, backend = "gssapi", usage = usage })
end

local function run(package, req, client_cred, server_cred)
  local client = sspi.context(client_cred or cred(package, "outbound"))
  local server = sspi.context(server_cred or cred(package, "inbound"))
  local c, s, cres, sres = pair.run(client, server, { target = "host/localhost", req = req })
  assert(c, s)
  return client, server, cres, sres
end

local NO_INTEG = { "MUTUAL_AUTH", "INTEGRITY", "NO_INTEGRITY" }
local WITH_INTEG = { "MUTUAL_AUTH", "INTEGRITY", "CONFIDENTIALITY" }

describe("Kerberos (gssapi) request flags GSSAPI has to be told about", function()
  setup(function() realm.start() end)

  for _, package in ipairs{ "Kerberos", "Negotiate" } do
    describe(package .. " with ISC_REQ_NO_INTEGRITY", function()
      local client, server, cres, sres
      setup(function()
        client, server, cres, sres = run(package, NO_INTEG)
      end)

      it("completes and says on both sides that there is no integrity", function()
        assert.equal("Ok", cres.result)
        assert.equal("Ok", sres.result)
        local cflags = set_of(sspi.flag_names(cres.flags, "ISC_RET"))
        assert.is_true(cflags.ISC_RET_MUTUAL_AUTH)
        assert.is_nil(cflags.ISC_RET_INTEGRITY)
        assert.is_nil(cflags.ISC_RET_CONFIDENTIALITY)
        local sflags = set_of(sspi.flag_names(server:query("flags"), "ASC_RET"))
        assert.is_true(sflags.ASC_RET_MUTUAL_AUTH)
        assert.is_nil(sflags.ASC_RET_INTEGRITY)
        assert.is_nil(sflags.ASC_RET_CONFIDENTIALITY)
      end)

      it("refuses the initiator's message protection with a clear status", function()
        for _, call in ipairs{
          function() return client:wrap("x") end,
          function() return client:wrap("x", { encrypt = false }) end,
          function() return client:sign("x") end,
          function() return client:encrypt_message{ sspi.buffer(sspi.SECBUFFER_TOKEN, 128),
            sspi.buffer(sspi.SECBUFFER_DATA, "x") } end,
          function() return client:make_signature{ sspi.buffer(sspi.SECBUFFER_DATA, "x"),
            sspi.buffer(sspi.SECBUFFER_TOKEN, 128) } end,
        } do
          local out, err, status = call()
          assert.is_nil(out)
          assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
          assert.matches("NO_INTEGRITY", tostring(err))
        end
      end)

      it("still names the client on the acceptor", function()
        assert.equal(realm.current().user, server:query("names").user)
      end)
    end)
  end

  it("keeps integrity where it is asked, so the acceptor sees the difference", function()
    local client, server, cres, sres = run("Kerberos", WITH_INTEG)
    assert.is_true(set_of(sspi.flag_names(cres.flags, "ISC_RET")).ISC_RET_INTEGRITY)
    assert.is_true(set_of(sspi.flag_names(sres.flags, "ASC_RET")).ASC_RET_INTEGRITY)
    assert.equal("x", server:unwrap(client:wrap("x")))
  end)

  it("gives two contexts on one credential their own answer, interleaved", function()
    local shared = cred("Kerberos", "outbound")
    local a = sspi.context(shared)
    local b = sspi.context(shared)
    local sa = sspi.context(cred("Kerberos", "inbound"))
    local sb = sspi.context(cred("Kerberos", "inbound"))
    local ra = assert(a:step_init{ target = "host/localhost", context_req = NO_INTEG })
    local rb = assert(b:step_init{ target = "host/localhost", context_req = WITH_INTEG })
    local sra = assert(sa:step_accept{ input = ra.token })
    local srb = assert(sb:step_accept{ input = rb.token })
    assert(a:step_init{ target = "host/localhost", context_req = NO_INTEG, input = sra.token })
    assert(b:step_init{ target = "host/localhost", context_req = WITH_INTEG, input = srb.token })
    assert.is_nil(set_of(sspi.flag_names(sa:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
    assert.is_true(set_of(sspi.flag_names(sb:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
    assert.equal("y", sb:unwrap(b:wrap("y")))
    -- and a third context on the same credential afterwards still has integrity
    local c, s = run("Kerberos", WITH_INTEG, shared)
    assert.is_true(set_of(sspi.flag_names(s:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
    assert.equal("z", s:unwrap(c:wrap("z")))
  end)

  it("honours NO_INTEGRITY on a password credential (a private MEMORY cache)", function()
    local r = realm.current()
    local pw = assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      username = r.user, password = r.password })
    local _, server = run("Kerberos", NO_INTEG, pw)
    assert.is_nil(set_of(sspi.flag_names(server:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
  end)

  for _, package in ipairs{ "Kerberos", "Negotiate" } do
    it(package .. " refuses ISC_REQ_USE_SESSION_KEY (user-to-user) with a status", function()
      local client = sspi.context(cred(package, "outbound"))
      local res, err, status = client:step_init{ target = "host/localhost",
        context_req = { "MUTUAL_AUTH", "USE_SESSION_KEY" } }
      assert.is_nil(res)
      assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
      assert.matches("USE_SESSION_KEY", tostring(err))
    end)
  end

  describe("built-in providers", function()
    local user_file
    setup(function()
      user_file = realm.current().dir .. "/no_integrity_users"
      local f = assert(io.open(user_file, "w"))
      f:write("TESTDOM:bob:Bob-Secret-1\n")
      f:close()
    end)

    local function builtin(package, usage, extra)
      local o = { package = package, backend = "builtin", usage = usage }
      for k, v in pairs(extra or {}) do o[k] = v end
      return assert(sspi.credential(o))
    end

    it("NTLM does not negotiate SIGN or SEAL under ISC_REQ_NO_INTEGRITY", function()
      local token = require "sspi.token"
      local client = sspi.context(builtin("NTLM", "outbound",
        { username = "TESTDOM\\bob", password = "Bob-Secret-1" }))
      local server = sspi.context(builtin("NTLM", "inbound", { user_file = user_file }))
      local first = assert(client:step_init{ target = "host/localhost",
        context_req = { "INTEGRITY", "CONFIDENTIALITY", "REPLAY_DETECT", "NO_INTEGRITY" } })
      local neg = set_of(assert(token.decode(first.token)).flag_names)
      assert.is_nil(neg.NTLMSSP_NEGOTIATE_SIGN)
      assert.is_nil(neg.NTLMSSP_NEGOTIATE_SEAL)
      client = sspi.context(builtin("NTLM", "outbound",
        { username = "TESTDOM\\bob", password = "Bob-Secret-1" }))
      local c, s, cres, sres = pair.run(client, server, { target = "host/localhost",
        req = { "INTEGRITY", "CONFIDENTIALITY", "REPLAY_DETECT", "NO_INTEGRITY" } })
      assert(c, s)
      assert.is_nil(set_of(sspi.flag_names(client:query("flags"), "ISC_RET")).ISC_RET_INTEGRITY)
      assert.is_nil(set_of(sspi.flag_names(server:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
      assert.is_nil(set_of(sspi.flag_names(server:query("flags"), "ASC_RET")).ASC_RET_CONFIDENTIALITY)
      assert.is_truthy(cres and sres)
    end)

    it("Negotiate with NTLM inside completes without SIGN under NO_INTEGRITY", function()
      local client = sspi.context(builtin("Negotiate", "outbound",
        { username = "TESTDOM\\bob", password = "Bob-Secret-1" }))
      local server = sspi.context(builtin("Negotiate", "inbound", { user_file = user_file }))
      local c, s, _, _, side = pair.run(client, server, { target = "host/localhost", req = NO_INTEG })
      assert(c, tostring(s) .. " " .. tostring(side))
      assert.equal("NTLM", server:query("negotiation_info").package.name)
      assert.is_nil(set_of(sspi.flag_names(client:query("flags"), "ISC_RET")).ISC_RET_INTEGRITY)
      assert.is_nil(set_of(sspi.flag_names(server:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
    end)

    it("Negotiate with Kerberos inside passes NO_INTEGRITY on", function()
      local client = sspi.context(builtin("Negotiate", "outbound"))
      local server = sspi.context(builtin("Negotiate", "inbound"))
      local c, s = pair.run(client, server, { target = "host/localhost", req = NO_INTEG })
      assert(c, s)
      assert.equal("Kerberos", server:query("negotiation_info").package.name)
      assert.is_nil(set_of(sspi.flag_names(client:query("flags"), "ISC_RET")).ISC_RET_INTEGRITY)
      assert.is_nil(set_of(sspi.flag_names(server:query("flags"), "ASC_RET")).ASC_RET_INTEGRITY)
      local out, _, status = client:wrap("x")
      assert.is_nil(out)
      assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
    end)
  end)
end)
