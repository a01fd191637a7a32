-- Hostile input for the public functions of the pure-Lua layer:
-- sspi.handshake, sspi.transport, sspi.http, sspi.sasl and sspi.token.
-- A programming error raises naming the argument; hostile data from the
-- peer (headers, frames, tokens, SASL messages) gives nil, err[, status];
-- nothing hangs, nothing crashes.  Contexts are real (the built-in NTLM
-- against itself, MS-NLMP 4.2's user); sockets are real (127.0.0.1).
local sspi = require "sspi"
local http, sasl, token = sspi.http, sspi.sasl, sspi.token
local handshake, transport = sspi.handshake, sspi.transport

local NT_HASH_HEX = "a4f49c406510bdcab6824ee7c30fd852" -- NTOWFv1("Password"), MS-NLMP 4.2
local MIB64 = 64 << 20
local REQ = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY | sspi.ISC_REQ_SEQUENCE_DETECT

local raises = require("helpers.expect").raises

local WRONG = { false, 1, 1.5, 0 / 0, {}, { { {} } }, print, io.stdout, coroutine.create(print) }

local function client_cred(package)
  return assert(sspi.credential { package = package or "NTLM", backend = "builtin",
                                  username = "Domain\\User", password = "Password" })
end

local function server_cred(package)
  return assert(sspi.credential { package = package or "NTLM", backend = "builtin", usage = "inbound",
                                  mechs = package == "Negotiate" and { "NTLM" } or nil,
                                  lookup = function() return NT_HASH_HEX end })
end

local socket_pair = require("helpers.sh").tcp_pair

describe("sspi.token given hostile input", function()
  it("decode, parse and read_input never raise on data, whatever its type or size", function()
    for _, v in ipairs(WRONG) do
      local t, err = token.decode(v)
      assert.is_nil(t)
      assert.are.equal("string", type(err))
      t, err = token.parse(v)
      assert.is_nil(t)
      assert.are.equal("string", type(err))
    end
    local big = ("\x60\x84\x04\x00\x00\x00"):rep(1) .. ("\0"):rep(MIB64)
    -- (token.parse reads "A..." as base64, decoded in Lua at ~0.2 s/MiB: 1 MiB of it)
    for _, v in ipairs { "", "\0", big, ("A"):rep(1 << 20), "NTLMSSP\0" .. ("\xff"):rep(64),
                         ("\x30\x80"):rep(50000), ("\xa0\x84\xff\xff\xff\xff"),
                         -- (base64 is decoded in Lua: 1 MiB keeps this quick)
                         "Negotiate " .. ("A"):rep(1 << 20) } do
      local t, err = token.decode(v)
      if t == nil then assert.are.equal("string", type(err)) end
      t, err = token.parse(v)
      if t == nil then assert.are.equal("string", type(err)) end
    end
  end)

  it("the byte helpers raise naming the argument for non-strings", function()
    for _, name in ipairs { "hex", "from_hex", "base64", "from_base64" } do
      for _, v in ipairs(WRONG) do
        raises({ "bad argument #1 to '" .. name .. "' (string expected" }, token[name], v)
      end
      raises({ "bad argument #1 to '" .. name .. "' (string expected, got nil)" }, token[name])
    end
    assert.is_nil(token.from_hex("zz"))
    assert.is_nil(token.from_base64("*"))
    assert.are.equal("", token.from_hex(""))
    local big = ("\xa5"):rep(1 << 20)
    assert.are.equal(big, token.from_base64(token.base64(big)))
    assert.are.equal(big, token.from_hex(token.hex(big)))
  end)

  it("ntlm_flag_names takes integers only; mech_name answers nil for anything unknown", function()
    for _, v in ipairs { 1.5, 0 / 0, "1", {}, nil } do
      raises({ "bad argument #1 to 'ntlm_flag_names' (integer expected)" }, token.ntlm_flag_names, v)
    end
    assert.is_table(token.ntlm_flag_names(math.mininteger))
    assert.is_table(token.ntlm_flag_names(-1))
    for _, v in ipairs(WRONG) do assert.is_nil(token.mech_name(v)) end
  end)

  it("to_json and to_text of hostile tables: cycles and functions raise, deep nesting is bounded", function()
    local cyclic = {}
    cyclic.self = cyclic
    assert.has_error(function() token.to_json(cyclic) end)
    assert.has_error(function() token.to_json { f = print } end)
    local deep = {}
    for _ = 1, 200 do deep = { deep } end
    local ok = pcall(token.to_json, deep)
    assert.is_boolean(ok)
    assert.are.equal("null", token.to_json(nil))
  end)
end)

describe("sspi.http given hostile input", function()
  it("header helpers: non-strings raise naming the argument, junk headers give nil, message", function()
    for _, v in ipairs(WRONG) do
      raises({ "bad argument #1 to 'b64encode' (string expected" }, http.b64encode, v)
      assert.is_nil((http.b64decode(v)))
      if type(v) ~= "table" then
        raises({ "bad argument #1 to 'parse_challenges'" }, http.parse_challenges, v)
        raises({ "bad argument #1 to 'parse_credentials'" }, http.parse_credentials, v)
        raises({ "bad argument #1 to 'find_challenge'" }, http.find_challenge, v, "Negotiate")
      end
      raises({ "bad argument #1 to 'format_challenge'" }, http.format_challenge, v)
      raises({ "bad argument #1 to 'format_credentials'" }, http.format_credentials, v)
      if type(v) ~= "string" then
        raises({ "bad argument #2 to 'find_challenge' (string expected" }, http.find_challenge, {}, v)
      end
    end
    raises({ "bad argument #1 to 'parse_challenges' (string expected in field 2)" }, http.parse_challenges,
           { "Negotiate", 5 })
    raises({ "bad argument #2 to 'format_challenge' (token68 expected)" }, http.format_challenge, "Negotiate",
           "not token68!")
    raises({ "bad auth-param value (control character)" }, http.format_challenge, "Basic", { realm = "a\nb" })
    -- a list of garbage challenges finds nothing instead of raising
    assert.is_nil(http.find_challenge({ 1, "x", {}, { scheme = 5 } }, "Negotiate"))
    for _, junk in ipairs { "", ",,,", "Negotiate ====", '"', "Basic realm=\"unterminated", "\0\1\2",
                            ("Negotiate " .. ("A"):rep(MIB64)) .. " x", ("a="):rep(100000) } do
      local list, err = http.parse_challenges(junk)
      if not list then assert.are.equal("string", type(err)) end
      local cred
      cred, err = http.parse_credentials(junk)
      if not cred then assert.are.equal("string", type(err)) end
    end
    for _, junk in ipairs { "A", "A===", "A=B=", "\0", "AAA*" } do
      assert.is_nil((http.b64decode(junk)))
    end
  end)

  it("header values longer than MAX_HEADER_VALUE are refused before any decoding", function()
    local long = "Negotiate " .. ("A"):rep(http.MAX_HEADER_VALUE)
    local huge = "NTLM " .. ("A"):rep(MIB64)
    -- only the refusals are timed (making 64 MiB is slow under valgrind)
    local started = os.clock()
    local list, err = http.parse_challenges(long)
    assert.is_nil(list)
    assert.is_truthy(err:find("more than " .. http.MAX_HEADER_VALUE, 1, true), err)
    local cred
    cred, err = http.parse_credentials(huge)
    assert.is_nil(cred)
    assert.is_truthy(err:find("Authorization: value of 67108869 bytes", 1, true), err)
    list, err = http.parse_challenges { "Negotiate", ("A"):rep(http.MAX_HEADER_VALUE) }
    assert.is_nil(list)
    assert.is_string(err)
    assert.is_true(os.clock() - started < 2, "refusing took " .. (os.clock() - started) .. " s")
    -- a Kerberos-sized token (64 KiB, base64) is still fine
    local kerberos_sized = "Negotiate " .. http.b64encode(("\x60"):rep(65535))
    assert.are.equal("Negotiate", assert(http.parse_credentials(kerberos_sized)).scheme)
  end)

  it("initiator, client and server: options of the wrong kind raise naming the argument", function()
    for _, v in ipairs(WRONG) do
      if type(v) ~= "table" then
        raises({ "bad argument #1 to 'initiator' (table expected" }, http.initiator, v)
        raises({ "bad argument #1 to 'server' (table expected" }, http.server, v)
        raises({ "bad argument #1 to 'client' (table expected" }, http.client, v)
        if type(v) ~= "function" then
          raises({ "bad argument #1 to 'client' (connect: function expected)" }, http.client, { connect = v })
        end
      end
    end
    raises({ "unknown option 'hots'" }, http.initiator, { hots = "x" })
    raises({ "target or host expected" }, http.initiator, {})
    raises({ "unsupported scheme 'Basic'" }, http.initiator, { host = "x", schemes = { "Basic" } })
    raises({ "unsupported scheme '5'" }, http.initiator, { host = "x", schemes = { 5 } })
    raises({ "credentials table expected" }, http.server, {})
    raises({ "unsupported scheme 'Kerberos'" }, http.server, { credentials = { Kerberos = server_cred() } })
    raises({ "no credential for any offered scheme" }, http.server,
           { credentials = { NTLM = server_cred() }, schemes = { "Negotiate" } })
    raises({ "bad argument #1 to 'request' (URL or request table expected)" }, http.request, 5)
    raises({ "bad argument #1 to 'request' (no host in the URL)" }, http.request, "")
    raises({ "bad argument #1 to 'request' (no host in the URL)" }, http.request, {})
  end)

  it("the server refuses hostile Authorization values with 400/401 and forgets the connection", function()
    local srv = http.server { credentials = { NTLM = server_cred(), Negotiate = server_cred("Negotiate") } }
    local conn = {}
    raises({ "bad argument #1 to 'authenticate' (connection object expected)" }, srv.authenticate, srv, nil)
    for _, header in ipairs {
      "", "Negotiate", "NTLM", "Negotiate ====", "Negotiate !!!", "Basic dXNlcjpwYXNz",
      "NTLM " .. http.b64encode("NTLMSSP\0\3\0\0\0" .. ("\0"):rep(64)),   -- AUTHENTICATE out of the blue
      "NTLM " .. http.b64encode("NTLMSSP\0\1\0\0\0"),                     -- a cut NEGOTIATE
      "Negotiate " .. http.b64encode("\x60\x84\xff\xff\xff\xff"),
      "Negotiate " .. http.b64encode(("\x60"):rep(4096)),
      "NTLM " .. ("A"):rep(MIB64),
      { "NTLM a", "NTLM b" },
    } do
      local r = srv:authenticate(conn, header)
      assert.is_truthy(r.status == 400 or r.status == 401, tostring(r.status))
      assert.is_nil(r.name)
      assert.is_table(r.www_authenticate)
    end
    -- a real login still works on the same server afterwards
    local ini = http.initiator { host = "localhost", schemes = { "NTLM" }, credential = client_cred() }
    local value = assert(ini:respond("NTLM"))
    local r = srv:authenticate(conn, value)
    assert.are.equal(401, r.status)
    r = srv:authenticate(conn, assert(ini:respond(r.www_authenticate)))
    assert.are.equal(200, r.status)
    assert.are.equal("Domain\\User", r.name)
  end)

  it("the initiator refuses hostile WWW-Authenticate values with nil, err, status", function()
    local ini = http.initiator { host = "localhost", schemes = { "NTLM" }, credential = client_cred() }
    for _, v in ipairs { "", "Basic realm=x", "Negotiate ====" } do
      local value, err, status = ini:respond(v)
      assert.is_nil(value)
      assert.are.equal(status, err.status)
    end
    raises({ "bad argument #1 to 'parse_challenges'" }, ini.respond, ini, 5)
    ini:reset()
    assert(ini:respond("NTLM"))
    for _, v in ipairs { "NTLM " .. ("A"):rep(MIB64), "NTLM ====", "NTLM " .. http.b64encode("\0\0") } do
      local value, err, status = ini:respond(v)
      assert.is_nil(value)
      assert.are.equal(status, err.status)
      ini:reset()
      assert(ini:respond("NTLM"))
    end
    -- past max_legs
    local short = http.initiator { host = "localhost", schemes = { "NTLM" }, credential = client_cred(), max_legs = 1 }
    assert(short:respond("NTLM"))
    local _, err, status = short:respond("NTLM " .. http.b64encode("x"))
    assert.are.equal("SEC_E_INTERNAL_ERROR", status)
    assert.is_truthy(tostring(err):find("too many authentication legs", 1, true))
  end)
end)

describe("sspi.sasl given hostile input", function()
  -- SASL GSSAPI is a Kerberos mechanism, but the layer drives any context:
  -- the built-in NTLM keeps this spec free of a KDC.
  local function pair()
    local c = sasl.client { target = "host/localhost", credential = client_cred(),
                            context_req = REQ | sspi.ISC_REQ_MUTUAL_AUTH }
    local s = sasl.server { credential = server_cred(), context_req = 0 }
    local msg = assert(c:step(nil))
    for _ = 1, 8 do
      local reply = assert(s:step(msg))
      if s.complete then break end
      msg = assert(c:step(reply))
    end
    return c, s
  end

  it("options of the wrong kind raise naming the argument", function()
    for _, v in ipairs(WRONG) do
      if type(v) ~= "table" then
        raises({ "bad argument #1 to 'client' (table expected" }, sasl.client, v)
        raises({ "bad argument #1 to 'server' (table expected" }, sasl.server, v)
      end
    end
    raises({ "target, or service and host expected" }, sasl.client, {})
    raises({ "unknown option 'srvice'" }, sasl.client, { srvice = "x" })
    raises({ "authzid: string expected" }, sasl.client, { target = "x", authzid = 5 })
    raises({ "unknown layer 'strong'" }, sasl.client, { target = "x", layers = { "strong" } })
    raises({ "layers: at least one layer" }, sasl.client, { target = "x", layers = {} })
    for _, v in ipairs { 0, -1, 1 << 24, 1.5, "1" } do
      raises({ "max_buffer: integer in 1..16777215" }, sasl.client, { target = "x", max_buffer = v })
    end
    raises({ "credential expected" }, sasl.server, {})
    raises({ "authorize: function expected" }, sasl.server, { credential = server_cred(), authorize = 1 })
  end)

  it("step refuses wrong types, steps after failure and after completion", function()
    local s = sasl.server { credential = server_cred() }
    for _, v in ipairs(WRONG) do
      raises({ "bad argument #1 to 'step' (string expected)" }, s.step, s, v)
    end
    local res, err, status = s:step("")
    assert.is_nil(res)
    assert.are.equal("SEC_E_INVALID_TOKEN", status)
    assert.are.equal(status, err.status)
    raises({ "sasl: the exchange already failed" }, s.step, s, "x")
    local s2 = sasl.server { credential = server_cred() }
    res, err, status = s2:step(("A"):rep(MIB64))
    assert.is_nil(res)
    assert.are.equal(status, err.status)
    local c = sasl.client { target = "host/localhost", credential = client_cred() }
    raises({ "bad argument #1 to 'step' (string or nil expected)" }, c.step, c, 5)
    raises({ "sasl: the security layer is not negotiated yet" }, c.wrap, c, "x")
    raises({ "sasl: the security layer is not negotiated yet" }, c.decode, c, "x")
  end)

  it("the security layer refuses hostile packets", function()
    local c, s = pair()
    assert.is_true(c.complete)
    assert.is_true(s.complete)
    raises({ "sasl: the exchange is already complete" }, s.step, s, "x")
    -- a packet longer than our maximum buffer, announced by its length
    local res, err, status = s:decode(string.pack(">I4", 0xffffffff))
    assert.is_nil(res)
    assert.are.equal("SEC_E_INCOMPLETE_MESSAGE", status)
    assert.are.equal(status, err.status)
    -- garbage inside a well-framed packet
    local _, s2 = pair()
    res, err, status = s2:decode(string.pack(">s4", ("\0"):rep(32)))
    assert.is_nil(res)
    assert.are.equal(status, err.status)
    -- partial packets are kept, not errors
    c, s2 = pair()
    local wire = assert(c:encode("hello"))
    assert.are.equal("", s2:decode(wire:sub(1, 3)))
    assert.are.equal("hello", s2:decode(wire:sub(4)))
    res, err = s2:unwrap(("\xff"):rep(MIB64))
    assert.is_nil(res)
    assert.is_not_nil(err)
  end)
end)

describe("sspi.transport given hostile input", function()
  it("constructors refuse what is not a socket, and bad options", function()
    for _, v in ipairs(WRONG) do
      raises({ "bad argument #1 to 'stream' (LuaSocket or cqueues socket expected)" }, transport.stream, v)
      raises({ "bad argument #1 to 'stream'" }, transport.framed, v)
      raises({ "bad argument #1 to 'stream'" }, transport.gss_sample, v)
    end
    local a, b = socket_pair()
    for _, v in ipairs { 0, -1, 1 << 32, 1.5, "1" } do
      raises({ "bad argument #2 to 'framed' (max_token must be an integer in 1..2^32-1)" }, transport.framed,
             a, { max_token = v })
    end
    raises({ "bad argument #2 to 'framed' (unknown option 'max')" }, transport.framed, a, { max = 1 })
    raises({ "bad argument #2 to 'gss_sample' (table expected, got number)" }, transport.gss_sample, a, 5)
    local t = transport.framed(a)
    for _, v in ipairs(WRONG) do
      raises({ "bad argument #1 to 'send' (string expected" }, t.send, t, v)
    end
    local g = transport.gss_sample(b)
    for _, v in ipairs { -1, 256, 1.5, "1" } do
      raises({ "bad argument #1 to 'send_token' (flags must be an integer 0..255)" }, g.send_token, g, v, "")
    end
    a:close()
    b:close()
  end)

  it("hostile frames from the peer: oversized lengths, short reads, closed sockets", function()
    local a, b = socket_pair()
    local t = transport.framed(b, { max_token = 1024 })
    -- a 4 GiB announcement is refused before anything is read
    a:send(string.pack(">I4", 0xffffffff))
    local tok, err = t:receive()
    assert.is_nil(tok)
    assert.are.equal("SEC_E_INVALID_TOKEN", err.status)
    assert.is_true(transport.is_error(err))
    -- a frame cut short by the peer closing
    a:send(string.pack(">I4", 100) .. "short")
    a:close()
    tok, err = t:receive()
    assert.is_nil(tok)
    assert.are.equal("SEC_E_INCOMPLETE_MESSAGE", err.status)
    tok, err = t:receive()
    assert.is_nil(tok)
    assert.are.equal("SEC_E_INCOMPLETE_MESSAGE", err.status)
    b:close()
    -- gss-sample: an unexpected flag byte and an oversized token
    a, b = socket_pair()
    local g = transport.gss_sample(b, { max_token = 16 })
    a:send("\x04" .. string.pack(">s4", "data, not context"))
    tok, err = g:receive()
    assert.is_nil(tok)
    assert.are.equal("SEC_E_INVALID_TOKEN", err.status)
    a:send("\x02" .. string.pack(">I4", 17))
    tok, err = g:receive()
    assert.is_nil(tok)
    assert.are.equal("SEC_E_INVALID_TOKEN", err.status)
    a:close()
    b:close()
    -- an error object prints whatever it was given
    assert.are.equal("nil: nil", tostring(transport.error()))
    assert.are.equal("x: table", tostring(transport.error("x", "table")))
  end)
end)

describe("sspi.handshake given hostile input", function()
  it("arguments of the wrong kind raise naming the argument", function()
    local ctx = sspi.context(client_cred())
    local good = { send = function() return true end, receive = function() return nil, "closed" end }
    for _, fname in ipairs { "client", "server" } do
      local f = handshake[fname]
      raises({ "bad argument #1 to '" .. fname .. "' (context expected, got nil)" }, f, nil, good)
      for _, v in ipairs { false, 1, "x", print } do
        raises({ "bad argument #2 to '" .. fname .. "' (transport expected" }, f, ctx, v)
      end
      raises({ "bad argument #2 to '" .. fname .. "' (transport needs send and receive methods)" }, f, ctx, {})
      raises({ "bad argument #3 to '" .. fname .. "' (table expected, got number)" }, f, ctx, good, 5)
      raises({ "bad argument #3 to '" .. fname .. "' (unknown option 'targte')" }, f, ctx, good, { targte = "x" })
      for _, v in ipairs { 0, -1, 1.5, "3" } do
        raises({ "max_steps must be a positive integer" }, f, ctx, good, { max_steps = v })
      end
      for _, v in ipairs { 0, -1, "3" } do
        raises({ "timeout must be a positive number of seconds" }, f, ctx, good, { timeout = v })
      end
    end
    assert.are.equal("new", ctx:state())
  end)

  it("transports that lie: numbers, tables, huge tokens, errors, raising, yielding", function()
    local function run(receive, fname)
      local ctx = sspi.context(fname == "server" and server_cred() or client_cred())
      local t = { send = function() return true end, receive = receive }
      return handshake[fname or "client"](ctx, t, { target = fname ~= "server" and "host/localhost" or nil })
    end
    local cases = {
      { function() return 42 end, "SEC_E_INVALID_TOKEN" },
      { function() return {} end, "SEC_E_INVALID_TOKEN" },
      { function() return nil end, "SEC_E_INCOMPLETE_MESSAGE" },
      { function() return nil, { status = "timeout", message = "slow" } end, "timeout" },
      { function() return nil, setmetatable({}, { __tostring = function() return "odd" end }) end,
        "SEC_E_INCOMPLETE_MESSAGE" },
      { function() return ("A"):rep(MIB64) end, "SEC_E_INVALID_TOKEN" },
      { function() return "" end, "SEC_E_INVALID_TOKEN" },
    }
    for _, fname in ipairs { "client", "server" } do
      for _, case in ipairs(cases) do
        local res, err = run(case[1], fname)
        assert.is_nil(res)
        assert.are.equal(case[2], err.status, fname .. ": " .. handshake.describe(err))
        assert.are.equal("string", type(handshake.describe(err)))
      end
    end
    -- a transport that raises: the error passes through to the caller
    raises({ "transport exploded" }, run, function() error("transport exploded") end)
    -- a transport that yields outside a coroutine raises; inside one, the handshake waits
    assert.has_error(function() run(function() coroutine.yield() end) end)
    local co = coroutine.wrap(function() return run(function() coroutine.yield("waiting") return 42 end) end)
    assert.are.equal("waiting", co())
    local res, err = co()
    assert.is_nil(res)
    assert.are.equal("SEC_E_INVALID_TOKEN", err.status)
  end)

  it("a peer that never finishes stops at max_steps; a send that fails stops at once", function()
    local c = sspi.context(client_cred())
    local s = sspi.context(server_cred())
    local t = { send = function() return nil, "broken pipe" end, receive = function() return "x" end }
    local res, err = handshake.client(c, t, { target = "host/localhost" })
    assert.is_nil(res)
    assert.are.equal("SEC_E_INCOMPLETE_MESSAGE", err.status)
    assert.is_truthy(handshake.describe(err):find("broken pipe", 1, true))
    local echo = { send = function() return true end, receive = function() return "NTLMSSP\0\1\0\0\0" end }
    res, err = handshake.server(s, echo, { max_steps = 1 })
    assert.is_nil(res)
    assert.is_not_nil(err.status)
    for _, v in ipairs(WRONG) do assert.are.equal("string", type(handshake.describe(v))) end
    assert.is_false(handshake.is_transport_error({}))
  end)
end)
