-- sspi.token.spnego: SPNEGO negotiation tokens (RFC 4178 NegTokenInit and
-- NegTokenResp, MS-SPNG NegTokenInit2 with its negHints), mechanism OIDs by
-- name, and the inner mechanism token decoded by the caller's function.

local der = require "sspi.token.der"
local bytes = require "sspi.token.bytes"

local fail = der.fail

local spnego = {}

spnego.OID = "1.3.6.1.5.5.2"

spnego.MECH_NAMES = {
  ["1.2.840.113554.1.2.2"] = "Kerberos 5",
  ["1.2.840.48018.1.2.2"] = "Kerberos 5 (Microsoft)",
  ["1.2.840.113554.1.2.2.3"] = "Kerberos 5 user-to-user",
  ["1.3.6.1.5.2.5"] = "IAKERB",
  ["1.3.6.1.4.1.311.2.2.10"] = "NTLMSSP",
  ["1.3.6.1.4.1.311.2.2.30"] = "NEGOEX",
  ["1.3.6.1.5.5.2"] = "SPNEGO",
  ["1.3.6.1.5.5.14"] = "SCRAM-SHA-1",
  ["1.3.6.1.5.5.18"] = "SCRAM-SHA-256",
  ["1.3.6.1.4.1.7165.655.1.3"] = "SPNEGO (Samba NTLM)",
}

-- ContextFlags ::= BIT STRING, RFC 4178 4.2.1.
local CONTEXT_FLAGS = { [0] = "delegFlag", "mutualFlag", "replayFlag", "sequenceFlag",
                        "anonFlag", "confFlag", "integFlag" }

local NEG_STATES = { [0] = "accept-completed", "accept-incomplete", "reject", "request-mic" }

local function mech(oid)
  return { oid = oid, name = spnego.MECH_NAMES[oid] }
end

local function mech_types(b, el)
  if el.tag ~= 0x30 then fail("NegTokenInit mechTypes: expected SEQUENCE OF MechType") end
  local list = bytes.list()
  for i, child in ipairs(der.children(b, el, "NegTokenInit mechTypes")) do
    list[i] = mech(der.oid(b, child, "NegTokenInit mechType"))
  end
  return list
end

local function inner(b, el, what, decode_inner, depth)
  local raw = der.octets(b, el, what)
  local out = { length = #raw }
  if #raw > 0 then
    local decoded, err = decode_inner(raw, depth + 1)
    if decoded then out.decoded = decoded else out.hex = bytes.hex(raw); out.note = err end
  end
  return out
end

local function neg_hints(b, el)
  if el.tag ~= 0x30 then fail("NegTokenInit2 negHints: expected SEQUENCE") end
  local f = der.tagged_fields(b, el, "NegTokenInit2 negHints", 1)
  local hints = {}
  if f[0] then hints.hint_name = bytes.printable(der.string(b, f[0], "negHints hintName")) end
  if f[1] then hints.hint_address = bytes.hex(der.octets(b, f[1], "negHints hintAddress")) end
  return hints
end

local function neg_token_init(b, seq, decode_inner, depth)
  local f = der.tagged_fields(b, seq, "NegTokenInit", 4)
  -- [3] is mechListMIC (an OCTET STRING) in RFC 4178 and negHints (a
  -- SEQUENCE) in MS-SPNG's NegTokenInit2, which moves the MIC to [4].
  local init2 = (f[3] and f[3].tag == 0x30) or f[4] ~= nil
  local out = { protocol = "SPNEGO", type = init2 and "NegTokenInit2" or "NegTokenInit" }
  if f[0] then out.mech_types = mech_types(b, f[0]) else
    -- RFC 4178 makes mechTypes mandatory; MS-SPNG servers omit it in the
    -- NegTokenInit2 they send first, which only carries negHints.
    if not init2 then fail("NegTokenInit: missing mechTypes") end
  end
  if f[1] then
    out.req_flags = bytes.list()
    for _, n in ipairs(der.bits(b, f[1], "NegTokenInit reqFlags")) do
      out.req_flags[#out.req_flags + 1] = CONTEXT_FLAGS[n] or ("bit-" .. n)
    end
  end
  if f[2] then out.mech_token = inner(b, f[2], "NegTokenInit mechToken", decode_inner, depth) end
  if init2 then
    if f[3] then out.neg_hints = neg_hints(b, f[3]) end
    if f[4] then out.mech_list_mic = bytes.hex(der.octets(b, f[4], "NegTokenInit2 mechListMIC")) end
  elseif f[3] then
    out.mech_list_mic = bytes.hex(der.octets(b, f[3], "NegTokenInit mechListMIC"))
  end
  return out
end

local function neg_token_resp(b, seq, decode_inner, depth)
  local f = der.tagged_fields(b, seq, "NegTokenResp", 3)
  local out = { protocol = "SPNEGO", type = "NegTokenResp" }
  if f[0] then
    if f[0].tag ~= 0x0a then fail("NegTokenResp negState: expected ENUMERATED") end
    local state = der.integer(b, f[0], "NegTokenResp negState")
    out.neg_state = NEG_STATES[state] or ("unknown-" .. state)
  end
  if f[1] then out.supported_mech = mech(der.oid(b, f[1], "NegTokenResp supportedMech")) end
  if f[2] then out.response_token = inner(b, f[2], "NegTokenResp responseToken", decode_inner, depth) end
  if f[3] then out.mech_list_mic = bytes.hex(der.octets(b, f[3], "NegTokenResp mechListMIC")) end
  return out
end

-- NegotiationToken ::= CHOICE { [0] NegTokenInit, [1] NegTokenResp }, the
-- element at pos which must fill pos..limit.
function spnego.negotiation_token(b, pos, limit, decode_inner, depth)
  local choice = der.read(b, pos, limit, "NegotiationToken")
  if choice.next ~= limit + 1 then fail("SPNEGO: trailing bytes after the NegotiationToken") end
  if choice.tag ~= 0xa0 and choice.tag ~= 0xa1 then
    fail("SPNEGO: expected NegTokenInit [0] or NegTokenResp [1], found " .. der.describe_tag(choice.tag))
  end
  local seq = der.expect(b, choice.first, choice.last, 0x30, "NegotiationToken")
  if seq.next ~= choice.last + 1 then fail("SPNEGO: trailing bytes inside the NegotiationToken") end
  if choice.tag == 0xa0 then return neg_token_init(b, seq, decode_inner, depth) end
  return neg_token_resp(b, seq, decode_inner, depth)
end

return spnego
