-- sspi.kdcproxy without a KDC: the KDC-PROXY-MESSAGE codec on hand-built
-- bytes (MS-KKDCP 2.2.2), every truncation and one-byte edit refused
-- cleanly, the handler's refusals, the HTTP reading limits of `serve` over
-- a socket pair, and a KDC that is closed, silent or answers nonsense.
-- (spec/28-kdcproxy_spec.lua has MIT's kinit through the real thing.)
local LUA_BUILD = require "helpers.build"
local socket = require "socket"
local kdcproxy = require "sspi.kdcproxy"
local sh = require "helpers.sh"

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function unhex(h)
  return (h:gsub("%s", ""):gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- kerb-message 00000002 6a00, target-domain "R", dclocator-hint 1
local SAMPLE = unhex("3014 a008 0406 000000026a00 a103 1b0152 a203 020101")

describe("KDC-PROXY-MESSAGE", function()
  it("decodes hand-built bytes and encodes them back identically", function()
    local m = assert(kdcproxy.decode(SAMPLE))
    assert.same({ message = unhex("000000026a00"), realm = "R", hint = 1 }, m)
    assert.equal(hex(SAMPLE), hex(kdcproxy.encode(m)))
    assert.equal(hex(unhex("300aa0080406000000026a00")), hex(kdcproxy.encode { message = unhex("000000026a00") }))
  end)

  it("round-trips long messages (long-form lengths), negative hints and no options", function()
    for _, size in ipairs({ 0, 1, 123, 124, 300, 70000 }) do
      for _, hint in ipairs({ false, 0, -1, 128, -129, math.maxinteger }) do
        local msg = { message = kdcproxy.frame(("k"):rep(size)), realm = size % 2 == 0 and "EXAMPLE.COM" or nil,
          hint = hint or nil }
        assert.same(msg, assert(kdcproxy.decode(kdcproxy.encode(msg))))
      end
    end
  end)

  it("refuses every truncation and every one-byte edit without raising", function()
    for n = 0, #SAMPLE - 1 do
      local m, err = kdcproxy.decode(SAMPLE:sub(1, n))
      assert.is_nil(m, "prefix of " .. n)
      assert.is_string(err)
    end
    for i = 1, #SAMPLE do
      for _, b in ipairs({ 0x00, 0x01, 0x7f, 0x80, 0x81, 0x84, 0xff }) do
        local edited = SAMPLE:sub(1, i - 1) .. string.char(b) .. SAMPLE:sub(i + 1)
        local ok, m, err = pcall(kdcproxy.decode, edited)
        assert(ok, m)
        assert.is_true(m ~= nil or type(err) == "string")
      end
    end
  end)

  it("refuses what MS-KKDCP does not allow, saying what", function()
    local cases = {
      { SAMPLE .. "\0", "trailing bytes" },
      { unhex("3000"), "no kerb%-message" },
      { unhex("3007 a005 0403 000000"), "shorter than its length prefix" },
      { unhex("3008 a006 0404 00000001"), "length prefix 1, but 0" },
      { unhex("3009 a007 0405 000000056a"), "length prefix 5, but 1" },
      { unhex("300f a103 1b0152 a008 0406 000000026a00"), "out of order" },
      { unhex("300f a008 0406 000000026a00 a303 020101"), "unknown field %[3%]" },
      { unhex("300f a008 0406 000000026a00 a103 0c0152"), "expected GeneralString" },
      { unhex("300f a008 0406 000000026a00 a103 1b0120"), "not a realm name" },
      { unhex("300f a008 0406 000000026a00 a203 0a0101"), "expected INTEGER" },
      { unhex("300c a008 0406 000000026a00 a200"), "truncated" },
      { unhex("310a a008 0406 000000026a00"), "expected UNIVERSAL 16 constructed" },
      { unhex("300a a008 1b06 000000026a00"), "expected OCTET STRING" },
      { unhex("3080 a008 0406 000000026a00 0000"), "indefinite length" },
    }
    for _, c in ipairs(cases) do
      local m, err = kdcproxy.decode(c[1])
      assert.is_nil(m, hex(c[1]))
      assert.matches(c[2], err)
    end
    -- a 0-byte Kerberos message is well-formed here: the handler refuses it
    assert.same({ message = unhex("00000000") }, kdcproxy.decode(unhex("3008 a006 0404 00000000")))
  end)

  it("raises for programmer errors", function()
    assert.error_matches(function() kdcproxy.decode(nil) end, "bad argument #1 to 'decode'")
    assert.error_matches(function() kdcproxy.encode {} end, "bad argument #1 to 'encode'")
    assert.error_matches(function() kdcproxy.encode { message = "x", hint = 1.5 } end, "'hint'")
    assert.error_matches(function() kdcproxy.new {} end, "kdcs required")
    assert.error_matches(function() kdcproxy.new { kdcs = { "kdc:99999" }, any_realm = true } end,
      "bad KDC address")
    assert.error_matches(function() kdcproxy.new { kdcs = { "kdc:88" } } end, "realms required")
    assert.error_matches(function() kdcproxy.new { kdcs = { "kdc:88" }, realms = { "A" }, default_realm = "B" } end,
      "default_realm B is not an allowed realm")
    assert.error_matches(function() kdcproxy.new { kdcs = { "kdc:88" }, realms = { "A" }, timeout = 0 } end,
      "timeout: a positive number")
    assert.error_matches(function() kdcproxy.new { kdcs = { "kdc:88" }, realm = { "A" } } end,
      "unknown option 'realm'")
  end)
end)

describe("the KDC proxy handler", function()
  local function post(body, ctype)
    return { method = "POST", headers = { ["content-type"] = { ctype or "application/kerberos" } }, body = body }
  end

  local function as_req(realm)
    return kdcproxy.encode { message = kdcproxy.frame("\x6a\x03\x02\x01\x05"), realm = realm }
  end

  it("refuses what it must not forward, before any KDC is asked", function()
    -- nothing listens at this KDC: a forwarded request would be a 503
    local p = kdcproxy.new { kdcs = { ["A.TEST"] = { "127.0.0.1:" .. sh.free_port() } }, max_message = 100 }
    assert.same(405, p:handle { method = "GET", headers = {} }.status)
    assert.same(415, p:handle(post(as_req("A.TEST"), "text/plain")).status)
    assert.same(415, p:handle { method = "POST", headers = {}, body = as_req("A.TEST") }.status)
    assert.same(413, p:handle(post(as_req("A.TEST") .. ("x"):rep(100))).status)
    assert.same(400, p:handle(post("\x30\x03\x02\x01")).status)
    assert.same(400, p:handle(post(kdcproxy.encode { message = kdcproxy.frame("\x6b\x00"), realm = "A.TEST" })).status)
    assert.same(400, p:handle(post(kdcproxy.encode { message = kdcproxy.frame("\x6a\x00") })).status)
    assert.same(403, p:handle(post(as_req("B.TEST"))).status)
    local res = p:handle(post(as_req("A.TEST"), "Application/Kerberos; charset=x"))
    assert.same(503, res.status)
    assert.matches("connect", res.reason)
    assert.equal("Service Unavailable\n", res.body) -- the KDC's address stays in the log
  end)

  it("uses the default realm for a message without a target-domain", function()
    local p = kdcproxy.new { kdcs = { "127.0.0.1:" .. sh.free_port() }, realms = { "A.TEST" },
      default_realm = "A.TEST" }
    assert.same(503, p:handle(post(kdcproxy.encode { message = kdcproxy.frame("\x6c\x00") })).status)
  end)

  it("gives up on a KDC that does not answer within the time-out (504)", function()
    local silent = assert(socket.bind("127.0.0.1", 0)) -- the kernel accepts; nobody answers
    finally(function() silent:close() end)
    local _, port = silent:getsockname()
    local p = kdcproxy.new { kdcs = { "127.0.0.1:" .. port }, any_realm = true, timeout = 0.3 }
    local t0 = socket.gettime()
    local res = p:handle(post(as_req("A.TEST")))
    assert.same(504, res.status)
    assert.is_true(socket.gettime() - t0 < 5)
  end)

  it("refuses a KDC reply longer than max_message (502)", function()
    local port = sh.free_port()
    local script = ("local s = require('socket').bind('127.0.0.1', %d); print('ready'); io.stdout:flush();"
      .. " local c = s:accept(); c:settimeout(5); c:receive(4); c:send('\\255\\255\\255\\255'); c:receive(1)")
      :format(port)
    local kdc = io.popen(LUA_BUILD.lua .. " -e " .. sh.quote(script))
    finally(function() kdc:close() end)
    assert.equal("ready", kdc:read("l"))
    local p = kdcproxy.new { kdcs = { "127.0.0.1:" .. port }, any_realm = true, timeout = 5 }
    local res = p:handle(post(as_req("A.TEST")))
    assert.same(502, res.status)
    assert.matches("reply length 4294967295", res.reason)
  end)
end)

describe("the KDC proxy's HTTP reading (serve)", function()
  local p = kdcproxy.new { kdcs = { "127.0.0.1:" .. sh.free_port() }, any_realm = true, path = "/KdcProxy",
    max_message = 1000, client_timeout = 0.5 }

  local function exchange(request)
    local client, server = sh.tcp_pair(5)
    assert(client:send(request))
    local res = p:serve(server)
    server:close()
    local reply = client:receive("*a")
    client:close()
    return res, reply
  end

  it("answers over the connection and asks it to close", function()
    local res, reply = exchange("GET /KdcProxy HTTP/1.1\r\nHost: x\r\n\r\n")
    assert.same(405, res.status)
    assert.matches("^HTTP/1%.1 405 Method Not Allowed\r\n", reply)
    assert.matches("\r\nAllow: POST\r\n", reply)
    assert.matches("\r\nConnection: close\r\n", reply)
  end)

  it("refuses a head over 8 KiB, a body without or over its length, another path, a slow client", function()
    assert.same(431, exchange("POST /KdcProxy HTTP/1.1\r\nX: " .. ("a"):rep(9000) .. "\r\n\r\n").status)
    assert.same(411, exchange("POST /KdcProxy HTTP/1.1\r\nContent-Type: application/kerberos\r\n\r\n").status)
    assert.same(413, exchange("POST /KdcProxy HTTP/1.1\r\nContent-Length: 1001\r\n\r\n").status)
    assert.same(400, exchange("POST /KdcProxy HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status)
    assert.same(501, exchange("POST /KdcProxy HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status)
    assert.same(404, exchange("POST /other HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status)
    assert.same(400, exchange("BREW /KdcProxy HTCPCP/1.0\r\n\r\n").status)
    assert.same(408, exchange("POST /KdcProxy HTTP/1.1\r\nContent-Le").status)
    assert.same(408, exchange("POST /KdcProxy HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").status)
  end)

  it("does not let a client that trickles its request over TLS hold it past client_timeout", function()
    -- one TLS record per body byte: each record is a read of its own, and
    -- only the request's deadline bounds them all
    local sspi = require "sspi"
    local tls, pki_helper = require "sspi.tls", require "helpers.tls"
    local pki = pki_helper.pki()
    finally(function() pki_helper.cleanup(pki.dir) end)
    local listener = assert(socket.bind("127.0.0.1", 0))
    finally(function() listener:close() end)
    local _, port = listener:getsockname()
    local script = table.concat({
      "local socket, sspi, tls = require 'socket', require 'sspi', require 'sspi.tls'",
      ("local cred = assert(sspi.credential { package = 'Schannel', usage = 'outbound', ca = %q })"):format(pki.ca),
      ("local c = assert(tls.connect('127.0.0.1', %d, { credential = cred, timeout = 10 }))"):format(port),
      "c:send('POST /KdcProxy HTTP/1.1\\r\\nContent-Type: application/kerberos\\r\\nContent-Length: 100\\r\\n\\r\\n')",
      "for _ = 1, 100 do socket.sleep(0.05); if not c:send('x') then break end end",
    }, "\n")
    sh.write_file(pki.dir .. "/trickle.lua", script)
    local child = io.popen(LUA_BUILD.lua .. " " .. sh.quote(pki.dir .. "/trickle.lua") .. " 2>&1")
    finally(function() child:close() end)
    local cred = assert(sspi.credential { package = "Schannel", usage = "inbound", certificate = pki.server,
      private_key = pki.server_key })
    local conn = assert(tls.accept(listener, { credential = cred, timeout = 20 }))
    local t0 = socket.gettime()
    local res = p:serve(conn)
    conn:close()
    assert.same(408, res.status, res.reason)
    assert.is_true(socket.gettime() - t0 < 2, "served for " .. (socket.gettime() - t0) .. " s")
  end)
end)
