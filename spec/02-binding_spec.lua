-- The Lua binding's contract: argument errors that name the argument,
-- closed objects, credential options, error objects, and the coercions of
-- step inputs/outputs and context_req, with Kerberos in a throwaway realm
-- as the real peer for everything that needs a handshake.
local sspi = require "sspi"
local realm = require "helpers.realm"

-- Runs fn, which must raise; the message must contain `text` (plain).
local function raises(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert.is_truthy(err:find(text, 1, true), ("expected %q in %q"):format(text, err))
end

-- Checks the nil, err, status shape of a security failure.
local function fails(status, res, err, st)
  assert.is_nil(res)
  assert.are.equal("sspi.error", getmetatable(err).__name)
  assert.are.equal(status, err.status)
  assert.are.equal(status, st)
  assert.are.equal(sspi[status], err.code)
  assert.are.equal("string", type(err.message))
  assert.is_true(#err.message > 0)
  assert.are.equal(status .. ": " .. err.message, tostring(err))
end

describe("the module", function()
  it("is sspi.core with the pure-Lua layer reachable as fields", function()
    assert.are.equal(require "sspi.core", sspi)
    assert.are.equal(require "sspi.handshake", sspi.handshake)
    assert.is_nil(sspi.no_such_thing)
  end)

  it("lists packages with their SecPkgInfo fields", function()
    local list = sspi.packages()
    assert.is_true(#list >= 1)
    local names = {}
    for _, p in ipairs(list) do
      assert.are.equal("string", type(p.name))
      assert.are.equal("string", type(p.comment))
      assert.is_truthy(p.backend == "gssapi" or p.backend == "builtin", p.backend)
      assert.are.equal("integer", math.type(p.capabilities))
      assert.are.equal("integer", math.type(p.version))
      assert.are.equal("integer", math.type(p.rpcid))
      assert.is_true(p.max_token > 0)
      names[p.name] = true
    end
    assert.is_true(names.Kerberos, "Kerberos is missing from sspi.packages()")
  end)
end)

describe("sspi.credential options", function()
  it("raises on a non-table, an unknown key or a missing package", function()
    raises("bad argument #1 to", sspi.credential, "Kerberos")
    raises("table expected", sspi.credential, "Kerberos")
    raises("unknown option 'pasword'", sspi.credential, { package = "NTLM", pasword = "x" })
    raises("bad option 'package' (required)", sspi.credential, { usage = "outbound" })
    raises("options take string keys, got a number key", sspi.credential, { "Kerberos" })
  end)

  it("raises on a wrong type, naming the key", function()
    raises("bad option 'password' (string expected, got number)", sspi.credential,
      { package = "NTLM", password = 5 })
    raises("bad option 'package' (string expected, got boolean)", sspi.credential, { package = true })
    raises("bad option 'usage' (string expected, got number)", sspi.credential,
      { package = "NTLM", usage = 2 })
    raises("bad option 'usage' (invalid value 'sideways'", sspi.credential,
      { package = "NTLM", usage = "sideways" })
    raises("bad option 'lm_compat_level' (7 out of range 0..5)", sspi.credential,
      { package = "NTLM", lm_compat_level = 7 })
    raises("bad option 'lm_compat_level' (number has no integer representation)", sspi.credential,
      { package = "NTLM", lm_compat_level = 1.5 })
    raises("bad option 'timestamp_window' (-1 out of range", sspi.credential,
      { package = "NTLM", timestamp_window = -1 })
    raises("bad option 'no_fallback' (boolean expected, got string)", sspi.credential,
      { package = "Negotiate", no_fallback = "yes" })
    raises("bad option 'mechs' (table expected, got string)", sspi.credential,
      { package = "Negotiate", mechs = "Kerberos" })
    raises("bad option 'reject' (string expected at index 2, got number)", sspi.credential,
      { package = "Negotiate", reject = { "NTLM", 5 } })
    raises("bad option 'nt_hash' (16 bytes or 32 hex digits expected)", sspi.credential,
      { package = "NTLM", username = "u", nt_hash = "abc" })
    raises("bad option 'nt_hash' (16 bytes or 32 hex digits expected)", sspi.credential,
      { package = "NTLM", username = "u", nt_hash = ("zz"):rep(16) })
    raises("bad option 'lookup' (function expected, got string)", sspi.credential,
      { package = "NTLM", lookup = "f" })
    raises("bad option 'keytab' (string expected, got table)", sspi.credential,
      { package = "Kerberos", keytab = {} })
  end)

  -- Schannel declares its options like any package: the binding parses them
  -- from the declaration (masks from names, lists with a check per name).
  it("parses Schannel's as it declares them", function()
    local function tls(opts)
      opts.package = "Schannel"
      return opts
    end
    raises("bad option 'protocols' (unknown flag 'TLSv9' for protocols (TLSv1.3, TLSv1.2, "
      .. "TLSv1.1, TLSv1, TLSv1.0, SSLv3))", sspi.credential, tls { protocols = { "TLSv9" } })
    raises("bad option 'flags' (unknown flag 'NOPE' for flags (SCH_CRED_* names))", sspi.credential,
      tls { flags = "NOPE" })
    raises("bad option 'disabled_protocols' (flag name or integer expected, got boolean)",
      sspi.credential, tls { disabled_protocols = true })
    raises("bad option 'flags' (flag mask out of 32-bit range)", sspi.credential,
      tls { flags = 1 << 40 })
    raises("bad option 'alpn' (empty name at index 2)", sspi.credential, tls { alpn = { "h2", "" } })
    local many = {}
    for i = 1, 33 do many[i] = "p" .. i end
    raises("bad option 'alpn' (more than 32 names)", sspi.credential, tls { alpn = many })
    raises("bad option 'cipher_suites' (string expected at index 1, got number)", sspi.credential,
      tls { cipher_suites = { 1 } })
    raises("bad option 'verify' (boolean expected, got string)", sspi.credential,
      tls { verify = "yes" })
    raises("bad option 'ca' (string expected, got number)", sspi.credential, tls { ca = 5 })
    raises("unknown option 'username' for Schannel", sspi.credential, tls { username = "bob" })
    -- names with or without SCH_CRED_, any case, comma-separated, with integers
    assert(sspi.credential(tls { flags = { "manual_cred_validation, SCH_CRED_NO_SERVERNAME_CHECK",
      sspi.SCH_CRED_DISABLE_RECONNECTS }, protocols = "TLSv1.2, TLSv1.3" }))
    local declared = {}
    for _, o in ipairs(sspi.package_options("Schannel")) do declared[o.name] = o end
    assert.are.equal("mask", declared.protocols.type)
    assert.are.equal(sspi.SP_PROT_TLS1_3, declared.protocols.names["TLSv1.3"])
    assert.are.equal(sspi.SCH_CRED_MANUAL_CRED_VALIDATION,
      declared.flags.names.SCH_CRED_MANUAL_CRED_VALIDATION)
    assert.are.equal(32, declared.alpn.max)
  end)
end)

describe("error objects", function()
  it("come back as nil, err, status for an unknown package", function()
    local cred, err, st = sspi.credential { package = "NoSuchPackage" }
    fails("SEC_E_SECPKG_NOT_FOUND", cred, err, st)
    assert.is_truthy(err.message:find("NoSuchPackage", 1, true))
    assert.is_nil(err.needed)
  end)

  it("come back for an unknown backend", function()
    fails("SEC_E_SECPKG_NOT_FOUND", sspi.credential { package = "Kerberos", backend = "nosuch" })
  end)

  it("print as the status name and message even when the text has % signs", function()
    local _, err = sspi.credential { package = "%s%d%n" }
    assert.is_truthy(tostring(err):find("%s%d%n", 1, true))
  end)
end)

describe("with a Kerberos realm", function()
  local r
  setup(function() r = realm.start() end)

  local function client_cred() return assert(sspi.credential { package = "Kerberos" }) end
  local function server_cred() return assert(sspi.credential { package = "Kerberos", usage = "inbound" }) end

  -- A full mutual-auth handshake; returns the client and server contexts.
  local function handshake(creq)
    local c, s = sspi.context(client_cred()), sspi.context(server_cred())
    local r1 = assert(c:step_init { target = "host/localhost", context_req = creq or { "MUTUAL_AUTH",
      "CONFIDENTIALITY", "INTEGRITY" } })
    assert.are.equal("ContinueNeeded", r1.result)
    local r2 = assert(s:step_accept { input = r1.token })
    assert.are.equal("Ok", r2.result)
    local r3 = assert(c:step_init { target = "host/localhost", input = r2.token })
    assert.are.equal("Ok", r3.result)
    return c, s, r3, r2
  end

  describe("credentials", function()
    it("have fields, a __tostring and a __name", function()
      local cred = client_cred()
      assert.are.equal("Kerberos", cred.package)
      assert.are.equal("outbound", cred.usage)
      assert.are.equal("gssapi", cred.backend)
      assert.are.equal("sspi.credential (Kerberos, outbound)", tostring(cred))
      assert.are.equal("sspi.credential", getmetatable(cred).__name)
      assert.are.equal("sspi.credential (Kerberos, inbound)", tostring(server_cred()))
      assert.is_nil(cred.nothing)
    end)

    it("accept a package name in any case", function()
      assert.are.equal("Kerberos", assert(sspi.credential { package = "kerberos" }).package)
    end)

    it("close once and refuse use after close", function()
      local cred = client_cred()
      cred:close()
      cred:close()
      assert.are.equal("sspi.credential (closed)", tostring(cred))
      raises("attempt to use a closed sspi.credential", function() return cred.package end)
      raises("attempt to use a closed sspi.credential", sspi.context, cred)
    end)

    -- `<close>` is Lua 5.4 syntax: loaded from a string so that 5.3 parses this file
    if _VERSION >= "Lua 5.4" then
      it("close at the end of a <close> scope", function()
        local outer = assert(load([[
          local make, outer = ...
          do
            local cred <close> = make()
            outer = cred
          end
          return outer]]))(client_cred)
        assert.are.equal("sspi.credential (closed)", tostring(outer))
      end)
    else
      it("have no __close under Lua 5.3", function()
        assert.is_nil(debug.getmetatable(client_cred()).__close)
      end)
    end

    it("report an unreadable keytab as a security failure", function()
      local cred, err, st = sspi.credential { package = "Kerberos", usage = "inbound",
        keytab = "FILE:" .. r.dir .. "/no-such-keytab" }
      assert.is_nil(cred)
      assert.are.equal("sspi.error", getmetatable(err).__name)
      assert.are.equal(err.status, st)
      assert.is_truthy(st:match("^SEC_E_"), st)
    end)
  end)

  describe("contexts", function()
    it("start new, with a __tostring and fields", function()
      local ctx = sspi.context(client_cred())
      assert.are.equal("new", ctx:state())
      assert.is_nil(ctx:is_initiator())
      assert.are.equal("Kerberos", ctx.package)
      assert.are.equal("gssapi", ctx.backend)
      assert.are.equal("sspi.context (Kerberos, new)", tostring(ctx))
      assert.are.equal("sspi.context", getmetatable(ctx).__name)
    end)

    it("need a credential", function()
      raises("sspi.credential expected", sspi.context, "Kerberos")
      raises("sspi.credential expected", sspi.context)
    end)

    it("run a handshake and report states and sides", function()
      local c, s, r3, r2 = handshake()
      assert.are.equal("complete", c:state())
      assert.are.equal("complete", s:state())
      assert.is_true(c:is_initiator())
      assert.is_false(s:is_initiator())
      assert.are.equal("sspi.context (Kerberos, complete)", tostring(c))
      assert.are.equal("SEC_E_OK", r3.status)
      assert.are.equal("integer", math.type(r3.flags))
      assert.is_true(r3.flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
      assert.is_true(r2.flags & sspi.ASC_RET_MUTUAL_AUTH ~= 0)
      assert.is_nil(r3.token) -- the last initiator step produces no token
      assert.are.equal(1, #r3.buffers)
      assert.are.equal(0, #r3.buffers[1])
    end)

    it("keep their credential alive when it is closed and collected", function()
      local cred = client_cred()
      local c = sspi.context(cred)
      cred:close()
      cred = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
      local res = assert(c:step_init { target = "host/localhost" })
      assert.are.equal("string", type(res.token))
    end)

    it("close once and refuse use after close", function()
      local c = handshake()
      c:close()
      c:close()
      assert.are.equal("sspi.context (closed)", tostring(c))
      local closed = "attempt to use a closed sspi.context"
      raises(closed, c.step_init, c, { target = "host/localhost" })
      raises(closed, c.step_accept, c, {})
      raises(closed, c.query, c, "sizes")
      raises(closed, c.wrap, c, "x")
      raises(closed, c.unwrap, c, "x")
      raises(closed, c.sign, c, "x")
      raises(closed, c.verify, c, "x", "y")
      raises(closed, c.encrypt_message, c, {})
      raises(closed, c.decrypt_message, c, {})
      raises(closed, c.make_signature, c, {})
      raises(closed, c.verify_signature, c, {})
      raises(closed, c.complete_auth_token, c, {})
      raises(closed, c.state, c)
      raises(closed, c.is_initiator, c)
      raises(closed, function() return c.package end)
    end)

    if _VERSION >= "Lua 5.4" then
      it("close at the end of a <close> scope", function()
        local outer = assert(load([[
          local sspi, make, outer = ...
          do
            local ctx <close> = sspi.context(make())
            outer = ctx
          end
          return outer]]))(sspi, client_cred)
        assert.are.equal("sspi.context (closed)", tostring(outer))
      end)
    else
      it("have no __close under Lua 5.3", function()
        assert.is_nil(debug.getmetatable(sspi.context(client_cred())).__close)
      end)
    end

    it("step inside a coroutine", function()
      local co = coroutine.wrap(function()
        local c = sspi.context(client_cred())
        local res = assert(c:step_init { target = "host/localhost", context_req = "MUTUAL_AUTH" })
        coroutine.yield(res.result)
        return c:state()
      end)
      assert.are.equal("ContinueNeeded", co())
      assert.are.equal("in_progress", co())
    end)
  end)

  describe("step arguments", function()
    it("raise on unknown options and wrong types, naming them", function()
      local c = sspi.context(client_cred())
      raises("unknown option 'targte'", c.step_init, c, { targte = "host/localhost" })
      raises("bad option 'target' (string expected, got number)", c.step_init, c, { target = 1 })
      raises("bad option 'context_req' (unknown flag 'MUTUAL_AUTHX' for ISC_REQ)", c.step_init, c,
        { target = "host/localhost", context_req = { "MUTUAL_AUTHX" } })
      raises("bad option 'context_req' (unknown flag 'ASC_REQ_MUTUAL_AUTH' for ISC_REQ)", c.step_init, c,
        { target = "host/localhost", context_req = "ASC_REQ_MUTUAL_AUTH" })
      raises("bad option 'context_req' (flag name or integer expected, got boolean)", c.step_init, c,
        { target = "host/localhost", context_req = true })
      raises("bad option 'context_req' (flag mask out of 32-bit range)", c.step_init, c,
        { target = "host/localhost", context_req = -1 })
      raises("bad option 'input' (string, sspi.buffer or SECBUFFER_* type expected, got boolean)",
        c.step_init, c, { target = "host/localhost", input = true })
      raises("bad option 'input' (string, sspi.buffer or SECBUFFER_* type expected, got table)",
        c.step_init, c, { target = "host/localhost", input = { {} } })
      raises("bad option 'output' (unknown buffer type 'x')",
        c.step_init, c, { target = "host/localhost", output = "x" })
      raises("bad option 'output' (sspi.buffer or SECBUFFER_* type expected, got boolean)",
        c.step_init, c, { target = "host/localhost", output = true })
      raises("bad option 'target_data_rep' (unknown name 'NATIVE'", c.step_init, c,
        { target = "host/localhost", target_data_rep = "NATIVE" })
      raises("bad argument #1 to 'step_init' (table expected, got string)",
        function() return c:step_init("host/localhost") end)
      local s = sspi.context(server_cred())
      raises("unknown option 'target'", s.step_accept, s, { target = "host/localhost" })
      raises("bad option 'context_req' (unknown flag 'ISC_REQ_ALLOCATE_MEMORY' for ASC_REQ)",
        s.step_accept, s, { context_req = "ISC_REQ_ALLOCATE_MEMORY" })
      -- nothing was stepped by any of this
      assert.are.equal("new", c:state())
      assert.are.equal("new", s:state())
    end)

    it("take context_req as an integer, a name, or a list of names with or without prefix", function()
      for _, creq in ipairs {
        sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_CONFIDENTIALITY,
        { "ISC_REQ_MUTUAL_AUTH", "CONFIDENTIALITY" },
        { "mutual_auth", sspi.ISC_REQ_CONFIDENTIALITY, "NONE" },
      } do
        local _, _, r3 = handshake(creq)
        assert.is_true(r3.flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
        assert.is_true(r3.flags & sspi.ISC_RET_CONFIDENTIALITY ~= 0)
      end
      -- a single name; without MUTUAL_AUTH Kerberos completes in one leg
      local c = sspi.context(client_cred())
      local res = assert(c:step_init { target = "host/localhost", context_req = "CONFIDENTIALITY" })
      assert.are.equal("Ok", res.result)
      local s = sspi.context(server_cred())
      assert.are.equal("Ok", assert(s:step_accept { input = res.token }).result)
    end)

    it("coerce integral floats to integers, and read numeric strings as tokens", function()
      local _, _, r3 = handshake(2.0 + sspi.ISC_REQ_CONFIDENTIALITY) -- MUTUAL_AUTH as a float
      assert.is_true(r3.flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
      raises("bad option 'context_req' (flag mask has no integer representation)", function()
        sspi.context(client_cred()):step_init { target = "host/localhost", context_req = 2.5 }
      end)
      -- a string is always a SECBUFFER_TOKEN, even when it looks like a number
      local s = sspi.context(server_cred())
      local res, err, st = s:step_accept { input = "2" }
      assert.is_nil(res)
      assert.are.equal(err.status, st)
      assert.are_not.equal("SEC_E_OK", st)
      -- a float type is a type
      local c = sspi.context(client_cred())
      res = assert(c:step_init { target = "host/localhost", output = { 2.0 }, context_req = "MUTUAL_AUTH" })
      assert.is_true(res.buffers[1].package_allocated)
    end)

    it("take the input token as a buffer, a list, and with empty typed buffers", function()
      local c = sspi.context(client_cred())
      local r1 = assert(c:step_init { target = "host/localhost", context_req = "MUTUAL_AUTH",
        target_data_rep = "SECURITY_NETWORK_DREP" })
      local s = sspi.context(server_cred())
      local r2 = assert(s:step_accept {
        input = { sspi.buffer(sspi.SECBUFFER_TOKEN, r1.token), sspi.SECBUFFER_EMPTY },
        context_req = { "ASC_REQ_MUTUAL_AUTH" }, target_data_rep = sspi.SECURITY_NATIVE_DREP })
      assert.are.equal("Ok", r2.result)
      local r3 = assert(c:step_init { target = "host/localhost", input = sspi.buffer(sspi.SECBUFFER_TOKEN, r2.token) })
      assert.are.equal("Ok", r3.result)

      c, s = sspi.context(client_cred()), sspi.context(server_cred())
      r1 = assert(c:step_init { target = "host/localhost", context_req = "MUTUAL_AUTH" })
      r2 = assert(s:step_accept { input = { r1.token } })
      assert.are.equal("Ok", assert(c:step_init { input = { r2.token } }).result)
    end)

    it("read a closed buffer as a programming error", function()
      local c = sspi.context(client_cred())
      local b = sspi.buffer(sspi.SECBUFFER_TOKEN, "x")
      b:close()
      raises("attempt to use a closed sspi.buffer", c.step_init, c, { target = "host/localhost", input = b })
      raises("attempt to use a closed sspi.buffer", c.step_init, c, { target = "host/localhost", output = b })
    end)
  end)

  describe("step output memory", function()
    it("is allocated by the package by default, as an sspi.buffer", function()
      local c = sspi.context(client_cred())
      local res = assert(c:step_init { target = "host/localhost", context_req = "MUTUAL_AUTH" })
      local b = res.buffers[1]
      assert.are.equal("sspi.buffer", getmetatable(b).__name)
      assert.is_true(b.package_allocated)
      assert.are.equal(sspi.SECBUFFER_TOKEN, b.type)
      assert.are.equal(res.token, b:data())
      assert.is_true(#res.token > 100)
      assert.is_true(res.flags & sspi.ISC_RET_ALLOCATED_MEMORY ~= 0)
      -- the package-allocated memory is freed on close and on collection
      b:close()
      res = nil -- luacheck: ignore
      collectgarbage()
    end)

    it("is allocated for a list of types, as PSSPI's -OutputBuffer SECBUFFER_TOKEN", function()
      local c = sspi.context(client_cred())
      local res = assert(c:step_init { target = "host/localhost", output = sspi.SECBUFFER_TOKEN,
        context_req = { "ISC_REQ_ALLOCATE_MEMORY", "MUTUAL_AUTH" } })
      assert.is_true(res.buffers[1].package_allocated)
      c = sspi.context(client_cred())
      res = assert(c:step_init { target = "host/localhost", output = { sspi.SECBUFFER_TOKEN } })
      assert.is_true(res.buffers[1].package_allocated)
      assert.are.equal(res.token, res.buffers[1]:data())
    end)

    it("is written in place into a preallocated buffer", function()
      local c = sspi.context(client_cred())
      local out = sspi.buffer(sspi.SECBUFFER_TOKEN, 16384)
      local res = assert(c:step_init { target = "host/localhost", output = { out }, context_req = "MUTUAL_AUTH" })
      assert.are.equal(out, res.buffers[1])
      assert.is_false(out.package_allocated)
      assert.are.equal(16384, out:capacity())
      assert.are.equal(#res.token, #out)
      assert.are.equal(res.token, out:data())
      assert.is_true(res.flags & sspi.ISC_RET_ALLOCATED_MEMORY == 0)
      local s = sspi.context(server_cred())
      assert.are.equal("Ok", assert(s:step_accept { input = out }).result)
    end)

    it("reports a too-small buffer with the size needed, and the step can be retried", function()
      local c = sspi.context(client_cred())
      local small = sspi.buffer(sspi.SECBUFFER_TOKEN, 8)
      local res, err, st = c:step_init { target = "host/localhost", output = small, context_req = "MUTUAL_AUTH" }
      fails("SEC_E_BUFFER_TOO_SMALL", res, err, st)
      assert.is_true(err.needed > 8)
      assert.are.equal(0, #small)
      -- not failed: the same step again with a buffer of the size needed
      assert.are_not.equal("failed", c:state())
      local big = sspi.buffer(sspi.SECBUFFER_TOKEN, err.needed)
      res = assert(c:step_init { target = "host/localhost", output = big, context_req = "MUTUAL_AUTH" })
      assert.are.equal("ContinueNeeded", res.result)
      assert.are.equal(err.needed, #big)
      local s = sspi.context(server_cred())
      local r2 = assert(s:step_accept { input = big })
      assert.are.equal("Ok", assert(c:step_init { target = "host/localhost", input = r2.token }).result)
    end)
  end)

  describe("step transitions", function()
    it("raise for a step on a complete context", function()
      local c, s = handshake()
      raises("step_init on a complete sspi.context", c.step_init, c, { target = "host/localhost" })
      raises("step_accept on a complete sspi.context", s.step_accept, s, { input = "x" })
    end)

    it("raise for a step of the other side", function()
      local c = sspi.context(client_cred())
      assert(c:step_init { target = "host/localhost", context_req = "MUTUAL_AUTH" })
      raises("step_accept on an initiator sspi.context", c.step_accept, c, { input = "x" })
    end)

    it("return SEC_E_INVALID_HANDLE for a step on a failed context", function()
      local s = sspi.context(server_cred())
      local res, err, st = s:step_accept { input = "definitely not a kerberos token" }
      assert.is_nil(res)
      assert.is_truthy(st:match("^SEC_E_"), st)
      assert.are.equal(st, err.status)
      assert.are.equal("failed", s:state())
      fails("SEC_E_INVALID_HANDLE", s:step_accept { input = "again" })
    end)

    it("return SEC_E_NO_CREDENTIALS for an inbound credential used to initiate", function()
      local c = sspi.context(server_cred())
      fails("SEC_E_NO_CREDENTIALS", c:step_init { target = "host/localhost" })
    end)
  end)

  describe("queries", function()
    it("answer every attribute of a complete context", function()
      local c, s = handshake()
      assert.are.equal(r.user, s:query("names").user)
      local nn = c:query("native_names")
      assert.are.equal(r.user, nn.client)
      assert.are.equal("string", type(nn.server))
      local sizes = c:query("sizes")
      for _, k in ipairs { "max_token", "max_signature", "block_size", "security_trailer" } do
        assert.are.equal("integer", math.type(sizes[k]), k)
      end
      assert.is_true(sizes.security_trailer > 0)
      -- stream sizes are a table where the package answers them, else the
      -- failure shape (GSSAPI Kerberos has no stream mode)
      local ss, err, st = c:query("stream_sizes")
      if ss then
        for _, k in ipairs { "header", "trailer", "max_message", "buffers", "block_size" } do
          assert.are.equal("integer", math.type(ss[k]), k)
        end
      else
        fails("SEC_E_UNSUPPORTED_FUNCTION", ss, err, st)
      end
      local ckey, ctype = c:query("session_key")
      local skey, stype = s:query("session_key")
      assert.is_true(#ckey >= 16)
      assert.are.equal(ckey, skey)
      assert.are.equal(ctype, stype)
      assert.are.equal("integer", math.type(c:query("flags")))
      local life = c:query("lifespan")
      assert.is_true(life.expiry > os.time())
      local pkg = c:query("package_info")
      assert.are.equal("Kerberos", pkg.name)
      assert.are.equal("gssapi", pkg.backend)
      local ni = c:query("negotiation_info")
      assert.are.equal("Kerberos", ni.package.name)
      assert.are.equal("complete", ni.state)
      assert.are.equal(sspi.SECPKG_NEGOTIATION_COMPLETE, ni.state_code)
    end)

    it("raise on an unknown attribute name", function()
      local c = sspi.context(client_cred())
      raises("invalid option 'sizez'", c.query, c, "sizez")
      raises("bad argument #1 to 'query' (string expected, got no value)", function() return c:query() end)
    end)
  end)

  describe("message functions", function()
    it("wrap and unwrap, sealed or not, and refuse an altered message", function()
      local c, s = handshake()
      local msg = assert(c:wrap("hello"))
      local data, encrypted = s:unwrap(msg)
      assert.are.equal("hello", data)
      assert.is_true(encrypted)
      data, encrypted = c:unwrap(assert(s:wrap("plain", { encrypt = false })))
      assert.are.equal("plain", data)
      assert.is_false(encrypted)
      local tampered = msg:sub(1, -2) .. string.char((msg:byte(-1) + 1) % 256)
      local res, err, st = s:unwrap(tampered)
      assert.is_nil(res)
      assert.are.equal("sspi.error", getmetatable(err).__name)
      assert.is_truthy(st:match("^SEC_E_"), st)
      raises("unknown option 'encrpyt'", c.wrap, c, "x", { encrpyt = true })
      raises("bad option 'encrypt' (boolean expected, got number)", c.wrap, c, "x", { encrypt = 1 })
      raises("bad argument #1 to 'wrap' (string expected, got table)", function() return c:wrap({}) end)
    end)

    it("sign and verify, and refuse altered data", function()
      local c, s = handshake()
      local mic = assert(c:sign("data"))
      assert.is_true(s:verify("data", mic))
      fails("SEC_E_MESSAGE_ALTERED", s:verify("dato", mic))
      raises("bad argument #2 to 'verify' (string expected, got no value)", function() return s:verify("data") end)
    end)

    it("encrypt and decrypt SecBuffer lists in place", function()
      local c, s = handshake()
      local sizes = c:query("sizes")
      local data = sspi.buffer(sspi.SECBUFFER_DATA, "secret message")
      local list, qop = assert(c:encrypt_message {
        { sspi.SECBUFFER_TOKEN, sizes.security_trailer }, data,
        { sspi.SECBUFFER_PADDING, sizes.block_size } })
      assert.are.equal(0, qop)
      assert.are.equal(3, #list)
      assert.are.equal(data, list[2])
      assert.are_not.equal("secret message", data:data())
      local token = list[1]
      assert.is_true(#token > 0)
      local out = assert(s:decrypt_message { token, data, list[3] })
      assert.are.equal("secret message", out[2]:data())
      assert.are.equal("secret message", data:data())
    end)

    it("make and verify signatures on lists, strings becoming DATA buffers", function()
      local c, s = handshake()
      local sizes = c:query("sizes")
      local list = assert(c:make_signature { "to sign", { sspi.SECBUFFER_TOKEN, sizes.max_signature } })
      assert.are.equal(sspi.SECBUFFER_DATA, list[1].type)
      assert.are.equal("to sign", list[1]:data())
      local _, qop = assert(s:verify_signature { list[1], list[2] })
      assert.are.equal(0, qop)
      list[1]:set("to sigN")
      fails("SEC_E_MESSAGE_ALTERED", s:verify_signature { list[1], list[2] })
    end)

    it("refuse a context that is not complete with SEC_E_INVALID_HANDLE", function()
      local c = sspi.context(client_cred())
      fails("SEC_E_INVALID_HANDLE", c:wrap("x"))
      fails("SEC_E_INVALID_HANDLE", c:unwrap("x"))
      fails("SEC_E_INVALID_HANDLE", c:sign("x"))
      fails("SEC_E_INVALID_HANDLE", c:verify("x", "y"))
      fails("SEC_E_INVALID_HANDLE", c:encrypt_message { "x" })
      fails("SEC_E_INVALID_HANDLE", c:decrypt_message { "x" })
      fails("SEC_E_INVALID_HANDLE", c:make_signature { "x" })
      fails("SEC_E_INVALID_HANDLE", c:verify_signature { "x" })
      fails("SEC_E_INVALID_HANDLE", c:query("sizes"))
      fails("SEC_E_INVALID_HANDLE", c:complete_auth_token {})
    end)

    it("report altered and malformed messages, with GSSAPI's major and minor codes", function()
      local c, s = handshake()
      local sizes = c:query("sizes")
      local list = assert(c:encrypt_message { { sspi.SECBUFFER_TOKEN, sizes.security_trailer }, "data" })
      list[2]:set("dbta")
      fails("SEC_E_MESSAGE_ALTERED", s:decrypt_message { list[1], list[2] })
      fails("SEC_E_INVALID_TOKEN", s:decrypt_message { list[2] })
      local res, err, st = s:unwrap("not a wrap token")
      fails("SEC_E_INVALID_TOKEN", res, err, st)
      assert.are.equal("integer", math.type(err.major))
      assert.are.equal("integer", math.type(err.minor))
      assert.is_true(err.major ~= 0)
    end)

    it("report an unknown service as SEC_E_TARGET_UNKNOWN with GSSAPI's text", function()
      local c = sspi.context(client_cred())
      local res, err, st = c:step_init { target = "nosuch/service" }
      fails("SEC_E_TARGET_UNKNOWN", res, err, st)
      assert.is_truthy(err.message:find("not found in Kerberos database", 1, true), err.message)
      assert.are.equal("failed", c:state())
    end)

    it("raise on bad list items, naming the argument", function()
      local c = handshake()
      raises("bad argument #1 to 'encrypt_message' (table expected, got string)",
        function() return c:encrypt_message("not a list") end)
      raises("list of sspi.buffer, string or {type, data} expected, got boolean", c.encrypt_message, c, { true })
      raises("buffer item {type, data_or_size [, flags]}: bad type (unknown buffer type 'TOKN')", c.encrypt_message, c,
        { { "TOKN", 4 } })
      raises("buffer item {type, data_or_size [, flags]}: bad data_or_size", c.encrypt_message, c, { { 2, -4 } })
      raises("buffer item {type, data_or_size [, flags]}: bad flags", c.encrypt_message, c, { { 1, "x", 3 } })
      raises("qop out of 32-bit range", c.encrypt_message, c, {}, -1)
      raises("seqno out of 32-bit range", c.decrypt_message, c, {}, 0x100000000)
    end)
  end)
end)

-- The NTLM acceptor's `lookup` option: a Lua function called from inside
-- ctx:step_accept, through lua_pcall (no Lua error unwinds through the core).
-- User, domain, password and NT hash are MS-NLMP 4.2's published values.
describe("the lookup option (built-in NTLM)", function()
  local NT_HASH_HEX = "a4f49c406510bdcab6824ee7c30fd852" -- NTOWFv1("Password")
  local NT_HASH = NT_HASH_HEX:gsub("..", function(h) return string.char(tonumber(h, 16)) end)

  -- Runs NTLM's three legs; returns the acceptor's last step results and the contexts.
  local function ntlm(lookup, client_opts)
    local copts = client_opts or { password = "Password" }
    copts.package, copts.backend, copts.username = "NTLM", "builtin", "Domain\\User"
    local c = sspi.context(assert(sspi.credential(copts)))
    local s = sspi.context(assert(sspi.credential { package = "NTLM", backend = "builtin",
      usage = "inbound", lookup = lookup }))
    local r1 = assert(c:step_init { target = "host/localhost" })
    local r2 = assert(s:step_accept { input = r1.token })
    local r3 = assert(c:step_init { target = "host/localhost", input = r2.token })
    local res, err, st = s:step_accept { input = r3.token }
    return res, err, st, c, s
  end

  it("authenticates with the hash the function returns, as hex or raw bytes", function()
    local seen = {}
    local res, _, _, _, s = ntlm(function(user, domain)
      seen[#seen + 1] = { user, domain }
      return NT_HASH_HEX
    end)
    assert.are.equal("Ok", res.result)
    assert.are.same({ { "User", "Domain" } }, seen)
    assert.are.equal("complete", s:state())
    assert.are.equal("Ok", ntlm(function() return NT_HASH end).result)
  end)

  it("takes the client's secret as nt_hash, hex or raw", function()
    local lookup = function() return NT_HASH end
    assert.are.equal("Ok", ntlm(lookup, { nt_hash = NT_HASH_HEX:upper() }).result)
    assert.are.equal("Ok", ntlm(lookup, { nt_hash = NT_HASH }).result)
  end)

  it("denies a user the function does not know", function()
    fails("SEC_E_LOGON_DENIED", ntlm(function() return nil end))
  end)

  it("turns an error raised by the function into SEC_E_INTERNAL_ERROR with its message", function()
    local res, err, st, _, s = ntlm(function() error("user database is down") end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("user database is down", 1, true), err.message)
    assert.are.equal("failed", s:state())
    -- the Lua state is intact: the stack is balanced and the next step reports the failed context
    fails("SEC_E_INVALID_HANDLE", s:step_accept { input = "x" })
  end)

  it("refuses a result that is not a hash", function()
    local res, err, st = ntlm(function() return 5 end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("lookup returned a number", 1, true), err.message)
    res, err, st = ntlm(function() return "short" end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("lookup returned 5 bytes", 1, true), err.message)
  end)

  it("runs on the coroutine that steps, and cannot yield from there", function()
    local stepper, inside
    local co = coroutine.create(function()
      stepper = coroutine.running()
      return ntlm(function()
        inside = coroutine.running()
        return NT_HASH
      end)
    end)
    local ok, res = coroutine.resume(co)
    assert.is_true(ok, res)
    assert.are.equal("Ok", res.result)
    assert.are.equal(stepper, inside)
    local _, err = ntlm(function() coroutine.yield() end)
    assert.are.equal("SEC_E_INTERNAL_ERROR", err.status)
    assert.is_truthy(err.message:find("yield", 1, true), err.message)
  end)
end)
