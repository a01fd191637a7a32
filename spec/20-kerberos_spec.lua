-- Kerberos through the system GSSAPI (MIT krb5), against a throwaway realm:
-- client and server contexts in one Lua state, every credential source, the
-- message functions both ways, and a status for each failure.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"
local testenv = require "sspi_testenv"

local REQ = { "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY", "SEQUENCE_DETECT", "REPLAY_DETECT" }

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function cred(opts)
  opts.package = opts.package or "Kerberos"
  opts.backend = "gssapi"
  return sspi.credential(opts)
end

-- Runs a whole handshake; returns the two contexts and the last results.
local function handshake(args)
  local client = sspi.context(args.client or assert(cred{ usage = "outbound" }))
  local server = sspi.context(args.server or assert(cred{ usage = "inbound" }))
  return pair.run(client, server, { target = args.target or "host/localhost", req = args.req or REQ,
    accept_req = args.accept_req, client_cb = args.client_cb, server_cb = args.server_cb })
end

local function file_content(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

describe("Kerberos (gssapi backend)", function()
  local r

  setup(function()
    r = realm.start()
  end)

  it("is listed with Windows' package info", function()
    local found
    for _, p in ipairs(sspi.packages()) do
      if p.name == "Kerberos" and p.backend == "gssapi" then found = p end
    end
    assert.is_table(found)
    assert.equal(48000, found.max_token)
    local caps = found.capabilities
    assert.is_true(caps & 0x1 ~= 0 and caps & 0x2 ~= 0)          -- INTEGRITY, PRIVACY
    assert.is_true(caps & 0x10000 ~= 0 and caps & 0x20000 ~= 0)  -- MUTUAL_AUTH, DELEGATION
    assert.is_true(caps & 0x8 == 0)                              -- no DATAGRAM through GSSAPI
  end)

  describe("a mutual handshake with the default credentials", function()
    local client, server, cres, sres

    setup(function()
      client, server, cres, sres = handshake{}
      assert(client, server)
    end)

    it("completes on both sides with the asked flags", function()
      assert.equal("Ok", cres.result)
      assert.equal("Ok", sres.result)
      local cflags = set_of(sspi.flag_names(cres.flags, "ISC_RET"))
      for _, name in ipairs{ "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY", "SEQUENCE_DETECT",
        "REPLAY_DETECT" } do
        assert.is_true(cflags["ISC_RET_" .. name], name)
      end
      local sflags = set_of(sspi.flag_names(sres.flags, "ASC_RET"))
      assert.is_true(sflags.ASC_RET_MUTUAL_AUTH)
      assert.is_true(sflags.ASC_RET_CONFIDENTIALITY)
      assert.is_nil(sflags.ASC_RET_DELEGATE)
      assert.equal(cres.flags, client:query("flags"))
    end)

    it("names the client on both sides and the service natively", function()
      assert.equal(r.user, client:query("names").user)
      assert.equal(r.user, server:query("names").user)
      local native = server:query("native_names")
      assert.equal(r.user, native.client)
      assert.equal("host/localhost@SSPI.TEST", native.server)
      assert.equal("host/localhost@SSPI.TEST", client:query("native_names").server)
    end)

    it("gives both sides the same session key and its enctype", function()
      local ck, ctype = client:query("session_key")
      local sk, stype = server:query("session_key")
      assert.equal(32, #ck)
      assert.equal(ck, sk)
      assert.equal(18, ctype) -- aes256-cts-hmac-sha1-96
      assert.equal(ctype, stype)
    end)

    it("reports sizes, lifespan and package", function()
      local sizes = client:query("sizes")
      assert.equal(48000, sizes.max_token)
      assert.equal(28, sizes.max_signature)     -- RFC 4121 MIC: 16-byte header + 12-byte HMAC
      assert.equal(60, sizes.security_trailer)  -- header + confounder + encrypted header + HMAC
      assert.equal(1, sizes.block_size)
      local life = server:query("lifespan")
      assert.is_true(life.expiry > os.time())
      assert.is_true(life.start <= os.time())
      assert.equal("Kerberos", client:query("package_info").name)
      local nego = server:query("negotiation_info")
      assert.equal("Kerberos", nego.package.name)
      assert.equal("complete", nego.state)
      local none, err, status = client:query("stream_sizes")
      assert.is_nil(none)
      assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
      assert.equal(status, err.status)
    end)

    it("wraps and unwraps both ways, sealed or not", function()
      local w = assert(client:wrap("to the server"))
      local data, encrypted = server:unwrap(w)
      assert.equal("to the server", data)
      assert.is_true(encrypted)
      assert.is_nil(w:find("to the server", 1, true))
      w = assert(server:wrap("to the client", { encrypt = false }))
      data, encrypted = client:unwrap(w)
      assert.equal("to the client", data)
      assert.is_false(encrypted)
      local big = string.rep("0123456789abcdef", 4096)
      assert.equal(big, server:unwrap(assert(client:wrap(big))))
      assert.equal("", client:unwrap(assert(server:wrap(""))))
    end)

    it("signs and verifies both ways", function()
      local mic = assert(client:sign("signed"))
      assert.equal(28, #mic)
      assert.is_true(server:verify("signed", mic))
      mic = assert(server:sign("back"))
      assert.is_true(client:verify("back", mic))
    end)

    it("encrypts and decrypts SecBuffer lists in place, both ways", function()
      local sizes = client:query("sizes")
      local bufs = assert(client:encrypt_message({ { sspi.SECBUFFER_TOKEN, sizes.security_trailer },
        "iov message" }))
      assert.equal(60, #bufs[1])
      assert.is_not.equal("iov message", bufs[2]:data())
      local out, qop = assert(server:decrypt_message(bufs))
      assert.equal("iov message", out[2]:data())
      assert.equal(0, qop)

      bufs = assert(server:encrypt_message({ { sspi.SECBUFFER_TOKEN, sizes.security_trailer },
        "signed only" }, sspi.SECQOP_WRAP_NO_ENCRYPT))
      assert.equal("signed only", bufs[2]:data())
      out, qop = assert(client:decrypt_message(bufs))
      assert.equal("signed only", out[2]:data())
      assert.equal(sspi.SECQOP_WRAP_NO_ENCRYPT, qop)
    end)

    it("signs READONLY data with make_signature and checks it with verify_signature", function()
      local sizes = client:query("sizes")
      local bufs = assert(client:make_signature({ { sspi.SECBUFFER_TOKEN, sizes.max_signature },
        "part one", sspi.buffer(sspi.SECBUFFER_DATA, "part two", sspi.SECBUFFER_READONLY) }))
      assert.equal(28, #bufs[1])
      assert.is_truthy(server:verify_signature(bufs))
      -- a MIC over the same bytes, made by the plain-bytes path, verifies too
      local mic = assert(server:sign("part onepart two"))
      assert.is_truthy(client:verify_signature({ sspi.buffer(sspi.SECBUFFER_TOKEN, mic),
        "part one", "part two" }))
    end)

    it("refuses a TOKEN buffer too small for the header", function()
      local none, err, status = client:encrypt_message({ { sspi.SECBUFFER_TOKEN, 10 }, "x" })
      assert.is_nil(none)
      assert.equal("SEC_E_BUFFER_TOO_SMALL", status)
      assert.equal(60, err.needed)
    end)

    it("refuses a message without a TOKEN buffer", function()
      local none, _, status = client:encrypt_message({ "no token" })
      assert.is_nil(none)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)

    it("reports an altered wrapped message as SEC_E_MESSAGE_ALTERED", function()
      local w = assert(client:wrap("integrity matters"))
      local pos = #w - 20
      local altered = w:sub(1, pos - 1) .. string.char(w:byte(pos) ~ 0x01) .. w:sub(pos + 1)
      local none, err, status = server:unwrap(altered)
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
      assert.is_truthy(err.major)
      assert.is_truthy(tostring(err):find("gss_unwrap", 1, true))
    end)

    it("reports an altered MIC as SEC_E_MESSAGE_ALTERED", function()
      local mic = assert(client:sign("data"))
      local none, _, status = server:verify("datA", mic)
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
    end)
  end)

  describe("sequence and replay detection", function()
    it("reports a replayed message as SEC_E_OUT_OF_SEQUENCE", function()
      local client, server = handshake{}
      local w = assert(client:wrap("once"))
      assert.equal("once", server:unwrap(w))
      local none, err, status = server:unwrap(w)
      assert.is_nil(none)
      assert.equal("SEC_E_OUT_OF_SEQUENCE", status)
      assert.equal(0x80090310, err.code)
    end)

    it("reports reordered messages as SEC_E_OUT_OF_SEQUENCE", function()
      local client, server = handshake{}
      local first = assert(client:wrap("first"))
      local second = assert(client:wrap("second"))
      local none, _, status = server:unwrap(second)
      assert.is_nil(none)
      assert.equal("SEC_E_OUT_OF_SEQUENCE", status)
      none, _, status = server:unwrap(first)
      assert.is_nil(none)
      assert.equal("SEC_E_OUT_OF_SEQUENCE", status)
    end)

    it("reports a replayed signature as SEC_E_OUT_OF_SEQUENCE", function()
      local client, server = handshake{}
      local mic = assert(client:sign("m"))
      assert.is_true(server:verify("m", mic))
      local none, _, status = server:verify("m", mic)
      assert.is_nil(none)
      assert.equal("SEC_E_OUT_OF_SEQUENCE", status)
    end)
  end)

  describe("channel bindings", function()
    local function cb(data)
      return sspi.channel_bindings{ application_data = "tls-server-end-point:" .. data }
    end

    it("complete when both sides bind the same channel", function()
      local client, server, cres, sres = handshake{ client_cb = cb("same"), server_cb = cb("same") }
      assert(client, server)
      assert.equal("Ok", cres.result)
      assert.equal("Ok", sres.result)
    end)

    it("fail with SEC_E_BAD_BINDINGS when the channels differ", function()
      local none, err, status, side = handshake{ client_cb = cb("client"), server_cb = cb("server") }
      assert.is_nil(none)
      assert.equal("accept", side)
      assert.equal("SEC_E_BAD_BINDINGS", status)
      assert.equal("SEC_E_BAD_BINDINGS", err.status)
    end)

    it("refuse a malformed bindings buffer with SEC_E_INVALID_TOKEN", function()
      local client = sspi.context(assert(cred{}))
      local res, _, status = client:step_init{ target = "host/localhost", context_req = REQ,
        input = { sspi.buffer(sspi.SECBUFFER_CHANNEL_BINDINGS, "short") } }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)
  end)

  describe("delegation", function()
    -- More in 24-kerberos_delegation_spec.lua.
    it("forwards the TGT to an ok-as-delegate target and the acceptor reports ASC_RET_DELEGATE",
      function()
        r:add_service("host/deleg-ok.localhost", "+ok_as_delegate")
        local req = { "DELEGATE", "MUTUAL_AUTH", "CONFIDENTIALITY" }
        local client, server, cres, sres = handshake{ req = req, target = "host/deleg-ok.localhost" }
        assert(client, server)
        assert.is_true(set_of(sspi.flag_names(cres.flags, "ISC_RET")).ISC_RET_DELEGATE)
        assert.is_true(set_of(sspi.flag_names(sres.flags, "ASC_RET")).ASC_RET_DELEGATE)
      end)

    it("does not forward it to host/localhost, which the KDC does not mark ok-as-delegate",
      function()
        local client, server, cres, sres = handshake{ req = { "DELEGATE", "MUTUAL_AUTH" } }
        assert(client, server)
        assert.is_nil(set_of(sspi.flag_names(cres.flags, "ISC_RET")).ISC_RET_DELEGATE)
        assert.is_nil(set_of(sspi.flag_names(sres.flags, "ASC_RET")).ASC_RET_DELEGATE)
      end)
  end)

  describe("credentials", function()
    it("take a username and password without touching the default cache", function()
      local ccache_file = r.ccache:gsub("^FILE:", "")
      local before = file_content(ccache_file)
      assert.is_truthy(before)
      r:add_principal("carol", "carol-Secret-1")
      local c = assert(cred{ username = "carol@SSPI.TEST", password = "carol-Secret-1" })
      local client, server = handshake{ client = c }
      assert(client, server)
      assert.equal("carol@SSPI.TEST", server:query("names").user)
      assert.equal(before, file_content(ccache_file))
    end)

    it("refuse a wrong password with SEC_E_LOGON_DENIED", function()
      local c, err, status = cred{ username = r.user, password = "not the password" }
      assert.is_nil(c)
      assert.equal("SEC_E_LOGON_DENIED", status)
      assert.equal(0x8009030C, err.code)
      assert.is_truthy(err.major)
      assert.is_truthy(err.message:find("gss_acquire_cred_with_password", 1, true))
    end)

    it("refuse an unknown user with SEC_E_LOGON_DENIED", function()
      local c, _, status = cred{ username = "nobody@SSPI.TEST", password = "x" }
      assert.is_nil(c)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)

    it("use a named ccache", function()
      r:add_principal("dave", "dave-Secret-1")
      local cc = r:kinit("dave@SSPI.TEST", "dave-Secret-1")
      local client, server = handshake{ client = assert(cred{ ccache = cc }) }
      assert(client, server)
      assert.equal("dave@SSPI.TEST", server:query("names").user)
    end)

    it("report a missing ccache as SEC_E_NO_CREDENTIALS", function()
      local c, _, status = cred{ ccache = "FILE:" .. r.dir .. "/no-such-ccache" }
      assert.is_nil(c)
      assert.equal("SEC_E_NO_CREDENTIALS", status)
    end)

    it("report an empty default ccache as SEC_E_NO_CREDENTIALS", function()
      testenv.setenv("KRB5CCNAME", "FILE:" .. r.dir .. "/empty-default")
      local ok, c, _, status = pcall(cred, {})
      testenv.setenv("KRB5CCNAME", r.env.KRB5CCNAME)
      assert.is_true(ok)
      assert.is_nil(c)
      assert.equal("SEC_E_NO_CREDENTIALS", status)
    end)

    it("report an unreachable KDC as SEC_E_NO_AUTHENTICATING_AUTHORITY", function()
      -- the same realm, its KDC on a port nothing listens on
      local sock = require("socket").tcp()
      assert(sock:bind("127.0.0.1", 0))
      local _, dead_port = sock:getsockname()
      sock:close()
      local conf = assert(io.open(r.krb5_config)):read("a")
      conf = conf:gsub("kdc = 127%.0%.0%.1:%d+", "kdc = 127.0.0.1:" .. dead_port)
      local path = r.dir .. "/krb5-dead.conf"
      local f = assert(io.open(path, "w"))
      f:write(conf)
      f:close()
      testenv.setenv("KRB5_CONFIG", path)
      local ok, c, err, status = pcall(cred, { username = r.user, password = r.password })
      testenv.setenv("KRB5_CONFIG", r.krb5_config)
      assert.is_true(ok)
      assert.is_nil(c)
      assert.equal("SEC_E_NO_AUTHENTICATING_AUTHORITY", status)
      assert.is_truthy(err.minor)
    end)

    it("accept with a given keytab that holds only the service's key", function()
      local kt = r.dir .. "/http-only.keytab"
      r:ktadd("HTTP/localhost", kt)
      local server_cred = assert(cred{ usage = "inbound", keytab = "FILE:" .. kt })
      local client, server = handshake{ server = server_cred, target = "HTTP/localhost" }
      assert(client, server)
      assert.equal("HTTP/localhost@SSPI.TEST", server:query("native_names").server)
      -- a ticket for another service cannot be read with that keytab
      local none, _, status, side = handshake{ server = server_cred, target = "host/localhost" }
      assert.is_nil(none)
      assert.equal("accept", side)
      assert.equal("SEC_E_WRONG_PRINCIPAL", status)
    end)

    it("initiate from a client keytab", function()
      r:add_principal("svc-client", nil)
      local kt = r.dir .. "/client.keytab"
      r:ktadd("svc-client", kt)
      local c = assert(cred{ username = "svc-client@SSPI.TEST", client_keytab = "FILE:" .. kt })
      local client, server = handshake{ client = c }
      assert(client, server)
      assert.equal("svc-client@SSPI.TEST", server:query("names").user)
    end)

    it("acquire for both directions from the defaults", function()
      local both = assert(cred{ usage = "both" })
      local client, server = handshake{ client = both, server = both }
      assert(client, server)
    end)
  end)

  describe("targets", function()
    it("take the principal form with a realm", function()
      local client, server = handshake{ target = "HTTP/localhost@SSPI.TEST" }
      assert(client, server)
      assert.equal("HTTP/localhost@SSPI.TEST", server:query("native_names").server)
    end)

    it("take the GSS host-based form", function()
      local client, server = handshake{ target = "host@localhost" }
      assert(client, server)
    end)

    it("report an unknown service principal as SEC_E_TARGET_UNKNOWN", function()
      local none, err, status, side = handshake{ target = "nosuch/localhost" }
      assert.is_nil(none)
      assert.equal("init", side)
      assert.equal("SEC_E_TARGET_UNKNOWN", status)
      assert.is_truthy(err.message:find("not found in Kerberos database", 1, true))
    end)

    it("report a host of an unknown realm as SEC_E_TARGET_UNKNOWN", function()
      local none, _, status = handshake{ target = "host/server.unknown.example" }
      assert.is_nil(none)
      assert.equal("SEC_E_TARGET_UNKNOWN", status)
    end)

    it("report a missing target as SEC_E_TARGET_UNKNOWN", function()
      local client = sspi.context(assert(cred{}))
      local res, _, status = client:step_init{ context_req = REQ }
      assert.is_nil(res)
      assert.equal("SEC_E_TARGET_UNKNOWN", status)
    end)
  end)

  describe("damaged handshake tokens", function()
    local function first_token()
      local client = sspi.context(assert(cred{}))
      return assert(client:step_init{ target = "host/localhost", context_req = REQ }).token
    end

    it("report a truncated token as SEC_E_INVALID_TOKEN", function()
      local token = first_token()
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{ input = token:sub(1, #token // 2) }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
      -- and the failed context refuses to go on
      local again, _, st2 = server:step_accept{ input = token }
      assert.is_nil(again)
      assert.equal("SEC_E_INVALID_HANDLE", st2)
    end)

    it("report a flipped byte in the ticket as a failure to authenticate", function()
      local token = first_token()
      local pos = #token - 40 -- inside the encrypted authenticator
      local flipped = token:sub(1, pos - 1) .. string.char(token:byte(pos) ~ 0xff) .. token:sub(pos + 1)
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{ input = flipped }
      assert.is_nil(res)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)

    it("report a missing input token as SEC_E_INVALID_TOKEN", function()
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{ input = sspi.SECBUFFER_TOKEN }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)
  end)

  it("runs the C API test program inside the realm", function()
    -- built here against the static library (`make all` made it)
    local exe = r.dir .. "/gssapi_c_test"
    local cc = os.getenv("CC") or "cc"
    local cmd = cc .. " -std=c99 -D_POSIX_C_SOURCE=200809L -Icsrc -o " .. exe ..
      " spec/c/gssapi_c_test.c " .. require("helpers.build").dir .. "/libsspi.a" ..
      " $(pkg-config --libs krb5-gssapi krb5 libssl libcrypto)" ..
      " -lpthread 2>&1"
    local p0 = assert(io.popen(cmd))
    local build_out = p0:read("a")
    assert.is_true((p0:close()), "could not build the C test: " .. build_out)
    local p = assert(io.popen(exe .. " Kerberos host/localhost 2>&1"))
    local out = p:read("a")
    local closed = { p:close() }
    assert.is_truthy(out:find("PASSED", 1, true), out)
    assert.is_true(closed[1], out)
  end)
end)
