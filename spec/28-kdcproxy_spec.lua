-- The KDC proxy (sspi.kdcproxy, MS-KKDCP) with MIT's own client as the
-- peer: examples/kdc_proxy.lua over HTTPS in front of the throwaway realm's
-- KDC, and kinit / klist (Debian's krb5-k5tls gives them HTTPS) with a
-- krb5.conf whose realm names `kdc = https://127.0.0.1:PORT/KdcProxy`.
-- Garbage from curl gets HTTP errors and the proxy goes on serving; our own
-- Kerberos credentials reach the KDC through it the only way MIT allows, a
-- KRB5_CONFIG naming the proxy.  Everything on 127.0.0.1, free ports, temp
-- dirs, processes stopped by pid.
local LUA_BUILD = require "helpers.build"
local socket = require "socket"
local kdcproxy = require "sspi.kdcproxy"
local realm = require "helpers.realm"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local PREAUTH_USER, PREAUTH_PASSWORD = "kpuser", "kpuser-Secret-1"

describe("KDC proxy (MS-KKDCP)", function()
  local r, pki, dir, proxy

  local function start_proxy(kdc, realms)
    local port = sh.free_port()
    local out = ("%s/proxy.%d.out"):format(dir, port)
    local cmd = ("exec %s examples/kdc_proxy.lua %d %s %s %s %s"):format(LUA_BUILD.lua, port,
      sh.quote(pki.server), sh.quote(pki.server_key), kdc, realms or "")
    local p = { port = port, pid = tls.spawn(cmd, out) }
    function p.log() return sh.read_file(out) end
    local deadline = socket.gettime() + 90
    while not p.log():find("ready " .. port, 1, true) do
      assert(socket.gettime() < deadline, "examples/kdc_proxy.lua did not start:\n" .. p.log())
      assert(sh.alive(p.pid), "examples/kdc_proxy.lua exited:\n" .. p.log())
      socket.sleep(0.05)
    end
    return p
  end

  -- A krb5.conf for MIT's client: the realm's KDC is the proxy at `port`.
  local function client_conf(port)
    local path = ("%s/krb5.%d.conf"):format(dir, port)
    sh.write_file(path, table.concat({
      "[libdefaults]",
      " default_realm = " .. r.name,
      " dns_lookup_kdc = false",
      " dns_lookup_realm = false",
      " rdns = false",
      "[realms]",
      " " .. r.name .. " = {",
      ("  kdc = https://127.0.0.1:%d/KdcProxy"):format(port),
      "  http_anchors = FILE:" .. pki.ca,
      " }",
      "",
    }, "\n"))
    return path
  end

  -- Runs a command with the client's krb5.conf; returns ok, output.
  local counter = 0
  local function with_conf(conf, cmd, input)
    counter = counter + 1
    local ccache = ("FILE:%s/cc.%d"):format(dir, counter)
    local text, ok = sh.run(("(export KRB5_CONFIG=%s KRB5CCNAME=%s; %s)"):format(sh.quote(conf),
      sh.quote(ccache), cmd), input)
    return ok, text, ccache
  end

  local function kinit(conf, principal, password)
    return with_conf(conf, "kinit " .. sh.quote(principal) .. " 2>&1; klist 2>&1", password .. "\n")
  end

  local function count(text, pattern)
    return select(2, text:gsub(pattern, ""))
  end

  -- curl POSTs `body` (a file holds it) to the proxy as application/kerberos,
  -- or runs with `args` instead; returns the HTTP status.
  local function curl(port, body, args, path)
    local file = dir .. "/body"
    sh.write_file(file, body or "x")
    local text = sh.run(("curl -s -o /dev/null -w '%%{http_code}' --max-time 20 --cacert %s %s "
      .. "https://127.0.0.1:%d%s"):format(sh.quote(pki.ca),
      args or ("-H 'Content-Type: application/kerberos' --data-binary @" .. sh.quote(file)), port,
      path or "/KdcProxy"))
    return tonumber(text)
  end

  -- A KDC-PROXY-MESSAGE that looks like an AS-REQ to the proxy (the KDC
  -- would refuse its body).
  local function message(realm_name, size)
    return kdcproxy.encode { message = kdcproxy.frame("\x6a" .. ("\0"):rep((size or 16) - 1)),
      realm = realm_name }
  end

  setup(function()
    sh.require_tool("kinit", "krb5-user")
    sh.require_tool("curl", "curl")
    local k5tls = sh.run("ls /usr/lib/*/krb5/plugins/tls/k5tls.so /usr/lib/krb5/plugins/tls/k5tls.so 2>/dev/null")
    assert(k5tls:find("k5tls.so", 1, true), "MIT's HTTPS client is missing: apt-get install krb5-k5tls")
    r = realm.start()
    r:kadmin(("addprinc +requires_preauth -pw \"%s\" %s"):format(PREAUTH_PASSWORD, PREAUTH_USER))
    dir = sh.tmpdir("kdcproxy")
    pki = tls.pki(dir .. "/pki")
    proxy = start_proxy("127.0.0.1:" .. r.kdc_port, r.name)
  end)

  teardown(function()
    if proxy then tls.kill(proxy.pid) end
    if r then pcall(r.kadmin, r, "delprinc -force " .. PREAUTH_USER) end
    if dir then sh.run("rm -rf " .. sh.quote(dir)) end
  end)

  it("kinit obtains a TGT through the proxy", function()
    local before = count(proxy.log(), "POST /KdcProxy %-> 200")
    local ok, text = kinit(client_conf(proxy.port), PREAUTH_USER .. "@" .. r.name, PREAUTH_PASSWORD)
    assert(ok, text .. "\n--- proxy:\n" .. proxy.log())
    assert.matches("Default principal: " .. PREAUTH_USER .. "@SSPI%.TEST", text)
    assert.matches("krbtgt/SSPI%.TEST@SSPI%.TEST", text)
    -- AS-REQ, PREAUTH_REQUIRED, AS-REQ with the timestamp, AS-REP: two exchanges
    assert.is_true(count(proxy.log(), "POST /KdcProxy %-> 200") >= before + 2, proxy.log())
  end)

  it("kinit goes nowhere else: with the proxy's port closed it cannot reach a KDC", function()
    local ok, text = kinit(client_conf(sh.free_port()), PREAUTH_USER, PREAUTH_PASSWORD)
    assert.is_false(ok)
    assert.matches("Cannot contact any KDC", text)
  end)

  it("a wrong password brings the KDC's preauthentication failure back through the proxy", function()
    local failed = "PREAUTH_FAILED: " .. PREAUTH_USER .. "@SSPI%.TEST"
    local before = count(proxy.log(), "POST /KdcProxy %-> 200")
    local kdc_before = count(sh.read_file(r.dir .. "/kdc.log"), failed)
    local ok, text = kinit(client_conf(proxy.port), PREAUTH_USER, "not-the-password")
    assert.is_false(ok)
    assert.is_truthy(text:find("Password incorrect", 1, true) or text:find("Preauthentication failed", 1, true),
      text)
    assert.is_true(count(proxy.log(), "POST /KdcProxy %-> 200") >= before + 2, proxy.log())
    assert.equal(kdc_before + 1, count(sh.read_file(r.dir .. "/kdc.log"), failed))
  end)

  it("answers garbage with HTTP errors and goes on serving", function()
    local random = { 0xff }
    math.randomseed(28)
    for i = 2, 300 do random[i] = math.random(0, 255) end
    assert.same(400, curl(proxy.port, string.char(table.unpack(random))))
    local good = message(r.name)
    for _, n in ipairs({ 0, 1, 2, #good // 2, #good - 1 }) do
      assert.same(400, curl(proxy.port, good:sub(1, n)), "truncated to " .. n)
    end
    assert.same(400, curl(proxy.port, good .. "\0"))
    -- a DER-correct message whose kerb-message is no AS-REQ or TGS-REQ
    assert.same(400, curl(proxy.port, kdcproxy.encode { message = kdcproxy.frame("\x30\x00"), realm = r.name }))
    assert.same(415, curl(proxy.port, nil, "-H 'Content-Type: text/plain' --data-binary @" .. sh.quote(dir .. "/body")))
    assert.same(405, curl(proxy.port, nil, "-X GET"))
    assert.same(413, curl(proxy.port, message(r.name, 70000)))
    assert.same(403, curl(proxy.port, message("OTHER.TEST")))
    assert.same(404, curl(proxy.port, good, nil, "/elsewhere"))
    -- plain HTTP to the HTTPS port: the TLS handshake fails, nothing more
    local text = sh.run(("curl -s -o /dev/null -w '%%{http_code}' --max-time 20 http://127.0.0.1:%d/KdcProxy")
      :format(proxy.port))
    assert.same("000", text)
    assert.is_true(sh.alive(proxy.pid), proxy.log())
    local ok, out = kinit(client_conf(proxy.port), PREAUTH_USER, PREAUTH_PASSWORD)
    assert(ok, out .. "\n--- proxy:\n" .. proxy.log())
  end)

  it("answers 503 when the KDC cannot be reached, and goes on", function()
    local dead = start_proxy("127.0.0.1:" .. sh.free_port(), r.name)
    finally(function() tls.kill(dead.pid) end)
    assert.same(503, curl(dead.port, message(r.name)))
    assert.matches("%-> 503 KDC 127%.0%.0%.1:%d+: connect: connection refused", dead.log())
    local ok, text = kinit(client_conf(dead.port), PREAUTH_USER, PREAUTH_PASSWORD)
    assert.is_false(ok)
    assert.is_true(sh.alive(dead.pid), dead.log())
    assert.is_truthy(text ~= "")
  end)

  it("our Kerberos credential (username and password) goes through it with KRB5_CONFIG", function()
    local before = count(proxy.log(), "POST /KdcProxy %-> 200")
    local script = table.concat({
      "local sspi = require 'sspi'",
      "local pair = require 'helpers.pair'",
      ("local c = assert(sspi.credential { package = 'Kerberos', usage = 'outbound',"
        .. " username = '%s@%s', password = '%s' })"):format(PREAUTH_USER, r.name, PREAUTH_PASSWORD),
      "local s = assert(sspi.credential { package = 'Kerberos', usage = 'inbound' })",
      "local client, server = pair.run(sspi.context(c), sspi.context(s), { target = 'HTTP/localhost' })",
      "assert(client, server)",
      "print('accepted ' .. server:query('names').user)",
    }, "\n")
    sh.write_file(dir .. "/cred.lua", script)
    local ok, text = with_conf(client_conf(proxy.port), ("KRB5_KTNAME=%s %s %s 2>&1")
      :format(sh.quote("FILE:" .. r.keytab), LUA_BUILD.lua, sh.quote(dir .. "/cred.lua")))
    assert(ok, text .. "\n--- proxy:\n" .. proxy.log())
    assert.matches("accepted " .. PREAUTH_USER .. "@SSPI%.TEST", text)
    -- the AS exchange and the TGS-REQ for HTTP/localhost all went through it
    assert.is_true(count(proxy.log(), "POST /KdcProxy %-> 200") >= before + 3, proxy.log())
  end)
end)
