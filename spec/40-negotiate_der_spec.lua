-- The SPNEGO DER layer of the built-in Negotiate provider, tested in C
-- (spec/c/negotiate_der_test.c) on a real MIT SPNEGO + gss-ntlmssp exchange:
-- decode, canonical re-encoding, every truncation, every single-byte change,
-- non-DER lengths, bad OIDs, NegTokenInit2, deep nesting.

describe("Negotiate DER layer", function()
  it("passes its C unit test (built with the project's flags by the Makefile's test target)", function()
    local bin = "build/spec/c/negotiate_der_test"
    assert(io.open(bin), bin .. " is missing: run `make test`"):close()
    local p = assert(io.popen(bin .. " 2>&1"))
    local out = p:read("a")
    local ok, how, code = p:close()
    assert.is_true(ok, ("negotiate-der-test failed (%s %s):\n%s"):format(how, code, out))
    local checks, failures = out:match("# (%d+) checks, (%d+) failures")
    assert.is_not_nil(checks, "no summary line in:\n" .. out)
    assert.are.equal("0", failures)
    assert.is_true(tonumber(checks) > 10000, "too few checks ran: " .. checks)
  end)
end)
