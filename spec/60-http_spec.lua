-- sspi.http: header syntax (RFC 7235 / RFC 4559), and the client and server
-- helpers against each other in one process with real Kerberos (the
-- throwaway realm) and real NTLM (gss-ntlmssp, user file in a temp dir).

local http = require "sspi.http"

describe("sspi.http base64", function()
  it("round-trips every length and byte value", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    for n = 0, 10 do
      local s = all:sub(1, n)
      assert.equal(s, http.b64decode(http.b64encode(s)))
    end
    assert.equal(all, http.b64decode(http.b64encode(all)))
  end)

  it("matches RFC 4648 test vectors", function()
    local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
      fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for plain, enc in pairs(vectors) do
      assert.equal(enc, http.b64encode(plain))
      assert.equal(plain, http.b64decode(enc))
    end
    assert.equal("foob", http.b64decode("Zm9vYg")) -- padding may be left out
  end)

  it("rejects what is not base64", function()
    for _, bad in ipairs({ "Zm9v!", "Zm9vY", "Zg===", "Z===", "Zm9v Zg==", "Zg=a", "Zh==", "Zm9=" }) do
      local v, err = http.b64decode(bad)
      assert.is_nil(v, bad)
      assert.matches("invalid base64", err, 1, true)
    end
    local v, err = http.b64decode(42)
    assert.is_nil(v)
    assert.matches("not a string", err, 1, true)
  end)
end)

describe("sspi.http.parse_challenges", function()
  it("parses a bare scheme and a token68", function()
    local l = assert(http.parse_challenges("Negotiate"))
    assert.same({ { scheme = "Negotiate", params = {}, param_order = {} } }, l)
    l = assert(http.parse_challenges("Negotiate YIIBxAYGKwYBBQUC+/9=="))
    assert.equal(1, #l)
    assert.equal("YIIBxAYGKwYBBQUC+/9==", l[1].token68)
  end)

  it("parses several challenges in one field, with params and quoted strings", function()
    local l = assert(http.parse_challenges(
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", Negotiate, NTLM abc='))
    assert.equal(4, #l)
    assert.equal("Newauth", l[1].scheme)
    assert.same({ realm = "apps", type = "1", title = 'Login to "apps"' }, l[1].params)
    assert.same({ "realm", "type", "title" }, l[1].param_order)
    assert.equal("Basic", l[2].scheme)
    assert.equal("simple", l[2].params.realm)
    assert.equal("Negotiate", l[3].scheme)
    assert.is_nil(l[3].token68)
    assert.equal("NTLM", l[4].scheme)
    assert.equal("abc=", l[4].token68)
  end)

  it("joins several header fields and skips empty list elements", function()
    local l = assert(http.parse_challenges({ "Negotiate", " , NTLM ,", "Basic realm=x" }))
    assert.equal(3, #l)
    assert.equal("NTLM", l[2].scheme)
    assert.equal("x", l[3].params.realm)
  end)

  it("lower-cases parameter names and accepts BWS around '='", function()
    local l = assert(http.parse_challenges("Basic Realm = \"r\" , Charset=UTF-8"))
    assert.same({ realm = "r", charset = "UTF-8" }, l[1].params)
  end)

  it("tells a token68 ending in '=' from an auth-param", function()
    local l = assert(http.parse_challenges("A b=, C d=e"))
    assert.equal("b=", l[1].token68)
    assert.equal("e", l[2].params.d)
  end)

  it("rejects malformed challenges with a message", function()
    for _, bad in ipairs({ "", ",", "Basic realm=\"x\" y", 'Basic realm="open', "Basic realm=a b",
      "Basic a=1, a=2", "@scheme", "Negotiate abc def", 'Basic realm="a\1b"', "Basic\trealm=x" }) do
      local l, err = http.parse_challenges(bad)
      assert.is_nil(l, bad)
      assert.matches("^WWW%-Authenticate: ", err)
    end
  end)

  it("raises on a wrong argument type", function()
    assert.has_error(function() http.parse_challenges(nil) end)
    assert.has_error(function() http.parse_challenges({ "Negotiate", 3 }) end)
  end)

  it("finds a scheme case-insensitively", function()
    local l = assert(http.parse_challenges("Basic realm=x, negotiate abcd"))
    assert.equal("abcd", http.find_challenge(l, "Negotiate").token68)
    assert.is_nil(http.find_challenge(l, "NTLM"))
  end)
end)

describe("sspi.http.parse_credentials", function()
  it("parses one credentials value", function()
    local c = assert(http.parse_credentials("Negotiate YIIBxA=="))
    assert.equal("Negotiate", c.scheme)
    assert.equal("YIIBxA==", c.token68)
    c = assert(http.parse_credentials('Digest username="a", nc=00000001'))
    assert.same({ username = "a", nc = "00000001" }, c.params)
  end)

  it("rejects several credentials and garbage", function()
    for _, bad in ipairs({ "", "Negotiate a, NTLM b", "Negotiate a b", "=x", "Negotiate !!" }) do
      local c, err = http.parse_credentials(bad)
      assert.is_nil(c, bad)
      assert.matches("^Authorization: ", err)
    end
  end)
end)

describe("sspi.http.format_*", function()
  it("builds challenges and credentials that parse back", function()
    assert.equal("Negotiate", http.format_challenge("Negotiate"))
    assert.equal("NTLM TlRMTVNTUAAB", http.format_credentials("NTLM", "TlRMTVNTUAAB"))
    local v = http.format_challenge("Basic", { realm = 'my "realm"', charset = "UTF-8" })
    assert.equal('Basic charset=UTF-8, realm="my \\"realm\\""', v)
    local l = assert(http.parse_challenges(v .. ", " .. http.format_challenge("Negotiate", "YII=")))
    assert.equal('my "realm"', l[1].params.realm)
    assert.equal("YII=", l[2].token68)
  end)

  it("raises on what cannot be put in a header", function()
    assert.has_error(function() http.format_challenge("Nego tiate") end)
    assert.has_error(function() http.format_challenge("Negotiate", "a b") end)
    assert.has_error(function() http.format_challenge("Basic", { ["a b"] = "x" }) end)
    assert.has_error(function() http.format_challenge("Basic", { realm = "a\nb" }) end)
    assert.has_error(function() http.format_credentials("NTLM", 5) end)
  end)
end)

describe("sspi.http initiator and server in one process (Kerberos through the realm)", function()
  local realm = require "helpers.realm"
  local sspi
  local r, server_cred

  setup(function()
    r = realm.start()
    sspi = require "sspi"
    -- the gssapi backend, so these specs exercise this module whatever
    -- the default Negotiate implementation is
    server_cred = assert(sspi.credential{ package = "Negotiate", usage = "inbound", backend = "gssapi" })
  end)

  local function new_pair(opts)
    local srv = http.server{ credentials = { Negotiate = server_cred } }
    local o = { host = "localhost", backend = "gssapi", schemes = { "Negotiate" } }
    for k, v in pairs(opts or {}) do o[k] = v end
    return srv, http.initiator(o)
  end

  it("authenticates, returns the name and verifies the server's final token", function()
    local srv, ini = new_pair()
    local conn = {}
    local first = srv:authenticate(conn, nil)
    assert.equal(401, first.status)
    assert.same({ "Negotiate" }, first.www_authenticate)
    local authz = assert(ini:respond(first.www_authenticate))
    assert.matches("^Negotiate [%w+/]+=*$", authz)
    local res = srv:authenticate(conn, authz)
    assert.equal(200, res.status)
    assert.equal(r.user, res.name)
    assert.equal("Negotiate", res.scheme)
    assert.equal(1, #res.www_authenticate)
    assert.is_true(ini:finish(res.www_authenticate))
    assert.is_true(ini.done)
    assert.is_true(ini.flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
    -- Negotiate authenticates requests, not connections
    assert.equal(401, srv:authenticate(conn, nil).status)
  end)

  it("fails mutual authentication when the final token is missing or altered", function()
    local srv, ini = new_pair()
    local res = srv:authenticate({}, assert(ini:respond("Negotiate")))
    assert.equal(200, res.status)
    local ok, err, status = ini:finish(nil)
    assert.is_nil(ok)
    assert.equal("SEC_E_MUTUAL_AUTH_FAILED", status)
    assert.equal(status, err.status)
    assert.matches("not authenticated", tostring(err))

    local srv2, ini2 = new_pair()
    res = srv2:authenticate({}, assert(ini2:respond("Negotiate")))
    local tok = http.b64decode(http.parse_challenges(res.www_authenticate)[1].token68)
    local bad = tok:sub(1, -3) .. string.char((tok:byte(-2) ~ 0xff)) .. tok:sub(-1)
    ok, err, status = ini2:finish("Negotiate " .. http.b64encode(bad))
    assert.is_nil(ok)
    assert.matches("^SEC_E_", status)
    assert.equal(status, err.status)

    local _, ini3 = new_pair({ mutual = false })
    assert(ini3:respond("Negotiate"))
    assert.is_true(ini3:finish(nil))
  end)

  it("reports the failures of a challenge it cannot answer", function()
    local _, ini = new_pair()
    local v, err, status = ini:respond("Basic realm=x")
    assert.is_nil(v)
    assert.equal("SEC_E_SECPKG_NOT_FOUND", status)
    assert.equal(status, err.status)
    v, _, status = ini:respond("Negotiate abc def")
    assert.is_nil(v)
    assert.equal("SEC_E_INVALID_TOKEN", status)

    local _, ini2 = new_pair()
    assert(ini2:respond("Negotiate"))
    v, _, status = ini2:respond("Negotiate") -- a bare challenge after our token
    assert.is_nil(v)
    assert.equal("SEC_E_LOGON_DENIED", status)

    local _, ini3 = new_pair()
    assert(ini3:respond("Negotiate"))
    v, _, status = ini3:respond("Negotiate Zh==") -- not canonical base64
    assert.is_nil(v)
    assert.equal("SEC_E_INVALID_TOKEN", status)

    local _, ini4 = new_pair({ max_legs = 1 })
    assert(ini4:respond("Negotiate"))
    v, err, status = ini4:respond("Negotiate YII=")
    assert.is_nil(v)
    assert.equal("SEC_E_INTERNAL_ERROR", status)
    assert.matches("too many authentication legs", err.message)
  end)

  it("returns the core's status when the KDC does not know the target", function()
    local _, ini = new_pair({ target = "HTTP/nosuchhost.sspi.test" })
    local v, err, status = ini:respond("Negotiate")
    assert.is_nil(v)
    assert.matches("^SEC_E_", status)
    assert.equal(status, err.status)
  end)

  it("answers the server-side failure paths with their status", function()
    local srv, ini = new_pair()
    local conn = {}
    local res = srv:authenticate(conn, "Negotiate !!!")
    assert.equal(400, res.status)
    assert.same({ "Negotiate" }, res.www_authenticate)
    assert.equal(400, srv:authenticate(conn, "Negotiate").status)
    assert.equal(400, srv:authenticate(conn, "Negotiate a, b").status)
    res = srv:authenticate(conn, "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAgAAAAAADw==")
    assert.equal(401, res.status)
    assert.matches("not offered", res.reason)
    -- a continuation token with no handshake on this connection
    res = srv:authenticate(conn, "Negotiate " .. http.b64encode("\xa1\x03\x30\x01\x00"))
    assert.equal(401, res.status)
    assert.equal("SEC_E_OUT_OF_SEQUENCE", res.err.status)
    -- a broken initial token: the core's status
    res = srv:authenticate(conn, "Negotiate " .. http.b64encode("\x60\x05\x06\x03garbage"))
    assert.equal(401, res.status)
    assert.matches("^SEC_E_", res.err.status)
    -- and the connection still works afterwards
    res = srv:authenticate(conn, assert(ini:respond("Negotiate")))
    assert.equal(200, res.status)
    srv:forget(conn)
  end)

  it("raises on programmer errors", function()
    assert.has_error(function() http.server{} end)
    assert.has_error(function() http.server{ credentials = {} } end)
    assert.has_error(function() http.server{ credentials = { Basic = server_cred } } end)
    assert.has_error(function() http.server{ credentials = { Negotiate = server_cred }, typo = 1 } end)
    local srv = http.server{ credentials = { Negotiate = server_cred } }
    assert.has_error(function() srv:authenticate(nil, "Negotiate") end)
    assert.has_error(function() http.initiator{} end)
    assert.has_error(function() http.initiator{ host = "x", schemes = { "Digest" } } end)
    assert.has_error(function() http.client{ hots = "x" } end)
    assert.has_error(function() http.client{}:request(42) end)
  end)
end)
