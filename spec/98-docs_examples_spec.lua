-- docs/api.md's examples, run as printed, and the Negotiate cells of its
-- status table.
--
-- Every fenced block right after a `<!-- checked: NAME -->` line of
-- docs/api.md is taken from the file (not copied here), so the page cannot
-- drift from what runs: Lua blocks run in the throwaway realm with
-- USER_FILE naming an NTLM user file (`EXAMPLE:bob:Secret-1`), their
-- asserts being the checks; the C block is compiled against the public
-- header and the static library and run in the realm.

local BUILD = require("helpers.build").dir
local realm = require "helpers.realm"
local sspi = require "sspi"
local sh = require "helpers.sh"
local shell_quote, write_file = sh.quote, sh.write_file

local API_MD = "docs/api.md"

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

-- { {name =, lang =, code =, line =}, ... } in page order.  A marker not
-- followed by a fenced block is an error: the page promised a check.
local function checked_blocks(text)
  local blocks, names = {}, {}
  local lines = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  local i = 1
  while i <= #lines do
    local name = lines[i]:match("^<!%-%- checked: ([%w%-]+) %-%->$")
    if name then
      local line_no = i
      local lang = lines[i + 1] and lines[i + 1]:match("^```(%a+)$")
      assert(lang, ("%s:%d: checked block '%s' is not followed by a fenced block"):format(
        API_MD, line_no, name))
      assert(not names[name], "duplicate checked block name " .. name)
      names[name] = true
      local body = {}
      local j = i + 2
      while lines[j] and lines[j] ~= "```" do
        body[#body + 1] = lines[j]
        j = j + 1
      end
      assert(lines[j], ("%s:%d: block '%s' is not closed"):format(API_MD, line_no, name))
      blocks[#blocks + 1] = { name = name, lang = lang, code = table.concat(body, "\n"),
                              line = line_no + 2 }
      i = j + 1
    else
      i = i + 1
    end
  end
  return blocks
end

local r, user_file
-- Read when the file loads, so that each example is its own test.
local blocks = checked_blocks(read_file(API_MD))

setup(function()
  r = realm.start()
  user_file = r.dir .. "/docs-ntlm-users"
  write_file(user_file, "EXAMPLE:bob:Secret-1\n")
end)

describe("docs/api.md", function()
  it("marks its examples for checking (and each marker has its block)", function()
    local lua_blocks, c_blocks = 0, 0
    for _, b in ipairs(blocks) do
      if b.lang == "lua" then lua_blocks = lua_blocks + 1 end
      if b.lang == "c" then c_blocks = c_blocks + 1 end
    end
    assert.is_true(lua_blocks >= 15, "only " .. lua_blocks .. " checked Lua examples")
    assert.are.equal(1, c_blocks)
  end)

  for _, b in ipairs(blocks) do
    if b.lang == "lua" then
      it(("runs the example '%s' (line %d) as printed"):format(b.name, b.line), function()
        local env = setmetatable({ USER_FILE = user_file }, { __index = _G })
        -- chunk line n is page line b.line + n - 1
        local code = b.code
        -- Lua 5.3 has no to-be-closed variables: its run drops the
        -- attribute, and the collector closes those objects instead
        if _VERSION < "Lua 5.4" then code = code:gsub(" <close> =", " =") end
        local chunk = assert(load(code, "@" .. API_MD .. ":" .. b.name, "t", env))
        local ok, err = xpcall(chunk, debug.traceback)
        assert(ok, ("example '%s' (%s line %d) failed: %s"):format(b.name, API_MD, b.line,
                                                                   tostring(err)))
      end)
    end
  end

  it("a failing example fails the check (the runner is not a no-op)", function()
    local env = setmetatable({ USER_FILE = user_file }, { __index = _G })
    local chunk = assert(load([[
      local sspi = require "sspi"
      local c = sspi.context(assert(sspi.credential {
        package = "NTLM", username = "EXAMPLE\\bob", password = "Secret-1" }))
      assert(assert(c:step_init { target = "host/localhost" }).result == "Ok")
    ]], "=probe", "t", env))
    assert.is_false(pcall(chunk))
  end)

  it("compiles the C example against the public header and runs it in the realm", function()
    local code
    for _, b in ipairs(blocks) do
      if b.lang == "c" then code = b.code end
    end
    assert(code, "no C example")
    for _, f in ipairs { BUILD .. "/include/sspi.h", BUILD .. "/libsspi.a" } do
      assert(io.open(f, "rb"), f .. " missing: run `make all` first"):close()
    end
    local src, exe = r.dir .. "/docs_c_api.c", r.dir .. "/docs_c_api"
    write_file(src, code .. "\n")
    local cc = os.getenv("CC") or "cc"
    local out, ok = sh.run(table.concat({
      cc, "-std=c99 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L",
      "-I" .. BUILD .. "/include -o", shell_quote(exe), shell_quote(src), BUILD .. "/libsspi.a",
      "$(pkg-config --libs krb5-gssapi krb5 libssl libcrypto) -lpthread" }, " "))
    assert(ok, "the C example does not compile:\n" .. out)
    out, ok = sh.run(shell_quote(exe))
    assert(ok, "the C example failed:\n" .. out)
    local len = tonumber(out:match("AP%-REQ of (%d+) bytes"))
    assert(len and len > 100, out)
  end)
end)

-- The Negotiate (built-in) column of the status table: the inner
-- mechanism's status comes through.
describe("docs/api.md status table, Negotiate (builtin)", function()
  local REQ = { "MUTUAL_AUTH", "CONFIDENTIALITY", "INTEGRITY", "REPLAY_DETECT", "SEQUENCE_DETECT" }

  -- nil, side, status on failure; client, server when complete
  local function handshake(copts, sopts, target, client_cb, server_cb)
    local c = sspi.context(assert(sspi.credential(copts)))
    local s = sspi.context(assert(sspi.credential(sopts)))
    local token, res
    repeat
      local err, st
      res, err, st = c:step_init { target = target or "host/localhost", context_req = REQ,
                                   input = token and { token, client_cb } or { client_cb } }
      if not res then return nil, "init", st, err end
      if res.token then
        local answer
        answer, err, st = s:step_accept { input = { res.token, server_cb } }
        if not answer then return nil, "accept", st, err end
        token = answer.token
      end
    until res.result == "Ok"
    return c, s
  end

  local server = { package = "Negotiate", usage = "inbound" }

  it("wrong NTLM password: SEC_E_LOGON_DENIED on the acceptor", function()
    local ok, side, st = handshake(
      { package = "Negotiate", mechs = { "NTLM" }, username = "EXAMPLE\\bob", password = "bad" },
      { package = "Negotiate", usage = "inbound", user_file = user_file })
    assert.is_nil(ok)
    assert.are.equal("accept", side)
    assert.are.equal("SEC_E_LOGON_DENIED", st)
  end)

  it("mismatched bindings under Kerberos: SEC_E_BAD_BINDINGS on the acceptor", function()
    local ok, side, st = handshake({ package = "Negotiate" }, server, nil,
      sspi.channel_bindings { application_data = "one" },
      sspi.channel_bindings { application_data = "two" })
    assert.is_nil(ok)
    assert.are.equal("accept", side)
    assert.are.equal("SEC_E_BAD_BINDINGS", st)
  end)

  it("unknown target: SEC_E_TARGET_UNKNOWN with no_fallback, NTLM otherwise", function()
    local ok, side, st = handshake({ package = "Negotiate", mechs = { "Kerberos" }, no_fallback = true },
                                   server, "host/nosuch.sspi.test")
    assert.is_nil(ok)
    assert.are.equal("init", side)
    assert.are.equal("SEC_E_TARGET_UNKNOWN", st)
    local c = assert(handshake(
      { package = "Negotiate", username = "EXAMPLE\\bob", password = "Secret-1" },
      { package = "Negotiate", usage = "inbound", user_file = user_file }, "host/nosuch.sspi.test"))
    assert.are.equal("NTLM", c:query("package_info").name)
  end)

  it("replayed and altered messages: SEC_E_OUT_OF_SEQUENCE, SEC_E_MESSAGE_ALTERED", function()
    local c, s = handshake({ package = "Negotiate" }, server)
    assert(c, s)
    local msg = assert(c:wrap("once"))
    assert.are.equal("once", (s:unwrap(msg)))
    assert.are.equal("SEC_E_OUT_OF_SEQUENCE", select(3, s:unwrap(msg)))
    local msg2 = assert(c:wrap("twice"))
    local altered = msg2:sub(1, -2) .. string.char(msg2:byte(-1) ~ 1)
    assert.are.equal("SEC_E_MESSAGE_ALTERED", select(3, s:unwrap(altered)))
    assert.are.equal("SEC_E_UNSUPPORTED_FUNCTION", select(3, c:query("stream_sizes")))
  end)
end)
