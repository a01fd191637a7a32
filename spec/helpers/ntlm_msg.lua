-- The specs' NTLM message editor: reads and rewrites the fields of
-- NEGOTIATE, CHALLENGE and AUTHENTICATE messages (MS-NLMP 2.2.1) the way an
-- attacker in the middle would, so that a spec can hand the built-in
-- provider an edited token.  lua/sspi/token/ntlm.lua decodes for people;
-- this keeps the raw bytes.

local M = {}

M.AV = { EOL = 0, NB_COMPUTER = 1, NB_DOMAIN = 2, DNS_COMPUTER = 3, DNS_DOMAIN = 4,
         FLAGS = 6, TIMESTAMP = 7, TARGET_NAME = 9, CHANNEL_BINDINGS = 10 }

M.FLAG = { UNICODE = 0x1, SIGN = 0x10, SEAL = 0x20, ESS = 0x80000, KEY_EXCH = 0x40000000,
           N128 = 0x20000000, N56 = 0x80000000 }

-- offsets (0-based) of the flags field in each message type
local FLAGS_AT = { [1] = 12, [2] = 20, [3] = 60 }

function M.type(msg) return (string.unpack("<I4", msg, 9)) end

function M.flags(msg) return (string.unpack("<I4", msg, FLAGS_AT[M.type(msg)] + 1)) end

-- msg with its flags replaced by f(old flags)
function M.with_flags(msg, f)
  local at = FLAGS_AT[M.type(msg)]
  return msg:sub(1, at) .. string.pack("<I4", f(M.flags(msg)) & 0xffffffff) .. msg:sub(at + 5)
end

-- a (len, maxlen, offset) field at a 0-based offset: its bytes
function M.field(msg, at)
  local len, _, off = string.unpack("<I2I2I4", msg, at + 1)
  return msg:sub(off + 1, off + len)
end

-- msg with the field at `at` given the length len (its offset kept)
function M.with_field_length(msg, at, len)
  return msg:sub(1, at) .. string.pack("<I2I2", len, len) .. msg:sub(at + 5)
end

-- AV pairs as a list of { id =, value = } (EOL not included)
function M.av_decode(raw)
  local list, pos = {}, 1
  while pos + 3 <= #raw do
    local id, len = string.unpack("<I2I2", raw, pos)
    if id == 0 then break end
    list[#list + 1] = { id = id, value = raw:sub(pos + 4, pos + 3 + len) }
    pos = pos + 4 + len
  end
  return list
end

function M.av_encode(list)
  local out = {}
  for _, p in ipairs(list) do out[#out + 1] = string.pack("<I2I2", p.id, #p.value) .. p.value end
  out[#out + 1] = string.pack("<I2I2", 0, 0)
  return table.concat(out)
end

function M.av_find(list, id)
  for _, p in ipairs(list) do if p.id == id then return p.value end end
end

-- The CHALLENGE's parts: flags, server_challenge, target_name, av (list).
function M.challenge(msg)
  assert(M.type(msg) == 2, "not a CHALLENGE")
  return { flags = M.flags(msg), server_challenge = msg:sub(25, 32),
           target_name = M.field(msg, 12), av = M.av_decode(M.field(msg, 40)),
           version = msg:sub(49, 56) }
end

-- A CHALLENGE from its parts (the layout Windows and this provider use).
function M.build_challenge(c)
  local info = M.av_encode(c.av)
  local name_at = 56
  local info_at = name_at + #c.target_name
  return "NTLMSSP\0" .. string.pack("<I4", 2)
         .. string.pack("<I2I2I4", #c.target_name, #c.target_name, name_at)
         .. string.pack("<I4", c.flags) .. c.server_challenge .. ("\0"):rep(8)
         .. string.pack("<I2I2I4", #info, #info, info_at) .. c.version
         .. c.target_name .. info
end

-- msg (a CHALLENGE) with its AV pair list replaced by edit(list)
function M.edit_challenge_av(msg, edit)
  local c = M.challenge(msg)
  c.av = edit(c.av) or c.av
  return M.build_challenge(c)
end

-- The list without the pairs of id.
function M.av_without(list, id)
  local out = {}
  for _, p in ipairs(list) do if p.id ~= id then out[#out + 1] = p end end
  return out
end

-- UTF-16LE of an ASCII string, and back
function M.utf16(s) return (s:gsub(".", "%0\0")) end
function M.ascii(u) return (u:gsub("(.)%z", "%1")) end

-- The AUTHENTICATE's NT response and whether its MsvAvFlags announce a MIC.
function M.auth_has_mic(msg)
  local nt = M.field(msg, 20)
  if #nt <= 24 then return false end
  local flags = M.av_find(M.av_decode(nt:sub(16 + 28 + 1)), M.AV.FLAGS)
  return flags ~= nil and (string.unpack("<I4", flags) & 2) ~= 0
end

return M
