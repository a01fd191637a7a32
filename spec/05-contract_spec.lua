-- The step contract (contract v2, csrc/core/internal.h) through the public
-- Lua API, driven by the test-only Toy package (spec/c/toy_provider.c,
-- registered only in the test build build/lua/sspi_toy.so): 2-byte
-- length-prefixed records, so a step may get less than a record
-- (IncompleteMessage, res.missing) or more (res.extra), a CompleteNeeded
-- that the core holds until complete_auth_token, and IncompleteCredentials.
local toy = require "sspi_toy"

local function record(payload)
  return string.char(#payload >> 8, #payload & 0xff) .. payload
end

local function raises(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. text)
  assert.is_truthy(tostring(err):find(text, 1, true), tostring(err))
end

local function pair()
  local icred = assert(toy.credential{ package = "Toy", usage = "outbound" })
  local acred = assert(toy.credential{ package = "Toy", usage = "inbound" })
  return assert(toy.context(icred)), assert(toy.context(acred))
end

describe("the step contract (Toy package)", function()
  it("is a test build only: the shipped module does not know Toy", function()
    local sspi = require "sspi"
    local cred, err, status = sspi.credential{ package = "Toy" }
    assert.is_nil(cred)
    assert.are.equal("SEC_E_SECPKG_NOT_FOUND", status)
    assert.is_truthy(tostring(err):find("Toy", 1, true))
  end)

  it("retries IncompleteMessage with the missing count, untouched, then Ok with the extra bytes", function()
    local ictx, actx = pair()
    local hello = assert(ictx:step_init{ target = "toy" })
    assert.are.equal("ContinueNeeded", hello.result)
    assert.are.equal(record "HELLO", hello.token)

    -- One header byte of seven: one more header byte is missing.
    local res = assert(actx:step_accept{ input = hello.token:sub(1, 1) })
    assert.are.equal("IncompleteMessage", res.result)
    assert.are.equal("SEC_E_INCOMPLETE_MESSAGE", res.status)
    assert.are.equal(1, res.missing)
    assert.is_nil(res.token)
    assert.is_nil(res.extra)
    assert.are.equal("new", actx:state())
    assert.is_nil(actx:is_initiator())

    -- Header and two payload bytes: three still missing.
    res = assert(actx:step_accept{ input = hello.token:sub(1, 4) })
    assert.are.equal("IncompleteMessage", res.result)
    assert.are.equal(3, res.missing)
    assert.are.equal("new", actx:state())
    assert.is_nil(actx:is_initiator())

    -- The whole record and the start of the next one.
    local next_record = record "DATA"
    res = assert(actx:step_accept{ input = hello.token .. next_record })
    assert.are.equal("Ok", res.result)
    assert.are.equal("SEC_E_OK", res.status)
    assert.are.equal(record "WELCOME", res.token)
    assert.are.equal(next_record, res.extra)
    assert.is_nil(res.missing)
    assert.are.equal(toy.ASC_RET_CONNECTION, res.flags & toy.ASC_RET_CONNECTION)
    assert.are.equal("complete", actx:state())
    assert.is_false(actx:is_initiator())

    -- The initiator, too: an incomplete reply leaves it in progress.
    res = assert(ictx:step_init{ input = res.token:sub(1, 5) })
    assert.are.equal("IncompleteMessage", res.result)
    assert.are.equal(4, res.missing)
    assert.are.equal("in_progress", ictx:state())
    res = assert(ictx:step_init{ input = record "WELCOME" .. "xy" })
    assert.are.equal("Ok", res.result)
    assert.are.equal("xy", res.extra)
    assert.are.equal("complete", ictx:state())
  end)

  it("fills an output SECBUFFER_EXTRA and SECBUFFER_MISSING when the caller gives them", function()
    local ictx, actx = pair()
    local hello = assert(ictx:step_init{})
    local out = { toy.SECBUFFER_TOKEN, toy.SECBUFFER_EXTRA }
    local res = assert(actx:step_accept{ input = hello.token .. "tail", output = out })
    assert.are.equal("Ok", res.result)
    assert.are.equal(2, #res.buffers)
    assert.are.equal(toy.SECBUFFER_EXTRA, res.buffers[2].type)
    assert.are.equal("tail", res.buffers[2]:data())
    assert.are.equal("tail", res.extra)

    local missing = toy.buffer(toy.SECBUFFER_MISSING, 8)
    res = assert(ictx:step_init{ input = "\0", output = { toy.SECBUFFER_TOKEN, missing } })
    assert.are.equal("IncompleteMessage", res.result)
    assert.are.equal(1, res.missing)
    assert.are.equal(1, #missing) -- cbBuffer is the count, as Windows has it
  end)

  it("holds CompleteNeeded until complete_auth_token, refusing steps and messages meanwhile", function()
    local ictx, actx = pair()
    local hello = assert(ictx:step_init{ target = "complete" })
    local res = assert(actx:step_accept{ input = hello.token })
    assert.are.equal("CompleteNeeded", res.result)
    assert.are.equal("complete_needed", actx:state())
    raises("waiting for complete_auth_token", actx.step_accept, actx, { input = hello.token })
    local ok, err, status = actx:wrap("x")
    assert.is_nil(ok)
    assert.are.equal("SEC_E_INVALID_HANDLE", status)
    assert.is_truthy(tostring(err):find("complete_auth_token", 1, true))

    assert.is_true(actx:complete_auth_token{})
    assert.are.equal("complete", actx:state())
    -- Only once: no completion is pending any more.
    ok, err, status = actx:complete_auth_token{}
    assert.is_nil(ok)
    assert.are.equal("SEC_E_INVALID_HANDLE", status)
    assert.is_truthy(tostring(err):find("no completion is pending", 1, true))
    assert.are.equal("complete", actx:state())
  end)

  it("refuses complete_auth_token on a context that needs no completion, leaving it as it was", function()
    local ictx, actx = pair()
    local ok, err, status = ictx:complete_auth_token{}
    assert.is_nil(ok)
    assert.are.equal("SEC_E_INVALID_HANDLE", status)
    assert.is_truthy(tostring(err):find("no completion is pending", 1, true))
    assert.are.equal("new", ictx:state())
    local hello = assert(ictx:step_init{})
    ok, err, status = ictx:complete_auth_token{}
    assert.is_nil(ok)
    assert.are.equal("SEC_E_INVALID_HANDLE", status)
    assert.is_truthy(tostring(err):find("in progress", 1, true))
    assert.are.equal("in_progress", ictx:state())
    -- and the handshake goes on normally
    local res = assert(actx:step_accept{ input = hello.token })
    assert.are.equal("Ok", res.result)
    res = assert(ictx:step_init{ input = res.token })
    assert.are.equal("Ok", res.result)
  end)

  it("returns IncompleteCredentials as a result, the context untouched, then goes on", function()
    local ictx, actx = pair()
    local hello = assert(ictx:step_init{ target = "ask" })
    local ask = assert(actx:step_accept{ input = hello.token })
    local res = assert(ictx:step_init{ input = ask.token })
    assert.are.equal("IncompleteCredentials", res.result)
    assert.are.equal("SEC_I_INCOMPLETE_CREDENTIALS", res.status)
    assert.are.equal("in_progress", ictx:state())
    res = assert(ictx:step_init{ input = ask.token })
    assert.are.equal("IncompleteCredentials", res.result)
    res = assert(ictx:step_init{ input = ask.token, context_req = "ISC_REQ_USE_SUPPLIED_CREDS" })
    assert.are.equal("Ok", res.result)
    assert.are.equal("complete", ictx:state())
  end)

  it("still fails a context for good on a real failure", function()
    local _, actx = pair()
    local res, _, status = actx:step_accept{ input = record "NONSENSE" }
    assert.is_nil(res)
    assert.are.equal("SEC_E_INVALID_TOKEN", status)
    assert.are.equal("failed", actx:state())
  end)
end)
