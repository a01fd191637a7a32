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
