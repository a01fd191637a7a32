-- sspi.sasl (RFC 4752) against Cyrus SASL's sample programs (sasl2-bin,
-- libsasl2-modules-gssapi-mit), in both directions, with integrity and
-- confidentiality layers, through the throwaway realm.
--
-- The sample programs speak on stdin/stdout ("S: base64" / "C: base64"
-- lines between their chatter).  Each runs under bash with both connected
-- to a TCP connection to a listener of ours on 127.0.0.1 (a free port), so
-- the peer is a real process on a real socket; stdbuf makes its stdout line
-- buffered, as the program never flushes.

local socket = require "socket"
local realm = require "helpers.realm"
local sspi = require "sspi"
local sasl = require "sspi.sasl"
local sh = require "helpers.sh"
local shell_quote, read_file = sh.quote, sh.read_file
local b64encode, b64decode

local SAMPLE_SERVER = "/usr/sbin/sasl-sample-server"
local SAMPLE_CLIENT = "/usr/bin/sasl-sample-client"
local SERVER_MSG, CLIENT_MSG = "srv message 1\0", "client message 1\0"

-- Starts `cmd` with stdin/stdout on a TCP connection to us; returns a peer
-- with :send(prefix, data), :receive(prefix) -> data, :finish() -> exit code.
local function spawn(cmd, dir)
  local listener = assert(socket.bind("127.0.0.1", 0))
  local _, port = listener:getsockname()
  listener:settimeout(10)
  local rc, err = dir .. "/rc", dir .. "/stderr"
  os.remove(rc)
  local script = ("exec 3<>/dev/tcp/127.0.0.1/%d; stdbuf -oL %s <&3 >&3 2>%s 3>&-; echo $? >%s")
    :format(port, cmd, shell_quote(err), shell_quote(rc))
  assert(os.execute("bash -c " .. shell_quote(script) .. " </dev/null >/dev/null 2>&1 &"))
  local conn = listener:accept()
  listener:close()
  assert(conn, "the sample program did not connect")
  conn:settimeout(15)
  local peer = { chatter = {} }
  function peer.send(_, prefix, data)
    assert(conn:send(prefix .. ": " .. b64encode(data) .. "\n"))
  end
  -- The next line with the prefix; other lines are the program's chatter.
  function peer.receive(_, prefix)
    while true do
      local line, e = conn:receive("*l")
      if not line then
        return nil, ("connection %s; stderr: %s; chatter: %s"):format(e, read_file(err),
          table.concat(peer.chatter, " | "))
      end
      if line:sub(1, 3) == prefix .. ": " then
        return assert(b64decode(line:sub(4)))
      end
      peer.chatter[#peer.chatter + 1] = line
    end
  end
  function peer.finish()
    -- read the rest of the chatter until the program closes its end
    while true do
      local line = conn:receive("*l")
      if not line then break end
      peer.chatter[#peer.chatter + 1] = line
    end
    conn:close()
    local deadline = socket.gettime() + 10
    while read_file(rc) == "" and socket.gettime() < deadline do socket.sleep(0.02) end
    return tonumber(read_file(rc):match("%d+")), read_file(err)
  end
  function peer.said(_, pattern)
    for _, l in ipairs(peer.chatter) do
      local m = l:match(pattern)
      if m then return m end
    end
  end
  function peer.close() conn:close() end
  return peer
end

describe("sspi.sasl against Cyrus SASL sample programs", function()
  local r, dir

  setup(function()
    local http = require "sspi.http" -- its strict base64
    b64encode, b64decode = http.b64encode, http.b64decode
    for _, p in ipairs({ SAMPLE_SERVER, SAMPLE_CLIENT, "/usr/bin/stdbuf" }) do
      assert(io.open(p), p .. " is required (apt-get install sasl2-bin libsasl2-modules-gssapi-mit)")
    end
    r = realm.start()
    dir = sh.tmpdir("sasl")
  end)

  teardown(function()
    if dir and dir:match("/sspi%-sasl%.%w+$") then os.execute("rm -rf " .. shell_quote(dir)) end
  end)

  -- our client against sasl-sample-server
  local function client_run(server_args, client_opts)
    local peer = spawn(SAMPLE_SERVER .. " -m GSSAPI -s host -d localhost " .. server_args, dir)
    local mechs = assert(peer:receive("S"))
    assert.equal("GSSAPI", mechs)
    local c = sasl.client(client_opts)
    local first = assert(c:step(nil))
    peer:send("C", "GSSAPI\0" .. first)
    while not c.complete do
      local challenge = assert(peer:receive("S"))
      local resp, err = c:step(challenge)
      if not resp then
        peer.close()
        return nil, err
      end
      peer:send("C", resp)
    end
    local encoded = assert(peer:receive("S"))
    assert.equal(SERVER_MSG, assert(c:decode(encoded)))
    peer:send("C", assert(c:encode(CLIENT_MSG)))
    local code, stderr = peer:finish()
    return c, code, stderr, peer
  end

  it("our client authenticates to sasl-sample-server with confidentiality", function()
    local c, code, stderr, peer = client_run("", { service = "host", host = "localhost" })
    assert.equal(0, code, stderr)
    assert.equal("confidentiality", c.layer)
    assert.equal(2048, c.peer_max_buffer) -- the sample's SAMPLE_SEC_BUF_SIZE
    assert.equal("alice", peer:said("^Username: (.*)$"):match("^[^@]*"))
    assert.is_true(tonumber(peer:said("^SSF: (%d+)")) > 1)
    assert.matches("client message 1", table.concat(peer.chatter, "\n"), 1, true)
  end)

  it("our client authenticates to sasl-sample-server with integrity only", function()
    local c, code, stderr, peer = client_run("", { service = "host", host = "localhost",
      layers = { "integrity" } })
    assert.equal(0, code, stderr)
    assert.equal("integrity", c.layer)
    assert.equal("1", peer:said("^SSF: (%d+)"))
  end)

  it("our client refuses a server that offers no acceptable layer", function()
    -- the server insists on a security layer; we accept only none
    local c, err = client_run("-b min=1", { service = "host", host = "localhost", layers = { "none" } })
    assert.is_nil(c)
    assert.equal("SEC_E_ALGORITHM_MISMATCH", err.status)
  end)

  it("our client fails with the core's status for an unknown service", function()
    local peer = spawn(SAMPLE_SERVER .. " -m GSSAPI -s host -d localhost", dir)
    assert(peer:receive("S"))
    local c = sasl.client{ service = "nosuch", host = "localhost" }
    local out, err, status = c:step(nil)
    assert.is_nil(out)
    assert.matches("^SEC_E_", status)
    assert.equal(status, err.status)
    assert.has_error(function() c:step("x") end, "sasl: the exchange already failed")
    peer.close()
    peer:finish()
  end)

  -- sasl-sample-client against our server
  local function server_run(client_args, server_opts)
    local peer = spawn(SAMPLE_CLIENT .. " -m GSSAPI -s host -n localhost -u '' " .. client_args, dir)
    peer:send("S", "GSSAPI")
    local first = assert(peer:receive("C"))
    local mech, token = first:match("^([^%z]*)%z(.*)$")
    assert.equal("GSSAPI", mech)
    local s = sasl.server(server_opts)
    local challenge = assert(s:step(token))
    while true do
      peer:send("S", challenge)
      local resp = assert(peer:receive("C"))
      local err
      challenge, err = s:step(resp)
      if not challenge then
        peer.close()
        return nil, err
      end
      if s.complete then break end
    end
    peer:send("S", assert(s:encode(SERVER_MSG)))
    local reply = assert(peer:receive("C"))
    assert.equal(CLIENT_MSG, assert(s:decode(reply)))
    local code, stderr = peer:finish()
    return s, code, stderr, peer
  end

  local function acceptor()
    return assert(sspi.credential{ package = "Kerberos", usage = "inbound" })
  end

  it("sasl-sample-client authenticates to our server with confidentiality", function()
    local s, code, stderr, peer = server_run("", { credential = acceptor() })
    assert.equal(0, code, stderr)
    assert.equal("confidentiality", s.layer)
    assert.equal(r.user, s.name)
    assert.equal("", s.authzid)
    assert.equal(2048, s.peer_max_buffer)
    assert.is_true(tonumber(peer:said("^SSF: (%d+)")) > 1)
  end)

  it("sasl-sample-client authenticates to our server with integrity only", function()
    local s, code, stderr, peer = server_run("-b min=1,max=1", { credential = acceptor() })
    assert.equal(0, code, stderr)
    assert.equal("integrity", s.layer)
    assert.equal("1", peer:said("^SSF: (%d+)"))
  end)

  it("our server refuses an authorization identity it does not allow", function()
    local s, err = server_run("-u bob", { credential = acceptor() })
    assert.is_nil(s)
    assert.equal("SEC_E_LOGON_DENIED", err.status)
  end)

  it("our server lets an authorize callback decide", function()
    local seen
    local s, code, stderr = server_run("-u bob", { credential = acceptor(),
      authorize = function(authzid, name) seen = { authzid, name } return true end })
    assert.equal(0, code, stderr)
    assert.same({ "bob", r.user }, seen)
    assert.equal("bob", s.authzid)
  end)
end)

describe("sspi.sasl in one process", function()
  local r
  setup(function()
    r = realm.start()
    local http = require "sspi.http"
    b64encode, b64decode = http.b64encode, http.b64decode
  end)

  local function pair(copts, sopts)
    local c = sasl.client(copts or { service = "host", host = "localhost" })
    sopts = sopts or {}
    sopts.credential = sopts.credential or assert(sspi.credential{ package = "Kerberos", usage = "inbound" })
    local s = sasl.server(sopts)
    local msg = assert(c:step(nil))
    while true do
      local ch, err, status = s:step(msg)
      if not ch then return nil, err, status end
      if s.complete then break end
      msg, err, status = c:step(ch)
      if not msg then return nil, err, status end
    end
    assert.is_true(c.complete)
    return c, s
  end

  it("negotiates, then frames and protects a stream in both directions", function()
    local c, s = pair()
    assert.equal("confidentiality", c.layer)
    assert.equal(r.user, s.name)
    local big = string.rep("0123456789", 20000) -- split across packets
    local wire = assert(c:encode(big))
    -- fed to the peer in odd-sized pieces
    local got = {}
    for i = 1, #wire, 777 do got[#got + 1] = assert(s:decode(wire:sub(i, i + 776))) end
    assert.equal(big, table.concat(got))
    assert.equal("pong", assert(c:decode(assert(s:encode("pong")))))
    assert.is_false(wire:find("0123456789", 1, true) ~= nil)
  end)

  it("picks integrity when the server offers only that, and sends data in the clear but signed", function()
    local c, s = pair(nil, { layers = { "integrity" } })
    assert.equal("integrity", c.layer)
    assert.equal("integrity", s.layer)
    local wire = assert(c:encode("visible text"))
    assert.truthy(wire:find("visible text", 1, true))
    assert.equal("visible text", s:decode(wire))
  end)

  it("rejects a tampered packet with the core's status", function()
    local c, s = pair()
    local wire = assert(c:encode("secret"))
    local bad = wire:sub(1, -2) .. string.char((wire:byte(-1) + 1) % 256)
    local data, err, status = s:decode(bad)
    assert.is_nil(data)
    assert.matches("^SEC_E_", status)
    assert.equal(status, err.status)
  end)

  it("refuses a packet longer than its maximum buffer", function()
    local c, s = pair(nil, { max_buffer = 100 })
    c.peer_max_buffer = 100000 -- a client ignoring the limit
    local data, err, status = s:decode(assert(c:encode(string.rep("x", 1000))))
    assert.is_nil(data)
    assert.equal("SEC_E_INCOMPLETE_MESSAGE", status)
    assert.matches("exceeds our maximum buffer", err.message)
  end)

  it("keeps every packet within the peer's maximum buffer, and says when none can fit", function()
    local c, s = pair(nil, { max_buffer = 200 })
    assert.equal(200, c.peer_max_buffer)
    local wire = assert(c:encode(string.rep("y", 1000)))
    local i, packets = 1, 0
    while i <= #wire do
      local len = string.unpack(">I4", wire, i)
      assert.is_true(len <= 200)
      i, packets = i + 4 + len, packets + 1
    end
    assert.is_true(packets >= 6)
    assert.equal(string.rep("y", 1000), s:decode(wire))
    local c2 = pair(nil, { max_buffer = 20 })
    local data, err, status = c2:encode("x")
    assert.is_nil(data)
    assert.equal("SEC_E_BUFFER_TOO_SMALL", status)
    assert.equal(status, err.status)
  end)

  it("layer none passes bytes through", function()
    local c, s = pair({ service = "host", host = "localhost", layers = { "none" } })
    assert.equal("none", c.layer)
    assert.equal("none", s.layer)
    assert.equal("abc", c:encode("abc"))
    assert.equal("abc", s:decode("abc"))
  end)

  it("fails when client and server share no layer", function()
    local c, err, status = pair({ service = "host", host = "localhost", layers = { "none" } },
      { layers = { "integrity", "confidentiality" } })
    assert.is_nil(c)
    assert.equal("SEC_E_ALGORITHM_MISMATCH", status)
    assert.equal(status, err.status)
  end)

  it("rejects a garbage first token with the core's status", function()
    local s = sasl.server{ credential = assert(sspi.credential{ package = "Kerberos", usage = "inbound" }) }
    local out, err, status = s:step("\x60\x05garbage")
    assert.is_nil(out)
    assert.matches("^SEC_E_", status)
    assert.equal(status, err.status)
    local s2 = sasl.server{ credential = assert(sspi.credential{ package = "Kerberos", usage = "inbound" }) }
    out, err, status = s2:step("")
    assert.is_nil(out)
    assert.equal("SEC_E_INVALID_TOKEN", status)
    assert.equal(status, err.status)
  end)

  it("raises on wrong arguments and on use before completion", function()
    assert.has_error(function() sasl.client{ service = "host" } end)
    assert.has_error(function() sasl.client{ target = "host/localhost", layers = { "strong" } } end)
    assert.has_error(function() sasl.client{ target = "host/localhost", max_buffer = 0 } end)
    assert.has_error(function() sasl.client{ target = "host/localhost", typo = 1 } end)
    assert.has_error(function() sasl.server{} end)
    local c = sasl.client{ target = "host/localhost" }
    assert.has_error(function() c:encode("x") end, "sasl: the security layer is not negotiated yet")
    assert.has_error(function() c:step(42) end)
  end)
end)
