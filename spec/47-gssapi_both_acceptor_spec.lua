-- A usage = "both" credential of the gssapi backend accepting, with
-- gss-ntlmssp in it.  A user's gss-ntlmssp credential (a username, or a
-- user_file without one) cannot accept: gss-ntlmssp 1.2's
-- gss_accept_sec_context then frees an uninitialised context pointer and
-- the process dies.  NTLM accepts with a server credential of its own;
-- Negotiate accepts Kerberos only, and says so.  Each case runs in a child
-- process, so a crash fails the case instead of killing busted.
local child = require "helpers.child"
local realm = require "helpers.realm"
local sh = require "helpers.sh"

local CHILD = [==[
local sspi = require "sspi"
local pair = require "helpers.pair"
local mode, user_file, keytab = arg[1], arg[2], arg[3]
local bob = { username = "SSPITEST\\bob", password = "bob-Secret-1" }
local function with(t, extra)
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local cases = {
  ["ntlm-password"] = { "NTLM", with({}, bob) },
  ["ntlm-username"] = { "NTLM", { username = "SSPITEST\\bob" } },
  ["ntlm-user-file"] = { "NTLM", { user_file = user_file } },
  ["nego-password"] = { "Negotiate", with({}, bob) },
  ["nego-user-file"] = { "Negotiate", { user_file = user_file } },
  ["nego-ntlm-only"] = { "Negotiate", with({ mechs = { "NTLM" } }, bob) },
  ["nego-kerberos"] = { "Negotiate", { username = "HTTP/localhost", client_keytab = keytab } },
}
local package, opts = cases[mode][1], cases[mode][2]
local server = with({ package = package, backend = "gssapi", usage = "both" }, opts)
local client = with({ package = package, backend = "builtin" }, bob)
if package == "Negotiate" then client.mechs = { "NTLM" } end
if mode == "nego-kerberos" then client = { package = "Negotiate", backend = "gssapi" } end
local scred, err, status = sspi.credential(server)
if not scred then print("acquire", status, err.message) os.exit(0) end
local c, s, cres = pair.run(sspi.context(assert(sspi.credential(client))), sspi.context(scred),
  { target = "HTTP/localhost", req = { "MUTUAL_AUTH", "INTEGRITY", "CONFIDENTIALITY" } })
if not c then print("step", cres, tostring(s)) os.exit(0) end
print("ok", s:query("names").user, (s:unwrap(assert(c:wrap("ping")))))
]==]

describe("gssapi usage = \"both\" credentials accepting, with gss-ntlmssp", function()
  local keytab
  setup(function() keytab = realm.start().keytab end) -- the children inherit its environment
  local script = child.suite("gss-both", CHILD, { users = "SSPITEST:bob:bob-Secret-1\n" })
  setup(script.setup)
  teardown(script.teardown)

  local function run(mode, env)
    local users = script.files.users
    return script.run(env or ("env NTLM_USER_FILE=" .. sh.quote(users)), mode, users, keytab)
  end

  describe("NTLM accepts with a server credential of its own", function()
    it("for a username and password (users from NTLM_USER_FILE)", function()
      assert.equal("ok\tSSPITEST\\bob\tping\n", run("ntlm-password"))
    end)

    it("for a username alone (its hash from NTLM_USER_FILE)", function()
      assert.equal("ok\tSSPITEST\\bob\tping\n", run("ntlm-username"))
    end)

    it("for a user_file, with NTLM_USER_FILE unset", function()
      assert.equal("ok\tSSPITEST\\bob\tping\n", run("ntlm-user-file", "env -u NTLM_USER_FILE"))
    end)
  end)

  describe("Negotiate accepts Kerberos only", function()
    it("fails NTLM cleanly, saying why, for a username and password", function()
      local out = run("nego-password")
      assert.matches("^step\tSEC_E_", out)
      assert.truthy(out:find('usage = "both" credential accepts Kerberos only', 1, true), out)
    end)

    it("fails NTLM cleanly for a user_file", function()
      assert.matches("^step\tSEC_E_", run("nego-user-file", "env -u NTLM_USER_FILE"))
    end)

    it("refuses to accept when NTLM is all it may negotiate", function()
      local out = run("nego-ntlm-only")
      assert.matches("^step\tSEC_E_NO_CREDENTIALS\t", out)
      assert.truthy(out:find("accept with an inbound credential", 1, true), out)
    end)

    it("still accepts Kerberos", function()
      assert.equal("ok\talice@SSPI.TEST\tping\n", run("nego-kerberos"))
    end)
  end)
end)
