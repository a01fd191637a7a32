--- sspi.kdcproxy: an MS-KKDCP KDC proxy (Kerberos over HTTPS).
--
-- A client that cannot reach a KDC (port 88) posts each Kerberos request
-- inside a KDC-PROXY-MESSAGE to an HTTPS URL; the proxy forwards it to a
-- KDC of the named realm over TCP and returns the KDC's reply the same way.
-- MIT's client does this when its krb5.conf names `kdc = https://...`
-- (Debian's krb5-k5tls), Windows when a KDC proxy is configured.
--
--   KDC-PROXY-MESSAGE ::= SEQUENCE {
--     kerb-message   [0] OCTET STRING,   -- with Kerberos-over-TCP's
--                                        -- 4-byte big-endian length prefix
--     target-domain  [1] KERB-REALM OPTIONAL,  -- GeneralString
--     dclocator-hint [2] INTEGER OPTIONAL }
--
-- The handler is framework-agnostic, like sspi.http.server: `handle` maps a
-- request table to a response table, `serve` reads one request from a
-- connection (LuaSocket or sspi.tls), answers it and leaves closing the
-- connection to the caller.  The KDC is reached with LuaSocket, blocking,
-- within the configured time-outs.  See examples/kdc_proxy.lua and
-- docs/kdcproxy.md.
--
-- @module sspi.kdcproxy

local base = require "sspi.base"
local der = require "sspi.token.der"

local M = {}

local MEDIA_TYPE = "application/kerberos"

------------------------------------------------------------------ codec

-- The 4-byte length prefix of Kerberos over TCP (RFC 4120 7.2.2).
local function prefix_length(s)
  local a, b, c, d = s:byte(1, 4)
  return ((a << 24) | (b << 16) | (c << 8) | d)
end

local function decode(bytes)
  local seq = der.expect(bytes, 1, #bytes, 0x30, "KDC-PROXY-MESSAGE")
  if seq.next ~= #bytes + 1 then der.fail("KDC-PROXY-MESSAGE: trailing bytes after the SEQUENCE") end
  local f = der.tagged_fields(bytes, seq, "KDC-PROXY-MESSAGE", 2)
  if not f[0] then der.fail("KDC-PROXY-MESSAGE: no kerb-message [0]") end
  local message = der.octets(bytes, f[0], "KDC-PROXY-MESSAGE kerb-message")
  if #message < 4 then der.fail("KDC-PROXY-MESSAGE kerb-message: shorter than its length prefix") end
  if prefix_length(message) ~= #message - 4 then
    der.fail(("KDC-PROXY-MESSAGE kerb-message: length prefix %d, but %d bytes follow it")
      :format(prefix_length(message), #message - 4))
  end
  local out = { message = message }
  if f[1] then
    if f[1].tag ~= 0x1b then
      der.fail("KDC-PROXY-MESSAGE target-domain: expected GeneralString, found " .. der.describe_tag(f[1].tag))
    end
    out.realm = der.content(bytes, f[1])
    if out.realm == "" or out.realm:find("[^\33-\126]") then
      der.fail("KDC-PROXY-MESSAGE target-domain: not a realm name")
    end
  end
  if f[2] then
    if f[2].tag ~= 0x02 then
      der.fail("KDC-PROXY-MESSAGE dclocator-hint: expected INTEGER, found " .. der.describe_tag(f[2].tag))
    end
    out.hint = der.integer(bytes, f[2], "KDC-PROXY-MESSAGE dclocator-hint")
  end
  return out
end

--- Decodes a KDC-PROXY-MESSAGE.  Returns { message = the kerb-message
-- (with its length prefix, checked), realm = the target-domain or nil,
-- hint = the dclocator-hint or nil }, or nil, message when the bytes are
-- not one (DER, exactly one SEQUENCE, nothing after it).
function M.decode(bytes)
  if type(bytes) ~= "string" then
    error(("bad argument #1 to 'decode' (string expected, got %s)"):format(type(bytes)), 2)
  end
  local ok, res = pcall(decode, bytes)
  if ok then return res end
  if der.is_decode_error(res) then return nil, res.message end
  error(res, 0)
end

--- Encodes a KDC-PROXY-MESSAGE from { message = kerb-message with its
-- length prefix, realm = optional, hint = optional integer }.
function M.encode(msg)
  if type(msg) ~= "table" or type(msg.message) ~= "string" then
    error("bad argument #1 to 'encode' (table with a string 'message' expected)", 2)
  end
  if msg.realm ~= nil and type(msg.realm) ~= "string" then
    error("bad argument #1 to 'encode' ('realm' must be a string)", 2)
  end
  if msg.hint ~= nil and math.type(msg.hint) ~= "integer" then
    error("bad argument #1 to 'encode' ('hint' must be an integer)", 2)
  end
  local fields = { der.encode(0xa0, der.encode(0x04, msg.message)) }
  if msg.realm then fields[#fields + 1] = der.encode(0xa1, der.encode(0x1b, msg.realm)) end
  if msg.hint then fields[#fields + 1] = der.encode(0xa2, der.encode_integer(msg.hint)) end
  return der.encode(0x30, table.concat(fields))
end

--- Frames a Kerberos message for TCP (and for kerb-message): the 4-byte
-- big-endian length, then the message.
function M.frame(message)
  return string.pack(">I4", #message) .. message
end

------------------------------------------------------------------ proxy

local Proxy = {}
Proxy.__index = Proxy
Proxy.__name = "sspi.kdcproxy"

local OPTIONS = { kdcs = true, realms = true, any_realm = true, default_realm = true,
  max_message = true, connect_timeout = true, timeout = true, client_timeout = true,
  path = true, log = true }

local DEFAULTS = { max_message = 65536, connect_timeout = 3, timeout = 10, client_timeout = 10 }

-- A bad option, raised from inside M.new's checks and re-raised by M.new
-- naming its caller.
local BadOption = {}

local function bad(msg)
  error(setmetatable({ message = msg }, BadOption))
end

-- "host:port" or { host =, port = } -> { host, port }.
local function parse_kdc(v)
  if type(v) == "table" and type(v.host) == "string" and math.tointeger(v.port) then
    return { host = v.host, port = math.tointeger(v.port) }
  end
  if type(v) == "string" then
    local host, port = v:match("^%[([^%]]+)%]:(%d+)$")
    if not host then host, port = v:match("^([^:]+):(%d+)$") end
    if not host then host, port = v:match("^([^:]+)$"), "88" end
    port = tonumber(port)
    if host and port >= 1 and port <= 65535 then return { host = host, port = port } end
  end
  bad("kdcs: bad KDC address " .. tostring(v) .. " (\"host:port\" or {host=, port=} expected)")
end

local function parse_kdc_list(v)
  if type(v) == "string" or (type(v) == "table" and v.host) then return { parse_kdc(v) } end
  if type(v) ~= "table" or #v == 0 then bad("kdcs: a non-empty list of KDC addresses expected") end
  local out = {}
  for i, k in ipairs(v) do out[i] = parse_kdc(k) end
  return out
end

local function configure(self, opts)
  for k, v in pairs(DEFAULTS) do
    local o = opts[k]
    if o ~= nil and (type(o) ~= "number" or o <= 0) then bad(k .. ": a positive number expected") end
    self[k] = o or v
  end
  if opts.kdcs == nil then bad("kdcs required") end
  if type(opts.kdcs) == "table" and #opts.kdcs == 0 and not opts.kdcs.host then
    for realm, list in pairs(opts.kdcs) do
      if type(realm) ~= "string" then bad("kdcs: realm names expected as keys") end
      self.by_realm[realm] = parse_kdc_list(list)
      if opts.realms == nil then self.allowed[realm] = true end
    end
    if next(self.by_realm) == nil then bad("kdcs: no KDC") end
  else
    self.all = parse_kdc_list(opts.kdcs)
  end
  if opts.realms ~= nil then
    if type(opts.realms) ~= "table" then bad("realms: a list of realm names expected") end
    for _, r in ipairs(opts.realms) do
      if type(r) ~= "string" then bad("realms: a list of realm names expected") end
      self.allowed[r] = true
    end
  end
  if not next(self.allowed) and not self.any_realm then
    bad("realms required (or any_realm = true)")
  end
  if self.default_realm ~= nil and not self:allows(self.default_realm) then
    bad("default_realm " .. tostring(self.default_realm) .. " is not an allowed realm")
  end
  if opts.log ~= nil and type(opts.log) ~= "function" then bad("log: a function expected") end
  if opts.path ~= nil and type(opts.path) ~= "string" then bad("path: a string expected") end
end

--- A proxy.  opts:
--   kdcs            where to send requests: a list of "host:port" (or
--                   {host=, port=}) used for every allowed realm, or a table
--                   realm -> such a list (required)
--   realms          the allowed realms (list of names); default: the keys of
--                   kdcs when it is a table by realm; required otherwise,
--                   unless any_realm
--   any_realm       true: forward a request for any realm (default false)
--   default_realm   the realm of a message without a target-domain (must be
--                   allowed); without it such a message is refused
--   max_message     largest request body and KDC reply, bytes (default 65536)
--   connect_timeout seconds to connect to one KDC (default 3)
--   timeout         seconds for each send/receive to a KDC (default 10)
--   client_timeout  seconds `serve` gives a client to send its whole request (default 10)
--   path            the URL path `serve` answers (e.g. "/KdcProxy"); any when nil
--   log             function(line) called once per request
function M.new(opts)
  opts = base.check_options(opts, OPTIONS, "kdcproxy", 1, 3)
  local self = setmetatable({ log = opts.log, path = opts.path, any_realm = opts.any_realm and true or false,
    default_realm = opts.default_realm, allowed = {}, by_realm = {} }, Proxy)
  local ok, err = pcall(configure, self, opts)
  if not ok then
    if getmetatable(err) == BadOption then error("bad argument #1 to 'kdcproxy' (" .. err.message .. ")", 2) end
    error(err, 0)
  end
  return self
end

--- Whether requests for `realm` are forwarded.
function Proxy:allows(realm)
  return (self.allowed[realm] or self.any_realm) and (self.all or self.by_realm[realm]) and true or false
end

-- One exchange with one KDC: the framed request out, the framed reply in.
function Proxy:_exchange(kdc, message)
  local socket = require "socket"
  local sock = socket.tcp()
  sock:settimeout(self.connect_timeout)
  local ok, err = sock:connect(kdc.host, kdc.port)
  if not ok then
    sock:close()
    return nil, 503, "connect: " .. tostring(err)
  end
  sock:settimeout(self.timeout)
  local sent, serr = sock:send(message)
  if not sent then
    sock:close()
    return nil, 503, "send: " .. tostring(serr)
  end
  local head, herr = sock:receive(4)
  if not head then
    sock:close()
    return nil, herr == "timeout" and 504 or 503, "receive: " .. tostring(herr)
  end
  local n = prefix_length(head)
  if n == 0 or n > self.max_message then
    sock:close()
    return nil, 502, ("the KDC's reply length %d is outside 1..%d"):format(n, self.max_message)
  end
  local body, berr = sock:receive(n)
  sock:close()
  if not body then return nil, berr == "timeout" and 504 or 502, "receive: " .. tostring(berr) end
  return head .. body
end

--- Forwards one framed Kerberos message to the realm's KDCs in turn (the
-- next when one cannot be reached or does not answer).  Returns the framed
-- reply, or nil, HTTP status (502, 503, 504), reason.
function Proxy:forward(realm, message)
  local kdcs = self.all or self.by_realm[realm]
  local status, reason
  for _, kdc in ipairs(kdcs) do
    local reply
    reply, status, reason = self:_exchange(kdc, message)
    if reply then return reply end
    reason = ("KDC %s:%d: %s"):format(kdc.host, kdc.port, reason)
    if status == 502 then break end -- it answered, wrongly: not a reachability problem
  end
  return nil, status, reason
end

local REASONS = { [200] = "OK", [400] = "Bad Request", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [411] = "Length Required",
  [413] = "Payload Too Large", [415] = "Unsupported Media Type", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout" }

-- A refusal: the reason goes into the body for the client's mistakes (4xx),
-- only into the log for the KDC's side (5xx: it names the KDCs).
local function refuse(status, reason, headers)
  return { status = status, reason = reason, headers = headers or {},
    body = (status >= 500 and REASONS[status] or reason) .. "\n", content_type = "text/plain" }
end

-- A header's value from a table of lower-case names (string or list).
local function header(headers, name)
  local v = headers and headers[name]
  if type(v) == "table" then v = v[1] end
  return v
end

--- Handles one request: { method =, headers = { lower-case name = value
-- or list }, body = }.  Returns the response { status =, reason =,
-- headers = { {name, value}, ... }, content_type =, body = }: 200 with the
-- KDC's reply; 405 (not POST), 415 (not application/kerberos), 413 (body
-- over max_message), 400 (not a KDC-PROXY-MESSAGE, not a KDC request, no
-- realm), 403 (realm not allowed), 502/503/504 (the KDC answered wrongly,
-- could not be reached, did not answer in time).
function Proxy:handle(req)
  if type(req) ~= "table" then error("bad argument #1 to 'handle' (table expected)", 2) end
  if req.method ~= "POST" then return refuse(405, "only POST", { { "Allow", "POST" } }) end
  local ctype = header(req.headers, "content-type")
  ctype = ctype and ctype:match("^%s*([^;%s]*)"):lower()
  if ctype ~= MEDIA_TYPE then
    return refuse(415, "Content-Type " .. MEDIA_TYPE .. " expected")
  end
  local body = req.body or ""
  if #body > self.max_message then
    return refuse(413, ("body of %d bytes over the limit of %d"):format(#body, self.max_message))
  end
  local msg, err = M.decode(body)
  if not msg then return refuse(400, err) end
  -- Only KDC requests go through: AS-REQ [APPLICATION 10] and TGS-REQ
  -- [APPLICATION 12] (not an open relay to the KDC's port).
  local first = msg.message:byte(5)
  if first ~= 0x6a and first ~= 0x6c then
    return refuse(400, "kerb-message is not an AS-REQ or TGS-REQ")
  end
  local realm = msg.realm or self.default_realm
  if not realm then return refuse(400, "no target-domain and no default realm") end
  if not self:allows(realm) then return refuse(403, "realm " .. realm .. " is not served here") end
  local reply, status, reason = self:forward(realm, msg.message)
  if not reply then return refuse(status, reason) end
  return { status = 200, reason = realm, headers = {}, content_type = MEDIA_TYPE,
    body = M.encode { message = reply } }
end

-------------------------------------------------------------- serving

local MAX_HEAD = 8192

-- Gives the next read on conn what is left until the deadline, in total
-- (LuaSocket's "t" mode).  Returns false once the deadline has passed.
local function until_deadline(conn, deadline)
  local left = deadline - require("socket").gettime()
  if left <= 0 then return false end
  conn:settimeout(left, "t")
  return true
end

-- Reads n bytes one at a time, the deadline checked before each: over
-- sspi.tls one receive(n) is a read per TLS record, each with the whole
-- time-out, so a client sending one byte per record could otherwise hold
-- the proxy for n time-outs.  (Cheap: a byte is a substring of what the
-- connection has buffered.)  Returns the bytes (only when `keep`), or nil,
-- status, reason.
local function read_bounded(conn, n, deadline, keep)
  local out = {}
  for i = 1, n do
    if not until_deadline(conn, deadline) then return nil, 408, "request not received in time" end
    local c, err = conn:receive(1)
    if not c then return nil, err == "timeout" and 408 or 400, "body: " .. tostring(err) end
    if keep then out[i] = c end
  end
  return table.concat(out)
end

-- Reads the request head (through the empty line) byte by byte, so that
-- neither a long line nor many headers grow past MAX_HEAD.  Returns the
-- lines, or nil, status, reason.
local function read_head(conn, deadline)
  local lines, line, total = {}, {}, 0
  while true do
    if not until_deadline(conn, deadline) then return nil, 408, "request not received in time" end
    local c, err = conn:receive(1)
    if not c then return nil, err == "timeout" and 408 or 400, "receive: " .. tostring(err) end
    total = total + 1
    if total > MAX_HEAD then return nil, 431, "request head over " .. MAX_HEAD .. " bytes" end
    if c == "\n" then
      local text = table.concat(line):gsub("\r$", "")
      if text == "" and #lines > 0 then return lines end
      if text ~= "" then lines[#lines + 1] = text end
      line = {}
    else
      line[#line + 1] = c
    end
  end
end

local function parse_head(lines)
  local method, target, version = lines[1]:match("^(%u+) (%S+) HTTP/(1%.[01])$")
  if not method then return nil, "bad request line" end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
    if not name then return nil, "bad header line" end
    name = name:lower()
    headers[name] = headers[name] or {}
    table.insert(headers[name], value)
  end
  return { method = method, target = target, version = version, headers = headers }
end

-- Reads one request: head, then a body of Content-Length bytes.  Returns
-- the request, and a response when it is refused before it is handled
-- (the request is nil when even its head could not be read).
function Proxy:_read_request(conn)
  local socket = require "socket"
  local deadline = socket.gettime() + self.client_timeout
  local lines, status, reason = read_head(conn, deadline)
  if not lines then return nil, refuse(status, reason) end
  local req, perr = parse_head(lines)
  if not req then return nil, refuse(400, perr) end
  req.deadline = deadline
  if req.headers["transfer-encoding"] then return req, refuse(501, "chunked request bodies are not supported") end
  local lens = req.headers["content-length"]
  local len = lens and #lens == 1 and lens[1]:match("^%d+$") and tonumber(lens[1])
  -- a body left unread when the request is refused is drained by serve
  req.unread = len or nil
  if self.path and req.target:match("^[^?]*") ~= self.path then
    return req, refuse(404, "not found")
  end
  if req.method ~= "POST" then return req, self:handle(req) end
  if not lens then return req, refuse(411, "Content-Length required") end
  if not len then return req, refuse(400, "bad Content-Length") end
  if len > self.max_message then
    return req, refuse(413, ("body of %d bytes over the limit of %d"):format(len, self.max_message))
  end
  req.unread = nil
  req.body = ""
  if len > 0 then
    local body, bstatus, breason = read_bounded(conn, len, deadline, true)
    if not body then return req, refuse(bstatus, breason) end
    req.body = body
  end
  return req
end

local DRAIN_MAX = 262144

-- Reads and drops the body of a refused request (up to DRAIN_MAX bytes,
-- until the request's deadline): closing a socket with unread bytes makes the
-- kernel send a reset, which can destroy the response before the client has
-- read it.  A client waiting for "100 Continue" sends nothing: not drained.
local function drain(conn, req)
  if req.unread > DRAIN_MAX or req.headers["expect"] then return end
  read_bounded(conn, req.unread, req.deadline, false)
end

local function write_response(conn, res)
  local lines = { ("HTTP/1.1 %d %s"):format(res.status, REASONS[res.status] or "Status") }
  for _, h in ipairs(res.headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  lines[#lines + 1] = "Content-Type: " .. res.content_type
  lines[#lines + 1] = "Content-Length: " .. #res.body
  lines[#lines + 1] = "Cache-Control: no-cache"
  lines[#lines + 1] = "Connection: close"
  return conn:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. res.body)
end

--- Serves one request on a connected `conn` (a LuaSocket TCP object or an
-- sspi.tls connection, blocking): reads it (head at most 8 KiB, within
-- client_timeout), handles it, writes the response with `Connection:
-- close`.  The caller closes conn.  Returns the response table.
function Proxy:serve(conn)
  local req, res = self:_read_request(conn)
  if not res then res = self:handle(req) end
  conn:settimeout(-1, "t") -- no total limit left over from the reading
  conn:settimeout(self.client_timeout)
  write_response(conn, res)
  if req and req.unread and req.unread > 0 then drain(conn, req) end
  if self.log then
    local target = req and req.target:gsub("[^\33-\126]", "?") or "-" -- no control bytes in the log
    self.log(("%s %s -> %d %s"):format(req and req.method or "-", target, res.status, res.reason or ""))
  end
  return res
end

return M
