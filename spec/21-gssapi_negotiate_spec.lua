-- Negotiate through MIT's SPNEGO mechanism (backend "gssapi"): Kerberos
-- inside SPNEGO against the throwaway realm, NTLM inside SPNEGO through
-- gss-ntlmssp, mechanism lists, and the failures with their statuses.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"
local testenv = require "sspi_testenv"

local REQ = { "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY", "SEQUENCE_DETECT", "REPLAY_DETECT" }

local function cred(opts)
  opts.package = "Negotiate"
  opts.backend = "gssapi"
  return sspi.credential(opts)
end

-- Runs a whole handshake; returns the two contexts and the last results.
local function handshake(args)
  local client = sspi.context(args.client or assert(cred{ mechs = { "Kerberos" } }))
  local server = sspi.context(args.server or assert(cred{ usage = "inbound" }))
  return pair.run(client, server, { target = args.target or "HTTP/localhost", req = REQ,
    accept_req = args.accept_req, client_cb = args.client_cb, server_cb = args.server_cb })
end

local function with_env(name, value, fn)
  local old = os.getenv(name)
  testenv.setenv(name, value)
  local results = table.pack(pcall(fn))
  testenv.setenv(name, old)
  assert(results[1], results[2])
  return table.unpack(results, 2, results.n)
end

describe("Negotiate (gssapi backend, MIT SPNEGO)", function()
  local r

  setup(function()
    r = realm.start()
  end)

  it("is listed with Windows' package info", function()
    local found
    for _, p in ipairs(sspi.packages()) do
      if p.name == "Negotiate" and p.backend == "gssapi" then found = p end
    end
    assert.is_table(found)
    assert.equal(48256, found.max_token)
  end)

  describe("with Kerberos inside", function()
    local client, server, cres, sres

    setup(function()
      client, server, cres, sres = handshake{}
      assert(client, server)
    end)

    it("completes on both sides with the asked flags", function()
      assert.equal("Ok", cres.result)
      assert.equal("Ok", sres.result)
      local names = {}
      for _, n in ipairs(sspi.flag_names(cres.flags, "ISC_RET")) do names[n] = true end
      assert.is_true(names.ISC_RET_MUTUAL_AUTH)
      assert.is_true(names.ISC_RET_CONFIDENTIALITY)
    end)

    it("says Kerberos was negotiated, and is Negotiate itself", function()
      local nego = client:query("negotiation_info")
      assert.equal("Kerberos", nego.package.name)
      assert.equal("complete", nego.state)
      assert.equal("Kerberos", server:query("negotiation_info").package.name)
      assert.equal("Negotiate", client:query("package_info").name)
      assert.equal(48256, client:query("sizes").max_token)
    end)

    it("names the client and shares the session key", function()
      assert.equal(r.user, server:query("names").user)
      assert.equal("HTTP/localhost@SSPI.TEST", server:query("native_names").server)
      local ck = client:query("session_key")
      assert.equal(ck, (server:query("session_key")))
    end)

    it("wraps, signs and encrypts SecBuffer lists both ways", function()
      assert.equal("ping", server:unwrap(assert(client:wrap("ping"))))
      assert.equal("pong", client:unwrap(assert(server:wrap("pong"))))
      assert.is_true(server:verify("m", assert(client:sign("m"))))
      local sizes = server:query("sizes")
      local bufs = assert(server:encrypt_message({ { sspi.SECBUFFER_TOKEN, sizes.security_trailer },
        "through spnego" }))
      assert.equal("through spnego", assert(client:decrypt_message(bufs))[2]:data())
    end)

    it("reports an altered message as SEC_E_MESSAGE_ALTERED", function()
      local w = assert(client:wrap("integrity"))
      local pos = #w - 15
      local none, _, status = server:unwrap(w:sub(1, pos - 1) .. string.char(w:byte(pos) ~ 4) .. w:sub(pos + 1))
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
    end)

    it("reports a replayed message as SEC_E_OUT_OF_SEQUENCE", function()
      local w = assert(server:wrap("once"))
      assert.equal("once", client:unwrap(w))
      local none, _, status = client:unwrap(w)
      assert.is_nil(none)
      assert.equal("SEC_E_OUT_OF_SEQUENCE", status)
    end)
  end)

  describe("with NTLM inside (gss-ntlmssp)", function()
    local dir, user_file

    setup(function()
      local p = assert(io.popen("mktemp -d \"${TMPDIR:-/tmp}/sspi-nego.XXXXXX\""))
      dir = p:read("l")
      p:close()
      user_file = dir .. "/users"
      local f = assert(io.open(user_file, "w"))
      f:write("SSPITEST:bob:bob-Secret-1\n")
      f:close()
    end)

    teardown(function()
      if dir and dir:match("/sspi%-nego%.%w+$") then os.execute("rm -rf '" .. dir .. "'") end
    end)

    it("negotiates NTLM when the client offers only NTLM", function()
      -- gss-ntlmssp's acceptor inside SPNEGO reads its users from NTLM_USER_FILE
      local client, server = with_env("NTLM_USER_FILE", user_file, function()
        local c = assert(cred{ mechs = { "NTLM" }, username = "SSPITEST\\bob", password = "bob-Secret-1" })
        return handshake{ client = c, target = "host/localhost" }
      end)
      assert(client, server)
      assert.equal("NTLM", server:query("negotiation_info").package.name)
      assert.equal("NTLM", client:query("negotiation_info").package.name)
      assert.equal("SSPITEST\\bob", server:query("names").user)
      assert.equal("hello", server:unwrap(assert(client:wrap("hello"))))
      local bufs = assert(client:encrypt_message({ { sspi.SECBUFFER_TOKEN, 16 }, "sealed" }))
      assert.equal("sealed", assert(server:decrypt_message(bufs))[2]:data())
    end)

    it("refuses a wrong NTLM password with SEC_E_LOGON_DENIED", function()
      local none, _, status, side = with_env("NTLM_USER_FILE", user_file, function()
        local c = assert(cred{ mechs = { "NTLM" }, username = "SSPITEST\\bob", password = "wrong" })
        return handshake{ client = c, target = "host/localhost" }
      end)
      assert.is_nil(none)
      assert.equal("accept", side)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)
  end)

  describe("mechanism lists", function()
    it("refuse a list that leaves nothing with SEC_E_SECPKG_NOT_FOUND", function()
      local c, _, status = cred{ reject = { "Kerberos", "NTLM" } }
      assert.is_nil(c)
      assert.equal("SEC_E_SECPKG_NOT_FOUND", status)
    end)

    it("refuse an unknown package with SEC_E_SECPKG_NOT_FOUND", function()
      local c, err, status = cred{ mechs = { "Digest" } }
      assert.is_nil(c)
      assert.equal("SEC_E_SECPKG_NOT_FOUND", status)
      assert.is_truthy(err.message:find("Digest", 1, true))
    end)

    it("negotiate Kerberos when NTLM is refused", function()
      local client, server = handshake{ client = assert(cred{ reject = { "NTLM" } }) }
      assert(client, server)
      assert.equal("Kerberos", server:query("negotiation_info").package.name)
    end)
  end)

  describe("channel bindings", function()
    local function cb(data)
      return sspi.channel_bindings{ application_data = "tls-server-end-point:" .. data }
    end

    it("complete when both sides bind the same channel", function()
      local client, server = handshake{ client_cb = cb("same"), server_cb = cb("same") }
      assert(client, server)
    end)

    it("fail with SEC_E_BAD_BINDINGS when the channels differ", function()
      local none, _, status, side = handshake{ client_cb = cb("a"), server_cb = cb("b") }
      assert.is_nil(none)
      assert.equal("accept", side)
      assert.equal("SEC_E_BAD_BINDINGS", status)
    end)
  end)

  describe("failures", function()
    it("refuse a wrong Kerberos password with SEC_E_LOGON_DENIED", function()
      local c, _, status = cred{ mechs = { "Kerberos" }, username = r.user, password = "wrong" }
      assert.is_nil(c)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)

    it("report an unknown service principal as SEC_E_TARGET_UNKNOWN", function()
      local none, _, status, side = handshake{ target = "nosuch/localhost" }
      assert.is_nil(none)
      assert.equal("init", side)
      assert.equal("SEC_E_TARGET_UNKNOWN", status)
    end)

    it("report a truncated token as SEC_E_INVALID_TOKEN", function()
      local client = sspi.context(assert(cred{ mechs = { "Kerberos" } }))
      local token = assert(client:step_init{ target = "HTTP/localhost", context_req = REQ }).token
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{ input = token:sub(1, #token - 7) }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)

    it("report an SPNEGO token with an empty body as SEC_E_INVALID_TOKEN", function()
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{
        input = "\x60\x0a\x06\x06\x2b\x06\x01\x05\x05\x02\xa0\x00" }
      assert.is_nil(res)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)

    it("report a token of a mechanism this machine lacks as SEC_E_SECPKG_NOT_FOUND", function()
      local server = sspi.context(assert(cred{ usage = "inbound" }))
      local res, _, status = server:step_accept{ input = "\x60\x03\x06\x01\x00" }
      assert.is_nil(res)
      assert.equal("SEC_E_SECPKG_NOT_FOUND", status)
    end)
  end)
end)
