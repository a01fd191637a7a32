--- The single sign-on servers of `make bench`, side by side on 127.0.0.1
-- against the bench's realm (spec/helpers: realm, apache, sso):
--   gssapi   Apache mod_auth_gssapi protecting a static file (/whoami)
--   haproxy  the HAProxy gateway (examples/haproxy) in front of a minimal
--            backend (a second HAProxy answering 200 with X-Remote-User)
--   modlua   Apache mod_lua (examples/apache-mod-lua), /whoami
-- start(realm, user_file) -> { url = { gssapi =, haproxy =, modlua = }, stop = function }
-- URLs name "localhost", so clients ask for HTTP/localhost tickets.
local apache = require "helpers.apache"
local sso = require "helpers.sso"
local sh = require "helpers.sh"
local shell_quote = sh.quote

local M = {}

function M.start(r, user_file)
  local dir = sso.temp_dir("bench")
  local ctx = { realm = r, dir = dir, user_file = user_file }
  local servers = { url = {} }
  local stops = {}
  function servers.stop()
    for i = #stops, 1, -1 do pcall(stops[i]) end
    sso.run("rm -rf " .. shell_quote(dir))
  end
  local ok, err = pcall(function()
    local a = apache.start { keytab = r.keytab, krb5_config = r.krb5_config }
    stops[#stops + 1] = function() a:stop() end
    servers.url.gssapi = ("http://localhost:%d/whoami"):format(a.port)

    local bport = sso.free_port()
    sh.write_file(dir .. "/backend.cfg", table.concat({
      "defaults", "  mode http", "  timeout client 30s", "  timeout server 30s", "  timeout connect 5s",
      "frontend backend", "  bind 127.0.0.1:" .. bport,
      '  http-request return status 200 content-type text/plain lf-string "%[req.hdr(x-remote-user)]\\n"', "",
    }, "\n"))
    local out, started = sso.run(("haproxy -D -f %s -p %s"):format(shell_quote(dir .. "/backend.cfg"),
      shell_quote(dir .. "/backend.pid")))
    assert(started, "backend haproxy: " .. out)
    stops[#stops + 1] = function() sso.run("kill $(cat " .. shell_quote(dir .. "/backend.pid") .. ")") end

    local hport = sso.free_port()
    assert(os.execute("mkdir -p " .. shell_quote(dir .. "/haproxy")))
    out, started = sso.run(("%s sh examples/haproxy/start.sh %s %d 127.0.0.1:%d"):format(sso.host_env(ctx),
      shell_quote(dir .. "/haproxy"), hport, bport))
    assert(started, "examples/haproxy/start.sh: " .. out)
    stops[#stops + 1] = function() sso.run("sh examples/haproxy/stop.sh " .. shell_quote(dir .. "/haproxy")) end
    servers.url.haproxy = ("http://localhost:%d/app"):format(hport)

    local mport = sso.free_port()
    out, started = sso.run(("%s sh examples/apache-mod-lua/start.sh %s %d"):format(sso.host_env(ctx),
      shell_quote(dir .. "/modlua"), mport))
    assert(started, "examples/apache-mod-lua/start.sh: " .. out)
    stops[#stops + 1] = function() sso.run("sh examples/apache-mod-lua/stop.sh " .. shell_quote(dir .. "/modlua")) end
    servers.url.modlua = ("http://localhost:%d/whoami"):format(mport)
    for _, port in ipairs { a.port, hport, mport } do
      sso.wait_port(port, "bench server", function() return "" end)
    end
  end)
  if not ok then
    servers.stop()
    error(err, 0)
  end
  return servers
end

return M
