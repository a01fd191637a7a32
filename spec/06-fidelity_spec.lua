-- SSPI-fidelity details found by trying the API against PSSPI's cmdlets
-- (issue 10): package lookup by name (Get-SSPIPackage -Name), context_req as
-- one comma-separated string, buffer types by name, and target_data_rep
-- limited to the two values SSPI defines.
local sspi = require "sspi"

local function raises(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. text)
  assert.is_truthy(tostring(err):find(text, 1, true), ("expected %q in %q"):format(text, tostring(err)))
end

local function ntlm_client()
  local cred = assert(sspi.credential{ package = "NTLM", username = "DOM\\alice", password = "pw" })
  return assert(sspi.context(cred))
end

describe("sspi.packages(name)", function()
  it("returns that package's info (any case), the default implementation first", function()
    local info = sspi.packages("NTLM")
    assert.are.equal("table", type(info))
    assert.are.equal("NTLM", info.name)
    assert.are.equal("builtin", info.backend)
    assert.is_true(info.max_token > 0)
    assert.are.equal("NTLM", sspi.packages("ntlm").name)
    -- the same row as in the full list
    for _, p in ipairs(sspi.packages()) do
      if p.name == "NTLM" and p.backend == "builtin" then
        assert.are.same(p, info)
      end
    end
  end)

  it("answers nil, err, SEC_E_SECPKG_NOT_FOUND for an unknown name", function()
    local info, err, status = sspi.packages("Nonesuch")
    assert.is_nil(info)
    assert.are.equal("SEC_E_SECPKG_NOT_FOUND", status)
    assert.are.equal("SEC_E_SECPKG_NOT_FOUND", err.status)
    assert.is_truthy(tostring(err):find("Nonesuch", 1, true))
  end)

  it("raises for a name that is not a string", function()
    raises("(string expected, got number)", sspi.packages, 5)
    raises("bad argument #1", sspi.packages, {})
  end)
end)

describe("context_req as one comma-separated string (PSSPI's habit)", function()
  it("is the same mask as the list of names", function()
    local a = assert(ntlm_client():step_init{ target = "host/x",
      context_req = "ISC_REQ_CONFIDENTIALITY, ISC_REQ_INTEGRITY" })
    local b = assert(ntlm_client():step_init{ target = "host/x",
      context_req = { "ISC_REQ_CONFIDENTIALITY", "ISC_REQ_INTEGRITY" } })
    assert.are.equal("ContinueNeeded", a.result)
    assert.are.equal(b.flags, a.flags)
    assert.are.equal(a.token:sub(13, 16), b.token:sub(13, 16)) -- NEGOTIATE flags
    -- names without the prefix, spaces or not
    assert(ntlm_client():step_init{ target = "host/x", context_req = "MUTUAL_AUTH,DELEGATE" })
  end)

  it("raises naming an unknown name inside the string", function()
    raises("ISC_REQ_BOGUS", ntlm_client().step_init, ntlm_client(),
      { target = "host/x", context_req = "ISC_REQ_MUTUAL_AUTH, ISC_REQ_BOGUS" })
    raises("context_req", ntlm_client().step_init, ntlm_client(),
      { target = "host/x", context_req = "ISC_REQ_MUTUAL_AUTH,, ISC_REQ_DELEGATE" })
  end)
end)

describe("buffer types by name", function()
  it("accepts Token, SECBUFFER_TOKEN, any case", function()
    assert.are.equal(sspi.SECBUFFER_TOKEN, sspi.buffer("Token", 16).type)
    assert.are.equal(sspi.SECBUFFER_TOKEN, sspi.buffer("SECBUFFER_TOKEN", 16).type)
    assert.are.equal(sspi.SECBUFFER_TOKEN, sspi.buffer("token", 16).type)
    assert.are.equal(sspi.SECBUFFER_CHANNEL_BINDINGS, sspi.buffer("channel_bindings", "x").type)
    assert.are.equal(sspi.SECBUFFER_STREAM_HEADER, sspi.buffer("StreamHeader", 4).type)
    assert.are.equal("abc", sspi.buffer("token", "abc"):data())
    -- in output lists and {type, data} items too
    local res = assert(ntlm_client():step_init{ target = "host/x", output = { "Token" } })
    assert.are.equal(sspi.SECBUFFER_TOKEN, res.buffers[1].type)
    assert.is_truthy(res.token)
  end)

  it("raises naming an unknown name", function()
    raises("unknown buffer type 'Tokn'", sspi.buffer, "Tokn", 16)
  end)
end)

describe("target_data_rep", function()
  it("takes SECURITY_NATIVE_DREP (0x10) and SECURITY_NETWORK_DREP (0) only", function()
    assert(ntlm_client():step_init{ target = "host/x", target_data_rep = 0x10 })
    assert(ntlm_client():step_init{ target = "host/x", target_data_rep = 0 })
    raises("bad option 'target_data_rep'", ntlm_client().step_init, ntlm_client(),
      { target = "host/x", target_data_rep = 5 })
    raises("bad option 'target_data_rep'", ntlm_client().step_init, ntlm_client(),
      { target = "host/x", target_data_rep = 0x11 })
  end)
end)
