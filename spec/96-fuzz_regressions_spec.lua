-- Inputs the fuzzers (fuzz/, docs/fuzzing.md) found, replayed through the
-- Lua API.  Each case names the target and artifact it came from.

local sspi = require "sspi"
local sh = require "helpers.sh"

local USER, DOMAIN, PASSWORD = "alice", "DOMAIN", "Passw0rd"
local TARGET = "host/localhost"
local REQ = sspi.ISC_REQ_INTEGRITY | sspi.ISC_REQ_CONNECTION

describe("fuzz regressions", function()
  local tmp, user_file

  setup(function()
    tmp = sh.tmpdir("fuzz-regressions")
    user_file = tmp .. "/users"
    sh.write_file(user_file, DOMAIN .. ":" .. USER .. ":" .. PASSWORD .. "\n")
  end)

  teardown(function()
    if tmp then os.execute("rm -rf " .. sh.quote(tmp)) end
  end)

  local function negotiate(usage)
    local o = { package = "Negotiate", backend = "builtin", usage = usage, mechs = { "NTLM" } }
    if usage == "outbound" then
      o.username, o.password = DOMAIN .. "\\" .. USER, PASSWORD
    else
      o.user_file = user_file
    end
    return assert(sspi.credential(o))
  end

  -- The acceptor's first reply with its negState flipped from
  -- accept-incomplete to accept-completed (a [0] ENUMERATED 1 -> 0).
  local function claim_completed(reply)
    local edited, n = reply:gsub("\160\3\10\1\1", "\160\3\10\1\0", 1)
    assert.equal(1, n, "no accept-incomplete negState in the reply")
    return edited
  end

  -- negotiate_init, crash-4a0ddbab7cf63f923914c1cffde3ea98c107ba28: an edited
  -- first reply completed the initiator early and the harness stepped it once
  -- more.  Not a library fault (the harness now stops at completion, as a
  -- driver does); pinned here: what the initiator does with such a reply.
  describe("an acceptor reply that claims accept-completed while sending the CHALLENGE", function()
    it("does not let the initiator skip the acceptor's mechListMIC when the MIC is required",
       function()
      local c, s = sspi.context(negotiate("outbound")), sspi.context(negotiate("inbound"))
      local t1 = assert(c:step_init { target = TARGET, context_req = REQ })
      local t2 = assert(s:step_accept { input = t1.token })
      -- The CHALLENGE carries a timestamp: the AUTHENTICATE has a MIC, so
      -- mechListMICs must be exchanged whatever negState says.
      local t3 = assert(c:step_init { target = TARGET, context_req = REQ,
                                      input = claim_completed(t2.token) })
      assert.equal("ContinueNeeded", t3.result)
      local t4 = assert(s:step_accept { input = t3.token })
      assert.equal("Ok", t4.result)
      assert.is_string(t4.token) -- the acceptor's mechListMIC
      local t5 = assert(c:step_init { target = TARGET, context_req = REQ, input = t4.token })
      assert.equal("Ok", t5.result)
      assert.equal("DOMAIN\\alice", s:query("names").user)
      assert.equal("ping", s:unwrap(assert(c:wrap("ping"))))
    end)

    it("does not complete the initiator on it (its last token still needs the acceptor's "
       .. "verdict), and the acceptor refuses the edited CHALLENGE", function()
      local c, s = sspi.context(negotiate("outbound")), sspi.context(negotiate("inbound"))
      local t1 = assert(c:step_init { target = TARGET, context_req = REQ })
      local t2 = assert(s:step_accept { input = t1.token })
      -- Also rename the MsvAvTimestamp pair (id 7 -> 0x87), as the fuzzer
      -- did: no timestamp, no NTLM MIC, no mechListMIC required.
      local edited, n = claim_completed(t2.token):gsub("\7\0\8\0", "\135\0\8\0", 1)
      assert.equal(1, n)
      local t3 = assert(c:step_init { target = TARGET, context_req = REQ, input = edited })
      -- negState is not protected by anything: the initiator waits for the
      -- acceptor's answer to its AUTHENTICATE whatever the edit claimed
      -- (as MIT does), instead of completing before the acceptor did.
      assert.equal("ContinueNeeded", t3.result)
      assert.is_string(t3.token)
      -- The acceptor's MsvAvTimestamp did not come back in the client's blob:
      -- the CHALLENGE was edited (docs/security.md), whatever negState says.
      local ok, err, status = s:step_accept { input = t3.token }
      assert.is_nil(ok)
      assert.equal("SEC_E_MESSAGE_ALTERED", status, tostring(err))
    end)

    it("is refused by the acceptor when the edit altered what the NTLM MIC covers", function()
      local c, s = sspi.context(negotiate("outbound")), sspi.context(negotiate("inbound"))
      local t1 = assert(c:step_init { target = TARGET, context_req = REQ })
      local t2 = assert(s:step_accept { input = t1.token })
      -- Flip one bit of the CHALLENGE's server challenge as well: the client
      -- answers the wrong challenge, the acceptor refuses.
      local at = assert(t2.token:find("NTLMSSP\0\2\0\0\0", 1, true)) + 24
      local edited = claim_completed(t2.token)
      edited = edited:sub(1, at - 1) .. string.char(edited:byte(at) ~ 1) .. edited:sub(at + 1)
      local t3 = assert(c:step_init { target = TARGET, context_req = REQ, input = edited })
      local ok, err, status = s:step_accept { input = t3.token }
      assert.is_nil(ok)
      assert.equal("SEC_E_LOGON_DENIED", status)
      assert.equal("SEC_E_LOGON_DENIED", err.status)
    end)
  end)
end)
