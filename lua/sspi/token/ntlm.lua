-- sspi.token.ntlm: decode NTLM messages (MS-NLMP 2.2.1): NEGOTIATE,
-- CHALLENGE and AUTHENTICATE, with flags by name, AV pairs, version and the
-- NTLMv2 response blob.  Binary fields come back as lowercase hex.
--
-- Every payload field (len, maxlen, offset) is checked against the message
-- before it is read; errors go through der.fail so that sspi.token can turn
-- them into `nil, message`.

local der = require "sspi.token.der"
local bytes = require "sspi.token.bytes"

local fail, hex = der.fail, bytes.hex

local ntlm = {}

ntlm.SIGNATURE = "NTLMSSP\0"

-- NegotiateFlags, MS-NLMP 2.2.2.5 (the r* bits are reserved in the spec).
ntlm.FLAGS = {
  { 0x00000001, "NTLMSSP_NEGOTIATE_UNICODE" },
  { 0x00000002, "NTLM_NEGOTIATE_OEM" },
  { 0x00000004, "NTLMSSP_REQUEST_TARGET" },
  { 0x00000008, "NTLMSSP_RESERVED_R10" },
  { 0x00000010, "NTLMSSP_NEGOTIATE_SIGN" },
  { 0x00000020, "NTLMSSP_NEGOTIATE_SEAL" },
  { 0x00000040, "NTLMSSP_NEGOTIATE_DATAGRAM" },
  { 0x00000080, "NTLMSSP_NEGOTIATE_LM_KEY" },
  { 0x00000100, "NTLMSSP_RESERVED_R9" },
  { 0x00000200, "NTLMSSP_NEGOTIATE_NTLM" },
  { 0x00000400, "NTLMSSP_RESERVED_R8" },
  { 0x00000800, "NTLMSSP_ANONYMOUS" },
  { 0x00001000, "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED" },
  { 0x00002000, "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED" },
  { 0x00004000, "NTLMSSP_RESERVED_R7" },
  { 0x00008000, "NTLMSSP_NEGOTIATE_ALWAYS_SIGN" },
  { 0x00010000, "NTLMSSP_TARGET_TYPE_DOMAIN" },
  { 0x00020000, "NTLMSSP_TARGET_TYPE_SERVER" },
  { 0x00040000, "NTLMSSP_RESERVED_R6" },
  { 0x00080000, "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY" },
  { 0x00100000, "NTLMSSP_NEGOTIATE_IDENTIFY" },
  { 0x00200000, "NTLMSSP_RESERVED_R5" },
  { 0x00400000, "NTLMSSP_REQUEST_NON_NT_SESSION_KEY" },
  { 0x00800000, "NTLMSSP_NEGOTIATE_TARGET_INFO" },
  { 0x01000000, "NTLMSSP_RESERVED_R4" },
  { 0x02000000, "NTLMSSP_NEGOTIATE_VERSION" },
  { 0x04000000, "NTLMSSP_RESERVED_R3" },
  { 0x08000000, "NTLMSSP_RESERVED_R2" },
  { 0x10000000, "NTLMSSP_RESERVED_R1" },
  { 0x20000000, "NTLMSSP_NEGOTIATE_128" },
  { 0x40000000, "NTLMSSP_NEGOTIATE_KEY_EXCH" },
  { 0x80000000, "NTLMSSP_NEGOTIATE_56" },
}

local UNICODE, VERSION_FLAG = 0x00000001, 0x02000000

-- AV_PAIR ids, MS-NLMP 2.2.2.1.
ntlm.AV_IDS = {
  [0] = "MsvAvEOL", "MsvAvNbComputerName", "MsvAvNbDomainName", "MsvAvDnsComputerName",
  "MsvAvDnsDomainName", "MsvAvDnsTreeName", "MsvAvFlags", "MsvAvTimestamp",
  "MsvAvSingleHost", "MsvAvTargetName", "MsvAvChannelBindings",
}

local AV_FLAGS = {
  { 0x1, "ACCOUNT_AUTHENTICATION_CONSTRAINED" },
  { 0x2, "MIC_PROVIDED" },
  { 0x4, "UNTRUSTED_SPN_SOURCE" },
}

local MESSAGE_TYPES = { "NEGOTIATE", "CHALLENGE", "AUTHENTICATE" }

function ntlm.flag_names(value, table_)
  local names = bytes.list()
  for _, row in ipairs(table_ or ntlm.FLAGS) do
    if value & row[1] ~= 0 then names[#names + 1] = row[2] end
  end
  return names
end

local function u16(msg, pos) return (string.unpack("<I2", msg, pos)) end
local function u32(msg, pos) return (string.unpack("<I4", msg, pos)) end

local function need(msg, pos, count, what)
  if pos + count - 1 > #msg then
    fail(string.format("NTLM %s: truncated at byte %d (%d bytes needed, message is %d)",
                       what, pos - 1, count, #msg))
  end
end

-- A payload field descriptor (Len, MaxLen, BufferOffset) at `pos`: the
-- bytes it names, after checking they lie inside the message.
local function field(msg, pos, what)
  need(msg, pos, 8, what)
  local len, offset = u16(msg, pos), u32(msg, pos + 4)
  if len == 0 then return "", nil end
  if offset + len > #msg then
    fail(string.format("NTLM %s: payload at offset %d length %d runs past the message end (%d)",
                       what, offset, len, #msg))
  end
  return msg:sub(offset + 1, offset + len), offset
end

local function text(raw, unicode, what)
  if not unicode then return bytes.printable(raw) end
  local s, err = bytes.utf16le(raw)
  if not s then fail("NTLM " .. what .. ": " .. err) end
  return s
end

-- VERSION, MS-NLMP 2.2.2.10.
local function version(msg, pos)
  need(msg, pos, 8, "VERSION")
  local major, minor, build = string.unpack("<BBI2", msg, pos)
  local revision = msg:byte(pos + 7)
  return {
    major = major, minor = minor, build = build, ntlm_revision = revision,
    text = string.format("%d.%d.%d (NTLM revision %d)", major, minor, build, revision),
  }
end

-- AV_PAIR list, MS-NLMP 2.2.2.1; `unicode` fields are UTF-16LE.
function ntlm.av_pairs(raw)
  local list, pos = bytes.list(), 1
  while true do
    if pos + 3 > #raw then fail("NTLM AV pairs: list ends without MsvAvEOL") end
    local id, len = u16(raw, pos), u16(raw, pos + 2)
    pos = pos + 4
    if pos + len - 1 > #raw then
      fail(string.format("NTLM AV pair %d: length %d runs past the list end", id, len))
    end
    local value = raw:sub(pos, pos + len - 1)
    pos = pos + len
    local name = ntlm.AV_IDS[id] or string.format("MsvAv_0x%04x", id)
    local pair = { id = id, name = name }
    if id == 0 then
      if len ~= 0 then fail("NTLM AV pairs: MsvAvEOL with a value") end
      break
    elseif id >= 1 and id <= 5 or id == 9 then
      pair.value = text(value, true, name)
    elseif id == 6 then
      if len ~= 4 then fail("NTLM MsvAvFlags: length " .. len .. ", expected 4") end
      pair.value = u32(value, 1)
      pair.flag_names = ntlm.flag_names(pair.value, AV_FLAGS)
    elseif id == 7 then
      if len ~= 8 then fail("NTLM MsvAvTimestamp: length " .. len .. ", expected 8") end
      pair.value = string.unpack("<i8", value)
      pair.time = bytes.filetime(pair.value)
    elseif id == 8 then
      if len < 48 then fail("NTLM MsvAvSingleHost: length " .. len .. ", expected at least 48") end
      pair.size = u32(value, 1)
      pair.custom_data = hex(value:sub(9, 16))
      pair.machine_id = hex(value:sub(17, 48))
    else
      pair.value = hex(value)
    end
    list[#list + 1] = pair
  end
  return list
end

local function check_header(msg)
  if #msg < 12 then fail("NTLM: message shorter than its 12-byte header") end
  if msg:sub(1, 8) ~= ntlm.SIGNATURE then fail("NTLM: signature is not NTLMSSP") end
  local t = u32(msg, 9)
  if not MESSAGE_TYPES[t] then fail("NTLM: unknown message type " .. t) end
  return t
end

-- The start of a decoded message: its fixed part checked (`min` bytes
-- from offset 1, or just the flags for NEGOTIATE), flags read at `flags_at`.
local function start(msg, message_type, name, min, flags_at)
  local out = { protocol = "NTLM", message_type = message_type, type = name }
  if min then need(msg, 1, min, name) else need(msg, flags_at, 4, name .. " flags") end
  local flags = u32(msg, flags_at)
  out.flags = flags
  out.flag_names = ntlm.flag_names(flags)
  return out, flags
end

local function negotiate(msg)
  local out, flags = start(msg, 1, "NEGOTIATE", nil, 13)
  -- Old clients stop after the flags; the fields are optional in practice.
  if #msg >= 32 then
    -- Always OEM in NEGOTIATE (MS-NLMP 2.2.1.1).
    out.domain = bytes.printable((field(msg, 17, "NEGOTIATE DomainName")))
    out.workstation = bytes.printable((field(msg, 25, "NEGOTIATE Workstation")))
    if flags & VERSION_FLAG ~= 0 and #msg >= 40 then out.version = version(msg, 33) end
  end
  return out
end

local function challenge(msg)
  local out, flags = start(msg, 2, "CHALLENGE", 32, 21)
  out.target_name = text((field(msg, 13, "CHALLENGE TargetName")), flags & UNICODE ~= 0, "TargetName")
  out.server_challenge = hex(msg:sub(25, 32))
  if #msg >= 48 then
    local info = field(msg, 41, "CHALLENGE TargetInfo")
    if #info > 0 then out.target_info = ntlm.av_pairs(info) end
    if flags & VERSION_FLAG ~= 0 and #msg >= 56 then out.version = version(msg, 49) end
  end
  return out
end

-- NTLMv2_RESPONSE, MS-NLMP 2.2.2.8: NTProofStr then NTLMv2_CLIENT_CHALLENGE.
local function ntlmv2_response(raw)
  if #raw < 16 + 28 then fail("NTLMv2 response: shorter than its fixed part") end
  local blob = {
    nt_proof_str = hex(raw:sub(1, 16)),
    resp_type = raw:byte(17),
    hi_resp_type = raw:byte(18),
    timestamp = (string.unpack("<i8", raw, 25)),
    client_challenge = hex(raw:sub(33, 40)),
  }
  blob.time = bytes.filetime(blob.timestamp)
  if blob.resp_type ~= 1 or blob.hi_resp_type ~= 1 then
    fail(string.format("NTLMv2 response: RespType %d / HiRespType %d, expected 1 / 1",
                       blob.resp_type, blob.hi_resp_type))
  end
  blob.av_pairs = ntlm.av_pairs(raw:sub(45))
  return blob
end

local function authenticate(msg)
  local out, flags = start(msg, 3, "AUTHENTICATE", 64, 61)
  local unicode = flags & UNICODE ~= 0
  local lm, lm_off = field(msg, 13, "AUTHENTICATE LmChallengeResponse")
  local nt, nt_off = field(msg, 21, "AUTHENTICATE NtChallengeResponse")
  local domain, d_off = field(msg, 29, "AUTHENTICATE DomainName")
  local user, u_off = field(msg, 37, "AUTHENTICATE UserName")
  local ws, w_off = field(msg, 45, "AUTHENTICATE Workstation")
  local key, k_off = field(msg, 53, "AUTHENTICATE EncryptedRandomSessionKey")
  out.domain = text(domain, unicode, "DomainName")
  out.user = text(user, unicode, "UserName")
  out.workstation = text(ws, unicode, "Workstation")
  if #key > 0 then out.encrypted_random_session_key = hex(key) end
  -- The payload starts after the fixed part; where it starts says whether
  -- the optional VERSION (8 bytes at 64) and MIC (16 bytes at 72) are there.
  local payload_start = #msg
  for _, off in ipairs({ lm_off or #msg, nt_off or #msg, d_off or #msg, u_off or #msg,
                         w_off or #msg, k_off or #msg }) do
    if off < payload_start then payload_start = off end
  end
  if payload_start < 64 then fail("NTLM AUTHENTICATE: payload overlaps the fixed header") end
  if flags & VERSION_FLAG ~= 0 and payload_start >= 72 then out.version = version(msg, 65) end
  if payload_start >= 88 then out.mic = hex(msg:sub(73, 88)) end

  if #nt == 0 then
    out.response_kind = (#lm <= 1) and "anonymous" or "lm-only"
  elseif #nt == 24 then
    local ess = flags & 0x00080000 ~= 0
    out.response_kind = ess and "NTLMv1 with extended session security" or "NTLMv1"
    out.nt_response = hex(nt)
    if ess and #lm == 24 then out.client_challenge = hex(lm:sub(1, 8)) end
  else
    out.response_kind = "NTLMv2"
    out.ntlmv2 = ntlmv2_response(nt)
  end
  if #lm > 0 then out.lm_response = hex(lm) end
  return out
end

-- Decodes one NTLM message; errors raise via der.fail.
function ntlm.decode(msg)
  local t = check_header(msg)
  if t == 1 then return negotiate(msg)
  elseif t == 2 then return challenge(msg)
  else return authenticate(msg) end
end

return ntlm
