-- Credential and context lifetimes through the system GSSAPI: cred.expiry
-- (PSSPI's Expiry) is the end time of the credential's TGT, and
-- query("lifespan").expiry is the end time of the service ticket, on both
-- sides, to the second, as klist shows them.

local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"

-- klist's end time of each principal in a cache, as Unix times.
local function klist_end_times(ccache)
  local p = assert(io.popen("LC_ALL=C klist -c '" .. ccache .. "' 2>&1"))
  local out = p:read("a")
  p:close()
  local times = {}
  for line in out:gmatch("[^\n]+") do
    local mo, d, y, h, mi, s, principal = line:match(
      "^%S+%s+%S+%s+(%d+)/(%d+)/(%d+)%s+(%d+):(%d+):(%d+)%s+(%S+)")
    if mo then
      y = tonumber(y)
      if y < 100 then y = y + 2000 end
      times[principal] = os.time{ year = y, month = tonumber(mo), day = tonumber(d),
        hour = tonumber(h), min = tonumber(mi), sec = tonumber(s) }
    end
  end
  return times, out
end

describe("Kerberos (gssapi) lifetimes", function()
  local r
  setup(function() r = realm.start() end)

  it("gives an outbound credential the end time of its TGT, and contexts that of the ticket",
    function()
      local ccache = r:kinit(r.user, r.password, nil, "-l 1h")
      local cache_path = ccache:gsub("^FILE:", "")
      local times, text = klist_end_times(cache_path)
      local tgt = "krbtgt/SSPI.TEST@SSPI.TEST"
      assert.is_number(times[tgt], text)
      local cred = assert(sspi.credential{ package = "Kerberos", backend = "gssapi", ccache = ccache })
      assert.equal(times[tgt], cred.expiry)
      assert.is_true(cred.expiry > os.time() + 3500 and cred.expiry <= os.time() + 3600)

      local client = sspi.context(cred)
      local server = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
        usage = "inbound" }))
      local c, s, cres, sres = pair.run(client, server, { target = "host/localhost",
        req = { "MUTUAL_AUTH" } })
      assert(c, s)
      times, text = klist_end_times(cache_path)
      local ticket = times["host/localhost@SSPI.TEST"]
      assert.is_number(ticket, text)
      assert.equal(ticket, client:query("lifespan").expiry)
      assert.equal(ticket, server:query("lifespan").expiry)
      assert.equal(ticket, cres.expiry)
      assert.equal(ticket, sres.expiry)
    end)

  it("gives a password credential the KDC's max life (10 h in the test realm)", function()
    local before = os.time()
    local cred = assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      username = r.user, password = r.password })
    local after = os.time()
    assert.is_true(cred.expiry >= before + 36000 and cred.expiry <= after + 36000,
      tostring(cred.expiry - before))
  end)

  it("says nil where nothing expires: a keytab acceptor, NTLM", function()
    local acceptor = assert(sspi.credential{ package = "Kerberos", backend = "gssapi", usage = "inbound" })
    assert.is_nil(acceptor.expiry)
    local ntlm = assert(sspi.credential{ package = "NTLM", backend = "builtin",
      username = "TESTDOM\\bob", password = "x" })
    assert.is_nil(ntlm.expiry)
  end)

  it("gives the Negotiate (gssapi) credential and a delegated one their TGT's end time", function()
    local ccache = r:kinit(r.user, r.password, nil, "-l 2h")
    local times = klist_end_times(ccache:gsub("^FILE:", ""))
    local tgt = times["krbtgt/SSPI.TEST@SSPI.TEST"]
    local cred = assert(sspi.credential{ package = "Negotiate", backend = "gssapi", ccache = ccache })
    assert.equal(tgt, cred.expiry)
    r:add_service("host/deleg-ok.localhost", "+ok_as_delegate")
    local client = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      ccache = ccache }))
    local server = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      usage = "inbound" }))
    assert(pair.run(client, server, { target = "host/deleg-ok.localhost", req = { "DELEGATE" } }))
    local delegated = assert(server:query("delegated_credential"))
    assert.equal(tgt, delegated.expiry)
  end)

  for _, backend in ipairs{ "gssapi", "builtin" } do
    it("Negotiate (" .. backend .. ") reports the ticket's end time on both sides", function()
      local ccache = r:kinit(r.user, r.password, nil, "-l 3h")
      local client = sspi.context(assert(sspi.credential{ package = "Negotiate", backend = backend,
        ccache = ccache }))
      local server = sspi.context(assert(sspi.credential{ package = "Negotiate", backend = backend,
        usage = "inbound" }))
      assert(pair.run(client, server, { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
      local ticket = klist_end_times(ccache:gsub("^FILE:", ""))["host/localhost@SSPI.TEST"]
      assert.is_number(ticket)
      assert.equal(ticket, client:query("lifespan").expiry)
      assert.equal(ticket, server:query("lifespan").expiry)
    end)
  end
end)
