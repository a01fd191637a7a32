-- NTLM through the system GSSAPI and the gss-ntlmssp plugin: users come from
-- a user file written here ("DOMAIN:USER:PASSWORD"), client and server in
-- one Lua state, every failure with its status.

local sspi = require "sspi"
local testenv = require "sspi_testenv"

local TARGET = "host/localhost"

local function tmpdir()
  local p = assert(io.popen("mktemp -d \"${TMPDIR:-/tmp}/sspi-ntlm.XXXXXX\""))
  local dir = p:read("l")
  p:close()
  return dir
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function cred(opts)
  opts.package = "NTLM"
  opts.backend = "gssapi"
  return sspi.credential(opts)
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- NEGOTIATE, CHALLENGE, AUTHENTICATE; `tamper` may change the AUTHENTICATE.
local function handshake(client_cred, server_cred, args)
  args = args or {}
  local client, server = sspi.context(client_cred), sspi.context(server_cred)
  local req = args.req or { "CONFIDENTIALITY", "INTEGRITY" }
  local function input(token, cb)
    if not cb then return token end
    local list = {}
    if token then list[1] = sspi.buffer(sspi.SECBUFFER_TOKEN, token) end
    list[#list + 1] = cb
    return list
  end
  local r1, err, status = client:step_init{ target = TARGET, context_req = req,
    input = input(nil, args.client_cb) }
  if not r1 then return nil, err, status, "negotiate" end
  local r2
  r2, err, status = server:step_accept{ input = input(r1.token, args.server_cb) }
  if not r2 then return nil, err, status, "challenge" end
  local r3
  r3, err, status = client:step_init{ target = TARGET, context_req = req,
    input = input(r2.token, args.client_cb) }
  if not r3 then return nil, err, status, "authenticate" end
  local auth = args.tamper and args.tamper(r3.token) or r3.token
  local r4
  r4, err, status = server:step_accept{ input = input(auth, args.server_cb) }
  if not r4 then return nil, err, status, "accept" end
  return client, server, r3, r4
end

describe("NTLM (gssapi backend, gss-ntlmssp)", function()
  local dir, user_file

  setup(function()
    dir = tmpdir()
    user_file = dir .. "/users"
    write(user_file, "SSPITEST:bob:bob-Secret-1\nDomain:User:Password\n")
  end)

  teardown(function()
    if dir and dir:match("/sspi%-ntlm%.%w+$") then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local function bob() return assert(cred{ username = "SSPITEST\\bob", password = "bob-Secret-1" }) end
  local function acceptor() return assert(cred{ usage = "inbound", user_file = user_file }) end

  it("is listed with Windows' package info", function()
    local found
    for _, p in ipairs(sspi.packages()) do
      if p.name == "NTLM" and p.backend == "gssapi" then found = p end
    end
    assert.is_table(found, "gss-ntlmssp must be installed (Debian package gss-ntlmssp)")
    assert.equal(2888, found.max_token)
    assert.is_true(found.capabilities & 0x3 == 0x3) -- INTEGRITY | PRIVACY
  end)

  describe("a handshake with a password and a user file", function()
    local client, server, cres, sres

    setup(function()
      client, server, cres, sres = handshake(bob(), acceptor())
      assert(client, server)
    end)

    it("completes in three legs with integrity and confidentiality", function()
      assert.equal("Ok", cres.result)
      assert.equal("Ok", sres.result)
      local cflags = set_of(sspi.flag_names(cres.flags, "ISC_RET"))
      assert.is_true(cflags.ISC_RET_CONFIDENTIALITY)
      assert.is_true(cflags.ISC_RET_INTEGRITY)
      local sflags = set_of(sspi.flag_names(sres.flags, "ASC_RET"))
      assert.is_true(sflags.ASC_RET_CONFIDENTIALITY)
    end)

    it("names the user on both sides", function()
      assert.equal("SSPITEST\\bob", server:query("names").user)
      assert.equal("SSPITEST\\bob", client:query("names").user)
      assert.equal("SSPITEST\\bob", server:query("native_names").client)
    end)

    it("gives both sides the same 16-byte session key", function()
      local ck, ctype = client:query("session_key")
      local sk = server:query("session_key")
      assert.equal(16, #ck)
      assert.equal(ck, sk)
      assert.equal(0, ctype)
    end)

    it("reports NTLM sizes and package", function()
      local sizes = client:query("sizes")
      assert.equal(2888, sizes.max_token)
      assert.equal(16, sizes.max_signature)
      assert.equal(16, sizes.security_trailer)
      assert.equal(0, sizes.block_size)
      assert.equal("NTLM", server:query("negotiation_info").package.name)
    end)

    it("wraps, unwraps, signs and verifies both ways", function()
      local w = assert(client:wrap("to the server"))
      assert.equal(16 + #"to the server", #w)
      local data, encrypted = server:unwrap(w)
      assert.equal("to the server", data)
      assert.is_true(encrypted)
      assert.equal("to the client", client:unwrap(assert(server:wrap("to the client"))))
      assert.is_true(server:verify("signed", assert(client:sign("signed"))))
      assert.is_true(client:verify("back", assert(server:sign("back"))))
    end)

    it("encrypts and decrypts SecBuffer lists both ways", function()
      local bufs = assert(client:encrypt_message({ { sspi.SECBUFFER_TOKEN, 16 }, "iov data" }))
      assert.equal(16, #bufs[1])
      assert.is_not.equal("iov data", bufs[2]:data())
      assert.equal("iov data", assert(server:decrypt_message(bufs))[2]:data())
      bufs = assert(server:encrypt_message({ { sspi.SECBUFFER_TOKEN, 16 }, "reply" }))
      assert.equal("reply", assert(client:decrypt_message(bufs))[2]:data())
    end)

    it("signs several buffers, READONLY ones too", function()
      local bufs = assert(client:make_signature({ { sspi.SECBUFFER_TOKEN, 16 }, "one",
        sspi.buffer(sspi.SECBUFFER_DATA, "two", sspi.SECBUFFER_READONLY) }))
      assert.equal(16, #bufs[1])
      assert.is_truthy(server:verify_signature(bufs))
    end)

    it("refuses SECQOP_WRAP_NO_ENCRYPT: gss-ntlmssp always seals", function()
      local none, _, status = client:encrypt_message({ { sspi.SECBUFFER_TOKEN, 16 }, "x" },
        sspi.SECQOP_WRAP_NO_ENCRYPT)
      assert.is_nil(none)
      assert.equal("SEC_E_QOP_NOT_SUPPORTED", status)
    end)

    it("refuses two writable DATA buffers to encrypt", function()
      local none, _, status = client:encrypt_message({ { sspi.SECBUFFER_TOKEN, 16 }, "a", "b" })
      assert.is_nil(none)
      assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
    end)
  end)

  describe("credentials", function()
    it("come from the user file for the initiator too", function()
      local c = assert(cred{ username = "SSPITEST\\bob", user_file = user_file })
      local client, server = handshake(c, acceptor())
      assert(client, server)
      assert.equal("SSPITEST\\bob", server:query("names").user)
    end)

    it("come from an NT hash (MS-NLMP 4.2.2.1.2 NTOWFv1 of \"Password\")", function()
      local c = assert(cred{ username = "Domain\\User", nt_hash = "a4f49c406510bdcab6824ee7c30fd852" })
      local client, server = handshake(c, acceptor())
      assert(client, server)
      assert.equal("Domain\\User", server:query("names").user)
    end)

    it("come from NTLM_USER_FILE when no option is given", function()
      local old = os.getenv("NTLM_USER_FILE")
      testenv.setenv("NTLM_USER_FILE", user_file)
      local ok, client, server = pcall(function()
        return handshake(assert(cred{}), assert(cred{ usage = "inbound" }))
      end)
      testenv.setenv("NTLM_USER_FILE", old)
      assert.is_true(ok, client)
      assert(client, server)
      assert.equal("SSPITEST\\bob", server:query("names").user)
    end)

    it("report a missing user file as SEC_E_NO_CREDENTIALS", function()
      local c, _, status = cred{ username = "SSPITEST\\bob", user_file = dir .. "/missing" }
      assert.is_nil(c)
      assert.equal("SEC_E_NO_CREDENTIALS", status)
    end)

    it("refuse a wrong password with SEC_E_LOGON_DENIED", function()
      local c = assert(cred{ username = "SSPITEST\\bob", password = "wrong" })
      local none, err, status, leg = handshake(c, acceptor())
      assert.is_nil(none)
      assert.equal("accept", leg)
      assert.equal("SEC_E_LOGON_DENIED", status)
      assert.is_truthy(err.major)
      assert.is_truthy(err.message:find("gss_accept_sec_context", 1, true))
    end)

    it("refuse an unknown user with SEC_E_LOGON_DENIED", function()
      local c = assert(cred{ username = "SSPITEST\\nobody", password = "x" })
      local none, _, status, leg = handshake(c, acceptor())
      assert.is_nil(none)
      assert.equal("accept", leg)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)
  end)

  describe("damaged tokens and messages", function()
    it("report a truncated AUTHENTICATE as SEC_E_INVALID_TOKEN", function()
      local none, _, status, leg = handshake(bob(), acceptor(), {
        tamper = function(t) return t:sub(1, 40) end })
      assert.is_nil(none)
      assert.equal("accept", leg)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)

    it("report a flipped byte in the NT response as SEC_E_LOGON_DENIED", function()
      local none, _, status = handshake(bob(), acceptor(), {
        tamper = function(t)
          -- the NtChallengeResponse: offset in its security buffer (bytes 25..28)
          local off = string.unpack("<I4", t, 25) + 1
          return t:sub(1, off - 1) .. string.char(t:byte(off) ~ 0xff) .. t:sub(off + 1)
        end })
      assert.is_nil(none)
      assert.equal("SEC_E_LOGON_DENIED", status)
    end)

    it("report an altered wrapped message as SEC_E_MESSAGE_ALTERED", function()
      local client, server = handshake(bob(), acceptor())
      local w = assert(client:wrap("integrity"))
      local altered = w:sub(1, -2) .. string.char(w:byte(-1) ~ 1)
      local none, err, status = server:unwrap(altered)
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
      assert.equal(0x8009030F, err.code)
    end)

    -- gss-ntlmssp: the sequence number is under the MAC, so a replay reads as altered
    it("report a replayed message as SEC_E_MESSAGE_ALTERED", function()
      local client, server = handshake(bob(), acceptor())
      local w = assert(client:wrap("once"))
      assert.equal("once", server:unwrap(w))
      local none, _, status = server:unwrap(w)
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
    end)

    it("report an altered signature as SEC_E_MESSAGE_ALTERED", function()
      local client, server = handshake(bob(), acceptor())
      local none, _, status = server:verify("data", assert(client:sign("datA")))
      assert.is_nil(none)
      assert.equal("SEC_E_MESSAGE_ALTERED", status)
    end)
  end)

  describe("channel bindings", function()
    local function cb(data)
      return sspi.channel_bindings{ application_data = "tls-server-end-point:" .. data }
    end

    it("complete when both sides bind the same channel", function()
      local client, server = handshake(bob(), acceptor(), { client_cb = cb("same"), server_cb = cb("same") })
      assert(client, server)
    end)

    it("fail with SEC_E_BAD_BINDINGS when the channels differ", function()
      local none, _, status, leg = handshake(bob(), acceptor(),
        { client_cb = cb("client"), server_cb = cb("server") })
      assert.is_nil(none)
      assert.equal("accept", leg)
      assert.equal("SEC_E_BAD_BINDINGS", status)
    end)
  end)
end)
