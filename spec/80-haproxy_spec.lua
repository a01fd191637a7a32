-- Kerberos and NTLM single sign-on in HAProxy 2.6 (Lua 5.3):
-- examples/haproxy/start.sh in front of an echo backend, which answers with
-- the X-Remote-User it received and whether an Authorization reached it.
local sso = require "helpers.sso"
local sh = require "helpers.sh"
local build = require "helpers.build"
local shell_quote, read_file = sh.quote, sh.read_file

local function backend_user(body)
  return body:match("^x%-remote%-user: ([^\n]*)\n")
end

sso.checks(_ENV, "HAProxy gateway (examples/haproxy)", {
  path = "/app",
  name_of = function(body)
    local name = backend_user(body)
    if name == "(none)" then return nil end
    return name
  end,
  start = function(ctx)
    local _, ok = sso.run("command -v haproxy")
    assert(ok, "haproxy is required (apt-get install haproxy)")
    local hdir = ctx.dir .. "/haproxy"
    assert(os.execute("mkdir -p " .. shell_quote(hdir)))
    local port = sso.free_port()
    local out
    out, ok = sso.run(("%s sh examples/haproxy/start.sh %s %d 127.0.0.1:%d"):format(
      sso.host_env(ctx), shell_quote(hdir), port, ctx.backend_port))
    assert(ok, "examples/haproxy/start.sh failed:\n" .. out)
    local srv = { port = port }
    function srv.log() return read_file(hdir .. "/haproxy.log") end
    function srv.stop() sso.run("sh examples/haproxy/stop.sh " .. shell_quote(hdir)) end
    sso.wait_port(port, "haproxy", srv.log)
    return srv
  end,
  extra = function(get)
    it("takes the client's Authorization off the forwarded request", function()
      local r, url = get()
      local code, body, log = sso.curl("--negotiate -u : " .. url, "KRB5CCNAME=" .. shell_quote(r.env.KRB5CCNAME))
      assert.equal(200, code, log)
      assert.matches("\nauthorization: absent\n", body, 1, true)
    end)

    it("passes a backend one X-Remote-User, even when the client sent several", function()
      local r, url = get()
      local code, body, log = sso.curl("-H 'X-Remote-User: mallory' -H 'x-remote-user: eve' --negotiate -u : "
        .. url, "KRB5CCNAME=" .. shell_quote(r.env.KRB5CCNAME))
      assert.equal(200, code, log)
      assert.equal("x-remote-user: " .. r.user .. "\n", body:match("^[^\n]*\n"))
    end)

    it("reads every Authorization field: two are one malformed value, never the last alone", function()
      local r, url = get()
      -- a real Kerberos token in the second field: reading the last field
      -- alone would let the request in
      local host = url:match("^http://([^:/]+)")
      local token = sso.run(("KRB5CCNAME=%s %s -e %s"):format(shell_quote(r.env.KRB5CCNAME), build.lua, shell_quote(
        'local sspi = require "sspi"; local c = sspi.context(assert(sspi.credential{ package = "Negotiate" }));'
        .. ' io.write(sspi.b64encode(assert(c:step_init{ target = "HTTP/' .. host .. '" }).token))')))
      assert.matches("^[%w+/=]+$", token)
      local code, body, log = sso.curl(("-H 'Authorization: Negotiate AAAA' -H 'Authorization: Negotiate %s' %s")
        :format(token, url))
      assert.equal(400, code, log)
      assert.is_nil(body:find("x-remote-user: " .. r.user, 1, true), body)
    end)
  end,
})
