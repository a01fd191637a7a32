-- The MS-NLMP 4.2 published values ("Cryptographic Values for Validation")
-- against the built-in NTLM provider's own key, response and sealing code,
-- through the C unit test spec/c/ntlm_vectors.c (built by the Makefile's
-- test target with the project's flags, linked against build/libsspi.a).

local BUILD = require("helpers.build").dir

local expected = {
  "4.2.2 NTOWFv1", "4.2.2 LMOWFv1", "4.2.2 session base key", "4.2.2 NTLMv1 response",
  "4.2.2 LMv1 response", "4.2.2 key exchange key", "4.2.2 encrypted session key",
  "4.2.2 LM_KEY key exchange key", "4.2.2 LM_KEY encrypted session key",
  "4.2.2 NON_NT_SESSION_KEY key exchange key",
  "4.2.2.4 NTLMv1 sealed", "4.2.2.4 NTLMv1 signature",
  "4.2.3 LM response", "4.2.3 NTLMv1 ESS response", "4.2.3 key exchange key",
  "4.2.3 client sealing key", "4.2.3 client signing key",
  "4.2.3.4 NTLMv1 ESS sealed", "4.2.3.4 NTLMv1 ESS signature",
  "4.2.4 NTOWFv2", "4.2.4 NTProofStr", "4.2.4 LMv2 response", "4.2.4 session base key",
  "4.2.4 encrypted session key", "4.2.4 client sealing key", "4.2.4 server sealing key",
  "4.2.4 client signing key", "4.2.4 server signing key",
  "4.2.4.4 NTLMv2 sealed", "4.2.4.4 NTLMv2 signature",
  "ESS 56-bit client sealing key", "ESS 56-bit server sealing key",
  "ESS 40-bit client sealing key", "ESS 40-bit server sealing key",
  "LM_KEY 56-bit sealing key", "LM_KEY 40-bit sealing key",
  "ESS 128-bit no KEY_EXCH signature", "4.2.4 sign-only data", "4.2.4 sign-only signature",
  "MsvAvChannelBindings",
  "UTF-16 of a non-BMP password", "UTF-8 from a surrogate pair",
}

describe("NTLM MS-NLMP 4.2 values", function()
  local out, lines

  setup(function()
    -- built by the Makefile (target test needs it)
    local exe = BUILD .. "/spec/c/ntlm_vectors"
    assert(io.open(exe), exe .. " is missing: run `make test`"):close()
    local p = assert(io.popen(exe .. " spec/fixtures/ms-nlmp-4.2.json 2>&1"))
    out = p:read("a")
    p:close()
    lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  end)

  for _, name in ipairs(expected) do
    it(name, function()
      local found
      for _, line in ipairs(lines) do
        if line == "ok " .. name or line:find("not ok " .. name .. ":", 1, true) == 1 then
          found = line
        end
      end
      assert.is_not_nil(found, "no result for " .. name .. " in:\n" .. out)
      assert.are.equal("ok " .. name, found)
    end)
  end

  it("reports no failure at all", function()
    assert.matches("\n0 failure%(s%)\n$", "\n" .. out)
  end)
end)
