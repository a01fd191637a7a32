-- Delegation (double hop): ISC_REQ_DELEGATE with a forwardable TGT gives
-- the acceptor ctx:query("delegated_credential"), an outbound credential it
-- uses at once to log on to a second service as the client.  As on Windows,
-- the TGT goes only to targets the KDC marks ok-as-delegate.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"
local apache = require "helpers.apache"
local http = require "sspi.http"

local OK_TARGET = "host/deleg-ok.localhost"      -- +ok_as_delegate
local PLAIN_TARGET = "host/deleg-plain.localhost" -- not

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function cred(o)
  o.package = o.package or "Kerberos"
  return assert(sspi.credential(o))
end

-- A handshake; returns the client and server contexts and their flags.
local function hop(args)
  local client = sspi.context(args.client or cred{ package = args.package, backend = args.backend })
  local server = sspi.context(cred{ package = args.package, backend = args.backend, usage = "inbound" })
  local c, s, cres, sres = pair.run(client, server, { target = args.target or OK_TARGET,
    req = args.req or { "DELEGATE", "MUTUAL_AUTH" } })
  assert(c, s)
  return client, server, cres.flags, sres.flags
end

-- The delegated credential works: a new context on it logs on to
-- host/localhost, whose acceptor sees the original client.
local function second_hop_name(delegated)
  local c = sspi.context(delegated)
  local s = sspi.context(cred{ usage = "inbound" })
  assert(pair.run(c, s, { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
  return s:query("names").user
end

describe("Kerberos delegation", function()
  local r

  setup(function()
    r = realm.start()
    r:add_service(OK_TARGET, "+ok_as_delegate")
    r:add_service(PLAIN_TARGET)
  end)

  for _, v in ipairs{ { "Kerberos", "gssapi" }, { "Negotiate", "gssapi" }, { "Negotiate", "builtin" } } do
    local package, backend = v[1], v[2]
    it(("%s (%s): an ok-as-delegate target gets a credential usable at once"):format(package, backend),
      function()
        local _, server, cflags, sflags = hop{ package = package, backend = backend }
        assert.is_true(set_of(sspi.flag_names(cflags, "ISC_RET")).ISC_RET_DELEGATE)
        assert.is_true(set_of(sspi.flag_names(sflags, "ASC_RET")).ASC_RET_DELEGATE)
        local delegated = server:query("delegated_credential")
        assert.equal("sspi.credential", getmetatable(delegated).__name)
        assert.matches("Kerberos", tostring(delegated))
        -- the credential outlives the context that handed it out
        server:close()
        assert.equal(r.user, second_hop_name(delegated))
      end)
  end

  it("gives each query a credential of its own", function()
    local _, server = hop{}
    local a, b = server:query("delegated_credential"), server:query("delegated_credential")
    assert.are_not.equal(a, b)
    a:close()
    assert.equal(r.user, second_hop_name(b))
  end)

  it("does not delegate to a target the KDC does not mark ok-as-delegate", function()
    local _, server, cflags, sflags = hop{ target = PLAIN_TARGET }
    assert.is_nil(set_of(sspi.flag_names(cflags, "ISC_RET")).ISC_RET_DELEGATE)
    assert.is_nil(set_of(sspi.flag_names(sflags, "ASC_RET")).ASC_RET_DELEGATE)
    assert.is_nil(server:query("delegated_credential"))
  end)

  it("delegates to any target when the credential opts in (delegation = \"always\")", function()
    local _, server, cflags = hop{ target = PLAIN_TARGET,
      client = cred{ backend = "gssapi", delegation = "always" } }
    assert.is_true(set_of(sspi.flag_names(cflags, "ISC_RET")).ISC_RET_DELEGATE)
    assert.equal(r.user, second_hop_name(assert(server:query("delegated_credential"))))
    assert.has_error(function() sspi.credential{ package = "Kerberos", delegation = "sometimes" } end,
      "bad argument #1 to 'credential' (bad option 'delegation' (\"ok_as_delegate\" or \"always\" expected))")
  end)

  it("does not delegate without ISC_REQ_DELEGATE", function()
    local _, server = hop{ req = { "MUTUAL_AUTH" } }
    assert.is_nil(server:query("delegated_credential"))
  end)

  it("does not delegate a TGT that is not forwardable", function()
    local ccache = r:kinit(r.user, r.password, nil, "-F")
    local _, server, cflags = hop{ client = cred{ ccache = ccache } }
    assert.is_nil(set_of(sspi.flag_names(cflags, "ISC_RET")).ISC_RET_DELEGATE)
    assert.is_nil(server:query("delegated_credential"))
  end)

  it("answers nil on the initiator and on an NTLM acceptor", function()
    local client, server = hop{}
    assert.is_nil(client:query("delegated_credential"))
    assert.is_truthy(server:query("delegated_credential"))
    local user_file = r.dir .. "/deleg_ntlm_users"
    local f = assert(io.open(user_file, "w"))
    f:write("TESTDOM:bob:Bob-Secret-1\n")
    f:close()
    local c = sspi.context(cred{ package = "NTLM", username = "TESTDOM\\bob", password = "Bob-Secret-1" })
    local s = sspi.context(cred{ package = "NTLM", usage = "inbound", user_file = user_file })
    assert(pair.run(c, s, { target = "host/localhost", req = { "DELEGATE" } }))
    assert.is_nil(s:query("delegated_credential"))
  end)

  describe("double hop through the HTTP server helper to Apache", function()
    local a
    setup(function()
      a = apache.start{ keytab = r.keytab, krb5_config = r.krb5_config }
    end)
    teardown(function()
      if a then a:stop() end
    end)

    local function first_hop(context_req)
      local server = http.server{ credentials = { Negotiate = cred{ package = "Negotiate",
        usage = "inbound" } } }
      local ini = http.initiator{ target = OK_TARGET, context_req = context_req }
      local conn = {}
      local res = server:authenticate(conn, assert(ini:respond(server:challenges())))
      assert.equal(200, res.status, res.reason)
      assert.equal(r.user, res.name)
      return res
    end

    it("the handler's delegated credential logs on to Apache as the client", function()
      local res = first_hop(sspi.ISC_REQ_DELEGATE | sspi.ISC_REQ_MUTUAL_AUTH)
      assert.is_truthy(res.delegated_credential)
      local body, code, headers = http.request("http://localhost:" .. a.port .. "/whoami", nil,
        { credential = res.delegated_credential })
      assert.equal(200, code, tostring(body) .. "\n" .. a:error_log())
      assert.equal(r.user, headers["x-remote-user"])
      assert.equal("apache says hello\n", body)
    end)

    it("gives the handler no credential without ISC_REQ_DELEGATE", function()
      local res = first_hop(sspi.ISC_REQ_MUTUAL_AUTH)
      assert.is_nil(res.delegated_credential)
    end)
  end)
end)
