-- Contexts and credentials that move between processes (Kerberos through
-- the system GSSAPI): ctx:export() / sspi.import_context(blob) and
-- cred:export() / sspi.import_credential(blob), the blob in a versioned
-- envelope whose lengths and digest are checked before MIT sees a byte.
local sspi = require "sspi"
local pair = require "helpers.pair"
local realm = require "helpers.realm"
local sh = require "helpers.sh"

local REQ = { "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY", "REPLAY_DETECT", "SEQUENCE_DETECT" }

local function cred(o)
  o.package, o.backend = o.package or "Kerberos", "gssapi"
  return assert(sspi.credential(o))
end

local function established(package)
  local client = sspi.context(cred{ package = package })
  local server = sspi.context(cred{ package = package, usage = "inbound" })
  assert(pair.run(client, server, { target = "host/localhost", req = REQ }))
  return client, server
end

local run_lua = require("helpers.blob").run_child

describe("Kerberos export and import", function()
  local r
  setup(function() r = realm.start() end)

  it("moves a context within a process: the old one is closed, the new one carries on", function()
    local client, server = established("Kerberos")
    assert.equal("a", server:unwrap(client:wrap("a")))
    local flags = client:query("flags")
    local blob = assert(client:export())
    assert.matches("^SSPIBLOB", blob)
    assert.has_error(function() client:wrap("x") end, "attempt to use a closed sspi.context")
    local moved = assert(sspi.import_context(blob))
    assert.equal(flags, moved:query("flags"))
    assert.equal("b", server:unwrap(moved:wrap("b")))
    assert.equal("c", moved:unwrap(server:wrap("c")))
    assert.matches("Kerberos", tostring(moved))
  end)

  it("continues in another lua5.4 process with the sequence numbers intact", function()
    local client, server = established("Kerberos")
    local dir = r.dir
    assert.equal("m1", server:unwrap(client:wrap("m1")))
    local m1 = client:wrap("replayed")
    assert.equal("replayed", server:unwrap(m1))
    sh.write_file(dir .. "/server.blob", assert(server:export()))
    sh.write_file(dir .. "/m1", m1)
    sh.write_file(dir .. "/m2", client:wrap("m2"))
    local out = run_lua(dir, ([[
      local sspi = require "sspi"
      local function read(p) local f = assert(io.open(p, "rb")) local d = f:read("a") f:close() return d end
      local ctx = assert(sspi.import_context(read(%q .. "/server.blob")))
      local data, _, status = ctx:unwrap(read(%q .. "/m1"))
      print("replay", tostring(data), status)
      print("m2", (assert(ctx:unwrap(read(%q .. "/m2")))))
      print("user", ctx:query("names").user)
      local f = assert(io.open(%q .. "/reply", "wb")) f:write(ctx:wrap("from the child")) f:close()
    ]]):format(dir, dir, dir, dir))
    assert.matches("replay\tnil\tSEC_E_", out)
    assert.matches("m2\tm2\n", out)
    assert.matches("user\t" .. r.user:gsub("%.", "%%."), out)
    assert.equal("from the child", client:unwrap(sh.read_file(dir .. "/reply")))
  end)

  it("moves a Negotiate (gssapi) context too", function()
    local client, server = established("Negotiate")
    local moved = assert(sspi.import_context(assert(server:export())))
    assert.equal("n", moved:unwrap(client:wrap("n")))
  end)

  it("moves a built-in Negotiate context with Kerberos inside (MIT's bytes within ours)", function()
    local function nego(usage)
      return assert(sspi.credential{ package = "Negotiate", backend = "builtin", usage = usage,
        mechs = { "Kerberos" } })
    end
    local client, server = sspi.context(nego()), sspi.context(nego("inbound"))
    assert(pair.run(client, server, { target = "host/localhost", req = REQ }))
    local m1 = client:wrap("m1")
    assert.equal("m1", server:unwrap(m1))
    local moved = assert(sspi.import_context(assert(server:export())))
    assert.matches("Negotiate", tostring(moved))
    assert.equal("Kerberos", moved:query("negotiation_info").package.name)
    local replayed, _, status = moved:unwrap(m1)
    assert.is_nil(replayed)
    assert.matches("^SEC_E_", status)
    assert.equal("n", moved:unwrap(client:wrap("n")))
    assert.equal("back", client:unwrap(moved:wrap("back")))
  end)

  describe("refuses a damaged blob before MIT sees it", function()
    local blob
    setup(function()
      local _, server = established("Kerberos")
      blob = assert(server:export())
    end)

    it("truncated at every length", function()
      for n = 0, #blob - 1 do
        local ctx, err, status = sspi.import_context(blob:sub(1, n))
        assert.is_nil(ctx)
        assert.equal("SEC_E_INVALID_TOKEN", status, n)
        assert.matches("import", tostring(err))
      end
      local ctx, _, status = sspi.import_context(blob .. "\0")
      assert.is_nil(ctx)
      assert.equal("SEC_E_INVALID_TOKEN", status)
    end)

    it("with any one bit changed", function()
      for i = 1, #blob do
        local b = blob:byte(i)
        local edited = blob:sub(1, i - 1) .. string.char(b ~ (1 << (i % 8))) .. blob:sub(i + 1)
        local ctx, _, status = sspi.import_context(edited)
        assert.is_nil(ctx, i)
        assert.equal("SEC_E_INVALID_TOKEN", status, i)
      end
    end)

    it("of the wrong kind", function()
      local cblob = assert(cred{}:export())
      local ctx, err, status = sspi.import_context(cblob)
      assert.is_nil(ctx)
      assert.equal("SEC_E_INVALID_TOKEN", status)
      assert.matches("credential", tostring(err))
      local c, _, cstatus = sspi.import_credential(blob)
      assert.is_nil(c)
      assert.equal("SEC_E_INVALID_TOKEN", cstatus)
    end)
  end)

  it("exports a credential that logs on from a new process", function()
    r:add_principal("dave", "dave-Secret-1")
    local c = cred{ username = "dave@SSPI.TEST", password = "dave-Secret-1" }
    local expiry = c.expiry
    sh.write_file(r.dir .. "/cred.blob", assert(c:export()))
    -- still usable here
    assert(pair.run(sspi.context(c), sspi.context(cred{ usage = "inbound" }),
      { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
    local out = run_lua(r.dir, ([[
      package.path = %q
      local sspi = require "sspi"
      local pair = require "helpers.pair"
      local f = assert(io.open(%q, "rb")) local blob = f:read("a") f:close()
      local c = assert(sspi.import_credential(blob))
      print("expiry", c.expiry)
      local client = sspi.context(c)
      local server = sspi.context(assert(sspi.credential{ package = "Kerberos", backend = "gssapi",
        usage = "inbound" }))
      assert(pair.run(client, server, { target = "host/localhost", req = { "MUTUAL_AUTH" } }))
      print("user", server:query("names").user)
    ]]):format(package.path, r.dir .. "/cred.blob"))
    assert.matches("user\tdave@SSPI%.TEST", out)
    assert.matches("expiry\t" .. expiry, out)
  end)

  it("says what cannot be exported", function()
    local ctx = sspi.context(cred{})
    assert(ctx:step_init{ target = "host/localhost", context_req = REQ })
    local blob, _, status = ctx:export()
    assert.is_nil(blob)
    assert.equal("SEC_E_INVALID_HANDLE", status)
    local ntlm = assert(sspi.credential{ package = "NTLM", backend = "builtin",
      username = "TESTDOM\\bob", password = "x" })
    blob, _, status = ntlm:export()
    assert.is_nil(blob)
    assert.equal("SEC_E_UNSUPPORTED_FUNCTION", status)
  end)
end)
