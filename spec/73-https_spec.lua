-- HTTPS with Extended Protection: examples/https_server.lua (sspi.tls over
-- the Schannel package, Negotiate and NTLM bound to the TLS channel)
-- against our client (sspi.http over sspi.tls, NTLM and Negotiate with
-- Kerberos inside, channel bindings from endpoint_bindings), a client with
-- wrong or missing bindings, curl, and examples/http_client.lua in HTTPS
-- mode.  Everything on 127.0.0.1, free ports, temp dirs.
local LUA_BUILD = require "helpers.build"
local sspi = require "sspi"
local socket = require "socket"
local http = require "sspi.http"
local realm = require "helpers.realm"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local DOMAIN, USER, PASSWORD = "SSPI", "carol", "carol-Secret-1"

describe("HTTPS with Extended Protection", function()
  local pki, r, srv

  local function start_server()
    local port = sh.free_port()
    local dir = pki.dir
    sh.write_file(dir .. "/users", ("%s:%s:%s\n"):format(DOMAIN, USER, PASSWORD))
    local cmd = ("NTLM_USER_FILE=%s KRB5_KTNAME=%s exec " .. LUA_BUILD.lua .. " examples/https_server.lua %d %s %s")
      :format(sh.quote(dir .. "/users"), sh.quote(r.keytab), port, sh.quote(pki.server),
        sh.quote(pki.server_key))
    local pid = tls.spawn(cmd, dir .. "/server.out") -- stdout and stderr (its log)
    local s = { port = port, pid = pid }
    function s.log() return sh.read_file(dir .. "/server.out") end
    local deadline = socket.gettime() + 90
    while not sh.read_file(dir .. "/server.out"):find("ready " .. port, 1, true) do
      assert(socket.gettime() < deadline, "examples/https_server.lua did not start:\n" .. s.log())
      socket.sleep(0.05)
    end
    return s
  end

  local function tls_cred()
    return assert(sspi.credential { package = "Schannel", usage = "outbound", ca = pki.ca })
  end

  local function url() return ("https://localhost:%d/whoami"):format(srv.port) end

  setup(function()
    pki = tls.pki()
    r = realm.start()
    srv = start_server()
  end)

  teardown(function()
    if srv then tls.kill(srv.pid) end
    tls.cleanup(pki and pki.dir)
  end)

  it("NTLM over HTTPS carries the channel bindings and is accepted", function()
    local body, code = http.request(url(), nil, { tls = { credential = tls_cred() },
      schemes = { "NTLM" }, username = DOMAIN .. "\\" .. USER, password = PASSWORD })
    assert.same(200, code, srv.log())
    assert.matches(USER, body:lower(), 1, true)
  end)

  it("Negotiate (Kerberos inside) over HTTPS is accepted with the bindings", function()
    local kclient = r:kerberos_credentials()
    local body, code = http.request(url(), nil, { tls = { credential = tls_cred() },
      schemes = { "Negotiate" }, credential = kclient })
    assert.same(200, code, srv.log())
    assert.same(r.user .. "\n", body)
  end)

  it("refuses wrong bindings (NTLM and Kerberos) and missing ones (NTLM)", function()
    local wrong = sspi.channel_bindings { application_data = "tls-server-end-point:" .. ("\0"):rep(32) }
    local _, code = http.request(url(), nil, { tls = { credential = tls_cred() }, channel_bindings = wrong,
      schemes = { "NTLM" }, username = DOMAIN .. "\\" .. USER, password = PASSWORD })
    assert.same(401, code)
    assert.matches("SEC_E_BAD_BINDINGS", srv.log())
    local kclient = r:kerberos_credentials()
    local _, kcode, _, kstatus = http.request(url(), nil, { tls = { credential = tls_cred() },
      channel_bindings = wrong, schemes = { "Negotiate" }, credential = kclient })
    assert.is_true(kcode == 401 or kcode == nil, tostring(kstatus))
    -- an NTLM client that sends no bindings at all: curl's own NTLM
    local out = pki.dir .. "/curl.body"
    local log = sh.run(("curl -sS -o %s -w 'HTTPSTATUS:%%{http_code}' --cacert %s --ntlm -u %s %s")
      :format(sh.quote(out), sh.quote(pki.ca), sh.quote(DOMAIN .. "\\" .. USER .. ":" .. PASSWORD), url()))
    assert.matches("HTTPSTATUS:401", log)
    assert.matches("ALLOW_MISSING_BINDINGS not set", srv.log(), 1, true)
  end)

  it("the bindings are tls-server-end-point and the certificate's hash computed by openssl", function()
    local conn = assert(require("sspi.tls").connect("localhost", srv.port, { credential = tls_cred() }))
    local hash = sh.run(("openssl x509 -in %s -outform DER | openssl dgst -sha256 -binary")
      :format(sh.quote(pki.server)))
    assert.same("tls-server-end-point:" .. hash, conn:context():query("endpoint_bindings"))
    assert.same(sspi.SECBUFFER_CHANNEL_BINDINGS, conn:channel_bindings().type)
    conn:close()
  end)

  it("curl gets the TLS right (and 401 without authentication)", function()
    local log = sh.run(("curl -sS -o /dev/null -w 'HTTPSTATUS:%%{http_code}' --cacert %s %s")
      :format(sh.quote(pki.ca), url()))
    assert.matches("HTTPSTATUS:401", log)
  end)

  it("examples/http_client.lua in HTTPS mode", function()
    local out, ok = sh.run(("KRB5CCNAME=%s " .. LUA_BUILD.lua .. " examples/http_client.lua %s %s")
      :format(sh.quote(r:kinit(r.user, r.password)), url(), sh.quote(pki.ca)))
    assert.is_true(ok, out .. srv.log())
    assert.matches("200", out)
    assert.matches(r.user, out, 1, true)
  end)
end)
