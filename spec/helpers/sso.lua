--- Single sign-on in a real host (HAProxy, Apache mod_lua): what the host
-- specs share.  sso.checks(_ENV, describe_name, host) declares the same checks
-- for every host, against the throwaway realm and an NTLM user file:
--
--   host.start(ctx) -> { port =, stop = function, log = function }
--     ctx: { realm =, dir =, user_file =, backend_port = }
--   host.name_of(body) -> the name the backend (or /whoami) saw, or nil
--   host.path: the path to ask for
--
-- Every server runs on 127.0.0.1 on a free port with its files in a temp
-- dir, and is stopped by pid.
local socket = require "socket"
local realm = require "helpers.realm"
local sh = require "helpers.sh"
local shell_quote, read_file, write_file = sh.quote, sh.read_file, sh.write_file

local sso = {}

sso.NTLM_DOMAIN, sso.NTLM_USER, sso.NTLM_PASSWORD = "SSPI", "bob", "bob-Secret-1"
sso.CONCURRENT = 20

-- "bob" and user01..user20, each with a password of its own.
local function user_lines()
  local lines = { ("%s:%s:%s"):format(sso.NTLM_DOMAIN, sso.NTLM_USER, sso.NTLM_PASSWORD) }
  for i = 1, sso.CONCURRENT do
    lines[#lines + 1] = ("%s:user%02d:pw-%02d-Secret"):format(sso.NTLM_DOMAIN, i, i)
  end
  return table.concat(lines, "\n") .. "\n"
end

function sso.run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

function sso.temp_dir(tag)
  local dir = sso.run("mktemp -d \"${TMPDIR:-/tmp}/sspi-" .. tag .. ".XXXXXX\""):match("[^\n]+")
  assert(dir and dir:match("/sspi%-" .. tag .. "%.%w+$"), "mktemp failed")
  -- a host's unprivileged children must reach what start.sh copies into it
  assert(os.execute("chmod 711 " .. shell_quote(dir)))
  return dir
end

sso.free_port = sh.free_port -- the spec helpers' one

function sso.wait_port(port, what, log)
  local deadline = socket.gettime() + 15
  while true do
    local c = socket.tcp()
    c:settimeout(0.2)
    local up = c:connect("127.0.0.1", port)
    c:close()
    if up then return end
    if socket.gettime() > deadline then error(what .. " is not listening on " .. port .. ":\n" .. log()) end
    socket.sleep(0.05)
  end
end

-- spec/helpers/echo_backend.py in the background; { port, stop }.
function sso.echo_backend(dir)
  local portfile = dir .. "/backend.port"
  local out = sso.run(("python3 spec/helpers/echo_backend.py %s >%s 2>&1 & echo $!")
    :format(shell_quote(portfile), shell_quote(dir .. "/backend.log")))
  local b = { pid = assert(tonumber(out:match("%d+")), out) }
  function b.stop()
    if b.pid then os.execute("kill " .. b.pid .. " 2>/dev/null"); b.pid = nil end
  end
  local deadline = socket.gettime() + 10
  while not read_file(portfile):match("%d+") do
    if socket.gettime() > deadline then
      b.stop()
      error("echo backend did not start:\n" .. read_file(dir .. "/backend.log"))
    end
    socket.sleep(0.05)
  end
  b.port = tonumber(read_file(portfile):match("%d+"))
  return b
end

-- The environment a host's start.sh gets: the realm's keytab and
-- krb5.conf, the NTLM user file.
function sso.host_env(ctx)
  return ("KRB5_KTNAME=%s KRB5_CONFIG=%s NTLM_USER_FILE=%s SSPI_CPATH=%s"):format(
    shell_quote(ctx.realm.env.KRB5_KTNAME), shell_quote(ctx.realm.krb5_config),
    shell_quote(ctx.user_file),
    shell_quote(os.getenv("SSPI_HOST_CPATH") or (os.getenv("PWD") .. "/build/5.3/lua/?.so")))
end

-- curl; returns status code, body, verbose log.
function sso.curl(args, env)
  local out = os.tmpname()
  local log = sso.run((env or "") .. " curl -sS -v --max-time 20 -o " .. shell_quote(out)
    .. " -w 'HTTPSTATUS:%{http_code}' " .. args)
  local body = read_file(out)
  os.remove(out)
  return tonumber(log:match("HTTPSTATUS:(%d+)")), body, log
end

local function ntlm_user(user, password)
  return shell_quote(sso.NTLM_DOMAIN .. "\\" .. user .. ":" .. password)
end

--- The checks every host passes; env is the spec file's _ENV (busted's
-- describe, it, setup, teardown and assert live there).
function sso.checks(env, title, host)
  local describe, it, setup, teardown, assert = env.describe, env.it, env.setup, env.teardown, env.assert
  describe(title, function()
    local r, dir, backend, srv, url, no_ticket

    setup(function()
      r = realm.start()
      dir = sso.temp_dir("sso")
      local ctx = { realm = r, dir = dir, user_file = dir .. "/ntlm_users" }
      write_file(ctx.user_file, user_lines())
      backend = sso.echo_backend(dir)
      ctx.backend_port = backend.port
      srv = host.start(ctx)
      url = ("http://localhost:%d%s"):format(srv.port, host.path)
      no_ticket = "KRB5CCNAME=" .. shell_quote("FILE:" .. dir .. "/empty_ccache")
    end)

    teardown(function()
      if srv then srv.stop() end
      if backend then backend.stop() end
      if dir then sso.run("rm -rf " .. shell_quote(dir)) end
    end)

    local function kerberos(extra)
      return sso.curl("--negotiate -u : " .. (extra or "") .. " " .. url,
        "KRB5CCNAME=" .. shell_quote(r.env.KRB5CCNAME))
    end

    it("lets curl --negotiate (Kerberos) in with the client's name", function()
      local code, body, log = kerberos()
      assert.equal(200, code, log .. "\n" .. srv.log())
      assert.equal(r.user, host.name_of(body), body)
      -- mutual authentication: the 200 carries the server's last token
      assert.matches("www%-authenticate: negotiate [%w+/=]+", log:lower())
    end)

    it("lets curl --ntlm in with the NTLM name, its three legs on one connection", function()
      local code, body, log = sso.curl("--ntlm -u " .. ntlm_user(sso.NTLM_USER, sso.NTLM_PASSWORD)
        .. " " .. url)
      assert.equal(200, code, log .. "\n" .. srv.log())
      assert.equal(sso.NTLM_DOMAIN .. "\\" .. sso.NTLM_USER, host.name_of(body), body)
      local _, legs = log:gsub("\n> GET ", "")
      assert.equal(2, legs, log) -- NEGOTIATE, then AUTHENTICATE (curl --ntlm starts with its token)
      assert.matches("www%-authenticate: ntlm [%w+/=]+", log:lower())
      local _, connects = log:gsub("Connected to ", "")
      assert.equal(1, connects, log)
    end)

    it("lets NTLM inside SPNEGO (Negotiate) in", function()
      local sspi = require "sspi"
      local http = require "sspi.http"
      local cred = assert(sspi.credential { package = "Negotiate", mechs = { "NTLM" },
        username = sso.NTLM_DOMAIN .. "\\" .. sso.NTLM_USER, password = sso.NTLM_PASSWORD })
      local client = http.client { credential = cred, schemes = { "Negotiate" } }
      local body, code = client:request(url)
      client:close()
      assert.equal(200, code, tostring(body) .. "\n" .. srv.log())
      assert.equal(sso.NTLM_DOMAIN .. "\\" .. sso.NTLM_USER, host.name_of(body), body)
    end)

    it("answers 401 with both challenges to a request without credentials", function()
      local code, _, log = sso.curl(url)
      assert.equal(401, code, log)
      assert.matches("www%-authenticate: [^\n]*negotiate", log:lower())
      assert.matches("www%-authenticate: [^\n]*ntlm", log:lower())
      code, _, log = sso.curl("--negotiate -u : " .. url, no_ticket)
      assert.equal(401, code, log)
    end)

    it("answers 401 to a wrong password and to an unknown user", function()
      local code, _, log = sso.curl("--ntlm -u " .. ntlm_user(sso.NTLM_USER, "wrong-password") .. " " .. url)
      assert.equal(401, code, log)
      code, _, log = sso.curl("--ntlm -u " .. ntlm_user("mallory", sso.NTLM_PASSWORD) .. " " .. url)
      assert.equal(401, code, log)
    end)

    it("never lets a client-supplied X-Remote-User through", function()
      local code, body, log = sso.curl("-H 'X-Remote-User: mallory' " .. url)
      assert.equal(401, code, log)
      assert.is_nil(body:find("mallory", 1, true), body)
      code, body, log = kerberos("-H 'X-Remote-User: mallory'")
      assert.equal(200, code, log)
      assert.equal(r.user, host.name_of(body), body)
      assert.is_nil(body:find("mallory", 1, true), body)
    end)

    it(("gives each of %d concurrent NTLM logins its own name"):format(sso.CONCURRENT), function()
      local cmds = {}
      for i = 1, sso.CONCURRENT do
        cmds[#cmds + 1] = ("curl -sS --max-time 30 -o %s/out.%02d --ntlm -u %s %s &"):format(
          shell_quote(dir), i, ntlm_user(("user%02d"):format(i), ("pw-%02d-Secret"):format(i)), url)
      end
      local out = sso.run("(" .. table.concat(cmds, " ") .. " wait)")
      for i = 1, sso.CONCURRENT do
        local body = read_file(("%s/out.%02d"):format(dir, i))
        assert.equal(("%s\\user%02d"):format(sso.NTLM_DOMAIN, i), host.name_of(body),
          ("login %d got: %s\n%s\n%s"):format(i, body, out, srv.log()))
      end
    end)

    if host.extra then host.extra(function() return r, url, srv end) end
  end)
end

return sso
