-- The built-in NTLM acceptor refuses what a careful Windows server refuses
-- (security round 2): responses that cannot carry channel bindings, weak
-- responses and keys by default, an edited CHALLENGE, user-file accounts
-- that may not log on, a reflected handshake, a relayed target name, a
-- protection the caller asked for and the client did not negotiate, and
-- sequence numbers that would wrap.  Each case drives the public Lua API
-- with tokens edited in transit (spec/helpers/ntlm_msg.lua).
local LUA_BUILD = require "helpers.build"

local sspi = require "sspi"
local msg = require "helpers.ntlm_msg"
local ntlm = require "helpers.ntlm"
local pair = require "helpers.pair"

local REQ, TARGET = ntlm.REQ, ntlm.TARGET
local MS_NT_HASH = "A4F49C406510BDCAB6824EE7C30FD852" -- NTOWFv1("Password")
local BLANK_NT_HASH = "31D6CFE0D16AE931B73C59D7E0C089C0" -- NTOWFv1("")

local function smbpasswd(user, flags, hash)
  return ("%s:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:%s:[%-11s]:LCT-00000000:"):format(
    user, hash or MS_NT_HASH, flags)
end

local users = ntlm.users {
  "DOM:alice:Secret-1",
  "CORP:Bob:Bob-pass-1",
  "DOM:blank:",
  smbpasswd("admin", "U"),
  smbpasswd("off", "DU"),
  smbpasswd("locked", "LU"),
  smbpasswd("ws$", "W"),
  smbpasswd("srv$", "S"),
  smbpasswd("trust$", "I"),
  smbpasswd("nopw", "NU", ("X"):rep(32)),
}
setup(users.setup)
teardown(users.teardown)

local client, handshake = ntlm.client, ntlm.handshake
local function server(opts) return ntlm.server(opts, users.path) end

local function refused(status, leg, c, err, st, got_leg)
  assert.is_nil(c, "expected " .. status .. " at the " .. leg .. " step")
  assert.are.equal(status, st, tostring(err))
  assert.are.equal(leg, got_leg, tostring(err))
  return err
end

describe("NTLM security defaults", function()
  local cb = sspi.channel_bindings { application_data = "tls-server-end-point:" .. ("\3"):rep(32) }

  -- An LM-only response: a level-0 AUTHENTICATE with its NT response removed.
  local function lm_only(auth) return msg.with_field_length(auth, 20, 0) end

  describe("1. channel bindings required", function()
    for level = 0, 2 do
      it(("refuse an NTLMv1 response (client level %d) with SEC_E_BAD_BINDINGS"):format(level), function()
        refused("SEC_E_BAD_BINDINGS", "verify",
                handshake(client { lm_compat_level = level }, server { lm_compat_level = 2 },
                          { ccb = cb, scb = cb }))
      end)
    end

    it("refuse an LM-only response with SEC_E_BAD_BINDINGS", function()
      refused("SEC_E_BAD_BINDINGS", "verify",
              handshake(client { lm_compat_level = 0, username = "DOM\\alice", password = "Secret-1" },
                        server { lm_compat_level = 0 }, { ccb = cb, scb = cb, authenticate = lm_only }))
      -- the same LM-only response logs on where no bindings are required
      assert.is_not_nil(handshake(client { lm_compat_level = 0 }, server { lm_compat_level = 0 },
                                  { authenticate = lm_only }))
    end)

    it("let an NTLMv1 response through under ASC_REQ_ALLOW_MISSING_BINDINGS", function()
      local c, s = handshake(client { lm_compat_level = 1 }, server { lm_compat_level = 2 },
                             { ccb = cb, scb = cb, asc = sspi.ASC_REQ_ALLOW_MISSING_BINDINGS })
      assert.is_not_nil(c, tostring(s))
    end)

    it("refuse an NTLMv1 response under Negotiate (bare NTLMSSP) with SEC_E_BAD_BINDINGS", function()
      local scred = assert(sspi.credential { package = "Negotiate", usage = "inbound",
                                             user_file = users.path, lm_compat_level = 2 })
      refused("SEC_E_BAD_BINDINGS", "verify",
              handshake(client { lm_compat_level = 2 }, scred, { ccb = cb, scb = cb }))
    end)

    it("refuse an NTLMv1 response under Negotiate (SPNEGO-wrapped) with SEC_E_BAD_BINDINGS", function()
      local function nego(o)
        o.package, o.backend, o.mechs, o.lm_compat_level = "Negotiate", "builtin", { "NTLM" }, 2
        return assert(sspi.credential(o))
      end
      local c = sspi.context(nego { username = "DOM\\alice", password = "Secret-1" })
      local s = sspi.context(nego { usage = "inbound", user_file = users.path })
      local token, sres, err, st
      for _ = 1, 4 do
        local cres
        cres, err, st = c:step_init { target = TARGET, context_req = REQ,
                                      input = token and pair.input(token, cb) or { cb } }
        assert(cres, tostring(err))
        if not cres.token then break end
        sres, err, st = s:step_accept { input = pair.input(cres.token, cb) }
        if not sres then break end
        token = sres.token
        if not token then break end
      end
      assert.is_nil(sres)
      assert.are.equal("SEC_E_BAD_BINDINGS", st, tostring(err))
    end)
  end)

  local function weak(token)
    return msg.with_flags(token, function(f) return f & ~(msg.FLAG.N128 | msg.FLAG.N56) end)
  end

  describe("2. strict defaults", function()
    it("refuse NTLMv1 and LM unless the credential lowers its level", function()
      for level = 0, 2 do
        refused("SEC_E_LOGON_DENIED", "verify", handshake(client { lm_compat_level = level }, server()))
      end
      local err = refused("SEC_E_LOGON_DENIED", "verify",
                          handshake(client { lm_compat_level = 0 }, server(), { authenticate = lm_only }))
      assert.matches("LM_COMPAT_LEVEL 5", err.message, 1, true)
      assert.is_not_nil(handshake(client { lm_compat_level = 2 }, server { lm_compat_level = 4 }))
    end)

    it("refuse signing or sealing without 128-bit keys (acceptor)", function()
      -- NTLMv1 carries no MIC: the attacker clears NEGOTIATE_128 and 56 in the AUTHENTICATE.
      refused("SEC_E_UNSUPPORTED_FUNCTION", "verify",
              handshake(client { lm_compat_level = 1 }, server { lm_compat_level = 1 }, { authenticate = weak }))
    end)

    it("refuse signing or sealing without 128-bit keys (initiator)", function()
      refused("SEC_E_UNSUPPORTED_FUNCTION", "authenticate", handshake(client(), server(), { challenge = weak }))
    end)

    it("fail the step when ASC_REQ_CONFIDENTIALITY or ASC_REQ_INTEGRITY cannot be granted", function()
      refused("SEC_E_UNSUPPORTED_FUNCTION", "verify",
              handshake(client(), server(), { req = sspi.ISC_REQ_INTEGRITY, asc = sspi.ASC_REQ_CONFIDENTIALITY }))
      refused("SEC_E_UNSUPPORTED_FUNCTION", "verify",
              handshake(client(), server(), { req = 0, asc = sspi.ASC_REQ_INTEGRITY }))
      local c, s, t = handshake(client(), server(), { asc = sspi.ASC_REQ_CONFIDENTIALITY | sspi.ASC_REQ_INTEGRITY })
      assert.is_not_nil(c, tostring(s))
      assert.are_not.equal(0, t.sflags & sspi.ASC_RET_CONFIDENTIALITY)
    end)
  end)

  describe("3. an edited CHALLENGE", function()
    local function no_timestamp(ch)
      return msg.edit_challenge_av(ch, function(av) return msg.av_without(av, msg.AV.TIMESTAMP) end)
    end

    it("without MsvAvTimestamp, the client sends no MIC and the server refuses", function()
      local seen
      local function clear_protection(a)
        seen = a
        return msg.with_flags(a, function(f)
          return f & ~(msg.FLAG.SIGN | msg.FLAG.SEAL | msg.FLAG.KEY_EXCH | msg.FLAG.N128)
        end)
      end
      refused("SEC_E_MESSAGE_ALTERED", "verify",
              handshake(client(), server(), { challenge = no_timestamp, authenticate = clear_protection }))
      assert.is_false(msg.auth_has_mic(seen), "no timestamp, no MIC: the flags were unprotected")
      refused("SEC_E_MESSAGE_ALTERED", "verify", handshake(client(), server(), { challenge = no_timestamp }))
    end)

    it("with a server AV pair changed, the server names the pair", function()
      -- the MIC would catch this alone: drop the timestamp too, as a MIC-less
      -- client (curl sends none) leaves the echo check the only witness
      local function renamed(ch)
        return msg.edit_challenge_av(no_timestamp(ch), function(av)
          for _, p in ipairs(av) do
            if p.id == msg.AV.DNS_COMPUTER then p.value = msg.utf16("evil.example.test") end
          end
        end)
      end
      local err = refused("SEC_E_MESSAGE_ALTERED", "verify", handshake(client(), server(), { challenge = renamed }))
      assert.matches("AV pair 3 ", err.message, 1, true)
    end)

    it("the pairs a client adds (flags, bindings, target name) are allowed", function()
      local c, s, t = handshake(client(), server(), { ccb = cb, scb = cb, target = "HTTP/web.example.test" })
      assert.is_not_nil(c, tostring(s))
      assert.is_true(msg.auth_has_mic(t.authenticate))
    end)
  end)

  describe("4. user file semantics", function()
    local function user(name, password, o)
      o = o or {}
      return handshake(client { username = name, password = password or "Password",
                                lm_compat_level = o.level }, server(o.server))
    end

    it("report the account's own spelling, not the client's", function()
      local c, s = user("dom\\ALICE", "Secret-1")
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("DOM\\alice", s:query("names").user)
      c, s = user("corp\\bob", "Bob-pass-1")
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("CORP\\Bob", s:query("names").user)
    end)

    it("a domain-less entry answers no domain or this server's own name only", function()
      local c, s = user("admin")
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("admin", s:query("names").user)
      local err = refused("SEC_E_LOGON_DENIED", "verify", user("CORP\\admin"))
      assert.matches("unknown user", err.message, 1, true)
      -- the server's own NetBIOS name, as its CHALLENGE says it
      local probe = sspi.context(server())
      local r1 = assert(sspi.context(client()):step_init { target = TARGET, context_req = REQ })
      local own = msg.ascii(msg.av_find(msg.challenge(assert(probe:step_accept { input = r1.token }).token).av,
                                        msg.AV.NB_COMPUTER))
      c, s = user(own:lower() .. "\\admin")
      assert.is_not_nil(c, tostring(s))
      assert.are.equal("admin", s:query("names").user)
    end)

    it("honour the smbpasswd account flags as Samba does", function()
      for _, name in ipairs { "off", "locked", "ws$", "srv$", "trust$" } do
        refused("SEC_E_LOGON_DENIED", "verify", user(name))
      end
      local err = select(2, user("off"))
      assert.matches("disabled", err.message, 1, true)
      -- [D] and trust accounts are refused even with the right password, and
      -- a wrong password still says so first
      err = select(2, user("ws$", "wrong"))
      assert.matches("wrong password", err.message, 1, true)
    end)

    it("refuse blank passwords for network logons unless the credential allows them", function()
      local err = refused("SEC_E_LOGON_DENIED", "verify", user("DOM\\blank", ""))
      assert.matches("allow_blank_passwords", err.message, 1, true)
      refused("SEC_E_LOGON_DENIED", "verify", user("nopw", ""))
      assert.is_not_nil(user("DOM\\blank", "", { server = { allow_blank_passwords = true } }))
      assert.is_not_nil(user("nopw", "", { server = { allow_blank_passwords = true } }))
      -- the same holds for a hash handed out by a lookup function
      local lookup = server { lookup = function() return BLANK_NT_HASH end }
      refused("SEC_E_LOGON_DENIED", "verify",
              handshake(client { username = "X\\y", password = "" }, lookup))
    end)
  end)

  describe("5. reflection and relaying", function()
    it("a credential's initiator refuses a CHALLENGE its own acceptor issued", function()
      local both = assert(sspi.credential { package = "NTLM", backend = "builtin", usage = "both",
                                            username = "DOM\\alice", password = "Secret-1",
                                            user_file = users.path })
      -- the attacker opens a connection to the service and gets a CHALLENGE ...
      local attacker = sspi.context(client { username = "DOM\\mallory", password = "x" })
      local service_in = sspi.context(both)
      local neg = assert(attacker:step_init { target = TARGET, context_req = REQ }).token
      local challenge = assert(service_in:step_accept { input = neg }).token
      -- ... and hands it to the service's own initiator, which must not answer
      local service_out = sspi.context(both)
      assert(service_out:step_init { target = "HTTP/attacker.example.test", context_req = REQ })
      local ok, err, st = service_out:step_init { target = "HTTP/attacker.example.test", context_req = REQ,
                                                  input = challenge }
      assert.is_nil(ok)
      assert.are.equal("SEC_E_LOGON_DENIED", st, tostring(err))
      assert.matches("reflect", err.message)
      -- the initiator still answers other servers' challenges
      local c, s = handshake(both, server())
      assert.is_not_nil(c, tostring(s))
      -- a loopback on one credential is the same thing, and refused alike
      refused("SEC_E_LOGON_DENIED", "authenticate", handshake(both, both))
      -- once the service's acceptor context is gone, its challenge is not held
      service_in = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
      local later = sspi.context(both)
      assert(later:step_init { target = "HTTP/attacker.example.test", context_req = REQ })
      assert(later:step_init { target = "HTTP/attacker.example.test", context_req = REQ, input = challenge })
    end)

    it("target_names: a client's MsvAvTargetName must name this service", function()
      local names = { "HTTP/web.example.test", "HTTP/web" }
      local c, s = handshake(client(), server { target_names = names }, { target = "http/WEB.example.test" })
      assert.is_not_nil(c, tostring(s))
      local err = refused("SEC_E_BAD_BINDINGS", "verify",
                          handshake(client(), server { target_names = names }, { target = "HTTP/other.example.test" }))
      assert.matches("target_names", err.message, 1, true)
    end)
  end)

  describe("8. sequence numbers", function()
    -- spec/helpers/ntlm_seqwrap.lua in a child Lua, against the module in dir
    local function run(dir)
      local cpath = dir .. "/lua/?.so;;"
      local cmd = ("LUA_CPATH=%q LUA_PATH=%q %s spec/helpers/ntlm_seqwrap.lua 2>&1")
        :format(cpath, package.path, LUA_BUILD.lua)
      local p = assert(io.popen(cmd))
      local out = p:read("a")
      p:close()
      return out
    end
    local build = assert(package.searchpath("sspi.core", package.cpath)):match("^(.*)/lua/sspi/core%.so$")

    it("are never reused: a direction that used its last number refuses with SEC_E_CONTEXT_EXPIRED", function()
      -- the test build (make: SSPI_NTLM_SEQ_LAST=3) ends each direction after four messages
      local out = run(build .. "/seqwrap")
      local want = {}
      for n = 1, 4 do want[#want + 1] = ("wrap %d ok\nunwrap %d ok"):format(n, n) end
      want[#want + 1] = "wrap 5 SEC_E_CONTEXT_EXPIRED\nunwrap-again 4 SEC_E_CONTEXT_EXPIRED"
      for n = 1, 4 do want[#want + 1] = ("sign %d ok\nverify %d ok"):format(n, n) end
      want[#want + 1] = "sign 5 SEC_E_CONTEXT_EXPIRED\nencrypt_message 6 SEC_E_CONTEXT_EXPIRED\n"
      assert.are.equal(table.concat(want, "\n"), out)
    end)

    it("the shipped build has the whole 32-bit space", function()
      local out = run(build)
      assert.matches("wrap 5 ok", out, 1, true)
      assert.matches("sign 5 ok", out, 1, true)
      assert.matches("encrypt_message 6 ok", out, 1, true)
    end)
  end)

  describe("6. a failed context", function()
    it("refuses queries and message functions", function()
      local c, _, st = handshake(client { username = "DOM\\alice", password = "wrong" }, server())
      assert.is_nil(c)
      assert.are.equal("SEC_E_LOGON_DENIED", st)
      local cc, ss = sspi.context(client { username = "DOM\\alice", password = "wrong" }), sspi.context(server())
      local r1 = assert(cc:step_init { target = TARGET, context_req = REQ })
      local r2 = assert(ss:step_accept { input = r1.token })
      local r3 = assert(cc:step_init { target = TARGET, context_req = REQ, input = r2.token })
      assert.is_nil(ss:step_accept { input = r3.token })
      for _, what in ipairs { "names", "session_key" } do
        local v, e = ss:query(what)
        assert.is_nil(v, what)
        assert.is_not_nil(e, what)
      end
      assert.is_nil((ss:wrap("x")))
    end)
  end)
end)
