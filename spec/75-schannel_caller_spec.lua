-- What a Windows Schannel caller relies on beyond the plain handshake,
-- against `openssl s_server` / `openssl s_client` (which print what they
-- received) and our own server:
--  - a failed step hands out the TLS alert it wrote (err.token, and an
--    output SECBUFFER_ALERT) and sspi.tls sends it, so the peer learns why;
--  - ALPN offered per context by an input SECBUFFER_APPLICATION_PROTOCOLS
--    (SEC_APPLICATION_PROTOCOLS, built by sspi.tls.alpn_buffer);
--  - after IncompleteCredentials, a step with another credential brings
--    the client certificate (InitializeSecurityContext with a new handle).
local sspi = require "sspi"
local socket = require "socket"
local stls = require "sspi.tls"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local suite = tls.suite()
local pki, pids, client_cred, server_cred = suite.pki, suite.pids, suite.client_cred,
  suite.server_cred
setup(suite.setup)
teardown(suite.teardown)

-- Waits until the peer's log says `pattern` (or 90 s pass); returns the log.
local function wait_log(log, pattern)
  local deadline = socket.gettime() + 90
  local text = sh.read_file(log) or ""
  while not text:find(pattern) and socket.gettime() < deadline do
    socket.sleep(0.05)
    text = sh.read_file(log) or ""
  end
  return text
end

-- Parses a TLS alert record: level, description.
local function alert_of(bytes)
  assert.is_string(bytes)
  assert.same(21, bytes:byte(1), "not an alert record")
  return bytes:byte(6), bytes:byte(7)
end

describe("Schannel: the alert of a failed step", function()
  it("is err.token and the output SECBUFFER_ALERT (in one process)", function()
    -- the server refuses a client that offers TLS 1.3 only: protocol_version (70)
    local client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
    local server = sspi.context(server_cred { protocols = { "TLSv1.2" } })
    local hello = assert(client:step_init { target = "localhost" }).token
    local res, err, status = server:step_accept { input = hello,
      output = { sspi.SECBUFFER_TOKEN, sspi.SECBUFFER_ALERT } }
    assert.is_nil(res)
    assert.same("SEC_E_ALGORITHM_MISMATCH", status)
    local level, desc = alert_of(err.token)
    assert.same(2, level)
    assert.same(70, desc)
    -- the client that gets it fails with its description
    local cres, cerr, cstatus = client:step_init { target = "localhost", input = err.token }
    assert.is_nil(cres)
    assert.same("SEC_E_ILLEGAL_MESSAGE", cstatus)
    assert.matches("protocol version", cerr.message)

    -- a preallocated SECBUFFER_ALERT gets it too, without a token buffer
    client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
    server = sspi.context(server_cred { protocols = { "TLSv1.2" } })
    hello = assert(client:step_init { target = "localhost" }).token
    local buf = sspi.buffer(sspi.SECBUFFER_ALERT, 64)
    res, err = server:step_accept { input = hello, output = { buf } }
    assert.is_nil(res)
    assert.is_nil(err.token)
    assert.same(7, #buf)
    assert.same(70, select(2, alert_of(buf:data())))

    -- the client refuses an untrusted certificate: its alert is for the server
    client = sspi.context(client_cred())
    server = sspi.context(server_cred { certificate = pki.selfsigned, private_key = pki.selfsigned_key })
    local t = assert(client:step_init { target = "localhost" }).token
    t = assert(server:step_accept { input = t }).token
    res, err, status = client:step_init { target = "localhost", input = t }
    assert.is_nil(res)
    assert.same("SEC_E_UNTRUSTED_ROOT", status)
    level, desc = alert_of(err.token)
    assert.same(2, level)
    assert.same(48, desc) -- unknown_ca
  end)

  it("sspi.tls: our client refusing an untrusted server certificate sends the alert to s_server", function()
    local port, pid, log = tls.s_server(pki, { cert = pki.selfsigned, key = pki.selfsigned_key })
    pids[#pids + 1] = pid
    local conn, err, status
    for _ = 1, 1800 do
      conn, err, status = stls.connect("127.0.0.1", port, { credential = client_cred(),
        target = "localhost", timeout = 90 })
      if conn or err ~= "connection refused" then break end
      socket.sleep(0.05)
    end
    assert.is_nil(conn)
    assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
    assert.matches("alert unknown ca", wait_log(log, "alert unknown ca"))
  end)

  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    it("sspi.tls: our server refusing a client with only " .. proto .. " (disabled) sends protocol_version", function()
      local server = assert(socket.bind("127.0.0.1", 0))
      local _, port = server:getsockname()
      local log = pki.dir .. "/s_client." .. port .. ".log"
      pids[#pids + 1] = tls.spawn(("exec openssl s_client -connect 127.0.0.1:%d -CAfile %s %s")
        :format(port, sh.quote(pki.ca), proto == "TLSv1.2" and "-tls1_2" or "-tls1_3"), log)
      server:settimeout(90)
      local enabled = proto == "TLSv1.2" and "TLSv1.3" or "TLSv1.2"
      local conn, err, status = stls.accept(server, { credential = server_cred { protocols = { enabled } },
        timeout = 90 })
      server:close()
      assert.is_nil(conn)
      assert.same("SEC_E_ALGORITHM_MISMATCH", status, tostring(err))
      assert.matches("alert protocol version", wait_log(log, "alert protocol version"))
    end)
  end
end)

-- Steps a client and a server context against each other in one process;
-- first: the client's first step arguments.  Returns both contexts.
local function pair(ccred, scred, first)
  local client, server = sspi.context(ccred), sspi.context(scred)
  local res = assert(client:step_init(first))
  local sres
  repeat
    sres = assert(server:step_accept { input = res.token })
    if res.result ~= "Ok" then
      res = assert(client:step_init { target = "localhost", input = sres.token })
    end
  until res.result == "Ok" and sres.result == "Ok"
  return client, server
end

describe("Schannel: ALPN from an input SECBUFFER_APPLICATION_PROTOCOLS", function()
  it("tls.alpn_buffer is Windows' SEC_APPLICATION_PROTOCOLS", function()
    local b = stls.alpn_buffer { "h2", "http/1.1" }
    assert.same(sspi.SECBUFFER_APPLICATION_PROTOCOLS, b.type)
    -- ProtocolListsSize 18, ProtoNegoExt ALPN (2), ProtocolListSize 12, the list
    assert.same("\18\0\0\0" .. "\2\0\0\0" .. "\12\0" .. "\2h2\8http/1.1", b:data())
    assert.has_error(function() stls.alpn_buffer {} end,
      "bad argument #1 to 'alpn_buffer' (non-empty list of protocol names expected)")
    assert.has_error(function() stls.alpn_buffer { "h2", "" } end,
      "bad argument #1 to 'alpn_buffer' (protocol 2: a name of 1 to 255 bytes expected)")
  end)

  it("the buffer's list is offered instead of the credential's (our server)", function()
    local scred = server_cred { alpn = { "h2", "http/1.1" } }
    local client, server = pair(client_cred { alpn = { "h2" } }, scred,
      { target = "localhost", input = { stls.alpn_buffer { "spdy/3", "http/1.1" } } })
    assert.same("http/1.1", client:query("application_protocol"))
    assert.same("http/1.1", server:query("application_protocol"))
    -- without the buffer, the credential's
    client = pair(client_cred { alpn = { "h2" } }, scred, { target = "localhost" })
    assert.same("h2", client:query("application_protocol"))
    -- a buffer with only an NPN list (ProtoNegoExt 1) offers nothing of its own
    local npn = "\11\0\0\0" .. "\1\0\0\0" .. "\5\0" .. "\4spdy"
    client = pair(client_cred { alpn = { "h2" } }, scred, { target = "localhost",
      input = { sspi.buffer(sspi.SECBUFFER_APPLICATION_PROTOCOLS, npn) } })
    assert.same("h2", client:query("application_protocol"))
  end)

  it("a server chooses from its buffer's list instead of its credential's", function()
    local ccred = client_cred { alpn = { "h2", "http/1.1" } }
    local scred = server_cred { alpn = { "h2" } }
    local client = sspi.context(ccred)
    local server = sspi.context(scred)
    local res = assert(client:step_init { target = "localhost" })
    local sres = assert(server:step_accept { input = { res.token, stls.alpn_buffer { "http/1.1" } } })
    repeat
      if res.result ~= "Ok" then res = assert(client:step_init { target = "localhost", input = sres.token }) end
      if sres.result ~= "Ok" then sres = assert(server:step_accept { input = res.token }) end
    until res.result == "Ok" and sres.result == "Ok"
    assert.same("http/1.1", server:query("application_protocol"))
    assert.same("http/1.1", client:query("application_protocol"))
    -- a list the client does not share: no protocol (the handshake goes on)
    client, server = pair(ccred, server_cred(), { target = "localhost" })
    assert.is_nil(client:query("application_protocol"))
    assert.is_nil(server:query("application_protocol"))
  end)

  it("sspi.tls.accept{ alpn = } against openssl s_client -alpn", function()
    local listener = assert(socket.bind("127.0.0.1", 0))
    local _, port = listener:getsockname()
    local input = pki.dir .. "/alpn.in"
    sh.write_file(input, "hello\n")
    local log = pki.dir .. "/s_client_alpn.log"
    pids[#pids + 1] = tls.spawn_stdin(
      ("exec openssl s_client -connect 127.0.0.1:%d -CAfile %s -alpn h2,http/1.1 -ign_eof")
        :format(port, sh.quote(pki.ca)), input, log)
    listener:settimeout(90)
    local conn = assert(stls.accept(listener, { credential = server_cred(), timeout = 90,
      alpn = { "http/1.1" } }))
    listener:close()
    assert.same("http/1.1", conn:context():query("application_protocol"))
    assert.same("hello", conn:receive("*l"))
    conn:close()
    assert.matches("ALPN protocol: http/1.1", wait_log(log, "ALPN protocol"), 1, true)
  end)

  it("against openssl s_server -alpn: sspi.tls.connect{ alpn = }", function()
    local port, pid = tls.s_server(pki, { extra = "-alpn h2,http/1.1" })
    pids[#pids + 1] = pid
    local conn, err
    for _ = 1, 1800 do
      conn, err = stls.connect("127.0.0.1", port, { credential = client_cred(), target = "localhost",
        timeout = 90, alpn = { "foo", "http/1.1" } })
      if conn or err ~= "connection refused" then break end
      socket.sleep(0.05)
    end
    assert(conn, tostring(err))
    assert.same("http/1.1", conn:context():query("application_protocol"))
    assert.same(4, conn:send("abc\n"))
    assert.same("cba", conn:receive("*l"))
    conn:close()
  end)

  it("a malformed buffer is SEC_E_INVALID_PARAMETER saying what is wrong", function()
    local cases = {
      { "\1\0\0", "too short" },
      { "\10\0\0\0" .. "\2\0\0\0" .. "\3\0" .. "\2h2", "ProtocolListsSize says 10" },
      { "\4\0\0\0" .. "\2\0\0\0", "is cut" },
      { "\9\0\0\0" .. "\2\0\0\0" .. "\4\0" .. "\2h2", "runs past the buffer" },
      { "\9\0\0\0" .. "\2\0\0\0" .. "\3\0" .. "\5h2", "has length 5" },
      { "\6\0\0\0" .. "\2\0\0\0" .. "\0\0", "the ALPN list is empty" },
      { "\9\0\0\0" .. "\7\0\0\0" .. "\3\0" .. "\2h2", "ProtoNegoExt 7" },
      { "\18\0\0\0" .. ("\2\0\0\0" .. "\3\0" .. "\2h2"):rep(2), "two ALPN lists" },
    }
    for _, case in ipairs(cases) do
      local ctx = sspi.context(client_cred())
      local res, err, status = ctx:step_init { target = "localhost",
        input = { sspi.buffer(sspi.SECBUFFER_APPLICATION_PROTOCOLS, case[1]) } }
      assert.is_nil(res, case[2])
      assert.same("SEC_E_INVALID_PARAMETER", status, case[2])
      assert.matches("SECBUFFER_APPLICATION_PROTOCOLS", err.message, 1, true)
      assert.matches(case[2], err.message, 1, true)
    end
  end)
end)

describe("Schannel: a client certificate after IncompleteCredentials", function()
  local function line(data) return data:find("\n", 1, true) ~= nil end

  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    it(proto .. ": against openssl s_server -Verify 1, the step's credential brings it", function()
      local port, pid, log = tls.s_server(pki, { extra = ("-%s -Verify 1 -CAfile %s")
        :format(proto == "TLSv1.2" and "tls1_2" or "tls1_3", sh.quote(pki.ca)) })
      pids[#pids + 1] = pid
      local sock = tls.connect(port)
      local ctx = sspi.context(client_cred())
      local asked = 0
      local res, pending = tls.drive(ctx, sock, true, { target = "localhost",
        on_incomplete_credentials = function()
          asked = asked + 1
          return client_cred { certificate = pki.client, private_key = pki.client_key }
        end })
      assert(res, tostring(pending))
      assert.same(1, asked)
      assert.same(proto, ctx:query("connection_info").protocol)
      assert(sock:send(assert(ctx:wrap("abc\n"))))
      local data, why = tls.read_until(ctx, sock, true, pending, line)
      assert.is_nil(why)
      assert.same("cba\n", data)
      sock:close()
      assert.matches("CN = alice", sh.read_file(log))
    end)
  end

  it("sspi.tls: client_credential answers the request (openssl s_server -Verify 1)", function()
    local port, pid, log = tls.s_server(pki, { extra = "-Verify 1 -CAfile " .. sh.quote(pki.ca) })
    pids[#pids + 1] = pid
    local asked = 0
    local conn, err
    for _ = 1, 1800 do
      conn, err = stls.connect("127.0.0.1", port, { credential = client_cred(), target = "localhost",
        timeout = 90, client_credential = function(c)
          asked = asked + 1
          assert.matches("sspi.tls.connection", tostring(c))
          return client_cred { certificate = pki.client, private_key = pki.client_key }
        end })
      if conn or err ~= "connection refused" then break end
      socket.sleep(0.05)
    end
    assert(conn, tostring(err))
    assert.same(1, asked)
    assert.same(4, conn:send("abc\n"))
    assert.same("cba", conn:receive("*l"))
    conn:close()
    assert.matches("CN = alice", sh.read_file(log))
  end)

  it("our server requiring one gets it (TLS 1.2 and 1.3)", function()
    local scred = server_cred { ca = pki.ca }
    for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
      local certcred = client_cred { certificate = pki.client, private_key = pki.client_key,
        protocols = { proto } }
      local client = sspi.context(client_cred { protocols = { proto } })
      local server = sspi.context(scred)
      local res = assert(client:step_init { target = "localhost" })
      local sres
      local incomplete = 0
      repeat
        sres = assert(server:step_accept { input = res.token })
        if res.result ~= "Ok" then
          res = assert(client:step_init { target = "localhost", input = sres.token })
          if res.result == "IncompleteCredentials" then
            incomplete = incomplete + 1
            res = assert(client:step_init { target = "localhost", input = sres.token,
              credential = certcred })
          end
        end
      until res.result == "Ok" and sres.result == "Ok"
      assert.same(1, incomplete)
      assert.same(proto, server:query("connection_info").protocol)
      assert.same("CN=alice,O=sspi", server:query("names").user)
      assert.is_true(server:query("flags") & sspi.ASC_RET_MUTUAL_AUTH ~= 0)
      assert.same("ping", server:unwrap(assert(client:wrap("ping"))))
    end
  end)

  it("a step's credential is refused where it makes no sense", function()
    local certcred = client_cred { certificate = pki.client, private_key = pki.client_key }
    -- not after IncompleteCredentials
    local ctx = sspi.context(client_cred())
    local res, err, status = ctx:step_init { target = "localhost", credential = certcred }
    assert.is_nil(res)
    assert.same("SEC_E_INVALID_PARAMETER", status)
    assert.matches("right after IncompleteCredentials", err.message)
    -- the context's own credential is no other credential
    local own = client_cred()
    ctx = sspi.context(own)
    assert.same("ContinueNeeded", assert(ctx:step_init { target = "localhost", credential = own }).result)
    -- another package, another direction
    ctx = sspi.context(client_cred())
    res, err, status = ctx:step_init { target = "localhost",
      credential = assert(sspi.credential { package = "NTLM", username = "u", password = "p" }) }
    assert.is_nil(res)
    assert.same("SEC_E_INVALID_PARAMETER", status)
    assert.matches("the step's credential is for NTLM", err.message)
    ctx = sspi.context(client_cred())
    res, err, status = ctx:step_init { target = "localhost", credential = server_cred() }
    assert.is_nil(res)
    assert.same("SEC_E_NO_CREDENTIALS", status)
    assert.matches("acquired for inbound use only", err.message)
    -- not a credential: a programming error
    assert.has_error(function() sspi.context(client_cred()):step_init { credential = "x" } end)
    local closed = client_cred()
    closed:close()
    assert.has_error(function() sspi.context(client_cred()):step_init { credential = closed } end)
  end)
end)
