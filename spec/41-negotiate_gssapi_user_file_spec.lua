-- A Negotiate acceptor through MIT's SPNEGO (backend "gssapi") given a
-- user_file, with NTLM_USER_FILE unset.  gss-ntlmssp 1.2 reads a cred store
-- for an unnamed acceptor as an initiator credential and crashed the
-- process on the first SPNEGO-wrapped NTLM token.  Each case runs in a
-- child process, so a crash fails the case instead of killing busted.
local child = require "helpers.child"
local realm = require "helpers.realm"

local CHILD = [==[
local sspi = require "sspi"
local pair = require "helpers.pair"
local mode, user_file = arg[1], arg[2]
local server = { package = "Negotiate", backend = "gssapi", usage = "inbound", user_file = user_file }
local client = { package = "Negotiate", backend = "builtin", mechs = { "NTLM" },
                 username = "SSPITEST\\bob", password = "bob-Secret-1" }
if mode == "ntlm-only" then server.mechs = { "NTLM" } end
if mode == "ntlm-only-mit" then server.mechs = { "NTLM" }; client.backend = "gssapi" end
if mode == "named" or mode == "named-kerberos" then server.username = "HTTP/localhost" end
if mode == "named-kerberos" then client = { package = "Negotiate", backend = "gssapi", mechs = { "Kerberos" } } end
local scred, err, status = sspi.credential(server)
if not scred then print("acquire", status, err.message) os.exit(0) end
local c, s, cres = pair.run(sspi.context(assert(sspi.credential(client))), sspi.context(scred),
  { target = "HTTP/localhost", req = { "MUTUAL_AUTH", "INTEGRITY", "CONFIDENTIALITY" } })
if not c then print("step", cres, tostring(s)) os.exit(0) end
print("ok", s:query("names").user, s:query("negotiation_info").package.name,
      (s:unwrap(assert(c:wrap("ping")))))
]==]

describe("Negotiate (gssapi) acceptor with a user_file and no NTLM_USER_FILE", function()
  setup(realm.start) -- the children inherit its environment
  local script = child.suite("nego-uf", CHILD, { users = "SSPITEST:bob:bob-Secret-1\n" })
  setup(script.setup)
  teardown(script.teardown)

  -- The child's output, failing the case on any abnormal end.
  local function run(mode)
    return script.run("env -u NTLM_USER_FILE", mode, script.files.users)
  end

  it("accepts NTLM from the file when Negotiate may use NTLM only (our initiator)", function()
    assert.equal("ok\tSSPITEST\\bob\tNTLM\tping\n", run("ntlm-only"))
  end)

  it("accepts NTLM from the file when Negotiate may use NTLM only (MIT's initiator)", function()
    assert.equal("ok\tSSPITEST\\bob\tNTLM\tping\n", run("ntlm-only-mit"))
  end)

  it("refuses at acquisition, with the ways out, when Kerberos is negotiable too", function()
    local out = run("default")
    assert.matches("^acquire\tSEC_E_UNKNOWN_CREDENTIALS\t", out)
    assert.truthy(out:find("named acceptor", 1, true), out)
    assert.truthy(out:find('mechs = { "NTLM" }', 1, true), out)
  end)

  it("accepts NTLM and Kerberos with a named acceptor", function()
    assert.equal("ok\tSSPITEST\\bob\tNTLM\tping\n", run("named"))
    assert.equal("ok\talice@SSPI.TEST\tKerberos\tping\n", run("named-kerberos"))
  end)
end)
