-- Hostile input for every public function and method of the C module
-- (sspi.core, through `require "sspi"`): nil, wrong types, huge and empty
-- strings, nested tables, integers out of range, objects of the wrong kind,
-- closed objects, contexts used after failure, and lookup functions that
-- raise, yield, close what they are called for, step again or return
-- garbage.  Each case must raise an error naming the argument, or return
-- nil, err, status; none may crash (the spec also runs under valgrind:
-- see docs/security.md).
--
-- The peers are real: the built-in NTLM against itself with MS-NLMP 4.2's
-- user ("Domain\\User", "Password"), and Kerberos in the throwaway realm.
local sspi = require "sspi"

local NT_HASH_HEX = "a4f49c406510bdcab6824ee7c30fd852" -- NTOWFv1("Password"), MS-NLMP 4.2
local REQ = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY |
            sspi.ISC_REQ_REPLAY_DETECT | sspi.ISC_REQ_SEQUENCE_DETECT
local MIB64 = 64 << 20

-- Runs fn, which must raise; the message must contain every `texts` (plain).
local function raises(texts, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. table.concat(texts, " / "))
  err = tostring(err)
  for _, text in ipairs(texts) do
    assert.is_truthy(err:find(text, 1, true), ("expected %q in %q"):format(text, err))
  end
  return err
end

-- The nil, err, status shape of a security failure with the given status.
local function fails(status, res, err, st)
  assert.is_nil(res)
  assert.are.equal("sspi.error", getmetatable(err).__name, tostring(err))
  assert.are.equal(status, err.status, tostring(err))
  assert.are.equal(status, st)
  assert.are.equal(sspi[status], err.code)
  assert.is_true(#err.message > 0)
  return err
end

local function client_cred(opts)
  opts = opts or {}
  opts.package = opts.package or "NTLM"
  opts.backend = opts.backend or "builtin"
  if opts.username == nil then opts.username, opts.password = "Domain\\User", "Password" end
  return assert(sspi.credential(opts))
end

local function server_cred(lookup, package)
  return assert(sspi.credential { package = package or "NTLM", backend = "builtin",
                                  usage = "inbound", mechs = package == "Negotiate" and { "NTLM" } or nil,
                                  lookup = lookup or function() return NT_HASH_HEX end })
end

-- Steps client and server contexts to the end; the server's last result
-- or nil, err, status from the step that failed.
local function handshake(c, s, req)
  local token
  for _ = 1, 8 do
    local r, e, st = c:step_init { target = "host/localhost", context_req = req or REQ, input = token }
    if not r then return nil, e, st end
    local sres
    if r.token then
      sres, e, st = s:step_accept { input = r.token }
      if not sres then return nil, e, st end
      token = sres.token
    end
    if r.result == "Ok" and (sres == nil or sres.result == "Ok") then return sres or r end
  end
  error("handshake did not finish")
end

local function ntlm_pair(package)
  local c = sspi.context(client_cred { package = package })
  local s = sspi.context(server_cred(nil, package))
  assert(handshake(c, s))
  return c, s
end

describe("lookup functions that misbehave (built-in NTLM acceptor)", function()
  -- The server's credential and context are handed to the lookup through
  -- upvalues set before the last leg.
  local scred, sctx, auth_token

  local function run(lookup, package)
    local c = sspi.context(client_cred { package = package })
    scred = server_cred(lookup, package)
    sctx = sspi.context(scred)
    local token
    for _ = 1, 4 do
      local r = assert(c:step_init { target = "host/localhost", context_req = REQ, input = token })
      if r.result == "Ok" and not r.token then break end
      auth_token = r.token
      local sres, err, st = sctx:step_accept { input = r.token }
      if not sres or sres.result == "Ok" then return sres, err, st end
      token = sres.token
    end
    error("no result")
  end

  for _, package in ipairs { "NTLM", "Negotiate" } do
    describe("under " .. package, function()
      it("cannot close the context it is called for: the step fails, nothing is freed under the core", function()
        local res, err, st = run(function()
          sctx:close()
          return NT_HASH_HEX
        end, package)
        fails("SEC_E_INTERNAL_ERROR", res, err, st)
        assert.is_truthy(err.message:find("attempt to close a sspi.context inside its own step", 1, true),
                         err.message)
        -- the context is still there, failed, and closes normally afterwards
        assert.are.equal("failed", sctx:state())
        sctx:close()
        assert.are.equal("sspi.context (closed)", tostring(sctx))
        collectgarbage()
      end)

      it("cannot step, query or use its own context again", function()
        local inner = {}
        local res = run(function()
          for _, call in ipairs {
            function() return sctx:step_accept { input = auth_token } end,
            function() return sctx:query("names") end,
            function() return sctx:wrap("x") end,
            function() return sctx:complete_auth_token {} end,
          } do
            local ok, e = pcall(call)
            inner[#inner + 1] = { ok, tostring(e) }
          end
          -- reading its state is harmless and allowed
          inner.state, inner.package = sctx:state(), sctx.package
          return NT_HASH_HEX
        end, package)
        assert.are.equal("Ok", res.result)
        assert.are.equal(4, #inner)
        for _, r in ipairs(inner) do
          assert.is_false(r[1])
          assert.is_truthy(r[2]:find("attempt to use a sspi.context inside its own step", 1, true), r[2])
        end
        assert.are.equal("in_progress", inner.state)
        assert.are.equal(package, inner.package)
        -- the outer handshake went through: messages flow
        assert.are.equal("complete", sctx:state())
      end)

      it("may close its credential: the context keeps its own reference", function()
        local res = run(function()
          scred:close()
          collectgarbage()
          collectgarbage()
          return NT_HASH_HEX
        end, package)
        assert.are.equal("Ok", res.result)
        assert.are.equal("sspi.credential (closed)", tostring(scred))
        raises({ "attempt to use a closed sspi.credential" }, sspi.context, scred)
      end)

      it("may run a whole handshake on another context of the same credential", function()
        local nested
        local res = run(function()
          if nested == nil then
            nested = false
            local c2 = sspi.context(client_cred { package = package })
            local s2 = sspi.context(scred)
            nested = handshake(c2, s2) and s2:state()
          end
          return NT_HASH_HEX
        end, package)
        assert.are.equal("complete", nested)
        -- the outer step found its own lookup again after the nested one ended
        assert.are.equal("Ok", res.result)
      end)
    end)
  end

  it("that raises a non-string, nil, or an object whose __tostring raises: SEC_E_INTERNAL_ERROR", function()
    for _, value in ipairs { {}, false, 42, setmetatable({}, { __tostring = function() error("again") end }) } do
      local res, err, st = run(function() error(value) end)
      fails("SEC_E_INTERNAL_ERROR", res, err, st)
      assert.are.equal("failed", sctx:state())
    end
    local res, err, st = run(function() error() end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
  end)

  it("that yields, inside and outside a coroutine: SEC_E_INTERNAL_ERROR naming the yield", function()
    local res, err, st = run(function() coroutine.yield("x") end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("yield", 1, true), err.message)
    local co = coroutine.wrap(function() return run(function() coroutine.yield("x") end) end)
    res, err, st = co()
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("yield", 1, true), err.message)
  end)

  it("that returns garbage: a number, a table, wrong lengths, non-hex, 64 MiB", function()
    local cases = {
      { function() return 5 end, "lookup returned a number" },
      { function() return {} end, "lookup returned a table" },
      { function() return true end, "lookup returned a boolean" },
      { function() return ("x"):rep(15) end, "lookup returned 15 bytes" },
      { function() return ("x"):rep(17) end, "lookup returned 17 bytes" },
      { function() return ("g"):rep(32) end, "lookup returned 32 bytes" },
      { function() return "" end, "lookup returned 0 bytes" },
      { function() return ("x"):rep(MIB64) end, "lookup returned 67108864 bytes" },
    }
    for _, case in ipairs(cases) do
      local res, err, st = run(case[1])
      fails("SEC_E_INTERNAL_ERROR", res, err, st)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message)
    end
  end)

  it("that returns a wrong but well-formed hash, or nil, or extra values", function()
    fails("SEC_E_LOGON_DENIED", run(function() return ("0"):rep(32) end))
    fails("SEC_E_LOGON_DENIED", run(function() return nil end))
    fails("SEC_E_LOGON_DENIED", run(function() return false end))
    assert.are.equal("Ok", run(function() return NT_HASH_HEX, "extra", {} end).result)
  end)

  it("that overflows the stack or collects garbage mid-step", function()
    local function deep(n) return deep(n + 1) + 1 end
    local res, err, st = run(function() return deep(1) end)
    fails("SEC_E_INTERNAL_ERROR", res, err, st)
    assert.is_truthy(err.message:find("stack overflow", 1, true), err.message)
    res = run(function()
      for _ = 1, 5 do collectgarbage() end
      return NT_HASH_HEX
    end)
    assert.are.equal("Ok", res.result)
  end)
end)
