-- The Schannel package against real TLS peers on 127.0.0.1, the handshake
-- driven by hand through step_init / step_accept over a LuaSocket:
-- `openssl s_server` and `openssl s_client` (TLS 1.2 and 1.3, both
-- directions, records fed whole and one byte at a time, client
-- certificates, close_notify both ways) and python3's ssl module.
local sspi = require "sspi"
local socket = require "socket"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local suite = tls.suite()
local pki, spawn, client_cred, server_cred = suite.pki, suite.spawn, suite.client_cred,
  suite.server_cred
setup(suite.setup)
teardown(suite.teardown)

local function line(data) return data:find("\n", 1, true) ~= nil end

-- `openssl s_server -rev` (answers each line reversed) on a free port.
local function s_server(extra, cert, key)
  local port = tls.free_port()
  local log = pki.dir .. "/s_server." .. port .. ".log"
  spawn(("exec openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -naccept 1 -rev %s")
    :format(port, sh.quote(cert or pki.server), sh.quote(key or pki.server_key), extra or ""), log)
  return port, log
end

describe("Schannel against openssl s_server", function()
  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    for _, bytewise in ipairs({ false, true }) do
      local how = bytewise and ", fed one byte at a time" or ""
      it(proto .. ": our client completes, exchanges data and closes" .. how, function()
        local port = s_server(proto == "TLSv1.2" and "-tls1_2" or "-tls1_3")
        local sock = tls.connect(port)
        local ctx = sspi.context(client_cred { protocols = { proto } })
        local res, pending = assert(tls.drive(ctx, sock, true, { target = "localhost", bytewise = bytewise }))
        assert.same("Ok", res.result)
        assert.same(proto, ctx:query("connection_info").protocol)
        assert.same("CN=localhost,O=sspi", ctx:query("remote_cert").subject)
        assert(sock:send(assert(ctx:wrap("hello world\n"))))
        local data, why = tls.read_until(ctx, sock, true, pending, line)
        assert.is_nil(why)
        assert.same("dlrow olleh\n", data)
        -- close_notify from us: s_server -rev answers with its own
        tls.shutdown(ctx, sock, true)
        local _, closed = tls.read_until(ctx, sock, true, "", function() return false end)
        assert.same("closed", closed)
        sock:close()
      end)
    end
  end

  it("a client certificate the server requires: given, or IncompleteCredentials and an alert", function()
    local port = s_server("-tls1_2 -Verify 1 -CAfile " .. sh.quote(pki.ca))
    local sock = tls.connect(port)
    local ctx = sspi.context(client_cred { certificate = pki.client, private_key = pki.client_key })
    assert(tls.drive(ctx, sock, true, { target = "localhost" }))
    assert(sock:send(assert(ctx:wrap("abc\n"))))
    assert.same("cba\n", (tls.read_until(ctx, sock, true, "", line)))
    sock:close()

    port = s_server("-tls1_2 -Verify 1 -CAfile " .. sh.quote(pki.ca))
    sock = tls.connect(port)
    ctx = sspi.context(client_cred())
    local asked = 0
    local res, err, status = tls.drive(ctx, sock, true, { target = "localhost",
      on_incomplete_credentials = function() asked = asked + 1 end })
    assert.same(1, asked)
    -- the server refuses the handshake without one: its alert ends ours
    assert.is_nil(res)
    assert.same("SEC_E_ILLEGAL_MESSAGE", status, tostring(err))
    assert.matches("alert", err.message)
    sock:close()
  end)

  it("a server certificate for another name is SEC_E_WRONG_PRINCIPAL", function()
    local port = s_server("", pki.other, pki.other_key)
    local sock = tls.connect(port)
    local ctx = sspi.context(client_cred())
    local res, err, status = tls.drive(ctx, sock, true, { target = "localhost" })
    assert.is_nil(res)
    assert.same("SEC_E_WRONG_PRINCIPAL", status, tostring(err))
    sock:close()
  end)

  it("plain HTTP where TLS was expected is SEC_E_ILLEGAL_MESSAGE at once", function()
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local c = assert(socket.connect("127.0.0.1", port))
    local conn = assert(server:accept())
    c:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    conn:settimeout(5)
    local ctx = sspi.context(server_cred())
    local first = assert(conn:receive(3))
    local res, err, status = ctx:step_accept { input = first }
    assert.is_nil(res)
    assert.same("SEC_E_ILLEGAL_MESSAGE", status)
    assert.matches("HTTP", err.message)
    c:close(); conn:close(); server:close()
  end)
end)

describe("Schannel against openssl s_client", function()
  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    it(proto .. ": our server completes, exchanges data, and both close", function()
      local server = assert(socket.bind("127.0.0.1", 0))
      local _, port = server:getsockname()
      local input = pki.dir .. "/ping.txt"
      sh.write_file(input, "ping from s_client\n")
      local log = pki.dir .. "/s_client." .. port .. ".log"
      local pid = tls.spawn_stdin(("exec openssl s_client -connect 127.0.0.1:%d -servername localhost "
        .. "-CAfile %s -verify_return_error -ign_eof -quiet %s"):format(port, sh.quote(pki.ca),
          proto == "TLSv1.2" and "-tls1_2" or "-tls1_3"), input, log)
      suite.track(pid)
      server:settimeout(90)
      local sock = assert(server:accept())
      sock:settimeout(90)
      local ctx = sspi.context(server_cred())
      local res, pending = assert(tls.drive(ctx, sock, false))
      assert.same("Ok", res.result)
      assert.same(proto, ctx:query("connection_info").protocol)
      local data, why = tls.read_until(ctx, sock, false, pending, line)
      assert.is_nil(why)
      assert.same("ping from s_client\n", data)
      assert(sock:send(assert(ctx:wrap("pong from sspi\n"))))
      tls.shutdown(ctx, sock, false)
      local _, closed = tls.read_until(ctx, sock, false, "", function() return false end)
      assert.same("closed", closed)
      sock:close()
      server:close()
      tls.kill(pid)
      assert.matches("pong from sspi", sh.read_file(log))
    end)
  end
end)

describe("Schannel against python3's ssl module", function()
  local PY_SERVER = [[
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ctx.set_alpn_protocols(["http/1.1"])
srv = socket.socket()
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
s = ctx.wrap_socket(conn, server_side=True)
data = b""
while not data.endswith(b"\n"):
    data += s.recv(100)
s.sendall(data.upper() + s.version().encode() + b"\n")
s.unwrap()
s.close()
]]
  local PY_CLIENT = [[
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"from python\n")
data = b""
while not data.endswith(b"\n"):
    data += s.recv(100)
print(data.decode().strip(), s.version(), flush=True)
s.unwrap()
]]

  it("our client against a python server (ALPN, close_notify from python)", function()
    local script = pki.dir .. "/server.py"
    sh.write_file(script, PY_SERVER)
    local port = tls.free_port()
    spawn(("exec python3 %s %d %s %s"):format(sh.quote(script), port, sh.quote(pki.server),
      sh.quote(pki.server_key)), pki.dir .. "/py_server.log")
    local sock = tls.connect(port)
    local ctx = sspi.context(client_cred { alpn = { "h2", "http/1.1" } })
    local _, pending = assert(tls.drive(ctx, sock, true, { target = "localhost" }))
    assert.same("http/1.1", ctx:query("application_protocol"))
    assert(sock:send(assert(ctx:wrap("hello python\n"))))
    local data, why = tls.read_until(ctx, sock, true, pending, function(d)
      return d:find("TLS") and d:sub(-1) == "\n"
    end)
    assert.is_nil(why)
    assert.same("HELLO PYTHON\nTLSv1.3\n", data)
    -- python's unwrap() sends close_notify and waits for ours
    local _, closed = tls.read_until(ctx, sock, true, "", function() return false end)
    assert.same("closed", closed)
    tls.shutdown(ctx, sock, true)
    sock:close()
  end)

  it("a python client against our server", function()
    local script = pki.dir .. "/client.py"
    sh.write_file(script, PY_CLIENT)
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local log = pki.dir .. "/py_client.log"
    spawn(("exec python3 %s %d %s"):format(sh.quote(script), port, sh.quote(pki.ca)), log)
    server:settimeout(90)
    local sock = assert(server:accept())
    sock:settimeout(90)
    local ctx = sspi.context(server_cred())
    local _, pending = assert(tls.drive(ctx, sock, false))
    local data = tls.read_until(ctx, sock, false, pending, line)
    assert.same("from python\n", data)
    assert(sock:send(assert(ctx:wrap("hello from sspi\n"))))
    local _, closed = tls.read_until(ctx, sock, false, "", function() return false end)
    assert.same("closed", closed)
    tls.shutdown(ctx, sock, false)
    sock:close()
    server:close()
    local deadline = socket.gettime() + 90
    while not sh.read_file(log):find("\n") and socket.gettime() < deadline do socket.sleep(0.05) end
    assert.same("hello from sspi TLSv1.3\n", sh.read_file(log))
  end)
end)
