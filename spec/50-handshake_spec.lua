-- sspi.handshake: driving Kerberos contexts (MIT GSSAPI, throwaway realm)
-- to completion over transports, and every way it can fail: the core's
-- error with the step, transport failures, timeouts, the step limit and
-- programmer errors.
--
-- The client and the server run in one process as two coroutines over an
-- in-memory pipe whose receive() yields while it is empty: the driver
-- must work inside coroutines for that to finish at all.

local realm = require "helpers.realm"
local sspi = require "sspi"
local handshake = require "sspi.handshake"
local token = require "sspi.token"

-- An in-memory duplex pipe: a:send(x) queues x for b:receive().  An empty
-- receive yields (to the pump below), or fails when the other end closed.
local function pipe()
  local function endpoint()
    return { queue = {}, closed = false }
  end
  local a, b = endpoint(), endpoint()
  a.peer, b.peer = b, a
  local methods = {}
  methods.__index = methods
  function methods.send(self, data)
    if self.peer.closed or self.closed then return nil, "closed" end
    table.insert(self.peer.queue, data)
    return true
  end
  function methods.receive(self)
    while #self.queue == 0 do
      if self.peer.closed then return nil, "closed" end
      coroutine.yield("wait")
    end
    return table.remove(self.queue, 1)
  end
  function methods.close(self) self.closed = true end
  return setmetatable(a, methods), setmetatable(b, methods)
end

-- Runs functions as coroutines, round robin, until all have returned;
-- returns their results in order.
local function pump(...)
  local fns = { ... }
  local cos, results, done = {}, {}, 0
  for i, f in ipairs(fns) do cos[i] = coroutine.create(f) end
  local rounds = 0
  while done < #cos do
    rounds = rounds + 1
    assert(rounds < 10000, "coroutines never finished")
    for i, co in ipairs(cos) do
      if coroutine.status(co) == "suspended" then
        local out = table.pack(coroutine.resume(co))
        assert(out[1], out[2])
        if coroutine.status(co) == "dead" then
          results[i] = table.pack(table.unpack(out, 2, out.n))
          done = done + 1
        end
      end
    end
  end
  return table.unpack(results)
end

local REQ = { "MUTUAL_AUTH", "REPLAY_DETECT", "SEQUENCE_DETECT", "CONFIDENTIALITY", "INTEGRITY" }

describe("sspi.handshake", function()
  local r, client_cred, server_cred

  setup(function()
    r = realm.start()
    client_cred, server_cred = r:kerberos_credentials()
  end)

  local function pair(client_opts, server_opts)
    local cctx, sctx = sspi.context(client_cred), sspi.context(server_cred)
    local ct, st = pipe()
    local cres, sres = pump(
      function()
        local res, err = handshake.client(cctx, ct, client_opts or { target = "host/localhost", context_req = REQ })
        ct:close()
        return res, err
      end,
      function()
        local res, err = handshake.server(sctx, st, server_opts)
        st:close()
        return res, err
      end)
    return cctx, sctx, cres, sres
  end

  it("completes a mutual Kerberos handshake between two coroutines", function()
    local seen = {}
    local cctx, sctx, cres, sres = pair(
      { target = "host/localhost", context_req = REQ,
        on_step = function(step, res) seen[#seen + 1] = { step, res.result } end },
      { max_steps = 4 })
    assert.is_table(cres[1], tostring(cres[2]))
    assert.is_table(sres[1], tostring(sres[2]))
    assert.same("Ok", cres[1].result)
    assert.same(2, cres[1].steps)     -- AP-REQ out, AP-REP in
    assert.same(1, sres[1].steps)
    assert.same({ { 1, "ContinueNeeded" }, { 2, "Ok" } }, seen)
    assert.is_true(cres[1].flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
    assert.same(r.user, sctx:query("names").user)
    -- the contexts work: a wrapped message crosses
    local msg = assert(cctx:wrap("ping"))
    assert.same("ping", (sctx:unwrap(msg)))
  end)

  it("returns the core's error with step 1 for an unknown target", function()
    local _, _, cres = pair({ target = "nosuch/localhost", context_req = REQ }, { max_steps = 4 })
    local res, err = cres[1], cres[2]
    assert.is_nil(res)
    assert.same("SEC_E_TARGET_UNKNOWN", err.status)
    assert.same(1, err.step)
    assert.same("integer", math.type(err.code))
    assert.matches("^" .. err.status .. ": ", tostring(err)) -- the core's own error object
    assert.same(tostring(err) .. " (step 1)", handshake.describe(err))
  end)

  it("returns the core's error with the step for a tampered token", function()
    -- server side: an AP-REQ with a flipped byte in the authenticator
    local cctx = sspi.context(client_cred)
    local first = assert(cctx:step_init{ target = "host/localhost", context_req = REQ })
    local t = assert(token.decode(first.token))
    assert.same("AP-REQ", t.type)
    local bad = first.token:sub(1, #first.token - 4) .. "XXXX"
    local sent = {}
    local transport = {
      receive = function() return bad end,
      send = function(_, x) sent[#sent + 1] = x; return true end,
    }
    local res, err, status = handshake.server(sspi.context(server_cred), transport)
    assert.is_nil(res)
    assert.same("SEC_E_LOGON_DENIED", err.status) -- integrity check of the authenticator
    assert.same(1, err.step)
    assert.is_nil(status) -- the driver returns two values
    -- client side: a broken AP-REP at step 2
    local cctx2 = sspi.context(client_cred)
    local out = {}
    local ct = {
      send = function(_, x) out[#out + 1] = x; return true end,
      receive = function() return "\x6f\x03\x30\x01\x00" end,
    }
    res, err = handshake.client(cctx2, ct, { target = "host/localhost", context_req = REQ })
    assert.is_nil(res)
    assert.same("SEC_E_INVALID_TOKEN", err.status)
    assert.same(2, err.step)
    assert.same(1, #out)
  end)

  it("reports a peer that goes away as SEC_E_INCOMPLETE_MESSAGE with the step", function()
    local cctx = sspi.context(client_cred)
    local res, err = handshake.client(cctx, {
      send = function() return true end,
      receive = function() return nil, "closed" end,
    }, { target = "host/localhost", context_req = REQ })
    assert.is_nil(res)
    assert.same("SEC_E_INCOMPLETE_MESSAGE", err.status)
    assert.same(1, err.step)
    assert.same("closed", err.reason)
    assert.matches("receiving token: closed", err.message)
    assert.same("SEC_E_INCOMPLETE_MESSAGE: receiving token: closed (step 1)", tostring(err))
    assert.is_true(handshake.is_transport_error(err))

    res, err = handshake.client(sspi.context(client_cred), {
      send = function() return nil, "broken pipe" end,
      receive = function() error("not reached") end,
    }, { target = "host/localhost", context_req = REQ })
    assert.is_nil(res)
    assert.same("SEC_E_INCOMPLETE_MESSAGE", err.status)
    assert.matches("sending token: broken pipe", err.message)
  end)

  it("enforces the timeout over the whole handshake", function()
    local now = 0
    local timeouts = {}
    local res, err = handshake.client(sspi.context(client_cred), {
      send = function() now = now + 5; return true end,  -- a slow send eats the budget
      receive = function() error("receive must not be called after the deadline") end,
      settimeout = function(_, t) timeouts[#timeouts + 1] = t end,
    }, { target = "host/localhost", context_req = REQ, timeout = 3, clock = function() return now end })
    assert.is_nil(res)
    assert.same("timeout", err.status)
    assert.same(1, err.step)
    assert.same({ 3 }, timeouts) -- the transport got the time left before sending
    -- and a transport's own timeout is reported as such
    res, err = handshake.client(sspi.context(client_cred), {
      send = function() return true end,
      receive = function() return nil, "timeout" end,
    }, { target = "host/localhost", context_req = REQ, timeout = 10 })
    assert.is_nil(res)
    assert.same("timeout", err.status)
  end)

  it("stops at max_steps", function()
    local res, err = handshake.client(sspi.context(client_cred), {
      send = function() return true end,
      receive = function() error("not reached") end,
    }, { target = "host/localhost", context_req = REQ, max_steps = 1 })
    assert.is_nil(res)
    assert.same("max_steps", err.status)
    assert.same(1, err.step)
  end)

  it("rejects a transport that delivers something other than a string", function()
    local res, err = handshake.server(sspi.context(server_cred), {
      send = function() return true end,
      receive = function() return 42 end,
    })
    assert.is_nil(res)
    assert.same("SEC_E_INVALID_TOKEN", err.status)
  end)

  it("raises for programmer errors, naming the argument", function()
    local ctx = sspi.context(client_cred)
    local t = { send = function() return true end, receive = function() return "" end }
    assert.has_error(function() handshake.client(nil, t, {}) end,
                     "bad argument #1 to 'client' (context expected, got nil)")
    assert.has_error(function() handshake.client(ctx, {}, {}) end,
                     "bad argument #2 to 'client' (transport needs send and receive methods)")
    assert.has_error(function() handshake.client(ctx, t, { tagret = "x" }) end,
                     "bad argument #3 to 'client' (unknown option 'tagret')")
    assert.has_error(function() handshake.server(ctx, t, { max_steps = 0 }) end,
                     "bad argument #3 to 'server' (max_steps must be a positive integer)")
    assert.has_error(function() handshake.server(ctx, t, { timeout = -1 }) end,
                     "bad argument #3 to 'server' (timeout must be a positive number of seconds)")
  end)
end)
