-- sspi.http against programs nobody here wrote: curl (--negotiate with a
-- ticket from the throwaway realm, --ntlm with curl's own NTLM) against
-- examples/http_server.lua, and our client (examples/http_client.lua and
-- sspi.http.request) against an isolated Apache with mod_auth_gssapi.
-- Every peer runs on 127.0.0.1 on a free port with its files in a temp dir.

local socket = require "socket"
local realm = require "helpers.realm"
local apache = require "helpers.apache"
local http = require "sspi.http"
local sh = require "helpers.sh"
local shell_quote, read_file = sh.quote, sh.read_file

local NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD = "SSPI", "bob", "bob-Secret-1"

local run, free_port = sh.run, sh.free_port

local function require_tool(name) sh.require_tool(name) end

-- curl; returns status code, body, verbose log.
local function curl(args, env)
  local out = os.tmpname()
  local log, _, _ = run((env or "") .. " curl -sS -v -o " .. shell_quote(out)
    .. " -w 'HTTPSTATUS:%{http_code}' " .. args)
  local body = read_file(out)
  os.remove(out)
  local code = tonumber(log:match("HTTPSTATUS:(%d+)"))
  return code, body, log
end

-- examples/http_server.lua as a child process
local function start_example_server(dir)
  local port = free_port()
  local pidfile = dir .. "/server.pid"
  local cmd = ("NTLM_USER_FILE=%s lua5.4 examples/http_server.lua %d >%s 2>%s & echo $! >%s")
    :format(shell_quote(dir .. "/users"), port, shell_quote(dir .. "/server.out"),
      shell_quote(dir .. "/server.err"), shell_quote(pidfile))
  assert(os.execute(cmd))
  local srv = { port = port, dir = dir, pid = tonumber(read_file(pidfile):match("%d+")) }
  function srv.log() return read_file(dir .. "/server.err") end
  function srv.stop()
    if srv.pid then
      os.execute("kill " .. srv.pid .. " 2>/dev/null")
      srv.pid = nil
    end
  end
  local deadline = socket.gettime() + 10
  while not read_file(dir .. "/server.out"):find("ready") do
    local _, alive = run("kill -0 " .. srv.pid)
    if not alive or socket.gettime() > deadline then
      srv.stop()
      error("examples/http_server.lua did not start:\n" .. srv.log())
    end
    socket.sleep(0.05)
  end
  return srv
end

-- A raw HTTP/1.1 exchange on a given LuaSocket connection.
local function raw_get(conn, authorization)
  local req = "GET /whoami HTTP/1.1\r\nHost: localhost\r\n"
  if authorization then req = req .. "Authorization: " .. authorization .. "\r\n" end
  assert(conn:send(req .. "\r\n"))
  local status = assert(conn:receive("*l"))
  local headers, www = {}, {}
  while true do
    local line = assert(conn:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    headers[k:lower()] = v
    if k:lower() == "www-authenticate" then www[#www + 1] = v end
  end
  local body = assert(conn:receive(tonumber(headers["content-length"])))
  return tonumber(status:match("^HTTP/1%.1 (%d+)")), body, www, headers
end

local function connect(port)
  local c = assert(socket.tcp())
  c:settimeout(10)
  assert(c:connect("127.0.0.1", port))
  return c
end

describe("sspi.http with real peers", function()
  local r, dir, srv

  setup(function()
    require_tool("curl")
    r = realm.start()
    dir = sh.tmpdir("http")
    local f = assert(io.open(dir .. "/users", "w"))
    f:write(("%s:%s:%s\n"):format(NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD))
    f:close()
    srv = start_example_server(dir)
  end)

  teardown(function()
    if srv then srv.stop() end
    if dir and dir:match("/sspi%-http%.%w+$") then os.execute("rm -rf " .. shell_quote(dir)) end
  end)

  describe("examples/http_server.lua", function()
    it("answers curl --negotiate with 200 and the Kerberos name", function()
      local code, body, log = curl("--negotiate -u : http://localhost:" .. srv.port .. "/whoami",
        "KRB5CCNAME=" .. shell_quote(r.env.KRB5CCNAME))
      assert.equal(200, code, log .. "\n" .. srv.log())
      assert.equal(r.user .. "\n", body)
      -- mutual authentication: the 200 carries the server's final token
      assert.matches("WWW%-Authenticate: Negotiate [%w+/=]+", log)
    end)

    it("answers 401 with both challenges when curl has no ticket", function()
      local code, body, log = curl("--negotiate -u : http://localhost:" .. srv.port .. "/whoami",
        "KRB5CCNAME=" .. shell_quote("FILE:" .. dir .. "/empty_ccache"))
      assert.equal(401, code, log)
      assert.matches("unauthorized", body)
      assert.matches("WWW%-Authenticate: Negotiate\r?\n", log)
      assert.matches("WWW%-Authenticate: NTLM\r?\n", log)
    end)

    it("answers curl --ntlm (curl's own NTLM) with 200 and the NTLM name", function()
      local code, body, log = curl(("--ntlm -u %s http://localhost:%d/whoami")
        :format(shell_quote(NTLM_DOMAIN .. "\\" .. NTLM_USER .. ":" .. NTLM_PASSWORD), srv.port))
      assert.equal(200, code, log .. "\n" .. srv.log())
      assert.matches(NTLM_USER, body:lower(), 1, true)
      -- the three legs went over one connection
      assert.matches("Re%-using existing connection", log)
      local _, connects = log:gsub("Connected to ", "")
      assert.equal(1, connects, log)
    end)

    it("answers curl --ntlm with a wrong password with 401", function()
      local code, _, log = curl(("--ntlm -u %s http://localhost:%d/whoami")
        :format(shell_quote(NTLM_DOMAIN .. "\\" .. NTLM_USER .. ":wrong-password"), srv.port))
      assert.equal(401, code, log)
    end)

    it("answers curl --ntlm for an unknown user with 401", function()
      local code, _, log = curl(("--ntlm -u %s http://localhost:%d/whoami")
        :format(shell_quote(NTLM_DOMAIN .. "\\mallory:" .. NTLM_PASSWORD), srv.port))
      assert.equal(401, code, log)
    end)

    -- An NTLM initiator and a connection on which the server sent its
    -- CHALLENGE: returns the initiator, the connection and the challenge.
    local function ntlm_challenged()
      local ini = http.initiator{ schemes = { "NTLM" }, host = "localhost",
        username = NTLM_DOMAIN .. "\\" .. NTLM_USER, password = NTLM_PASSWORD }
      local a = connect(srv.port)
      local code, _, www = raw_get(a)
      assert.equal(401, code)
      code, _, www = raw_get(a, assert(ini:respond(www)))
      assert.equal(401, code)
      assert.matches("^NTLM [%w+/=]+$", www[1])
      return ini, a, www
    end

    it("refuses an NTLM AUTHENTICATE sent on another connection than its CHALLENGE", function()
      local ini, a, www = ntlm_challenged()
      local authenticate = assert(ini:respond(www))
      local b = connect(srv.port)
      local code, _, refused = raw_get(b, authenticate)
      assert.equal(401, code)
      assert.same({ "Negotiate", "NTLM" }, refused)
      a:close()
      b:close()
      assert.matches("no NTLM handshake in progress on this connection", srv.log(), 1, true)
    end)

    it("keeps an NTLM authentication for its connection only", function()
      local ini, a, www = ntlm_challenged()
      local code = raw_get(a, assert(ini:respond(www)))
      assert.equal(200, code, srv.log())
      code = raw_get(a) -- same connection, no header: still authenticated
      assert.equal(200, code)
      local b = connect(srv.port)
      code = raw_get(b) -- another connection: not
      assert.equal(401, code)
      a:close()
      b:close()
    end)

    it("answers a malformed Authorization header with 400", function()
      local a = connect(srv.port)
      local code = raw_get(a, "Negotiate !!!notbase64")
      assert.equal(400, code)
      a:close()
      a = connect(srv.port)
      code = raw_get(a, "Negotiate")
      assert.equal(400, code)
      a:close()
    end)

    it("answers an unknown scheme and a garbage token with 401", function()
      local a = connect(srv.port)
      local code, _, www = raw_get(a, "Basic " .. http.b64encode("alice:pw"))
      assert.equal(401, code)
      assert.same({ "Negotiate", "NTLM" }, www)
      code = raw_get(a, "Negotiate " .. http.b64encode("\x60\x03\x06\x01\x00 garbage"))
      assert.equal(401, code)
      a:close()
    end)

    it("serves examples/http_client.lua with the default credentials", function()
      local out, ok = run("lua5.4 examples/http_client.lua http://localhost:" .. srv.port .. "/whoami")
      assert.is_true(ok, out .. srv.log())
      assert.matches("^HTTP/1%.1 200 OK\n", out)
      assert.matches(r.user, out, 1, true)
    end)

    it("makes examples/http_client.lua fail without credentials", function()
      local out, ok, code = run("KRB5CCNAME=" .. shell_quote("FILE:" .. dir .. "/empty_ccache")
        .. " lua5.4 examples/http_client.lua http://localhost:" .. srv.port .. "/whoami")
      assert.is_false(ok, out)
      assert.equal(2, code)
      assert.matches("SEC_E_", out)
    end)

    it("serves sspi.http.request over NTLM with a password credential", function()
      local body, code = http.request("http://localhost:" .. srv.port .. "/whoami", nil,
        { schemes = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER, password = NTLM_PASSWORD })
      assert.equal(200, code, srv.log())
      assert.matches(NTLM_USER, body:lower(), 1, true)
      local rbody, rcode = http.request("http://localhost:" .. srv.port .. "/whoami", nil,
        { schemes = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER, password = "wrong" })
      assert.equal(401, rcode)
      assert.matches("unauthorized", rbody)
    end)

    it("opens the client's stream through its connect option, once for all of NTLM's legs", function()
      local connection = require "sspi.http.connection"
      local opened = {}
      local client = http.client{ schemes = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER,
        password = NTLM_PASSWORD, connect = function(host, port, timeout)
          opened[#opened + 1] = host .. ":" .. port
          return connection.tcp(host, port, timeout)
        end }
      local body, code = client:request("http://localhost:" .. srv.port .. "/whoami")
      assert.equal(200, code, srv.log())
      assert.matches(NTLM_USER, body:lower(), 1, true)
      assert.same({ "localhost:" .. srv.port }, opened)
      client:close()
      -- a connect that fails: socket.http's nil, err, the message kept
      local failing = http.client{ schemes = { "NTLM" }, username = NTLM_DOMAIN .. "\\" .. NTLM_USER,
        password = NTLM_PASSWORD, connect = function() return nil, "no route (test)" end }
      local none, err = failing:request("http://localhost:" .. srv.port .. "/whoami")
      assert.is_nil(none)
      assert.matches("no route (test)", tostring(err), 1, true)
    end)
  end)

  describe("against Apache mod_auth_gssapi", function()
    local a
    setup(function()
      a = apache.start{ keytab = r.keytab, krb5_config = r.krb5_config }
    end)
    teardown(function()
      if a then a:stop() end
    end)

    it("gets 200 and the name Apache saw", function()
      local t = {}
      local ltn12 = require "ltn12"
      local one, code, headers = http.request{ url = "http://localhost:" .. a.port .. "/whoami",
        sink = ltn12.sink.table(t) }
      assert.equal(1, one, tostring(code) .. "\n" .. a:error_log())
      assert.equal(200, code, a:error_log())
      assert.equal("apache says hello\n", table.concat(t))
      assert.equal(r.user, headers["x-remote-user"])
    end)

    it("verifies Apache's final Negotiate token (mutual authentication)", function()
      local client = http.client{}
      local body, code, headers = client:request("http://localhost:" .. a.port .. "/whoami")
      assert.equal(200, code, tostring(body))
      assert.matches("^Negotiate [%w+/=]+$", headers["www-authenticate"])
      assert.is_true(client.last.done)
      local sspi = require "sspi"
      assert.is_true(client.last.flags & sspi.ISC_RET_MUTUAL_AUTH ~= 0)
      -- a second request reuses the kept connection
      local opened = client.conn.opened
      body, code = client:request("http://localhost:" .. a.port .. "/whoami")
      assert.equal(200, code, tostring(body))
      assert.equal(opened, client.conn.opened)
      client:close()
    end)

    it("gets 200 through MIT's SPNEGO too (backend gssapi), on one kept connection", function()
      local client = http.client{ backend = "gssapi" }
      local body, code, headers = client:request("http://localhost:" .. a.port .. "/whoami")
      assert.equal(200, code, tostring(body) .. "\n" .. a:error_log())
      assert.equal("apache says hello\n", body)
      assert.equal(r.user, headers["x-remote-user"])
      assert.is_true(client.last.done)
      body, code = client:request("http://localhost:" .. a.port .. "/whoami")
      assert.equal(200, code, tostring(body))
      assert.equal(1, client.conn.opened)
      client:close()
    end)

    it("fails with the core's status when there is no ticket", function()
      local body, err, status = http.request("http://localhost:" .. a.port .. "/whoami", nil,
        { ccache = "FILE:" .. dir .. "/empty_ccache" })
      assert.is_nil(body)
      assert.is_string(status)
      assert.matches("^SEC_E_", status)
      assert.equal(status, err.status)
    end)

    it("gets Apache's 401 when it offers nothing we speak", function()
      local body, code = http.request("http://localhost:" .. a.port .. "/whoami", nil,
        { schemes = { "NTLM" } })
      assert.equal(401, code)
      assert.is_string(body)
    end)

    it("prints Apache's answer with examples/http_client.lua", function()
      local out, ok = run("lua5.4 examples/http_client.lua http://localhost:" .. a.port .. "/whoami")
      assert.is_true(ok, out .. a:error_log())
      assert.matches("^HTTP/1%.1 200 OK\napache says hello\n", out)
    end)
  end)
end)
