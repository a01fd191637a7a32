-- Credential and context lifetimes through the system GSSAPI: cred.expiry
-- (PSSPI's Expiry) is the end time of the credential's TGT, and
-- query("lifespan").expiry is the end time of the service ticket, on both
-- sides, to the second, as klist shows them.  One exception, MIT's: a ccache
-- can record the KDC's clock offset (kinit records +1 s when the second
-- turns between its request and the KDC's reply, about once in 900 kinits
-- here), and MIT then counts the initiator's remaining time on the KDC's
-- clock: its end times are that many seconds earlier on the local clock,
-- which is when MIT stops using the tickets.

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

-- Where a FILE ccache records the KDC's clock offset: the file position of
-- its seconds (version 4 header, tag 1: seconds then microseconds), or nil.
local function offset_position(ccache)
  local f = assert(io.open(ccache, "rb"))
  local version, length = string.unpack(">I2I2", f:read(4))
  local tags = f:read(length)
  f:close()
  assert(version == 0x0504, ("not a version 4 FILE ccache: %x"):format(version))
  local pos = 1
  while pos + 3 <= #tags do
    local tag, len = string.unpack(">I2I2", tags, pos)
    if tag == 1 then return 4 + pos + 3 end
    pos = pos + 4 + len
  end
  return nil
end

-- The recorded offset in whole seconds, as MIT's clock applies it; 0 if none.
local function kdc_offset(ccache)
  local at = offset_position(ccache)
  if not at then return 0 end
  local f = assert(io.open(ccache, "rb"))
  f:seek("set", at)
  local seconds = string.unpack(">i4", f:read(4))
  f:close()
  return seconds
end

-- Records an offset of so many seconds (and no microseconds).
local function set_kdc_offset(ccache, seconds)
  local at = assert(offset_position(ccache), "the ccache records no time offset to change")
  local f = assert(io.open(ccache, "r+b"))
  f:seek("set", at)
  f:write(string.pack(">i4i4", seconds, 0))
  f:close()
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
      local offset = kdc_offset(cache_path)
      local cred = assert(sspi.credential{ package = "Kerberos", backend = "gssapi", ccache = ccache })
      assert.equal(times[tgt] - offset, cred.expiry)
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
      assert.equal(ticket - offset, client:query("lifespan").expiry)
      assert.equal(ticket, server:query("lifespan").expiry)
      assert.equal(ticket - offset, cres.expiry)
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
    local cache_path = ccache:gsub("^FILE:", "")
    local tgt = klist_end_times(cache_path)["krbtgt/SSPI.TEST@SSPI.TEST"]
    local cred = assert(sspi.credential{ package = "Negotiate", backend = "gssapi", ccache = ccache })
    assert.equal(tgt - kdc_offset(cache_path), cred.expiry)
    r:add_service("host/deleg-ok.localhost", "+ok_as_delegate")
    local client = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      ccache = ccache }))
    local server = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
      usage = "inbound" }))
    assert(pair.run(client, server, { target = "host/deleg-ok.localhost", req = { "DELEGATE" } }))
    -- the acceptor's copy records no offset: the TGT's end time as it is
    local delegated = assert(server:query("delegated_credential"))
    assert.equal(tgt, delegated.expiry)
  end)

  it("counts an initiator's end times on the KDC clock its ccache records, the acceptor's on its own",
    function()
      local ccache = r:kinit(r.user, r.password, nil, "-l 2h")
      local cache_path = ccache:gsub("^FILE:", "")
      set_kdc_offset(cache_path, 7)
      assert.equal(7, kdc_offset(cache_path))
      local tgt = klist_end_times(cache_path)["krbtgt/SSPI.TEST@SSPI.TEST"]
      local cred = assert(sspi.credential{ package = "Kerberos", backend = "gssapi", ccache = ccache })
      assert.equal(tgt - 7, cred.expiry)
      local client = sspi.context(cred)
      local server = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
        usage = "inbound" }))
      assert(pair.run(client, server, { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
      local ticket = klist_end_times(cache_path)["host/localhost@SSPI.TEST"]
      assert.is_number(ticket)
      assert.equal(ticket - 7, client:query("lifespan").expiry)
      assert.equal(ticket, server:query("lifespan").expiry)
    end)

  for _, backend in ipairs{ "gssapi", "builtin" } do
    it("Negotiate (" .. backend .. ") reports the ticket's end time on both sides", function()
      local ccache = r:kinit(r.user, r.password, nil, "-l 3h")
      local client = sspi.context(assert(sspi.credential{ package = "Negotiate", backend = backend,
        ccache = ccache }))
      local server = sspi.context(assert(sspi.credential{ package = "Negotiate", backend = backend,
        usage = "inbound" }))
      assert(pair.run(client, server, { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
      local cache_path = ccache:gsub("^FILE:", "")
      local ticket = klist_end_times(cache_path)["host/localhost@SSPI.TEST"]
      assert.is_number(ticket)
      assert.equal(ticket - kdc_offset(cache_path), client:query("lifespan").expiry)
      assert.equal(ticket, server:query("lifespan").expiry)
    end)
  end
end)
