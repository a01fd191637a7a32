-- S4U: sspi.credential{ package = "Kerberos", impersonate = "alice@REALM",
-- keytab = ... } makes a credential for alice from the service's own keys
-- (protocol transition, S4U2Self, through MIT's
-- gss_acquire_cred_impersonate_name).  The throwaway realm uses MIT's DB2
-- database, whose KDC grants S4U2Self but no S4U2Proxy (constrained
-- delegation needs the LDAP KDB): a second hop gets a clear status.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"

local SERVICE = "HTTP/s4u.localhost"

describe("Kerberos S4U2Self (impersonate)", function()
  local r, own_keytab

  setup(function()
    r = realm.start()
    r:add_service(SERVICE, "+ok_to_auth_as_delegate")
    own_keytab = r.dir .. "/s4u.keytab"
    os.remove(own_keytab)
    r:ktadd(SERVICE, own_keytab)
  end)

  local function acceptor()
    return sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      usage = "inbound" }))
  end

  local function logon(cred, target)
    local client = sspi.context(cred)
    local server = acceptor()
    local c, err, status, side = pair.run(client, server, { target = target or SERVICE,
      req = { "MUTUAL_AUTH" } })
    return c and server, err, status, side
  end

  for _, v in ipairs{ { "a keytab of its own", function() return { keytab = own_keytab } end },
    { "a shared keytab and username", function()
        return { keytab = r.keytab, username = SERVICE .. "@SSPI.TEST" } end } } do
    it("logs on to the service as the user, from " .. v[1], function()
      local o = v[2]()
      o.package, o.backend, o.impersonate = "Kerberos", "gssapi", r.user
      local cred = assert(sspi.credential(o))
      assert.equal("outbound", cred.usage)
      assert.is_true(cred.expiry > os.time())
      local server = assert(logon(cred))
      assert.equal(r.user, server:query("names").user)
    end)
  end

  it("works through Negotiate (gssapi) too", function()
    local cred = assert(sspi.credential{ package = "Negotiate", backend = "gssapi",
      impersonate = r.user, keytab = own_keytab })
    local client = sspi.context(cred)
    local server = sspi.context(assert(sspi.credential{ package = "Negotiate", backend = "gssapi",
      usage = "inbound" }))
    assert(pair.run(client, server, { target = SERVICE, req = { "MUTUAL_AUTH" } }))
    assert.equal(r.user, server:query("names").user)
  end)

  it("refuses an unknown user with a status", function()
    local cred, err, status = sspi.credential{ package = "Kerberos", backend = "gssapi",
      impersonate = "nobody@SSPI.TEST", keytab = own_keytab }
    assert.is_nil(cred)
    assert.matches("^SEC_E_", status)
    assert.matches("S4U2Self", tostring(err))
  end)

  it("refuses constrained delegation (S4U2Proxy) to a target outside the allowed list", function()
    local cred = assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      impersonate = r.user, keytab = own_keytab })
    local server, err, status, side = logon(cred, "host/localhost")
    assert.is_nil(server)
    assert.equal("init", side)
    assert.equal("SEC_E_DELEGATION_POLICY", status)
    assert.matches("S4U2Proxy", tostring(err))
  end)

  it("refuses impersonate where it cannot be done", function()
    local cred, _, status = sspi.credential{ package = "Kerberos", backend = "gssapi",
      usage = "inbound", impersonate = r.user, keytab = own_keytab }
    assert.is_nil(cred)
    assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
    cred, _, status = sspi.credential{ package = "NTLM", backend = "gssapi",
      impersonate = r.user, keytab = own_keytab }
    assert.is_nil(cred)
    assert.equal("SEC_E_NO_S4U_PROT_SUPPORT", status)
  end)
end)
