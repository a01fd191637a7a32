-- sspi.token / bin/sspi-token on TLS records: the records a Schannel
-- handshake really exchanges, decoded (content types, versions, handshake
-- messages, ClientHello suites / SNI / ALPN / versions / groups, the
-- ServerHello's choice, alerts), and malformed input refused with a message.
local sspi = require "sspi"
local token = require "sspi.token"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

describe("sspi.token on TLS records", function()
  local pki, hello, flight

  setup(function()
    pki = tls.pki()
    local cc = assert(sspi.credential { package = "Schannel", usage = "outbound", ca = pki.ca,
      alpn = { "h2", "http/1.1" }, cipher_suites = { "TLS_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" } })
    local sc = assert(sspi.credential { package = "Schannel", usage = "inbound",
      certificate = pki.server, private_key = pki.server_key, protocols = { "TLSv1.2" } })
    local c, s = sspi.context(cc), sspi.context(sc)
    hello = assert(c:step_init { target = "localhost" }).token
    flight = assert(s:step_accept { input = hello }).token
  end)

  teardown(function() tls.cleanup(pki and pki.dir) end)

  it("opens a ClientHello", function()
    local t = assert(token.decode(hello))
    assert.same("TLS", t.protocol)
    local rec = t.records[1]
    assert.same("handshake", rec.content_type)
    local m = rec.messages[1]
    assert.same("client_hello", m.type)
    assert.same("localhost", m.server_name)
    assert.same({ "h2", "http/1.1" }, { table.unpack(m.alpn) })
    assert.same({ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256" },
      (function()
        local names = {}
        for _, n in ipairs(m.cipher_suites) do
          if n ~= "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" then names[#names + 1] = n end
        end
        table.sort(names, function(a, b) return a > b end)
        return names
      end)())
    assert.same("TLS 1.3", m.supported_versions[1])
    assert.is_true(#m.key_share >= 1)
  end)

  it("opens the server's flight: its choice, certificate, and more", function()
    local t = assert(token.decode(flight))
    local types = {}
    for _, rec in ipairs(t.records) do
      for _, m in ipairs(rec.messages or {}) do types[#types + 1] = m.type end
    end
    assert.same("server_hello", types[1])
    assert.truthy(table.concat(types, ","):find("certificate", 1, true))
    assert.same("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", t.records[1].messages[1].cipher_suite)
    assert.same("TLS 1.2", t.records[1].version)
  end)

  it("decodes alerts and says encrypted records are encrypted", function()
    local t = assert(token.parse("15030300020228"))
    assert.same("fatal", t.records[1].level)
    assert.same("handshake_failure", t.records[1].description)
    t = assert(token.decode("\23\3\3\0\3abc"))
    assert.is_true(t.records[1].encrypted)
  end)

  it("refuses malformed records with a message, never raising", function()
    local t, err = token.decode("\22\3\3\0")
    assert.is_nil(t)
    assert.matches("truncated header", err)
    t = assert(token.decode("\22\3\3\0\4\1\0\0\9"))
    assert.same(nil, t.records[1].messages) -- a message longer than its record: not opened
    t, err = token.decode("\22\3\3\0\6\1\0\0\2\3\3")
    assert.is_table(t)
    assert.matches("truncated", t.records[1].messages[1].error)
    assert.is_nil(err)
  end)

  it("bin/sspi-token prints TLS records as text and JSON", function()
    local file = pki.dir .. "/hello.bin"
    sh.write_file(file, hello)
    local out, ok = sh.run("lua5.4 bin/sspi-token -f " .. sh.quote(file))
    assert.is_true(ok, out)
    assert.matches("client_hello", out)
    assert.matches("server_name: localhost", out, 1, true)
    out, ok = sh.run("lua5.4 bin/sspi-token --json -f " .. sh.quote(file))
    assert.is_true(ok, out)
    assert.matches('"alpn":["h2","http/1.1"]', out, 1, true)
  end)
end)
