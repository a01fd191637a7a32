-- Built-in NTLM and built-in Negotiate contexts that move between
-- processes: ctx:export() in one lua process after some traffic,
-- sspi.import_context(blob) in another, and the message functions carry on
-- with the peer in both directions, RC4 states and sequence numbers intact.
-- The payloads (csrc/providers/ntlm/ntlm_export.c,
-- csrc/providers/negotiate/negotiate_export.c) are checked field by field
-- even inside an intact envelope.
local sspi = require "sspi"
local pair = require "helpers.pair"
local blob = require "helpers.blob"
local sh = require "helpers.sh"

local REQ = { "CONFIDENTIALITY", "INTEGRITY", "REPLAY_DETECT", "SEQUENCE_DETECT" }
local USER, PASSWORD = "DOM\\alice", "Secret-1"

local dir, user_file

local function cred(package, inbound, extra)
  local o = { package = package, backend = "builtin" }
  if package == "Negotiate" then o.mechs = { "NTLM" } end
  if inbound then
    o.usage, o.user_file = "inbound", user_file
  else
    o.username, o.password = USER, PASSWORD
  end
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(sspi.credential(o))
end

-- A complete pair after a little traffic both ways.
local function established(package, client_extra, server_extra)
  local c = sspi.context(cred(package, false, client_extra))
  local s = sspi.context(cred(package, true, server_extra))
  assert(pair.run(c, s, { target = "host/localhost", req = REQ }))
  assert.equal("c1", s:unwrap(c:wrap("c1")))
  assert.equal("s1", c:unwrap(s:wrap("s1")))
  assert(s:verify("c-signed", c:sign("c-signed")))
  assert(c:verify("s-signed", s:sign("s-signed")))
  return c, s
end

local function refused(b, pattern)
  local ctx, err, status = sspi.import_context(b)
  assert.is_nil(ctx)
  assert.equal("SEC_E_INVALID_TOKEN", status)
  if pattern then assert.matches(pattern, tostring(err)) end
end

-- Bytes i..j of s replaced by r.
local function put(s, i, r) return s:sub(1, i - 1) .. r .. s:sub(i + #r) end

setup(function()
  dir = sh.tmpdir("ntlm-export")
  user_file = dir .. "/users"
  sh.write_file(user_file, "DOM:alice:" .. PASSWORD .. "\n")
end)

teardown(function() sh.run("rm -rf " .. sh.quote(dir)) end)

-- The child: imports the context, reads the peer's messages (a replay of
-- one it already read, then the next two out of order and in order, a
-- signature), answers with a wrapped message and a signature.
local CHILD = [[
  local sspi = require "sspi"
  local dir = %q
  local function read(n) local f = assert(io.open(dir .. "/" .. n, "rb")) local d = f:read("a") f:close() return d end
  local function write(n, d) local f = assert(io.open(dir .. "/" .. n, "wb")) f:write(d) f:close() end
  local ctx = assert(sspi.import_context(read("ctx.blob")))
  print("context", tostring(ctx))
  print("user", ctx:query("names").user)
  print("flags", ctx:query("flags"))
  print("replay", select(3, ctx:unwrap(read("replay"))))
  print("early", select(3, ctx:unwrap(read("m3"))))
  print("m2", (assert(ctx:unwrap(read("m2")))))
  print("m3", (assert(ctx:unwrap(read("m3")))))
  print("verify", assert(ctx:verify("signed by the peer", read("mic"))))
  print("again", select(3, ctx:verify("signed by the peer", read("mic"))))
  write("reply", assert(ctx:wrap("from the child")))
  write("reply_mic", assert(ctx:sign("child text")))
]]

local function moves_to_a_child(package, side)
  local c, s = established(package)
  local mine, peer = s, c
  if side == "initiator" then mine, peer = c, s end
  local flags, user = mine:query("flags"), mine:query("names").user
  -- one the exporting side has already read: a replay after the move
  local m1 = peer:wrap("m1")
  assert.equal("m1", mine:unwrap(m1))
  local b = assert(mine:export())
  assert.matches("^SSPIBLOB", b)
  assert.has_error(function() mine:wrap("x") end, "attempt to use a closed sspi.context")
  sh.write_file(dir .. "/ctx.blob", b)
  sh.write_file(dir .. "/replay", m1)
  sh.write_file(dir .. "/m2", peer:wrap("m2"))
  sh.write_file(dir .. "/m3", peer:wrap("m3"))
  sh.write_file(dir .. "/mic", peer:sign("signed by the peer"))
  local out = blob.run_child(dir, CHILD:format(dir))
  assert.matches("context\tsspi.context (" .. package .. ", complete)\n", out, 1, true)
  assert.matches("user\t" .. user:gsub("%p", "%%%0") .. "\n", out)
  assert.matches("flags\t" .. flags .. "\n", out)
  assert.matches("replay\tSEC_E_OUT_OF_SEQUENCE\n", out)
  assert.matches("early\tSEC_E_OUT_OF_SEQUENCE\n", out)
  assert.matches("m2\tm2\nm3\tm3\n", out)
  assert.matches("verify\ttrue\n", out)
  assert.matches("again\tSEC_E_OUT_OF_SEQUENCE\n", out)
  -- the peer reads the child's messages in its stream, and goes on
  assert.equal("from the child", peer:unwrap(sh.read_file(dir .. "/reply")))
  assert(peer:verify("child text", sh.read_file(dir .. "/reply_mic")))
  local _, _, st = peer:unwrap(sh.read_file(dir .. "/reply"))
  assert.equal("SEC_E_OUT_OF_SEQUENCE", st)
end

for _, package in ipairs { "NTLM", "Negotiate" } do
  describe(package .. " (built-in) export and import", function()
    for _, side in ipairs { "acceptor", "initiator" } do
      it("moves the " .. side .. " into another lua process mid-conversation", function()
        moves_to_a_child(package, side)
      end)
    end

    it("refuses a truncated or extended blob", function()
      local _, s = established(package)
      local b = assert(s:export())
      for n = 0, #b - 1 do refused(b:sub(1, n)) end
      refused(b .. "\0")
    end)

    it("refuses every one-bit edit (the envelope's digest)", function()
      local _, s = established(package)
      local b = assert(s:export())
      for i = 1, #b do
        local edited = put(b, i, string.char(b:byte(i) ~ (1 << (i % 8))))
        refused(edited)
      end
    end)

    it("refuses a payload of a later version inside an intact envelope", function()
      local _, s = established(package)
      local b = assert(s:export())
      refused(blob.reseal(b, function(p) return put(p, 1, "\2") end),
        package .. " context version 2, this library reads version 1")
    end)

    it("refuses to export a half-made context", function()
      local c = sspi.context(cred(package))
      assert(c:step_init { target = "host/localhost", context_req = REQ })
      local b, err, status = c:export()
      assert.is_nil(b)
      assert.equal("SEC_E_INVALID_HANDLE", status)
      assert.matches("complete", tostring(err))
    end)

    it("does not crash on a blob used where it does not belong", function()
      local c, s = established(package)
      local b = assert(s:export())
      local cr, _, status = sspi.import_credential(b)
      assert.is_nil(cr)
      assert.equal("SEC_E_INVALID_TOKEN", status)
      -- imported twice, stepped, re-exported: answers, never a crash
      local one, two = assert(sspi.import_context(b)), assert(sspi.import_context(b))
      assert.has_error(function() one:step_accept { input = "\0\0\0\0" } end,
        "step_accept on a complete sspi.context")
      assert.equal("m", two:unwrap(c:wrap("m")))
      local again = assert(sspi.import_context(assert(two:export())))
      assert.equal("n", again:unwrap(c:wrap("n")))
    end)
  end)
end

describe("built-in NTLM import checks every field", function()
  local b
  setup(function()
    local _, s = established("NTLM")
    b = assert(s:export())
  end)

  local function edited(edit) return blob.reseal(b, edit) end

  it("takes the unedited payload (the spec's resealing is right)", function()
    assert(sspi.import_context(edited(function(p) return p end)))
  end)

  it("refuses reserved bits", function()
    refused(edited(function(p) return put(p, 3, "\1") end), "reserved")
  end)

  it("refuses keys the session key does not give", function()
    refused(edited(function(p) return put(p, 13, string.char(p:byte(13) ~ 1)) end), "keys")
  end)

  it("refuses an RC4 state that is not a permutation", function()
    -- the sending direction's S-box starts at byte 69
    refused(edited(function(p) return put(p, 70, p:sub(69, 69)) end), "permutation")
  end)

  it("refuses a spent direction before its last sequence number", function()
    refused(edited(function(p) return put(p, 62, "\1") end), "spent")
  end)

  it("refuses bytes after the names, or names cut short", function()
    refused(edited(function(p) return p .. "\0" end), "after the names")
    refused(edited(function(p) return p:sub(1, -2) end))
  end)

  it("refuses integrity the flags lack", function()
    -- clear SIGN (0x10) in the negotiated flags: the envelope still says integrity
    refused(edited(function(p) return put(p, 8, string.char(p:byte(8) & ~0x10)) end))
  end)
end)

describe("built-in Negotiate import checks its inner context", function()
  local b
  setup(function()
    local _, s = established("Negotiate")
    b = assert(s:export())
  end)

  -- The Negotiate payload's inner blob and what comes before it.
  local function inner_of(p)
    local oid_len = p:byte(9)
    return p:sub(1, 9 + oid_len), p:sub(14 + oid_len)
  end

  local function with_inner(p, inner)
    local head = inner_of(p)
    return head .. string.pack(">I4", #inner) .. inner
  end

  it("refuses an inner NTLM payload of a later version", function()
    refused(blob.reseal(b, function(p)
      local _, inner = inner_of(p)
      return with_inner(p, blob.reseal(inner, function(q) return put(q, 1, "\2") end))
    end), "NTLM context version 2")
  end)

  it("refuses Negotiate inside Negotiate", function()
    refused(blob.reseal(b, function(p) return with_inner(p, b) end), "not of a mechanism")
  end)

  it("refuses an inner context of another mechanism than it names", function()
    refused(blob.reseal(b, function(p)
      return put(p, 10, string.char(p:byte(10) ~ 1))
    end), "not of the mechanism it names")
  end)

  it("refuses an inner length that does not match", function()
    refused(blob.reseal(b, function(p) return p .. "x" end), "inner length")
  end)
end)

describe("NTLMv1 without extended session security (one RC4 state for both directions)", function()
  it("moves and carries on in both directions", function()
    local c, s = established("NTLM", { lm_compat_level = 0 }, { lm_compat_level = 0 })
    local moved = assert(sspi.import_context(assert(s:export())))
    assert.equal("after", moved:unwrap(c:wrap("after")))
    assert.equal("back", c:unwrap(moved:wrap("back")))
    assert(c:verify("t", moved:sign("t")))
    local cmoved = assert(sspi.import_context(assert(c:export())))
    assert.equal("both moved", moved:unwrap(cmoved:wrap("both moved")))
  end)
end)

describe("a direction that used its last sequence number", function()
  it("stays spent after the move (test build with SSPI_NTLM_SEQ_LAST=3)", function()
    local build = assert(package.searchpath("sspi.core", package.cpath)):match("^(.*)/lua/sspi/core%.so$")
    local out = blob.run_child(dir, ([[
      package.path = %q
      local sspi = require "sspi"
      local pair = require "helpers.pair"
      local function cred(o) o.package, o.backend = "NTLM", "builtin" return assert(sspi.credential(o)) end
      local c = sspi.context(cred { username = %q, password = %q })
      local s = sspi.context(cred { usage = "inbound", user_file = %q })
      assert(pair.run(c, s, { target = "host/x", req = { "CONFIDENTIALITY", "INTEGRITY" } }))
      for n = 1, 4 do assert(s:unwrap(assert(c:wrap("m" .. n)))) end
      local moved = assert(sspi.import_context(assert(c:export())))
      print("client wrap", select(3, moved:wrap("late")))
      print("client unwrap", (moved:unwrap(s:wrap("still open"))))
      local smoved = assert(sspi.import_context(assert(s:export())))
      print("server unwrap", select(3, smoved:unwrap(("\1"):rep(32))))
    ]]):format(package.path, USER, PASSWORD, user_file), build .. "/seqwrap/lua/?.so;;")
    assert.matches("client wrap\tSEC_E_CONTEXT_EXPIRED\n", out)
    assert.matches("client unwrap\tstill open\n", out)
    assert.matches("server unwrap\tSEC_E_CONTEXT_EXPIRED\n", out)
  end)
end)
