-- sspi.token: decode authentication tokens into Lua tables, for people
-- reading traces and for tests that check what went over the wire.
--
--   local token = require "sspi.token"
--   local t, err = token.decode(bytes)      -- raw token bytes
--   local t, err = token.parse(text)        -- base64, hex, "Negotiate <b64>" or raw
--   print(token.to_text(t)) ; print(token.to_json(t))
--
-- Recognised: NTLM NEGOTIATE / CHALLENGE / AUTHENTICATE (flags by name, AV
-- pairs, version, NTLMv2 blob); SPNEGO NegTokenInit, NegTokenInit2,
-- NegTokenResp (mechanisms by name, inner token decoded); Kerberos AP-REQ,
-- AP-REP, KRB-ERROR (outer fields), bare or inside the GSSAPI
-- InitialContextToken (0x60, mechanism OID, TOK_ID); RFC 4121 MIC and Wrap
-- token headers; TLS records (Schannel): content type, version, handshake
-- messages, ClientHello/ServerHello (cipher suites, SNI, ALPN, versions,
-- key share groups), alerts.  Binary fields are lowercase hex strings.
--
-- Malformed input never raises: every decoder returns nil and a message
-- that says what was wrong and where.  Needs the C module (sspi.core) for
-- base64 text only.

local der = require "sspi.token.der"
local bytes = require "sspi.token.bytes"
local ntlm = require "sspi.token.ntlm"
local spnego = require "sspi.token.spnego"
local kerberos = require "sspi.token.kerberos"
local format = require "sspi.token.format"
local tls = require "sspi.token.tls"

local fail = der.fail

local token = {}

-- Nesting limit: SPNEGO carries a mechanism token which could itself be
-- SPNEGO; real tokens nest once.
local MAX_DEPTH = 4

local KERBEROS_OIDS = {
  [kerberos.OID_KRB5] = true, [kerberos.OID_MS_KRB5] = true,
  [kerberos.OID_KRB5_U2U] = true, [kerberos.OID_IAKERB] = true,
}

local decode_raw -- forward

-- Runs a decoder; our decode errors become nil, message.  Anything else is
-- a bug in this module and is raised as is, so that tests see it.
local function protected(fn, ...)
  local ok, result = pcall(fn, ...)
  if ok then return result end
  if der.is_decode_error(result) then return nil, result.message end
  error(result, 0)
end

local function decode_inner(raw, depth)
  return protected(decode_raw, raw, depth)
end

-- GSSAPI InitialContextToken (RFC 2743 3.1): [APPLICATION 0] IMPLICIT
-- SEQUENCE { thisMech OID, innerContextToken ANY }.
local function gss_wrapped(b, depth)
  local outer = der.read(b, 1, #b, "GSSAPI InitialContextToken")
  if outer.next ~= #b + 1 then fail("GSSAPI InitialContextToken: trailing bytes after the token") end
  local oid_el = der.read(b, outer.first, outer.last, "GSSAPI thisMech")
  local oid = der.oid(b, oid_el, "GSSAPI thisMech")
  local wrapper = { mech_oid = oid, mech_name = spnego.MECH_NAMES[oid] }
  local pos, limit = oid_el.next, outer.last
  local result
  if oid == spnego.OID then
    result = spnego.negotiation_token(b, pos, limit, decode_inner, depth)
  elseif KERBEROS_OIDS[oid] then
    if pos + 1 > limit then fail("Kerberos InitialContextToken: missing TOK_ID") end
    local id = bytes.hex(b:sub(pos, pos + 1))
    wrapper.tok_id = id
    wrapper.tok_id_name = kerberos.TOK_IDS[id]
    if id == "0100" or id == "0200" or id == "0300" then
      result = kerberos.message(b, pos + 2, limit)
    else
      result = { protocol = "Kerberos", type = wrapper.tok_id_name or ("TOK_ID " .. id),
                 inner_length = limit - pos - 1 }
    end
  else
    result = { protocol = "GSSAPI", type = "InitialContextToken",
               inner_length = limit - pos + 1, inner = bytes.hex(b:sub(pos, limit)) }
  end
  result.gss_wrapper = wrapper
  return result
end

function decode_raw(b, depth)
  depth = depth or 0
  if depth > MAX_DEPTH then fail("token nested more than " .. MAX_DEPTH .. " levels deep") end
  if type(b) ~= "string" then fail("token must be a string, got " .. type(b)) end
  if #b == 0 then fail("empty token") end
  if b:sub(1, 7) == "NTLMSSP" then return ntlm.decode(b) end
  local first, second = b:byte(1, 2)
  if first == 0x60 then return gss_wrapped(b, depth) end
  if first == 0xa0 or first == 0xa1 then
    return spnego.negotiation_token(b, 1, #b, decode_inner, depth)
  end
  if first == 0x6e or first == 0x6f or first == 0x7e then return kerberos.message(b, 1, #b) end
  if (first == 0x04 or first == 0x05) and second == 0x04 then return kerberos.per_message(b) end
  if tls.looks_like(b) then return tls.records(b) end
  fail(string.format("unrecognised token: first byte 0x%02x is not NTLM, SPNEGO, GSSAPI, Kerberos or TLS",
                     first))
end

--- Decodes raw token bytes.  Returns a table, or nil and a message.
function token.decode(b)
  return protected(decode_raw, b, 0)
end

--- Recognises how a token was written (base64, hex, an HTTP header value,
-- raw bytes).  Returns the bytes and the form ("base64" | "hex" | "raw").
function token.read_input(text)
  return bytes.parse_input(text)
end

--- read_input + decode.  Returns the table (with `input_form` set), or nil
-- and a message.
function token.parse(text)
  local b, form = bytes.parse_input(text)
  if not b then return nil, form end
  local t, err = token.decode(b)
  if not t then return nil, err end
  t.input_form = form
  return t
end

function token.to_json(t) return format.json(t) end
function token.to_text(t) return format.text(t) end

--- NTLM NegotiateFlags as a list of names.
function token.ntlm_flag_names(mask)
  if math.type(mask) ~= "integer" then error("bad argument #1 to 'ntlm_flag_names' (integer expected)", 2) end
  return ntlm.flag_names(mask)
end

--- The name of a mechanism OID ("1.2.840.113554.1.2.2" -> "Kerberos 5"), or nil.
function token.mech_name(oid) return spnego.MECH_NAMES[oid] end

token.hex = bytes.hex
token.from_hex = bytes.from_hex
token.base64 = bytes.to_base64
token.from_base64 = bytes.from_base64

return token
