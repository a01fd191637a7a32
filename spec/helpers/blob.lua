-- Exported blobs (ctx:export, cred:export) taken apart and put together
-- again for the specs: the core's envelope (csrc/core/envelope.c) with a
-- correct length and SHA-256 digest around a payload the spec edits, so an
-- edit reaches the package's own parser instead of stopping at the digest.
-- And the child process a moved context continues in.
local LUA_BUILD = require "helpers.build"
local sh = require "helpers.sh"

local blob = {}

-- header (magic, version, kind, reserved: 12 bytes), the body before the
-- payload (names and fixed fields), and the payload.
function blob.split(b)
  assert(b:sub(1, 8) == "SSPIBLOB", "not an sspi blob")
  local at = 17
  at = at + 1 + b:byte(at) -- package
  at = at + 1 + b:byte(at) -- backend
  at = at + 17             -- side, context_req, ret_flags, expiry
  local plen = string.unpack(">I4", b, at)
  return b:sub(1, 12), b:sub(17, at - 1), b:sub(at + 4, at + 3 + plen)
end

function blob.sha256(data)
  sh.require_tool("openssl")
  local out = sh.must("openssl dgst -sha256 -binary", data, "blob.sha256")
  assert(#out == 32, "openssl dgst printed " .. #out .. " bytes")
  return out
end

-- An intact envelope (lengths, digest) around payload.
function blob.join(header, prefix, payload)
  local body = prefix .. string.pack(">I4", #payload) .. payload
  local head = header .. string.pack(">I4", #body) .. body
  return head .. blob.sha256(head)
end

-- The blob with its payload replaced by edit(payload).
function blob.reseal(b, edit)
  local header, prefix, payload = blob.split(b)
  return blob.join(header, prefix, edit(payload))
end

-- Runs a script in a new process of the Lua the build is for (with
-- LUA_CPATH = cpath when given: another build of the module); returns its
-- output or raises with it.
function blob.run_child(dir, script, cpath)
  local path = dir .. "/child.lua"
  sh.write_file(path, script)
  local env = cpath and ("LUA_CPATH=" .. sh.quote(cpath) .. " ") or ""
  local p = assert(io.popen(env .. LUA_BUILD.lua .. " " .. sh.quote(path) .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "the child process failed:\n" .. out)
  return out
end

return blob
