-- Kerberos and NTLM single sign-on in Apache's mod_lua (Lua 5.3):
-- examples/apache-mod-lua/start.sh, whose /whoami answers the name the
-- authentication hook set (r.user) and nothing else.
local socket = require "socket"
local sso = require "helpers.sso"
local sh = require "helpers.sh"
local shell_quote, read_file = sh.quote, sh.read_file

-- start.sh in DIR on a free port; { port, stop, log, pid }
local function start_apache(ctx, dir, extra_env)
  local _, ok = sso.run("test -x /usr/sbin/apache2 && test -f /usr/lib/apache2/modules/mod_lua.so")
  assert(ok, "apache2 with mod_lua is required (apt-get install apache2)")
  local port = sso.free_port()
  local out
  out, ok = sso.run(("%s %s sh examples/apache-mod-lua/start.sh %s %d"):format(
    sso.host_env(ctx), extra_env or "", shell_quote(dir), port))
  assert(ok, "examples/apache-mod-lua/start.sh failed:\n" .. out)
  local srv = { port = port, dir = dir }
  function srv.log() return read_file(dir .. "/logs/error.log") end
  function srv.stop() sso.run("sh examples/apache-mod-lua/stop.sh " .. shell_quote(dir)) end
  function srv.pid() return tonumber(read_file(dir .. "/run/httpd.pid"):match("%d+")) end
  sso.wait_port(port, "apache", srv.log)
  return srv
end

sso.checks(_ENV, "Apache mod_lua (examples/apache-mod-lua)", {
  path = "/whoami",
  name_of = function(body) return body:match("^([^\n]+)\n$") end,
  start = function(ctx) return start_apache(ctx, ctx.dir .. "/apache") end,
  extra = function(get)
    it("logs the name the hook set (r.user)", function()
      local r, url, srv = get()
      local code = sso.curl("--negotiate -u : " .. url .. "?logged", "KRB5CCNAME=" .. shell_quote(r.env.KRB5CCNAME))
      assert.equal(200, code)
      -- LogFormat "%h %u \"%r\" %>s": %u is r.user
      assert.matches(("127.0.0.1 %s \"GET /whoami?logged HTTP/1.1\" 200"):format(r.user),
        read_file(srv.dir .. "/logs/access.log"), 1, true)
    end)
  end,
})

-- mod_lua closes a connection's Lua state (LuaScope conn) with the
-- connection, and Lua unloads the C module with it; the next connection
-- loads it again.  That leaked 250-300 KB per connection until the module
-- pinned itself (lsspi_module.c): one child serves every connection here
-- and its resident size stays flat.
describe("Apache mod_lua memory", function()
  local realm = require "helpers.realm"
  local http = require "sspi.http"
  local dir, srv, backend_dir

  local function child_rss()
    local out = sso.run("pgrep -P " .. srv.pid())
    local pids = {}
    for pid in out:gmatch("%d+") do pids[#pids + 1] = pid end
    assert(#pids == 1, "expected one child, got: " .. out)
    local status = read_file("/proc/" .. pids[1] .. "/status")
    return tonumber(status:match("VmRSS:%s*(%d+) kB")), pids[1]
  end

  -- One connection, one NTLM login (NEGOTIATE, then AUTHENTICATE).
  local function login()
    local ini = http.initiator { schemes = { "NTLM" }, host = "localhost",
      username = sso.NTLM_DOMAIN .. "\\" .. sso.NTLM_USER, password = sso.NTLM_PASSWORD }
    local c = assert(socket.tcp())
    c:settimeout(20)
    assert(c:connect("127.0.0.1", srv.port))
    local function get(authorization)
      local req = "GET /whoami HTTP/1.1\r\nHost: localhost\r\n"
      if authorization then req = req .. "Authorization: " .. authorization .. "\r\n" end
      assert(c:send(req .. "\r\n"))
      local status = assert(c:receive("*l"))
      local len, www = 0, {}
      while true do
        local line = assert(c:receive("*l"))
        if line == "" then break end
        local k, v = line:match("^([^:]+):%s*(.*)$")
        if k:lower() == "content-length" then len = tonumber(v) end
        if k:lower() == "www-authenticate" then www[#www + 1] = v end
      end
      local body = assert(c:receive(len))
      return tonumber(status:match("^HTTP/1%.1 (%d+)")), body, www
    end
    local code, _, www = get(assert(ini:respond({ "NTLM" })))
    assert(code == 401, "NEGOTIATE: " .. tostring(code))
    local body
    code, body = get(assert(ini:respond(www)))
    c:close()
    assert(code == 200 and body == sso.NTLM_DOMAIN .. "\\" .. sso.NTLM_USER .. "\n",
      ("login: %s %s\n%s"):format(tostring(code), tostring(body), srv.log()))
  end

  setup(function()
    local r = realm.start()
    dir = sso.temp_dir("apachemem")
    backend_dir = dir
    local ctx = { realm = r, dir = dir, user_file = dir .. "/ntlm_users" }
    sh.write_file(ctx.user_file, ("%s:%s:%s\n"):format(sso.NTLM_DOMAIN, sso.NTLM_USER, sso.NTLM_PASSWORD))
    srv = start_apache(ctx, dir .. "/apache", "SSPI_APACHE_WORKERS=1")
  end)

  teardown(function()
    if srv then srv.stop() end
    if backend_dir then sso.run("rm -rf " .. shell_quote(backend_dir)) end
  end)

  it("stays flat over 1,000 connections, each an NTLM login in a new Lua state", function()
    for _ = 1, 50 do login() end -- warm up: the first states, caches, the allocator
    local before, pid = child_rss()
    local t0 = socket.gettime()
    for _ = 1, 1000 do login() end
    local after, pid_after = child_rss()
    assert.equal(pid, pid_after, "one child served every connection")
    -- unpinned, the module cost 250-300 KB a connection: 250 MB here
    assert.is_true(after - before < 4096, ("RSS %d kB -> %d kB over 1,000 connections (%.1f s)")
      :format(before, after, socket.gettime() - t0))
  end)
end)
