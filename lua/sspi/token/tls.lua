-- sspi.token.tls: decode TLS records (what the Schannel package's steps
-- exchange) for reading traces: each record's content type, version and
-- length; plaintext handshake messages by type, with ClientHello and
-- ServerHello opened up (cipher suites offered or chosen by IANA name, SNI,
-- ALPN, supported versions, key share groups); alerts by level and
-- description.  Encrypted records are reported as such, never guessed at.

local der = require "sspi.token.der"
local bytes = require "sspi.token.bytes"

local fail = der.fail

local tls = {}

local CONTENT_TYPES = { [20] = "change_cipher_spec", [21] = "alert", [22] = "handshake",
                        [23] = "application_data", [24] = "heartbeat" }

local HANDSHAKE_TYPES = {
  [0] = "hello_request", [1] = "client_hello", [2] = "server_hello", [4] = "new_session_ticket",
  [5] = "end_of_early_data", [8] = "encrypted_extensions", [11] = "certificate",
  [12] = "server_key_exchange", [13] = "certificate_request", [14] = "server_hello_done",
  [15] = "certificate_verify", [16] = "client_key_exchange", [20] = "finished",
  [24] = "key_update", [254] = "message_hash",
}

local VERSIONS = { [0x0300] = "SSL 3.0", [0x0301] = "TLS 1.0", [0x0302] = "TLS 1.1",
                   [0x0303] = "TLS 1.2", [0x0304] = "TLS 1.3" }

local SUITES = {
  [0x1301] = "TLS_AES_128_GCM_SHA256", [0x1302] = "TLS_AES_256_GCM_SHA384",
  [0x1303] = "TLS_CHACHA20_POLY1305_SHA256", [0x1304] = "TLS_AES_128_CCM_SHA256",
  [0x1305] = "TLS_AES_128_CCM_8_SHA256",
  [0xC02B] = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  [0xC02C] = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  [0xC02F] = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  [0xC030] = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  [0xCCA8] = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  [0xCCA9] = "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  [0xCCAA] = "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  [0x009E] = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", [0x009F] = "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
  [0xC023] = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
  [0xC024] = "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
  [0xC027] = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
  [0xC028] = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
  [0xC009] = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", [0xC00A] = "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
  [0xC013] = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", [0xC014] = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
  [0x0067] = "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", [0x006B] = "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
  [0x009C] = "TLS_RSA_WITH_AES_128_GCM_SHA256", [0x009D] = "TLS_RSA_WITH_AES_256_GCM_SHA384",
  [0x002F] = "TLS_RSA_WITH_AES_128_CBC_SHA", [0x0035] = "TLS_RSA_WITH_AES_256_CBC_SHA",
  [0x003C] = "TLS_RSA_WITH_AES_128_CBC_SHA256", [0x003D] = "TLS_RSA_WITH_AES_256_CBC_SHA256",
  [0x00FF] = "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
}

local GROUPS = { [23] = "secp256r1", [24] = "secp384r1", [25] = "secp521r1", [29] = "x25519",
                 [30] = "x448", [256] = "ffdhe2048", [257] = "ffdhe3072", [258] = "ffdhe4096" }

local EXTENSIONS = { [0] = "server_name", [10] = "supported_groups", [11] = "ec_point_formats",
                     [13] = "signature_algorithms", [16] = "application_layer_protocol_negotiation",
                     [22] = "encrypt_then_mac", [23] = "extended_master_secret",
                     [35] = "session_ticket", [41] = "pre_shared_key", [42] = "early_data",
                     [43] = "supported_versions", [45] = "psk_key_exchange_modes",
                     [49] = "post_handshake_auth", [51] = "key_share",
                     [65281] = "renegotiation_info" }

local ALERTS = { [0] = "close_notify", [10] = "unexpected_message", [20] = "bad_record_mac",
                 [22] = "record_overflow", [40] = "handshake_failure", [42] = "bad_certificate",
                 [43] = "unsupported_certificate", [44] = "certificate_revoked",
                 [45] = "certificate_expired", [46] = "certificate_unknown",
                 [47] = "illegal_parameter", [48] = "unknown_ca", [49] = "access_denied",
                 [50] = "decode_error", [51] = "decrypt_error", [70] = "protocol_version",
                 [71] = "insufficient_security", [80] = "internal_error",
                 [86] = "inappropriate_fallback", [90] = "user_canceled",
                 [109] = "missing_extension", [110] = "unsupported_extension",
                 [112] = "unrecognized_name", [116] = "certificate_required",
                 [120] = "no_application_protocol" }

-- A cursor over b[first..last]; reads raise decode errors naming `what`.
local function reader(b, first, last, what)
  local r = { pos = first }
  function r.need(n, field)
    if r.pos + n - 1 > last then fail(("%s: %s truncated"):format(what, field)) end
  end
  function r.u(n, field)
    r.need(n, field)
    local v = 0
    for i = 0, n - 1 do v = v * 256 + b:byte(r.pos + i) end
    r.pos = r.pos + n
    return v
  end
  function r.bytes(n, field)
    r.need(n, field)
    local s = b:sub(r.pos, r.pos + n - 1)
    r.pos = r.pos + n
    return s
  end
  function r.vector(lenbytes, field)
    local n = r.u(lenbytes, field .. " length")
    local start = r.pos
    r.need(n, field)
    r.pos = r.pos + n
    return start, start + n - 1
  end
  function r.left() return last - r.pos + 1 end
  return r
end

local function version_name(v) return VERSIONS[v] or ("0x%04x"):format(v) end
local function suite_name(v) return SUITES[v] or ("0x%04X"):format(v) end

-- Extensions of a hello: names, and the ones worth reading opened up.
local function extensions(b, first, last, out, hello)
  local r = reader(b, first, last, hello .. " extensions")
  local names = bytes.list()
  while r.left() > 0 do
    local etype = r.u(2, "extension type")
    local s, e = r.vector(2, "extension data")
    names[#names + 1] = EXTENSIONS[etype] or ("0x%04x"):format(etype)
    local x = reader(b, s, e, EXTENSIONS[etype] or "extension")
    if etype == 0 and hello == "ClientHello" and e >= s then
      local ls, le = x.vector(2, "server name list")
      local y = reader(b, ls, le, "server_name")
      while y.left() > 0 do
        local kind = y.u(1, "name type")
        local ns, ne = y.vector(2, "host name")
        if kind == 0 then out.server_name = b:sub(ns, ne) end
      end
    elseif etype == 16 and e >= s then
      local ls, le = x.vector(2, "protocol name list")
      local y = reader(b, ls, le, "ALPN")
      local protos = bytes.list()
      while y.left() > 0 do
        local ps, pe = y.vector(1, "protocol name")
        protos[#protos + 1] = b:sub(ps, pe)
      end
      out.alpn = protos
    elseif etype == 43 then
      if hello == "ClientHello" then
        local ls, le = x.vector(1, "versions")
        local y = reader(b, ls, le, "supported_versions")
        local vs = bytes.list()
        while y.left() > 0 do vs[#vs + 1] = version_name(y.u(2, "version")) end
        out.supported_versions = vs
      else
        out.selected_version = version_name(x.u(2, "selected version"))
      end
    elseif etype == 51 then
      local groups = bytes.list()
      if hello == "ClientHello" then
        local ls, le = x.vector(2, "client shares")
        local y = reader(b, ls, le, "key_share")
        while y.left() > 0 do
          local g = y.u(2, "group")
          y.vector(2, "key exchange")
          groups[#groups + 1] = GROUPS[g] or ("0x%04x"):format(g)
        end
      else
        local g = x.u(2, "group")
        groups[1] = GROUPS[g] or ("0x%04x"):format(g)
      end
      out.key_share = groups
    end
  end
  out.extensions = names
end

local function hello(b, first, last, m, client)
  local what = client and "ClientHello" or "ServerHello"
  local r = reader(b, first, last, what)
  m.legacy_version = version_name(r.u(2, "version"))
  m.random = bytes.hex(r.bytes(32, "random"))
  local ss, se = r.vector(1, "session id")
  m.session_id = bytes.hex(b:sub(ss, se))
  if client then
    local cs, ce = r.vector(2, "cipher suites")
    local y = reader(b, cs, ce, "cipher suites")
    local suites = bytes.list()
    while y.left() > 0 do suites[#suites + 1] = suite_name(y.u(2, "cipher suite")) end
    m.cipher_suites = suites
    r.vector(1, "compression methods")
  else
    m.cipher_suite = suite_name(r.u(2, "cipher suite"))
    r.u(1, "compression method")
  end
  if r.left() > 0 then
    local es, ee = r.vector(2, "extensions")
    extensions(b, es, ee, m, what)
  end
end

-- The handshake messages of one plaintext record (nil when they do not
-- parse: an encrypted Finished after ChangeCipherSpec looks like that).
local function handshake_messages(b, first, last)
  local list = bytes.list()
  local pos = first
  while pos <= last do
    if pos + 3 > last then return nil end
    local htype = b:byte(pos)
    local len = (b:byte(pos + 1) << 16) | (b:byte(pos + 2) << 8) | b:byte(pos + 3)
    if pos + 3 + len > last then return nil end
    local m = { type = HANDSHAKE_TYPES[htype] or ("handshake type " .. htype), length = len }
    if htype == 1 or htype == 2 then
      local ok, err = pcall(hello, b, pos + 4, pos + 3 + len, m, htype == 1)
      if not ok then
        if der.is_decode_error(err) then m.error = err.message else error(err, 0) end
      end
    end
    list[#list + 1] = m
    pos = pos + 4 + len
  end
  return list
end

--- Whether bytes start like a TLS record.
function tls.looks_like(b)
  local t, major, minor = b:byte(1, 3)
  return t ~= nil and CONTENT_TYPES[t] ~= nil and major == 3 and (minor == nil or minor <= 4)
end

--- Decodes the TLS records in b.  Raises decode errors (see sspi.token.der).
function tls.records(b)
  local records = bytes.list()
  local pos, encrypted = 1, false
  while pos <= #b do
    if pos + 4 > #b then fail(("TLS record at byte %d: truncated header"):format(pos)) end
    local ctype, ver, len = b:byte(pos), (b:byte(pos + 1) << 8) | b:byte(pos + 2),
      (b:byte(pos + 3) << 8) | b:byte(pos + 4)
    if not CONTENT_TYPES[ctype] then
      fail(("TLS record at byte %d: content type %d is none of 20-24"):format(pos, ctype))
    end
    local rec = { content_type = CONTENT_TYPES[ctype], version = version_name(ver), length = len }
    local first, last = pos + 5, pos + 4 + len
    if last > #b then
      rec.missing = last - #b
      last = #b
    end
    if ctype == 22 and not encrypted then
      rec.messages = handshake_messages(b, first, last)
      if not rec.messages then rec.encrypted = true end
    elseif ctype == 21 and len == 2 and not encrypted and last - first == 1 then
      rec.level = b:byte(first) == 2 and "fatal" or "warning"
      rec.description = ALERTS[b:byte(first + 1)] or tostring(b:byte(first + 1))
    elseif ctype == 20 then
      encrypted = true -- what follows ChangeCipherSpec is protected
    else
      rec.encrypted = ctype == 23 or encrypted or nil
    end
    records[#records + 1] = rec
    pos = last + 1
  end
  return { protocol = "TLS", type = "records", records = records }
end

return tls
