-- sspi.token.bytes: byte-level helpers shared by the token decoders:
-- hex, base64, UTF-16LE to UTF-8, Windows FILETIME, and recognising how a
-- token was written down (base64, hex or raw bytes).

local base = require "sspi.base"

local bytes = {}

-- Marks a table as a list, so that an empty one still prints as a JSON
-- array ([] rather than {}).
bytes.LIST = { __name = "sspi.token.list" }
function bytes.list(t)
  return setmetatable(t or {}, bytes.LIST)
end

-- The public helpers (token.hex, token.from_hex, token.base64,
-- token.from_base64) take strings only: anything else is a programming
-- error, raised naming the argument like the C module does.
local function check_string(s, fname)
  if type(s) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(s)), 3)
  end
end

function bytes.hex(s)
  check_string(s, "hex")
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function bytes.from_hex(s)
  check_string(s, "from_hex")
  if #s % 2 ~= 0 or s:find("[^%x]") then return nil, "not hexadecimal" end
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

-- The layer's one base64 codec (sspi.base), lenient on input: tokens
-- pasted by people come with or without padding, and in base64url too
-- (copied out of URLs and JSON web stacks).
function bytes.to_base64(s)
  local text = base.b64encode(s, "base64") -- not a tail call: errors name our caller
  return text
end

function bytes.from_base64(s)
  check_string(s, "from_base64")
  return base.b64decode(s, true)
end

-- How a token was written: an HTTP header value ("Negotiate <b64>", with
-- or without "Authorization:"), hex (with or without spaces/colons), base64,
-- or raw bytes.  Returns the bytes and the form that was recognised.
function bytes.parse_input(text)
  if type(text) ~= "string" then return nil, "token must be a string" end
  if text == "" then return nil, "empty token" end
  -- Raw binary: any byte that cannot appear in base64, hex or a header line.
  -- (Every real token has some: DER lengths, NTLM's NUL after "NTLMSSP".)
  if text:find("[%z\1-\8\14-\31\127-\255]") then return text, "raw" end
  local s = text:gsub("^%s+", ""):gsub("%s+$", "")
  s = s:gsub("^[%w-]+:%s*", function(h)
    local name = h:lower():match("^([%w-]+)")
    if name == "authorization" or name == "www-authenticate" or name == "proxy-authorization"
       or name == "proxy-authenticate" then return "" end
    return nil
  end)
  local scheme, rest = s:match("^(%a+)%s+(%S+)$")
  if scheme then
    local lower = scheme:lower()
    if lower == "negotiate" or lower == "ntlm" or lower == "kerberos" then s = rest end
  end
  if s == "" then return nil, "empty token" end
  local compact = s:gsub("[%s:]", "")
  if not compact:find("[^%x]") and #compact % 2 == 0 then
    return bytes.from_hex(compact), "hex"
  end
  local b64 = s:gsub("%s", "")
  local decoded = bytes.from_base64(b64)
  if decoded and #decoded > 0 then return decoded, "base64" end
  return nil, "not base64, hex or a binary token"
end

-- UTF-16LE -> UTF-8.  Unpaired surrogates become U+FFFD so that a hostile
-- name still prints; an odd byte count is an error for the caller.
function bytes.utf16le(s)
  if #s % 2 ~= 0 then return nil, "odd length for UTF-16" end
  local out, i = {}, 1
  while i <= #s do
    local u = string.unpack("<I2", s, i)
    i = i + 2
    if u >= 0xd800 and u <= 0xdbff and i <= #s then
      local lo = string.unpack("<I2", s, i)
      if lo >= 0xdc00 and lo <= 0xdfff then
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
        i = i + 2
      else
        u = 0xfffd
      end
    elseif u >= 0xd800 and u <= 0xdfff then
      u = 0xfffd
    end
    out[#out + 1] = utf8.char(u)
  end
  return table.concat(out)
end

-- Windows FILETIME (100 ns since 1601-01-01 UTC) -> ISO 8601 UTC text.
local EPOCH_DIFF = 11644473600
function bytes.filetime(ft)
  if ft < 0 then return nil end
  local secs = ft // 10000000 - EPOCH_DIFF
  if secs < 0 or secs > 253402300799 then return nil end
  local frac = ft % 10000000
  return os.date("!%Y-%m-%dT%H:%M:%S", secs) .. string.format(".%07dZ", frac)
end

-- Text that is valid UTF-8 stays; anything else is read as Latin-1 so that
-- OEM strings print without producing invalid UTF-8.
function bytes.printable(s)
  if utf8.len(s) then return s end
  return (s:gsub("[\128-\255]", function(c) return utf8.char(c:byte()) end))
end

return bytes
