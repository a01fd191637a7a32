-- sspi.tls: TLS over LuaSocket and cqueues sockets with the Schannel
-- package, against openssl s_server / s_client and python3, and both ends
-- in one cqueues controller.
local socket = require "socket"
local stls = require "sspi.tls"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local suite = tls.suite()
local pki, client_cred, server_cred = suite.pki, suite.client_cred, suite.server_cred
setup(suite.setup)
teardown(suite.teardown)

describe("sspi.tls", function()
  it("connect, send and receive lines against openssl s_server", function()
    local port = tls.free_port()
    suite.spawn(("exec openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -naccept 1 -rev")
      :format(port, sh.quote(pki.server), sh.quote(pki.server_key)), pki.dir .. "/rev.log")
    local conn, err
    for _ = 1, 1800 do
      conn, err = stls.connect("127.0.0.1", port, { credential = client_cred(), target = "localhost", timeout = 90 })
      if conn or err ~= "connection refused" then break end
      socket.sleep(0.05)
    end
    assert(conn, tostring(err))
    assert.matches("sspi.tls.connection %(client, ready%)", tostring(conn))
    assert.same(12, conn:send("hello world\n"))
    assert.same("dlrow olleh", conn:receive("*l"))
    assert.same(7, conn:send("abc\r\ndef\n", 1, 7))
    assert.same("cba", conn:receive("l"))
    assert.is_number(conn:getfd())
    assert.same("TLSv1.3", conn:context():query("connection_info").protocol)
    conn:close()
    assert.same(nil, (conn:receive(1)))
  end)

  it("sets TCP_NODELAY on a LuaSocket socket (its sends are whole records), unless nodelay = false", function()
    for _, nodelay in ipairs { true, false } do
      local port, pid = tls.s_server(pki)
      suite.track(pid)
      local conn, err
      for _ = 1, 1800 do
        conn, err = stls.connect("127.0.0.1", port, { credential = client_cred(), target = "localhost",
          timeout = 90, nodelay = nodelay })
        if conn or err ~= "connection refused" then break end
        socket.sleep(0.05)
      end
      assert(conn, tostring(err))
      assert.same(nodelay, conn.sock:getoption("tcp-nodelay"))
      -- and a large send still arrives whole (-rev answers each line reversed)
      local line = ("ab"):rep(3000)
      assert.same(#line + 1, conn:send(line .. "\n"))
      assert.same(("ba"):rep(3000), conn:receive("*l"))
      conn:close()
    end
  end)

  it("accept against openssl s_client; receive numbers and lines", function()
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local input = pki.dir .. "/in.txt"
    sh.write_file(input, "0123456789line two\r\n")
    local log = pki.dir .. "/s_client.log"
    local pid = tls.spawn_stdin(("exec openssl s_client -connect 127.0.0.1:%d -CAfile %s -ign_eof -quiet")
      :format(port, sh.quote(pki.ca)), input, log)
    suite.track(pid)
    server:settimeout(90)
    local conn = assert(stls.accept(server, { credential = server_cred(), timeout = 90 }))
    assert.same("0123", conn:receive(4))
    assert.same(">>456789", conn:receive(6, ">>"))
    assert.same("line two", conn:receive("*l"))
    conn:send("bye\n")
    conn:close()
    server:close()
    local deadline = socket.gettime() + 90
    while not sh.read_file(log):find("bye") and socket.gettime() < deadline do socket.sleep(0.05) end
    assert.matches("bye", sh.read_file(log))
  end)

  it("receive gives nil, 'closed' after the peer's close_notify, and '*a' what came before", function()
    local script = pki.dir .. "/srv.py"
    sh.write_file(script, [[
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv = socket.socket(); srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(1)
conn, _ = srv.accept()
s = ctx.wrap_socket(conn, server_side=True)
s.sendall(b"x" * 50000 + b"end")
s.unwrap()
]])
    local port = tls.free_port()
    suite.spawn(("exec python3 %s %d %s %s"):format(sh.quote(script), port,
      sh.quote(pki.server), sh.quote(pki.server_key)), pki.dir .. "/py.log")
    local sock = tls.connect(port)
    local conn = assert(stls.wrap(sock, { credential = client_cred(), target = "localhost" }))
    assert(conn:handshake())
    local all = assert(conn:receive("*a"))
    assert.same(("x"):rep(50000) .. "end", all)
    local data, err = conn:receive(1)
    assert.is_nil(data)
    assert.same("closed", err)
    conn:close()
  end)

  it("a failed handshake is nil, err, status", function()
    local port = tls.free_port()
    suite.spawn(("exec openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -naccept 1 -rev")
      :format(port, sh.quote(pki.selfsigned), sh.quote(pki.selfsigned_key)), pki.dir .. "/ss.log")
    local sock = tls.connect(port)
    local conn = assert(stls.wrap(sock, { credential = client_cred(), target = "localhost" }))
    local ok, err, status = conn:handshake()
    assert.is_nil(ok)
    assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
    conn:close()
  end)

  it("refuses unknown options and a missing credential", function()
    assert.has_error(function() stls.wrap({}, { credential = client_cred(), bogus = 1 }) end,
      "bad argument #2 to 'wrap' (unknown option 'bogus')")
    assert.has_error(function() stls.wrap({}, {}) end, "bad argument #2 to 'wrap' (credential required)")
  end)

  it("both ends in one cqueues controller, yielding on the sockets", function()
    local cqueues = require "cqueues"
    local csocket = require "cqueues.socket"
    local srv = csocket.listen("127.0.0.1", 0)
    local _, _, port = srv:localname()
    local cq = cqueues.new()
    local got_server, got_client
    cq:wrap(function()
      local s = srv:accept()
      local conn = assert(stls.wrap(s, { credential = server_cred(), server = true }))
      assert(conn:handshake())
      got_server = conn:receive("*l")
      conn:send("reply " .. got_server .. "\n")
      conn:close()
    end)
    cq:wrap(function()
      local c = csocket.connect("127.0.0.1", port)
      local conn = assert(stls.wrap(c, { credential = client_cred(), target = "localhost" }))
      assert(conn:handshake())
      conn:send("over cqueues\n")
      got_client = conn:receive("*l")
      local none, why = conn:receive("*l")
      assert.is_nil(none)
      assert.same("closed", why)
      conn:close()
    end)
    assert(cq:loop(10))
    srv:close()
    assert.same("over cqueues", got_server)
    assert.same("reply over cqueues", got_client)
  end)
end)
