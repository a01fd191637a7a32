-- Our HTTPS client against Apache mod_ssl: sspi.http over sspi.tls (the
-- Schannel package) and examples/http_client.lua in its HTTPS mode fetch a
-- static file from an isolated Apache (spec/helpers/apache.lua) on
-- 127.0.0.1 with the test PKI, over TLS 1.2 and TLS 1.3 (Apache's access
-- log says which, from its side); a server certificate the client does not
-- trust is refused, and Apache hears why (the alert).
local LUA_BUILD = require "helpers.build"
local socket = require "socket"
local http = require "sspi.http"
local tls = require "helpers.tls"
local apache = require "helpers.apache"
local sh = require "helpers.sh"

local suite = tls.suite()
local pki, client_cred = suite.pki, suite.client_cred
setup(suite.setup)
teardown(suite.teardown)

describe("our HTTPS client against Apache mod_ssl", function()
  local srv

  -- Waits until Apache's log (a function) says `pattern`; returns the log.
  local function wait_log(log, pattern)
    local deadline = socket.gettime() + 30
    local text = log()
    while not text:find(pattern, 1, true) and socket.gettime() < deadline do
      socket.sleep(0.05)
      text = log()
    end
    return text
  end

  setup(function()
    srv = apache.start_https { certificate = pki.server, private_key = pki.server_key }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    it("sspi.http fetches a static file over " .. proto, function()
      local cred = client_cred { protocols = { proto } }
      local body, code = http.request(srv.url .. "/whoami?" .. proto, nil, { tls = { credential = cred } })
      assert.same(200, code, tostring(body) .. srv:error_log())
      assert.same("apache says hello\n", body)
      local line = ('%s "GET /whoami?%s HTTP/1.1" 200'):format(proto, proto)
      assert.matches(line, wait_log(function() return srv:access_log() end, line), 1, true)
    end)
  end

  it("examples/http_client.lua in its HTTPS mode", function()
    local out, ok = sh.run((LUA_BUILD.lua .. " examples/http_client.lua %s %s")
      :format(sh.quote(srv.url .. "/whoami?example"), sh.quote(pki.ca)))
    assert.is_true(ok, out)
    assert.matches("200", out)
    assert.matches("apache says hello", out, 1, true)
  end)

  it("an untrusted server certificate is refused, and Apache hears the alert", function()
    -- trusting only another (self-signed) certificate: Apache's chain is unknown
    local cred = client_cred { ca = pki.selfsigned }
    local body, err = http.request(srv.url .. "/whoami?untrusted", nil, { tls = { credential = cred } })
    assert.is_nil(body)
    assert.matches("SEC_E_UNTRUSTED_ROOT", tostring(err))
    assert.matches("alert unknown ca", wait_log(function() return srv:error_log() end, "alert unknown ca"),
      1, true)
    assert.not_matches("untrusted", srv:access_log(), 1, true)
    -- and the example client exits 2 without a body
    local out, ok = sh.run((LUA_BUILD.lua .. " examples/http_client.lua %s %s")
      :format(sh.quote(srv.url .. "/whoami?example2"), sh.quote(pki.selfsigned)))
    assert.is_false(ok)
    assert.matches("SEC_E_UNTRUSTED_ROOT", out)
  end)
end)
