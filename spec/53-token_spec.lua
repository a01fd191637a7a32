-- sspi.token and bin/sspi-token: decoding NTLM, SPNEGO and Kerberos tokens.
--
-- Sources of tokens: the MS-NLMP 4.2.4 CHALLENGE message (published bytes),
-- Kerberos tokens our module produces against the throwaway realm, NTLM
-- and SPNEGO tokens from gss-ntlmssp through our module, and DER built here
-- for the shapes no peer in the suite emits (KRB-ERROR, NegTokenInit2).
-- Every malformed input must give nil and a message, never a Lua error.

local token = require "sspi.token"
local realm = require "helpers.realm"
local sh = require "helpers.sh"
local sspi = require "sspi"
local dkjson = require "dkjson" -- an independent JSON parser to check ours

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$")) or "."
local CLI = ROOT .. "/bin/sspi-token"

-- MS-NLMP 4.2.4.3 CHALLENGE_MESSAGE.
local NLMP_CHALLENGE = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef" ..
  "00000000000000002400240044000000060070170000000f53006500720076006500720002000c00" ..
  "44006f006d00610069006e0001000c0053006500720076006500720000000000"

-- DER builder for the hand-made shapes.
local function tlv(tag, content)
  local len = #content
  local l
  if len < 0x80 then l = string.char(len)
  elseif len < 0x100 then l = "\x81" .. string.char(len)
  else l = "\x82" .. string.pack(">I2", len) end
  return string.char(tag) .. l .. content
end
local function seq(...) return tlv(0x30, table.concat({ ... })) end
local function ctx_tag(n, inner) return tlv(0xa0 + n, inner) end
local function int(v) return tlv(0x02, string.char(v)) end
local function gstr(s) return tlv(0x1b, s) end
local function oid(hex) return tlv(0x06, token.from_hex(hex)) end
local KRB5_OID_HEX = "2a864886f712010202"
local NTLM_OID_HEX = "2b0601040182370202" .. "0a"
local SPNEGO_OID_HEX = "2b0601050502"

local function principal(ntype, ...)
  local parts = {}
  for i, s in ipairs({ ... }) do parts[i] = gstr(s) end
  return seq(ctx_tag(0, int(ntype)), ctx_tag(1, seq(table.concat(parts))))
end

local KRB_ERROR = tlv(0x7e, seq(
  ctx_tag(0, int(5)), ctx_tag(1, int(30)),
  ctx_tag(4, tlv(0x18, "20240102030405Z")), ctx_tag(5, int(7)),
  ctx_tag(6, int(37)),
  ctx_tag(9, gstr("SSPI.TEST")), ctx_tag(10, principal(3, "host", "localhost")),
  ctx_tag(11, gstr("clock skew too great"))))

-- MS-SPNG NegTokenInit2 as a server sends it first: mechTypes + negHints.
local NEG_TOKEN_INIT2 = tlv(0x60, oid(SPNEGO_OID_HEX) .. ctx_tag(0, seq(
  ctx_tag(0, seq(oid(KRB5_OID_HEX), oid(NTLM_OID_HEX))),
  ctx_tag(3, seq(ctx_tag(0, gstr("not_defined_in_RFC4178@please_ignore")))))))

-- Runs a command (stdin_data as its input): exit code, combined output.
local function run(cmd, stdin_data)
  local text, ok, code = sh.run(cmd, stdin_data)
  return ok and 0 or code, text
end

local q = sh.quote

-- Every strict prefix, and every single-byte change at a handful of
-- values, must decode or fail cleanly: nil plus a string.
-- (RFC 4121 MIC/Wrap tokens carry no length, so their longer prefixes are
-- still well-formed: for them only "no Lua error" is checked.)
local function assert_robust(bytes, no_length_field)
  for n = 0, #bytes - 1 do
    local ok, t, err = pcall(token.decode, bytes:sub(1, n))
    assert(ok, "prefix of " .. n .. " bytes raised: " .. tostring(t))
    assert(t == nil and type(err) == "string" or (no_length_field and n >= 16),
           "prefix of " .. n .. " bytes: expected nil, message")
  end
  for i = 1, #bytes do
    for _, v in ipairs({ 0x00, 0x7f, 0x80, 0xff }) do
      local mutated = bytes:sub(1, i - 1) .. string.char(v) .. bytes:sub(i + 1)
      local ok, t, err = pcall(token.decode, mutated)
      assert(ok, "byte " .. i .. " = " .. v .. " raised: " .. tostring(t))
      assert(type(t) == "table" or type(err) == "string")
    end
  end
end

describe("sspi.token", function()
  describe("NTLM", function()
    it("decodes the MS-NLMP 4.2.4.3 CHALLENGE with flags, AV pairs and version", function()
      local t = assert(token.decode(token.from_hex(NLMP_CHALLENGE)))
      assert.same("NTLM", t.protocol)
      assert.same("CHALLENGE", t.type)
      assert.same(0xe28a8233, t.flags)
      assert.truthy(table.concat(t.flag_names, " "):find("NTLMSSP_NEGOTIATE_KEY_EXCH", 1, true))
      assert.same("0123456789abcdef", t.server_challenge)
      assert.same("Server", t.target_name)
      assert.same({ "MsvAvNbDomainName", "Domain" }, { t.target_info[1].name, t.target_info[1].value })
      assert.same({ "MsvAvNbComputerName", "Server" }, { t.target_info[2].name, t.target_info[2].value })
      assert.same({ major = 6, minor = 0, build = 6000, ntlm_revision = 15,
                    text = "6.0.6000 (NTLM revision 15)" }, t.version)
    end)

    it("names flags without a message", function()
      assert.same({ "NTLMSSP_NEGOTIATE_UNICODE", "NTLMSSP_NEGOTIATE_56" },
                  token.ntlm_flag_names(0x80000001))
      assert.has_error(function() token.ntlm_flag_names("x") end)
    end)

    it("rejects a payload field that points past the message", function()
      local b = token.from_hex(NLMP_CHALLENGE)
      -- TargetInfoFields.Len at offset 40 -> 0xff00
      local bad = b:sub(1, 40) .. "\0\255" .. b:sub(43)
      local t, err = token.decode(bad)
      assert.is_nil(t)
      assert.matches("runs past the message end", err)
    end)

    it("rejects a wrong signature and an unknown message type", function()
      local b = token.from_hex(NLMP_CHALLENGE)
      local t, err = token.decode("NTLMSSP\0" .. "\9\0\0\0" .. b:sub(13))
      assert.is_nil(t)
      assert.matches("unknown message type 9", err)
      t, err = token.decode("NTLMSSX\0" .. b:sub(9))
      assert.is_nil(t)
      assert.matches("unrecognised token", err)
    end)

    it("rejects an AV pair list without MsvAvEOL", function()
      local b = token.from_hex(NLMP_CHALLENGE)
      -- cut the final EOL (4 bytes) and shrink TargetInfo's length to match
      local cut = b:sub(1, 40) .. string.pack("<I2I2", 0x20, 0x20) .. b:sub(45, #b - 4)
      local t, err = token.decode(cut)
      assert.is_nil(t)
      assert.matches("without MsvAvEOL", err)
    end)

    it("survives every truncation and byte change of a CHALLENGE", function()
      assert_robust(token.from_hex(NLMP_CHALLENGE))
    end)
  end)

  describe("Kerberos", function()
    it("decodes a KRB-ERROR's outer fields", function()
      local t = assert(token.decode(KRB_ERROR))
      assert.same("KRB-ERROR", t.type)
      assert.same(37, t.error_code)
      assert.same("KRB_AP_ERR_SKEW", t.error_name)
      assert.same("2024-01-02T03:04:05Z", t.stime)
      assert.same("SSPI.TEST", t.realm)
      assert.same("host/localhost", t.sname.text)
      assert.same("NT-SRV-HST", t.sname.name_type_name)
      assert.same("clock skew too great", t.e_text)
    end)

    it("decodes a KRB-ERROR inside the GSSAPI wrapper with TOK_ID 03 00", function()
      local wrapped = tlv(0x60, oid(KRB5_OID_HEX) .. "\3\0" .. KRB_ERROR)
      local t = assert(token.decode(wrapped))
      assert.same("KRB-ERROR", t.type)
      assert.same("0300", t.gss_wrapper.tok_id)
      assert.same("KRB_ERROR", t.gss_wrapper.tok_id_name)
      assert.same("Kerberos 5", t.gss_wrapper.mech_name)
    end)

    it("rejects a wrong pvno, missing fields and DER it does not allow", function()
      local cases = {
        { tlv(0x7e, seq(ctx_tag(0, int(4)), ctx_tag(1, int(30)))), "pvno 4" },
        { tlv(0x7e, seq(ctx_tag(0, int(5)), ctx_tag(1, int(30)))), "error%-code: missing" },
        { "\x7e\x80\0\0", "indefinite length" },
        { "\x7e\x85\1\1\1\1\1", "length of length" },
        { "\x7e\x10\x30\x00", "runs past the end" },
        { tlv(0x7e, seq(ctx_tag(1, int(30)), ctx_tag(0, int(5)))), "out of order" },
        { KRB_ERROR .. "\0", "trailing bytes" },
        { "\x7f\x01\x00", "unrecognised token" },
      }
      for _, c in ipairs(cases) do
        local t, err = token.decode(c[1])
        assert.is_nil(t, c[2])
        assert.matches(c[2], err)
      end
    end)

    it("survives every truncation and byte change of a KRB-ERROR", function()
      assert_robust(KRB_ERROR)
    end)
  end)

  describe("SPNEGO", function()
    it("tells NegTokenInit2 (negHints at [3]) from NegTokenInit", function()
      local t = assert(token.decode(NEG_TOKEN_INIT2))
      assert.same("NegTokenInit2", t.type)
      assert.same("not_defined_in_RFC4178@please_ignore", t.neg_hints.hint_name)
      assert.same({ "Kerberos 5", "NTLMSSP" }, { t.mech_types[1].name, t.mech_types[2].name })
      assert.same("SPNEGO", t.gss_wrapper.mech_name)
    end)

    it("keeps a malformed inner token as hex with the reason", function()
      local resp = ctx_tag(1, seq(ctx_tag(0, tlv(0x0a, "\1")), ctx_tag(2, tlv(0x04, "NTLMSSP\0\2"))))
      local t = assert(token.decode(resp))
      assert.same("NegTokenResp", t.type)
      assert.same("accept-incomplete", t.neg_state)
      assert.same(token.hex("NTLMSSP\0\2"), t.response_token.hex)
      assert.matches("NTLM", t.response_token.note)
    end)

    it("limits nesting", function()
      local inner = ctx_tag(1, seq(ctx_tag(0, tlv(0x0a, "\0"))))
      for _ = 1, 6 do inner = ctx_tag(1, seq(ctx_tag(2, tlv(0x04, inner)))) end
      local t = assert(token.decode(inner))
      local depth, node = 0, t
      while node.response_token and node.response_token.decoded do
        node, depth = node.response_token.decoded, depth + 1
      end
      assert.is_true(depth <= 4)
      assert.matches("nested", node.response_token.note)
    end)

    it("survives every truncation and byte change of a NegTokenInit2", function()
      assert_robust(NEG_TOKEN_INIT2)
    end)
  end)

  describe("tokens produced in the suite", function()
    local produced = {}

    -- A full NTLM and SPNEGO(NTLM) exchange by gss-ntlmssp, driven by
    -- Debian's python3-gssapi (an independent GSSAPI consumer).
    local PY = [[
import base64, os, sys
import gssapi
mech = gssapi.OID.from_int_seq(sys.argv[1])
user = gssapi.Name('TESTDOM\\alice', gssapi.NameType.user)
cred = gssapi.raw.acquire_cred_with_password(user, b'Secret123', mechs=[mech], usage='initiate').creds
c = gssapi.SecurityContext(name=gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service),
                           creds=cred, mech=mech, usage='initiate')
s = gssapi.SecurityContext(creds=gssapi.Credentials(usage='accept', mechs=[mech]), usage='accept')
tok = c.step()
while tok is not None:
    print(base64.b64encode(tok).decode())
    tok = s.step(tok)
    if tok is None: break
    print(base64.b64encode(tok).decode())
    tok = c.step(tok)
]]

    local function gss_ntlmssp_exchange(mech_oid)
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. q(dir)))
      local f = assert(io.open(dir .. "/users", "w")); f:write("TESTDOM:alice:Secret123\n"); f:close()
      f = assert(io.open(dir .. "/x.py", "w")); f:write(PY); f:close()
      local code, out = run("NTLM_USER_FILE=" .. q(dir .. "/users") .. " /usr/bin/python3 " ..
                            q(dir .. "/x.py") .. " " .. mech_oid)
      os.execute("rm -rf " .. q(dir))
      assert(code == 0, "python3-gssapi with gss-ntlmssp failed (install python3-gssapi gss-ntlmssp):\n" .. out)
      local list = {}
      for line in out:gmatch("[^\n]+") do list[#list + 1] = assert(token.from_base64(line)) end
      return list
    end

    setup(function()
      produced.ntlm = gss_ntlmssp_exchange("1.3.6.1.4.1.311.2.2.10")
      produced.spnego = gss_ntlmssp_exchange("1.3.6.1.5.5.2")
      local r = realm.start()
      local cc, sc = r:kerberos_credentials()
      local c, s = sspi.context(cc), sspi.context(sc)
      local req = { "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY" }
      produced.ap_req = assert(c:step_init{ target = "host/localhost", context_req = req }).token
      produced.ap_rep = assert(s:step_accept{ input = produced.ap_req }).token
      assert(c:step_init{ target = "host/localhost", context_req = req, input = produced.ap_rep })
      produced.mic = assert(c:sign("message"))
      produced.wrap = assert(c:wrap("message"))
      local nc = assert(sspi.credential{ package = "Negotiate", usage = "outbound",
                                         ccache = r:kinit(r.user, r.password) })
      produced.neg_init = assert(sspi.context(nc):step_init{ target = "HTTP/localhost", context_req = req }).token
    end)

    it("decodes gss-ntlmssp's NEGOTIATE, CHALLENGE and NTLMv2 AUTHENTICATE", function()
      assert.same(3, #produced.ntlm)
      local n, c, a = token.decode(produced.ntlm[1]), token.decode(produced.ntlm[2]), token.decode(produced.ntlm[3])
      assert.same({ "NEGOTIATE", "CHALLENGE", "AUTHENTICATE" }, { n.type, c.type, a.type })
      assert.same(16, #c.server_challenge)
      assert.same("alice", a.user)
      assert.same("TESTDOM", a.domain)
      assert.same("NTLMv2", a.response_kind)
      local target
      for _, av in ipairs(a.ntlmv2.av_pairs) do if av.name == "MsvAvTargetName" then target = av.value end end
      assert.same("HTTP/localhost", target)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", a.ntlmv2.time)
    end)

    it("decodes gss-ntlmssp's SPNEGO tokens with the NTLM messages inside", function()
      local init = assert(token.decode(produced.spnego[1]))
      assert.same("NegTokenInit", init.type)
      assert.same("NTLMSSP", init.mech_types[1].name)
      assert.same("NEGOTIATE", init.mech_token.decoded.type)
      local resp = assert(token.decode(produced.spnego[2]))
      assert.same("NegTokenResp", resp.type)
      assert.same("accept-incomplete", resp.neg_state)
      assert.same("CHALLENGE", resp.response_token.decoded.type)
      local auth = assert(token.decode(produced.spnego[3]))
      assert.same("AUTHENTICATE", auth.response_token.decoded.type)
      assert.same(32, #auth.response_token.decoded.mic) -- MsvAvFlags says MIC present
      assert.same("accept-completed", assert(token.decode(produced.spnego[4])).neg_state)
    end)

    it("decodes our Kerberos AP-REQ, AP-REP, MIC and Wrap tokens", function()
      local req = assert(token.decode(produced.ap_req))
      assert.same("AP-REQ", req.type)
      assert.same("0100", req.gss_wrapper.tok_id)
      assert.same("1.2.840.113554.1.2.2", req.gss_wrapper.mech_oid)
      assert.same("host/localhost@SSPI.TEST", req.ticket.server)
      assert.same({ "mutual-required" }, req.ap_options)
      assert.same("aes256-cts-hmac-sha1-96", req.ticket.enc_part.etype_name)
      local rep = assert(token.decode(produced.ap_rep))
      assert.same("AP-REP", rep.type)
      assert.same("0200", rep.gss_wrapper.tok_id)
      local mic = assert(token.decode(produced.mic))
      assert.same("MIC", mic.type)
      local wrap = assert(token.decode(produced.wrap))
      assert.same("WRAP", wrap.type)
      assert.truthy(table.concat(wrap.flag_names, " "):find("Sealed", 1, true))
    end)

    it("decodes our Negotiate NegTokenInit with the Kerberos AP-REQ inside", function()
      local t = assert(token.decode(produced.neg_init))
      assert.same("NegTokenInit", t.type)
      assert.same("Kerberos 5", t.mech_types[1].name)
      assert.same("AP-REQ", t.mech_token.decoded.type)
      assert.same("HTTP/localhost@SSPI.TEST", t.mech_token.decoded.ticket.server)
    end)

    it("survives every truncation and byte change of real tokens", function()
      assert_robust(produced.ntlm[3])
      assert_robust(produced.spnego[2])
      assert_robust(produced.ap_rep)
      assert_robust(produced.mic, true)
      assert_robust(produced.wrap, true)
    end)

    it("prints a real AP-REQ from the command line, as JSON", function()
      local code, out = run("lua5.4 " .. q(CLI) .. " --json " .. q("Negotiate " .. token.base64(produced.neg_init)))
      assert.same(0, code, out)
      local t = assert(dkjson.decode(out))
      assert.same("AP-REQ", t.mech_token.decoded.type)
      assert.same("base64", t.input_form)
    end)
  end)

  describe("input forms", function()
    local raw = token.from_hex(NLMP_CHALLENGE)
    it("reads base64, hex, header values and raw bytes", function()
      local b64 = token.base64(raw)
      for _, form in ipairs({
        { b64, "base64" }, { NLMP_CHALLENGE, "hex" }, { NLMP_CHALLENGE:upper(), "hex" },
        { NLMP_CHALLENGE:gsub("(%x%x)", "%1 "), "hex" }, { NLMP_CHALLENGE:gsub("(%x%x)", "%1:"):sub(1, -2), "hex" },
        { "NTLM " .. b64, "base64" }, { "WWW-Authenticate: Negotiate " .. b64, "base64" },
        { "  " .. b64 .. "\n", "base64" }, { raw, "raw" },
      }) do
        local bytes, how = token.read_input(form[1])
        assert.same(form[2], how)
        assert.same(raw, bytes)
      end
    end)

    it("rejects what is none of them", function()
      for _, bad in ipairs({ "", "   ", "!!!!", "Negotiate", "abc=def" }) do
        local t, err = token.parse(bad)
        assert.is_nil(t)
        assert.is_string(err)
      end
      local t, err = token.decode(42)
      assert.is_nil(t)
      assert.matches("must be a string", err)
    end)
  end)

  describe("output", function()
    it("writes JSON that an independent parser reads back to the same table", function()
      for _, b in ipairs({ token.from_hex(NLMP_CHALLENGE), KRB_ERROR, NEG_TOKEN_INIT2 }) do
        local t = assert(token.decode(b))
        local json = token.to_json(t)
        local back, _, err = dkjson.decode(json)
        assert.is_nil(err)
        assert.same(t, back)
      end
    end)

    it("escapes control characters and keeps JSON valid UTF-8 for hostile names", function()
      local json = token.to_json({ name = "a\"b\\c\n\1\255", list = setmetatable({}, { __name = "x" }) })
      local back = dkjson.decode(json)
      assert.same("a\"b\\c\n\1\195\191", back.name)
      assert.truthy(utf8.len(json))
      local text = token.to_text({ name = "evil\27[2J" })
      assert.is_nil(text:find("\27", 1, true))
    end)

    it("prints empty lists as JSON arrays", function()
      local t = assert(token.decode("\4\4\0\255\255\255\255\255" .. ("\0"):rep(8) .. ("\1"):rep(12)))
      assert.same("MIC", t.type)
      assert.truthy(token.to_json(t):find('"flag_names":[]', 1, true))
    end)
  end)

  describe("bin/sspi-token", function()
    local b64 = token.base64(token.from_hex(NLMP_CHALLENGE))

    it("decodes a base64 argument as text", function()
      local code, out = run("lua5.4 " .. q(CLI) .. " " .. q(b64))
      assert.same(0, code)
      assert.matches("type: CHALLENGE", out)
      assert.matches("server_challenge: 0123456789abcdef", out)
    end)

    it("decodes hex on stdin as JSON", function()
      local code, out = run("lua5.4 " .. q(CLI) .. " --json", NLMP_CHALLENGE .. "\n")
      assert.same(0, code)
      local t = assert(dkjson.decode(out))
      assert.same("CHALLENGE", t.type)
      assert.same("hex", t.input_form)
    end)

    it("decodes raw bytes from a file", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb")); f:write(KRB_ERROR); f:close()
      local code, out = run("lua5.4 " .. q(CLI) .. " -f " .. q(path))
      os.remove(path)
      assert.same(0, code)
      assert.matches("error_name: KRB_AP_ERR_SKEW", out)
    end)

    it("exits 1 with a message for malformed input, 2 for bad usage", function()
      local code, out = run("lua5.4 " .. q(CLI) .. " " .. q(token.base64("NTLMSSP\0\3\0\0\0")))
      assert.same(1, code)
      assert.matches("^sspi%-token: NTLM", out)
      code, out = run("lua5.4 " .. q(CLI) .. " -f /nonexistent/file")
      assert.same(1, code)
      assert.matches("nonexistent", out)
      code, out = run("lua5.4 " .. q(CLI) .. " --bogus")
      assert.same(2, code)
      assert.matches("usage", out)
      code = run("lua5.4 " .. q(CLI) .. " a b")
      assert.same(2, code)
    end)
  end)
end)
