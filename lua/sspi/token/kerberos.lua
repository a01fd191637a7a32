-- sspi.token.kerberos: the outer fields of Kerberos messages that travel
-- as GSSAPI context tokens (RFC 4120 AP-REQ, AP-REP, KRB-ERROR), the RFC
-- 1964/4121 InitialContextToken wrapper (0x60, mech OID, TOK_ID), and the
-- RFC 4121 MIC and Wrap token headers.  Encrypted parts stay encrypted:
-- we show their etype, kvno and cipher length.

local der = require "sspi.token.der"
local bytes = require "sspi.token.bytes"

local fail = der.fail

local kerberos = {}

kerberos.OID_KRB5 = "1.2.840.113554.1.2.2"
kerberos.OID_MS_KRB5 = "1.2.840.48018.1.2.2"
kerberos.OID_KRB5_U2U = "1.2.840.113554.1.2.2.3"
kerberos.OID_IAKERB = "1.3.6.1.5.2.5"

kerberos.TOK_IDS = {
  ["0100"] = "KRB_AP_REQ", ["0200"] = "KRB_AP_REP", ["0300"] = "KRB_ERROR",
  ["0404"] = "MIC", ["0504"] = "WRAP", ["0501"] = "IAKERB_PROXY",
  ["0101"] = "KRB_TGT_REQ", ["0401"] = "KRB_TGT_REP",
}

kerberos.ETYPES = {
  [1] = "des-cbc-crc", [2] = "des-cbc-md4", [3] = "des-cbc-md5", [16] = "des3-cbc-sha1",
  [17] = "aes128-cts-hmac-sha1-96", [18] = "aes256-cts-hmac-sha1-96",
  [19] = "aes128-cts-hmac-sha256-128", [20] = "aes256-cts-hmac-sha384-192",
  [23] = "rc4-hmac", [24] = "rc4-hmac-exp", [25] = "camellia128-cts-cmac",
  [26] = "camellia256-cts-cmac",
}

kerberos.NAME_TYPES = {
  [0] = "NT-UNKNOWN", [1] = "NT-PRINCIPAL", [2] = "NT-SRV-INST", [3] = "NT-SRV-HST",
  [4] = "NT-SRV-XHST", [5] = "NT-UID", [6] = "NT-X500-PRINCIPAL", [7] = "NT-SMTP-NAME",
  [10] = "NT-ENTERPRISE", [11] = "NT-WELLKNOWN", [-128] = "NT-MS-PRINCIPAL",
}

-- RFC 4120 7.5.9 (the ones a context token can carry or an admin meets).
kerberos.ERROR_CODES = {
  [0] = "KDC_ERR_NONE", [6] = "KDC_ERR_C_PRINCIPAL_UNKNOWN", [7] = "KDC_ERR_S_PRINCIPAL_UNKNOWN",
  [12] = "KDC_ERR_POLICY", [14] = "KDC_ERR_ETYPE_NOSUPP", [18] = "KDC_ERR_CLIENT_REVOKED",
  [23] = "KDC_ERR_KEY_EXPIRED", [24] = "KDC_ERR_PREAUTH_FAILED", [25] = "KDC_ERR_PREAUTH_REQUIRED",
  [31] = "KRB_AP_ERR_BAD_INTEGRITY", [32] = "KRB_AP_ERR_TKT_EXPIRED", [33] = "KRB_AP_ERR_TKT_NYV",
  [34] = "KRB_AP_ERR_REPEAT", [35] = "KRB_AP_ERR_NOT_US", [36] = "KRB_AP_ERR_BADMATCH",
  [37] = "KRB_AP_ERR_SKEW", [38] = "KRB_AP_ERR_BADADDR", [39] = "KRB_AP_ERR_BADVERSION",
  [40] = "KRB_AP_ERR_MSG_TYPE", [41] = "KRB_AP_ERR_MODIFIED", [42] = "KRB_AP_ERR_BADORDER",
  [44] = "KRB_AP_ERR_BADKEYVER", [45] = "KRB_AP_ERR_NOKEY", [46] = "KRB_AP_ERR_MUT_FAIL",
  [47] = "KRB_AP_ERR_BADDIRECTION", [48] = "KRB_AP_ERR_METHOD", [49] = "KRB_AP_ERR_BADSEQ",
  [50] = "KRB_AP_ERR_INAPP_CKSUM", [52] = "KRB_ERR_RESPONSE_TOO_BIG", [60] = "KRB_ERR_GENERIC",
  [61] = "KRB_ERR_FIELD_TOOLONG", [68] = "KDC_ERR_WRONG_REALM",
}

local AP_OPTIONS = { [0] = "reserved", [1] = "use-session-key", [2] = "mutual-required" }

local function int_field(b, fields, n, what)
  local el = fields[n]
  if not el then fail(what .. ": missing") end
  return der.integer(b, el, what)
end

local function principal(b, el, what)
  if el.tag ~= 0x30 then fail(what .. ": expected PrincipalName SEQUENCE, found " .. der.describe_tag(el.tag)) end
  local f = der.tagged_fields(b, el, what, 1)
  local name_type = int_field(b, f, 0, what .. " name-type")
  if not f[1] then fail(what .. ": missing name-string") end
  local parts = bytes.list()
  for i, s in ipairs(der.children(b, f[1], what .. " name-string")) do
    parts[i] = bytes.printable(der.string(b, s, what .. " component"))
  end
  return {
    name_type = name_type,
    name_type_name = kerberos.NAME_TYPES[name_type],
    components = parts,
    text = table.concat(parts, "/"),
  }
end

local function encrypted_data(b, el, what)
  if el.tag ~= 0x30 then fail(what .. ": expected EncryptedData SEQUENCE") end
  local f = der.tagged_fields(b, el, what, 2)
  local etype = int_field(b, f, 0, what .. " etype")
  if not f[2] then fail(what .. ": missing cipher") end
  return {
    etype = etype,
    etype_name = kerberos.ETYPES[etype],
    kvno = f[1] and der.integer(b, f[1], what .. " kvno") or nil,
    cipher_length = #der.octets(b, f[2], what .. " cipher"),
  }
end

local function check_pvno(b, f, msg_type, what)
  local pvno = int_field(b, f, 0, what .. " pvno")
  if pvno ~= 5 then fail(what .. ": pvno " .. pvno .. ", expected 5") end
  local mt = int_field(b, f, 1, what .. " msg-type")
  if mt ~= msg_type then fail(string.format("%s: msg-type %d, expected %d", what, mt, msg_type)) end
end

-- The fields of a Kerberos message (a SEQUENCE of [n] fields, up to
-- `count`), after checking pvno [0] and msg-type [1].
local function message_fields(b, el, what, count, msg_type)
  local seq = der.expect(b, el.first, el.last, 0x30, what)
  local f = der.tagged_fields(b, seq, what, count)
  check_pvno(b, f, msg_type, what)
  return f
end

local function ticket(b, el)
  if el.tag ~= 0x61 then fail("Ticket: expected [APPLICATION 1], found " .. der.describe_tag(el.tag)) end
  local seq = der.expect(b, el.first, el.last, 0x30, "Ticket")
  local f = der.tagged_fields(b, seq, "Ticket", 3)
  local vno = int_field(b, f, 0, "Ticket tkt-vno")
  if not (f[1] and f[2] and f[3]) then fail("Ticket: missing realm, sname or enc-part") end
  local sname = principal(b, f[2], "Ticket sname")
  local realm = bytes.printable(der.string(b, f[1], "Ticket realm"))
  return {
    tkt_vno = vno,
    realm = realm,
    sname = sname,
    server = sname.text .. "@" .. realm,
    enc_part = encrypted_data(b, f[3], "Ticket enc-part"),
  }
end

local function ap_req(b, el)
  local f = message_fields(b, el, "AP-REQ", 4, 14)
  if not (f[2] and f[3] and f[4]) then fail("AP-REQ: missing ap-options, ticket or authenticator") end
  local options = bytes.list()
  for _, n in ipairs(der.bits(b, f[2], "AP-REQ ap-options")) do
    options[#options + 1] = AP_OPTIONS[n] or ("bit-" .. n)
  end
  return {
    protocol = "Kerberos", type = "AP-REQ", msg_type = 14,
    ap_options = options,
    ticket = ticket(b, f[3]),
    authenticator = encrypted_data(b, f[4], "AP-REQ authenticator"),
  }
end

local function ap_rep(b, el)
  local f = message_fields(b, el, "AP-REP", 2, 15)
  if not f[2] then fail("AP-REP: missing enc-part") end
  return {
    protocol = "Kerberos", type = "AP-REP", msg_type = 15,
    enc_part = encrypted_data(b, f[2], "AP-REP enc-part"),
  }
end

local function krb_error(b, el)
  local f = message_fields(b, el, "KRB-ERROR", 12, 30)
  local code = int_field(b, f, 6, "KRB-ERROR error-code")
  if not (f[4] and f[5] and f[9] and f[10]) then
    fail("KRB-ERROR: missing stime, susec, realm or sname")
  end
  local out = {
    protocol = "Kerberos", type = "KRB-ERROR", msg_type = 30,
    error_code = code, error_name = kerberos.ERROR_CODES[code],
    stime = der.time(b, f[4], "KRB-ERROR stime"),
    susec = der.integer(b, f[5], "KRB-ERROR susec"),
    realm = bytes.printable(der.string(b, f[9], "KRB-ERROR realm")),
    sname = principal(b, f[10], "KRB-ERROR sname"),
  }
  if f[2] then out.ctime = der.time(b, f[2], "KRB-ERROR ctime") end
  if f[3] then out.cusec = der.integer(b, f[3], "KRB-ERROR cusec") end
  if f[7] then out.crealm = bytes.printable(der.string(b, f[7], "KRB-ERROR crealm")) end
  if f[8] then out.cname = principal(b, f[8], "KRB-ERROR cname") end
  if f[11] then out.e_text = bytes.printable(der.string(b, f[11], "KRB-ERROR e-text")) end
  if f[12] then out.e_data = bytes.hex(der.octets(b, f[12], "KRB-ERROR e-data")) end
  return out
end

local APPLICATION = { [0x6e] = ap_req, [0x6f] = ap_rep, [0x7e] = krb_error }

-- A bare Kerberos message (no GSS wrapper) starting at pos, filling the
-- whole of pos..limit.
function kerberos.message(b, pos, limit)
  local el = der.read(b, pos, limit, "Kerberos message")
  local decode = APPLICATION[el.tag]
  if not decode then fail("Kerberos: not an AP-REQ, AP-REP or KRB-ERROR (" .. der.describe_tag(el.tag) .. ")") end
  if el.next ~= limit + 1 then fail("Kerberos: trailing bytes after the message") end
  return decode(b, el)
end

-- RFC 4121 4.2.6: the per-message token headers (no DER).
local TOKEN_FLAGS = { { 0x01, "SentByAcceptor" }, { 0x02, "Sealed" }, { 0x04, "AcceptorSubkey" } }

function kerberos.per_message(b)
  if #b < 16 then fail("RFC 4121 token: shorter than its 16-byte header") end
  local id = bytes.hex(b:sub(1, 2))
  local flags = b:byte(3)
  local names = bytes.list()
  for _, row in ipairs(TOKEN_FLAGS) do
    if flags & row[1] ~= 0 then names[#names + 1] = row[2] end
  end
  local out = { protocol = "Kerberos", flags = flags, flag_names = names,
                snd_seq = (string.unpack(">i8", b, 9)) }
  if id == "0404" then
    if b:sub(4, 8) ~= ("\255"):rep(5) then fail("RFC 4121 MIC token: filler is not FF FF FF FF FF") end
    if #b == 16 then fail("RFC 4121 MIC token: no checksum") end
    out.type = "MIC"
    out.checksum = bytes.hex(b:sub(17))
  elseif id == "0504" then
    if b:byte(4) ~= 0xff then fail("RFC 4121 Wrap token: filler is not FF") end
    out.type = "WRAP"
    out.ec = (string.unpack(">I2", b, 5))
    out.rrc = (string.unpack(">I2", b, 7))
    out.payload_length = #b - 16
  else
    fail("RFC 4121 token: unknown TOK_ID " .. id)
  end
  return out
end

kerberos.principal = principal

return kerberos
