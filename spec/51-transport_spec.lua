-- sspi.transport: length-prefixed and gss-sample framings over real
-- LuaSocket and cqueues TCP connections on 127.0.0.1, their failures, and
-- several Kerberos handshakes interleaved in one cqueues controller.

local realm = require "helpers.realm"
local sspi = require "sspi"
local socket = require "socket"
local cqueues = require "cqueues"
local csocket = require "cqueues.socket"
local handshake = require "sspi.handshake"
local transport = require "sspi.transport"

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$")) or "."

local REQ = { "MUTUAL_AUTH", "REPLAY_DETECT", "CONFIDENTIALITY", "INTEGRITY" }

local sh = require "helpers.sh"
local tcp_pair = sh.tcp_pair

describe("sspi.transport", function()
  describe("framed over LuaSocket", function()
    it("carries tokens of any size, including empty ones", function()
      local a, b = tcp_pair()
      local ta, tb = transport.framed(a), transport.framed(b)
      for _, size in ipairs({ 0, 1, 255, 256, 30000 }) do
        local data = ("\0\1\2\255"):rep(size // 4 + 1):sub(1, size)
        assert.is_true(ta:send(data))
        assert.same(data, tb:receive())
      end
      -- big-endian 4-byte prefix on the wire
      assert.is_true(ta:send("xyz"))
      assert.same("\0\0\0\3xyz", b:receive(7))
      ta:close(); tb:close()
    end)

    it("refuses a frame longer than max_token", function()
      local a, b = tcp_pair()
      local ta, tb = transport.framed(a), transport.framed(b, { max_token = 10 })
      assert.is_true(ta:send(("x"):rep(11)))
      local tok, err = tb:receive()
      assert.is_nil(tok)
      assert.same("SEC_E_INVALID_TOKEN", err.status)
      assert.matches("exceeds max_token %(10%)", err.message)
      assert.is_true(transport.is_error(err))
      a:close(); b:close()
    end)

    it("reports a peer that closes in the middle of a token", function()
      local a, b = tcp_pair()
      assert(a:send("\0\0\0\10abc"))
      a:close()
      local tok, err = transport.framed(b):receive()
      assert.is_nil(tok)
      assert.same("SEC_E_INCOMPLETE_MESSAGE", err.status)
      assert.same("closed after 3 of 10 bytes", err.message)
      assert.same("SEC_E_INCOMPLETE_MESSAGE: closed after 3 of 10 bytes", tostring(err))
      b:close()
    end)

    it("times out", function()
      local a, b = tcp_pair()
      local tb = transport.framed(b, { timeout = 0.1 })
      local t0 = socket.gettime()
      local tok, err = tb:receive()
      assert.is_nil(tok)
      assert.same("timeout", err.status)
      assert.is_true(socket.gettime() - t0 < 2)
      a:close(); b:close()
    end)

    it("raises for programmer errors", function()
      local a, b = tcp_pair()
      assert.has_error(function() transport.framed(a, { max_tokn = 1 }) end,
                       "bad argument #2 to 'framed' (unknown option 'max_tokn')")
      assert.has_error(function() transport.framed(a):send(42) end,
                       "bad argument #1 to 'send' (string expected, got number)")
      assert.has_error(function() transport.stream({}) end,
                       "bad argument #1 to 'stream' (LuaSocket or cqueues socket expected)")
      a:close(); b:close()
    end)

    it("drives a Kerberos handshake against a server in another process", function()
      local r = realm.start()
      local listener = assert(socket.bind("127.0.0.1", 0))
      local _, port = listener:getsockname()
      listener:close()
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write([[
        package.path = ]] .. string.format("%q", ROOT .. "/lua/?.lua;" .. package.path) .. [[
        local sspi, socket = require "sspi", require "socket"
        local handshake, transport = require "sspi.handshake", require "sspi.transport"
        local srv = assert(socket.bind("127.0.0.1", ]] .. port .. [[))
        io.stderr:write("listening\n") io.stderr:flush()
        local conn = assert(srv:accept())
        local cred = assert(sspi.credential{ package = "Kerberos", usage = "inbound" })
        local ctx = sspi.context(cred)
        local t = transport.framed(conn, { timeout = 10 })
        local res, err = handshake.server(ctx, t)
        if not res then print("FAILED " .. tostring(err)) os.exit(1) end
        local msg = assert(ctx:unwrap(assert(t:receive())))
        assert(t:send(assert(ctx:wrap("echo:" .. msg))))
        print("AUTHENTICATED " .. ctx:query("names").user)
      ]])
      f:close()
      local out, errf = os.tmpname(), os.tmpname()
      local p = assert(io.popen("lua5.4 " .. script .. " >" .. out .. " 2>" .. errf .. " & echo $!"))
      local pid = tonumber(p:read("l"))
      p:close()
      local slurp = sh.read_file
      local deadline = socket.gettime() + 10
      while not slurp(errf):find("listening", 1, true) do
        assert(socket.gettime() < deadline, "server did not start: " .. slurp(errf))
        socket.sleep(0.02)
      end
      local conn = assert(socket.connect("127.0.0.1", port))
      local cred = assert(sspi.credential{ package = "Kerberos", usage = "outbound",
                                           ccache = r:kinit(r.user, r.password) })
      local ctx = sspi.context(cred)
      local t = transport.framed(conn)
      local res, err = handshake.client(ctx, t, { target = "host/localhost", context_req = REQ, timeout = 10 })
      assert.is_table(res, tostring(err))
      assert.is_true(t:send(assert(ctx:wrap("hi"))))
      assert.same("echo:hi", (ctx:unwrap(assert(t:receive()))))
      conn:close()
      for _ = 1, 500 do -- until it exits (a zombie counts: init reaps orphans late)
        if not sh.alive(pid) then break end
        socket.sleep(0.01)
      end
      local text = slurp(out)
      os.execute("kill " .. pid .. " 2>/dev/null")
      os.remove(script); os.remove(out); os.remove(errf)
      assert.matches("AUTHENTICATED " .. r.user, text, 1, true)
    end)
  end)

  describe("gss-sample framing over LuaSocket", function()
    local G = transport.GSS_SAMPLE

    it("writes and reads flag byte, 4-byte length and body, and the v1 form", function()
      local a, b = tcp_pair()
      local ta, tb = transport.gss_sample(a), transport.gss_sample(b)
      assert.is_true(ta:send_token(G.DATA | G.WRAPPED, "body"))
      assert.same("\x24\0\0\0\4body", b:receive(9))
      assert.is_true(ta:send_token(G.NOOP | G.CONTEXT_NEXT, ""))
      assert.same({ 0x11, "" }, { tb:receive_token() })
      -- v1: no flag byte, the first byte is the top of the length
      assert(a:send("\0\0\0\3abc"))
      assert.same({ 0, "abc" }, { tb:receive_token() })
      -- context tokens for the handshake driver
      assert.is_true(ta:send("ctx"))
      assert.same("ctx", tb:receive())
      a:close(); b:close()
    end)

    it("refuses a non-context token where a context token is due", function()
      local a, b = tcp_pair()
      local ta, tb = transport.gss_sample(a), transport.gss_sample(b)
      assert.is_true(ta:send_token(G.DATA, "x"))
      local tok, err = tb:receive()
      assert.is_nil(tok)
      assert.same("SEC_E_INVALID_TOKEN", err.status)
      assert.matches("got flags 0x04", err.message)
      -- and a server that expected the opening NOOP
      assert.is_true(ta:send_token(G.CONTEXT, "x"))
      tok, err = tb:server_start()
      assert.is_nil(tok)
      assert.matches("expected a NOOP token", err.message)
      assert.has_error(function() ta:send_token(256, "") end,
                       "bad argument #1 to 'send_token' (flags must be an integer 0..255)")
      a:close(); b:close()
    end)

    it("reports truncation after the flag byte", function()
      local a, b = tcp_pair()
      assert(a:send("\x02\0\0"))
      a:close()
      local flags, err = transport.gss_sample(b):receive_token()
      assert.is_nil(flags)
      assert.same("SEC_E_INCOMPLETE_MESSAGE", err.status)
      b:close()
    end)
  end)

  describe("over cqueues", function()
    local r, client_cred, server_cred

    setup(function()
      r = realm.start()
      client_cred, server_cred = r:kerberos_credentials()
    end)

    it("interleaves several handshakes and message exchanges in one controller", function()
      local N = 4
      local cq = cqueues.new()
      local listener = csocket.listen("127.0.0.1", 0)
      assert(listener:listen())
      local _, _, port = listener:localname()
      local log, results = {}, {}

      cq:wrap(function()
        for _ = 1, N do
          local conn = assert(listener:accept())
          cq:wrap(function()
            local t = transport.framed(conn, { timeout = 10 })
            local ctx = sspi.context(server_cred)
            local res, err = handshake.server(ctx, t, { timeout = 10, clock = cqueues.monotime })
            assert(res, tostring(err))
            local msg = assert(ctx:unwrap(assert(t:receive())))
            assert(t:send(assert(ctx:wrap(msg .. "/" .. ctx:query("names").user))))
            conn:close()
          end)
        end
      end)

      for id = 1, N do
        cq:wrap(function()
          local conn = assert(csocket.connect("127.0.0.1", port))
          local t = transport.framed(conn)
          local ctx = sspi.context(client_cred)
          local res, err = handshake.client(ctx, t, {
            target = "host/localhost", context_req = REQ, timeout = 10, clock = cqueues.monotime,
            on_step = function(step) log[#log + 1] = { id, step } end,
          })
          assert(res, tostring(err))
          assert(t:send(assert(ctx:wrap("client " .. id))))
          results[id] = assert(ctx:unwrap(assert(t:receive())))
          conn:close()
        end)
      end

      local ok, err = cq:loop(30)
      assert.is_true(ok, tostring(err))
      assert.is_true(cq:empty())
      for id = 1, N do assert.same("client " .. id .. "/" .. r.user, results[id]) end
      -- interleaved: some handshake took its first step while another was
      -- between its first and its last
      local first, last = {}, {}
      for i, e in ipairs(log) do
        first[e[1]] = first[e[1]] or i
        last[e[1]] = i
      end
      local interleaved = false
      for a = 1, N do
        for b = 1, N do
          if a ~= b and first[a] < first[b] and first[b] < last[a] then interleaved = true end
        end
      end
      assert.is_true(interleaved, "handshakes ran one after another")
      assert.same(2 * N, #log)
    end)

    it("reports a cqueues peer that closes mid-handshake, and a timeout", function()
      local cq = cqueues.new()
      local listener = csocket.listen("127.0.0.1", 0)
      assert(listener:listen())
      local _, _, port = listener:localname()
      local closed_err, timeout_err
      cq:wrap(function()
        local conn = assert(listener:accept())
        local t = transport.framed(conn)
        assert(t:receive()) -- the AP-REQ; then hang up without answering
        conn:close()
        local conn2 = assert(listener:accept())
        assert(transport.framed(conn2):receive())
        cqueues.sleep(2) -- never answer within the client's deadline
        conn2:close()
      end)
      cq:wrap(function()
        local conn = assert(csocket.connect("127.0.0.1", port))
        local _, err = handshake.client(sspi.context(client_cred), transport.framed(conn),
                                        { target = "host/localhost", context_req = REQ })
        closed_err = err
        conn:close()
        conn = assert(csocket.connect("127.0.0.1", port))
        _, err = handshake.client(sspi.context(client_cred), transport.framed(conn),
                                  { target = "host/localhost", context_req = REQ, timeout = 0.3,
                                    clock = cqueues.monotime })
        timeout_err = err
        conn:close()
      end)
      local ok, err = cq:loop(10)
      assert.is_true(ok, tostring(err))
      assert.same("SEC_E_INCOMPLETE_MESSAGE", closed_err.status)
      assert.same(1, closed_err.step)
      assert.same("timeout", timeout_err.status)
      assert.same(1, timeout_err.step)
    end)
  end)
end)
