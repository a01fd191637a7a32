--- HTTP Negotiate (RFC 4559) and NTLM authentication, framework-agnostic.
--
-- Three layers, each usable alone:
--  * header syntax: RFC 7235 challenges and credentials (several schemes,
--    several challenges in one field, token68 and auth-params);
--  * `http.initiator` / `http.request`: the client loop, plugged into
--    LuaSocket's socket.http through its `create` hook so that a multi-leg
--    handshake (NTLM) stays on one keep-alive connection;
--  * `http.server`: the server side, keeping one context per connection
--    object and returning the authenticated name.
--
-- The security work is done by the core (require "sspi"), loaded on first
-- use so that the header functions work without the C module.

local M = {}

local function sspi_module()
  return require "sspi"
end

------------------------------------------------------------------ base64

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, #B64 do
  B64_VALUE[B64:byte(i)] = i - 1
end

--- Base64 (RFC 4648, with padding) of a byte string.
function M.b64encode(data)
  if type(data) ~= "string" then
    error(("bad argument #1 to 'b64encode' (string expected, got %s)"):format(type(data)), 2)
  end
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local s1, s2 = (n >> 18) & 63, (n >> 12) & 63
    local s3, s4 = (n >> 6) & 63, n & 63
    out[#out + 1] = B64:sub(s1 + 1, s1 + 1) .. B64:sub(s2 + 1, s2 + 1)
      .. (b and B64:sub(s3 + 1, s3 + 1) or "=")
      .. (c and B64:sub(s4 + 1, s4 + 1) or "=")
  end
  return table.concat(out)
end

--- Strict base64 decoding: the RFC 4648 alphabet, padding optional but
-- correct when present, no stray characters.  Returns nil, message when
-- the text is not base64.
function M.b64decode(text)
  if type(text) ~= "string" then
    return nil, "invalid base64: not a string"
  end
  local body, pad = text:match("^([A-Za-z0-9+/]*)(=*)$")
  if not body then
    return nil, "invalid base64: unexpected character"
  end
  local rem = #body % 4
  if rem == 1 or #pad > 2 or (#pad > 0 and (#body + #pad) % 4 ~= 0) then
    return nil, "invalid base64: bad length or padding"
  end
  local out = {}
  for i = 1, #body, 4 do
    local c1, c2, c3, c4 = body:byte(i, i + 3)
    local n = (B64_VALUE[c1] << 18) | (B64_VALUE[c2] << 12)
      | ((c3 and B64_VALUE[c3] or 0) << 6) | (c4 and B64_VALUE[c4] or 0)
    if c4 then
      out[#out + 1] = string.char(n >> 16, (n >> 8) & 255, n & 255)
    elseif c3 then
      if n & 255 ~= 0 then return nil, "invalid base64: non-zero trailing bits" end
      out[#out + 1] = string.char(n >> 16, (n >> 8) & 255)
    else
      if n & 0xFFFF ~= 0 then return nil, "invalid base64: non-zero trailing bits" end
      out[#out + 1] = string.char(n >> 16)
    end
  end
  return table.concat(out)
end

----------------------------------------------------------- header syntax
--
-- RFC 7235 section 2.1 / 4.1:
--   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
--   auth-param  = token BWS "=" BWS ( token / quoted-string )
--   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
-- Commas separate both challenges and the auth-params of one challenge; an
-- element is a parameter when it reads `token BWS "="`, else a new scheme.

local TOKEN = "[!#$%%&'*+%-.^_`|~%w]+"
local TOKEN68 = "[%w%-._~+/]+=*"

local function skip_ows(s, i)
  return s:match("^[ \t]*()", i)
end

-- Skips OWS and empty list elements (`#rule` allows ", ,").
local function skip_list_separators(s, i)
  return s:match("^[ \t,]*()", i)
end

local function parse_quoted_string(s, i)
  -- s:sub(i, i) == '"'
  local out = {}
  local j = i + 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == '"' then
      return table.concat(out), j + 1
    elseif c == "\\" then
      if j == #s then break end
      out[#out + 1] = s:sub(j + 1, j + 1)
      j = j + 2
    elseif c:match("[%c]") and c ~= "\t" then
      return nil, "control character in quoted-string at " .. j
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
  return nil, "unterminated quoted-string at " .. i
end

-- Is the text at i the start of an auth-param (`token BWS "="`, not `==`)?
local function at_auth_param(s, i)
  local e = s:match("^" .. TOKEN .. "[ \t]*=()", i)
  return e ~= nil and s:sub(e, e) ~= "="
end

local function parse_auth_param(s, i, params, order)
  local name, e = s:match("^(" .. TOKEN .. ")[ \t]*=[ \t]*()", i)
  if not name then
    return nil, "expected auth-param at " .. i
  end
  local value
  if s:sub(e, e) == '"' then
    local v, after = parse_quoted_string(s, e)
    if not v then return nil, after end
    value, e = v, after
  else
    value = s:match("^" .. TOKEN, e)
    if not value then
      return nil, "expected token or quoted-string at " .. e
    end
    e = e + #value
  end
  local key = name:lower()
  if params[key] ~= nil then
    return nil, "duplicate auth-param '" .. key .. "'"
  end
  params[key] = value
  order[#order + 1] = key
  return e
end

-- One challenge (or credentials) starting at i; returns the table and the
-- index after it (at a ',' or the end).
local function parse_one(s, i)
  local scheme = s:match("^" .. TOKEN, i)
  if not scheme then
    return nil, "expected auth-scheme at " .. i
  end
  local item = { scheme = scheme, params = {}, param_order = {} }
  i = i + #scheme
  local after_sp = s:match("^ +()", i)
  if not after_sp then
    -- no SP: the scheme stands alone (end, or OWS then ',')
    local j = skip_ows(s, i)
    if j <= #s and s:sub(j, j) ~= "," then
      return nil, "unexpected character after auth-scheme at " .. j
    end
    return item, j
  end
  i = after_sp
  if i > #s or s:sub(i, i) == "," then
    return item, i
  end
  -- token68, when it is followed by the end of the element
  local t68_end = s:match("^" .. TOKEN68 .. "()", i)
  if t68_end then
    local j = skip_ows(s, t68_end)
    if j > #s or s:sub(j, j) == "," then
      item.token68 = s:sub(i, t68_end - 1)
      return item, j
    end
  end
  -- #auth-param
  while true do
    local e, err = parse_auth_param(s, i, item.params, item.param_order)
    if not e then return nil, err end
    i = skip_ows(s, e)
    if i > #s then return item, i end
    if s:sub(i, i) ~= "," then
      return nil, "expected ',' at " .. i
    end
    local nexti = skip_list_separators(s, i)
    if nexti > #s or not at_auth_param(s, nexti) then
      return item, i
    end
    i = nexti
  end
end

-- The longest header value parsed: a Kerberos ticket with a large PAC
-- (Windows' MaxTokenSize is at most 65535 bytes) in base64, with room to
-- spare.  Longer values are refused before any work, so a hostile peer
-- cannot make each request cost seconds of base64 decoding.
M.MAX_HEADER_VALUE = 128 * 1024

local function header_text(value, what)
  if type(value) == "table" then
    -- several header fields of the same name form one list (RFC 7230 3.2.2)
    for k, v in ipairs(value) do
      if type(v) ~= "string" then
        error(("bad argument #1 to '%s' (string expected in field %d)"):format(what, k), 3)
      end
    end
    return table.concat(value, ", ")
  elseif type(value) ~= "string" then
    error(("bad argument #1 to '%s' (string or list of strings expected, got %s)")
      :format(what, type(value)), 3)
  end
  return value
end

--- Parses a WWW-Authenticate (or Proxy-Authenticate) value, or a list of
-- such field values, into a list of challenges
-- `{ scheme = "Negotiate", token68 = "...", params = { realm = "x" }, param_order = {...} }`.
-- Returns nil, message on a syntax error.
function M.parse_challenges(value)
  local s = header_text(value, "parse_challenges")
  if #s > M.MAX_HEADER_VALUE then
    return nil, ("WWW-Authenticate: value of %d bytes, more than %d"):format(#s, M.MAX_HEADER_VALUE)
  end
  local list = {}
  local i = skip_list_separators(s, 1)
  while i <= #s do
    local item, e = parse_one(s, i)
    if not item then return nil, "WWW-Authenticate: " .. e end
    list[#list + 1] = item
    i = skip_list_separators(s, e)
  end
  if #list == 0 then
    return nil, "WWW-Authenticate: no challenge"
  end
  return list
end

--- Parses an Authorization (or Proxy-Authorization) value: exactly one
-- `credentials`.  Returns `{ scheme, token68, params, param_order }` or
-- nil, message.
function M.parse_credentials(value)
  local s = header_text(value, "parse_credentials")
  if #s > M.MAX_HEADER_VALUE then
    return nil, ("Authorization: value of %d bytes, more than %d"):format(#s, M.MAX_HEADER_VALUE)
  end
  local i = skip_ows(s, 1)
  local item, e = parse_one(s, i)
  if not item then return nil, "Authorization: " .. e end
  if skip_ows(s, e) <= #s then
    return nil, "Authorization: more than one credentials"
  end
  return item
end

local function quote_param(v)
  v = tostring(v)
  if v:match("^" .. TOKEN .. "$") then return v end
  if v:gsub("\t", ""):find("%c") then
    error("bad auth-param value (control character)", 4)
  end
  return '"' .. v:gsub('[\\"]', "\\%0") .. '"'
end

local function format_one(scheme, data, what)
  if type(scheme) ~= "string" or not scheme:match("^" .. TOKEN .. "$") then
    error(("bad argument #1 to '%s' (auth-scheme token expected)"):format(what), 3)
  end
  if data == nil or data == "" then
    return scheme
  elseif type(data) == "string" then
    if not data:match("^" .. TOKEN68 .. "$") then
      error(("bad argument #2 to '%s' (token68 expected)"):format(what), 3)
    end
    return scheme .. " " .. data
  elseif type(data) == "table" then
    local names = {}
    for k in pairs(data) do
      if type(k) ~= "string" or not k:match("^" .. TOKEN .. "$") then
        error(("bad argument #2 to '%s' (auth-param names must be tokens)"):format(what), 3)
      end
      names[#names + 1] = k
    end
    table.sort(names)
    local parts = {}
    for _, k in ipairs(names) do
      parts[#parts + 1] = k .. "=" .. quote_param(data[k])
    end
    return scheme .. " " .. table.concat(parts, ", ")
  end
  error(("bad argument #2 to '%s' (token68 string or param table expected)"):format(what), 3)
end

--- Builds one challenge: `format_challenge("Negotiate")`,
-- `format_challenge("Negotiate", token68)` or
-- `format_challenge("Basic", { realm = "x" })`.
function M.format_challenge(scheme, data)
  return format_one(scheme, data, "format_challenge")
end

--- Builds an Authorization value (credentials), same arguments.
function M.format_credentials(scheme, data)
  return format_one(scheme, data, "format_credentials")
end

--- The first challenge of a scheme (case-insensitive) in a parsed list.
function M.find_challenge(list, scheme)
  if type(list) ~= "table" then
    error(("bad argument #1 to 'find_challenge' (list of challenges expected, got %s)"):format(type(list)), 2)
  end
  if type(scheme) ~= "string" then
    error(("bad argument #2 to 'find_challenge' (string expected, got %s)"):format(type(scheme)), 2)
  end
  scheme = scheme:lower()
  for _, c in ipairs(list) do
    if type(c) == "table" and type(c.scheme) == "string" and c.scheme:lower() == scheme then return c end
  end
  return nil
end

-- The schemes this module speaks, with the SSPI package behind each.
local SCHEME_PACKAGE = { negotiate = "Negotiate", ntlm = "NTLM" }
local SCHEME_NAME = { negotiate = "Negotiate", ntlm = "NTLM" }

local function scheme_key(scheme)
  local key = type(scheme) == "string" and scheme:lower() or nil
  if not SCHEME_PACKAGE[key] then
    error(("unsupported scheme '%s' (Negotiate or NTLM)"):format(tostring(scheme)), 3)
  end
  return key
end

-------------------------------------------------------------- errors

-- Failures found by this layer (not by the core) have the shape of the
-- core's error objects: status, code, message and a __tostring.
local LayerError = {}
LayerError.__index = LayerError
LayerError.__name = "sspi.http.error"
LayerError.__tostring = function(e)
  return e.status .. ": " .. e.message
end

local function layer_error(status, message)
  local ok, sspi = pcall(sspi_module)
  local code = ok and sspi[status] or nil
  return setmetatable({ status = status, code = code, message = message }, LayerError)
end

local function fail(status, message)
  return nil, layer_error(status, message), status
end

-- The client name of a completed context (SecPkgContext_Names).
local function context_name(ctx)
  return ctx:query("names").user
end

-- One step, with CompleteAuthToken folded in (NTLM through some backends
-- asks for it).  Returns res or nil, err, status.
local function step(ctx, method, args)
  local res, err, status = ctx[method](ctx, args)
  if not res then return nil, err, status end
  if res.result == "CompleteNeeded" or res.result == "CompleteAndContinue" then
    ctx:complete_auth_token(res.buffers)
  end
  return res
end

local function is_done(res)
  return res.result == "Ok" or res.result == "CompleteNeeded"
end

------------------------------------------------------------------ client

local Initiator = {}
Initiator.__index = Initiator
Initiator.__name = "sspi.http.initiator"

local INITIATOR_OPTIONS = {
  schemes = true, credential = true, target = true, host = true, context_req = true,
  mutual = true, username = true, password = true, ccache = true, backend = true,
  max_legs = true,
}

local function check_options(opts, known, what)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(what, type(opts)), 3)
  end
  for k in pairs(opts) do
    if not known[k] then
      error(("bad argument #1 to '%s' (unknown option '%s')"):format(what, tostring(k)), 3)
    end
  end
  return opts
end

--- A client authenticator for one server.
-- opts.schemes     schemes accepted, in order of preference (default {"Negotiate", "NTLM"})
-- opts.credential  an outbound sspi credential (else one is acquired per scheme,
--                  from username / password / ccache / backend when given)
-- opts.target      SSPI target name (default "HTTP/" .. opts.host)
-- opts.context_req ISC_REQ_* mask (default MUTUAL_AUTH for Negotiate)
-- opts.mutual      require the server's final token for Negotiate (default true)
-- opts.max_legs    how many 401 answers to accept (default 5)
function M.initiator(opts)
  opts = check_options(opts, INITIATOR_OPTIONS, "initiator")
  local schemes = {}
  for i, s in ipairs(opts.schemes or { "Negotiate", "NTLM" }) do
    schemes[i] = scheme_key(s)
  end
  if not opts.target and type(opts.host) ~= "string" then
    error("bad argument #1 to 'initiator' (target or host expected)", 2)
  end
  return setmetatable({
    opts = opts,
    schemes = schemes,
    target = opts.target or ("HTTP/" .. opts.host),
    max_legs = opts.max_legs or 5,
    legs = 0,
  }, Initiator)
end

function Initiator:_credential(key)
  local o = self.opts
  if o.credential then return o.credential end
  local sspi = sspi_module()
  local args = { package = SCHEME_PACKAGE[key], usage = "outbound" }
  for _, k in ipairs({ "username", "password", "ccache", "backend" }) do
    args[k] = o[k]
  end
  return sspi.credential(args)
end

function Initiator:_context_req(key)
  if self.opts.context_req then return self.opts.context_req end
  local sspi = sspi_module()
  if key == "negotiate" then
    return sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_CONNECTION
  end
  return sspi.ISC_REQ_CONNECTION
end

--- Resets the authenticator (a new handshake on the next challenge).
function Initiator:reset()
  if self.context then self.context:close() end
  self.context, self.scheme, self.done, self.flags = nil, nil, nil, nil
  self.legs = 0
end

--- Answers a 401's WWW-Authenticate value (string or list of field values)
-- with an Authorization value.  Returns the value, or nil, err, status when
-- the challenge cannot be answered (no common scheme, the server rejected
-- the last token, a security failure in the context).
function Initiator:respond(www_authenticate)
  local challenges, perr = M.parse_challenges(www_authenticate)
  if not challenges then
    return fail("SEC_E_INVALID_TOKEN", perr)
  end
  self.legs = self.legs + 1
  if self.legs > self.max_legs then
    return fail("SEC_E_INTERNAL_ERROR", "too many authentication legs (" .. self.max_legs .. ")")
  end
  local input
  if self.context then
    local c = M.find_challenge(challenges, SCHEME_NAME[self.scheme])
    if self.done or not c or not c.token68 then
      -- a bare challenge after our token is the server's "no"
      return fail("SEC_E_LOGON_DENIED",
        ("the server rejected the %s credentials"):format(SCHEME_NAME[self.scheme]))
    end
    local tok, err = M.b64decode(c.token68)
    if not tok then return fail("SEC_E_INVALID_TOKEN", "WWW-Authenticate: " .. err) end
    input = tok
  else
    for _, key in ipairs(self.schemes) do
      if M.find_challenge(challenges, key) then
        self.scheme = key
        break
      end
    end
    if not self.scheme then
      return fail("SEC_E_SECPKG_NOT_FOUND", "the server offers none of the schemes "
        .. table.concat(self.schemes, ", "))
    end
    local sspi = sspi_module()
    local cred, cerr, cstatus = self:_credential(self.scheme)
    if not cred then return nil, cerr, cstatus end
    self.context = sspi.context(cred)
  end
  local res, err, status = step(self.context, "step_init", {
    target = self.target, context_req = self:_context_req(self.scheme), input = input,
  })
  if not res then return nil, err, status end
  if is_done(res) then
    self.done, self.flags = true, res.flags
  end
  if not res.token or #res.token == 0 then
    return fail("SEC_E_INTERNAL_ERROR", "the context produced no token to send")
  end
  return M.format_credentials(SCHEME_NAME[self.scheme], M.b64encode(res.token))
end

--- Checks the final (non-401) response: feeds the server's last token
-- (mutual authentication) to the context.  Returns true, or nil, err,
-- status when the server's token does not verify or, for Negotiate with
-- mutual authentication, is missing.
function Initiator:finish(www_authenticate)
  if not self.context or self.done and not www_authenticate then
    return true
  end
  local c
  if www_authenticate then
    local challenges = M.parse_challenges(www_authenticate)
    c = challenges and M.find_challenge(challenges, SCHEME_NAME[self.scheme])
  end
  if c and c.token68 then
    if self.done then
      return fail("SEC_E_INVALID_TOKEN", "a token after the context was complete")
    end
    local tok, err = M.b64decode(c.token68)
    if not tok then return fail("SEC_E_INVALID_TOKEN", "WWW-Authenticate: " .. err) end
    local res, serr, status = step(self.context, "step_init", {
      target = self.target, context_req = self:_context_req(self.scheme), input = tok,
    })
    if not res then return nil, serr, status end
    if not is_done(res) then
      return fail("SEC_E_INCOMPLETE_MESSAGE", "the server's final token left the context incomplete")
    end
    self.done, self.flags = true, res.flags
    return true
  end
  if not self.done and self.opts.mutual ~= false then
    return fail("SEC_E_MUTUAL_AUTH_FAILED",
      "the server answered without the final token, so it was not authenticated")
  end
  return true
end

-- A connection for socket.http's `create` hook that survives socket.http's
-- close() so the next leg of a handshake goes over the same TCP stream.
local KeptConnection = {}
KeptConnection.__index = KeptConnection

local function kept_connection()
  return setmetatable({ timeout = nil, keep = true, opened = 0 }, KeptConnection)
end

function KeptConnection:settimeout(t, mode)
  self.timeout = t
  if self.sock then return self.sock:settimeout(t, mode) end
  return 1
end

function KeptConnection:connect(host, port)
  if self.sock and not self.dead and self.host == host and self.port == port then
    return 1
  end
  self:shutdown()
  local socket = require "socket"
  local sock, err = socket.tcp()
  if not sock then return nil, err end
  if self.timeout then sock:settimeout(self.timeout) end
  local ok, cerr = sock:connect(host, port)
  if not ok then
    sock:close()
    return nil, cerr
  end
  self.sock, self.host, self.port, self.dead = sock, host, port, false
  self.opened = self.opened + 1
  return 1
end

function KeptConnection:send(...)
  local r = table.pack(self.sock:send(...))
  if not r[1] then self.dead = true end
  return table.unpack(r, 1, r.n)
end

function KeptConnection:receive(...)
  local r = table.pack(self.sock:receive(...))
  if not r[1] then self.dead = true end
  return table.unpack(r, 1, r.n)
end

function KeptConnection:getfd() return self.sock:getfd() end
function KeptConnection:dirty() return self.sock:dirty() end
function KeptConnection:setoption(...) return self.sock:setoption(...) end

function KeptConnection:close()
  if not self.keep or self.dead then self:shutdown() end
  return 1
end

function KeptConnection:shutdown()
  if self.sock then self.sock:close() end
  self.sock, self.dead = nil, true
end

local Client = {}
Client.__index = Client
Client.__name = "sspi.http.client"

--- A client that authenticates its requests with Negotiate / NTLM.
-- Takes the options of `http.initiator` (the target defaults to
-- "HTTP/<host of each URL>").  client:request behaves like socket.http.request.
function M.client(opts)
  opts = check_options(opts, INITIATOR_OPTIONS, "client")
  return setmetatable({ opts = opts, conn = kept_connection() }, Client)
end

local function copy_headers(h)
  local out = {}
  for k, v in pairs(h or {}) do out[k:lower()] = v end
  return out
end

local function is_dead(conn, headers)
  local c = headers and headers["connection"]
  if c and c:lower():find("close", 1, true) then return true end
  return conn.dead
end

local function deliver(reqt, simple, body_text, code, headers, status)
  if simple then
    return body_text, code, headers, status
  end
  if reqt.sink then
    local ltn12 = require "ltn12"
    local ok, err = ltn12.pump.all(ltn12.source.string(body_text), reqt.sink)
    if not ok then return nil, err end
  end
  return 1, code, headers, status
end

--- Like socket.http.request (a URL and optional body, or a request table),
-- answering Negotiate / NTLM challenges on one kept connection.  Returns
-- body | 1, code, headers, status as socket.http does; a 401 the server
-- insists on (wrong password) is returned as such.  A security failure of
-- our side, or a server that did not authenticate itself, returns
-- nil, err, status.
function Client:request(reqt, body)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local url = require "socket.url"
  local simple = type(reqt) == "string"
  if simple then
    reqt = { url = reqt }
    if body then
      reqt.method = "POST"
      reqt.headers = { ["content-type"] = "application/x-www-form-urlencoded" }
    end
  elseif type(reqt) ~= "table" then
    error("bad argument #1 to 'request' (URL or request table expected)", 2)
  end
  -- a body must be sent on each leg, so it is read once
  local payload = body
  if not simple and reqt.source then
    local parts = {}
    local ok, err = ltn12.pump.all(reqt.source, ltn12.sink.table(parts))
    if not ok then return nil, err end
    payload = table.concat(parts)
  end
  local parsed = url.parse(reqt.url or "") or {}
  local iopts = {}
  for k, v in pairs(self.opts) do iopts[k] = v end
  iopts.host = parsed.host or reqt.host
  if not iopts.target and not iopts.host then
    error("bad argument #1 to 'request' (no host in the URL)", 2)
  end
  local ini = M.initiator(iopts)
  self.last = ini
  local conn = self.conn
  local authorization
  while true do
    local headers = copy_headers(reqt.headers)
    headers["connection"] = "keep-alive"
    headers["te"] = nil
    if payload then headers["content-length"] = tostring(#payload) end
    if authorization then headers["authorization"] = authorization end
    local parts = {}
    local ok, code, rheaders, status = http.request{
      url = reqt.url, host = reqt.host, port = reqt.port, path = reqt.path,
      method = reqt.method, headers = headers,
      source = payload and ltn12.source.string(payload) or nil,
      sink = ltn12.sink.table(parts), redirect = false,
      create = function() return conn end,
    }
    if not ok then
      conn:shutdown()
      return nil, code
    end
    if is_dead(conn, rheaders) then conn:shutdown() end
    local body_text = table.concat(parts)
    local www = rheaders and rheaders["www-authenticate"]
    if code == 401 and www then
      -- a continuation token only makes sense on the connection that
      -- carried the handshake so far (NTLM, and NTLM inside SPNEGO)
      local mid_handshake = ini.context and not ini.done
      local answer, err, estatus = ini:respond(www)
      if not answer then
        if estatus == "SEC_E_LOGON_DENIED" or estatus == "SEC_E_SECPKG_NOT_FOUND" then
          -- the server's final word: hand back its 401 as socket.http would
          return deliver(reqt, simple, body_text, code, rheaders, status)
        end
        return nil, err, estatus
      end
      if mid_handshake and conn.dead then
        return fail("SEC_E_INTERNAL_ERROR", "the server closed the connection in the middle of the "
          .. SCHEME_NAME[ini.scheme] .. " handshake")
      end
      authorization = answer
    else
      local okf, ferr, fstatus = ini:finish(www)
      if not okf then return nil, ferr, fstatus end
      return deliver(reqt, simple, body_text, code, rheaders, status)
    end
  end
end

--- Closes the kept connection.
function Client:close()
  self.conn:shutdown()
  if self.last then self.last:reset() end
end

------------------------------------------------------------------ server

local Server = {}
Server.__index = Server
Server.__name = "sspi.http.server"

local SERVER_OPTIONS = { schemes = true, credentials = true, context_req = true,
  connection_auth = true }

--- The server side.
-- opts.credentials     { Negotiate = cred, NTLM = cred }: inbound credentials by scheme;
--                      a scheme is offered only when it has one
-- opts.schemes         order of the challenges (default {"Negotiate", "NTLM"})
-- opts.context_req     ASC_REQ_* mask (default ASC_REQ_CONNECTION)
-- opts.connection_auth keep an NTLM authentication for the rest of its
--                      connection, as IIS does (default true)
function M.server(opts)
  opts = check_options(opts, SERVER_OPTIONS, "server")
  if type(opts.credentials) ~= "table" then
    error("bad argument #1 to 'server' (credentials table expected)", 2)
  end
  local creds, offered = {}, {}
  for k, v in pairs(opts.credentials) do
    creds[scheme_key(k)] = v
  end
  for _, s in ipairs(opts.schemes or { "Negotiate", "NTLM" }) do
    local key = scheme_key(s)
    if creds[key] then offered[#offered + 1] = key end
  end
  if #offered == 0 then
    error("bad argument #1 to 'server' (no credential for any offered scheme)", 2)
  end
  return setmetatable({
    creds = creds, offered = offered, opts = opts,
    -- per-connection state, dropped with the connection object
    conns = setmetatable({}, { __mode = "k" }),
  }, Server)
end

--- The WWW-Authenticate values of a fresh 401: one per offered scheme.
function Server:challenges()
  local out = {}
  for i, key in ipairs(self.offered) do out[i] = SCHEME_NAME[key] end
  return out
end

--- Drops the state of a connection (call when it closes).
function Server:forget(conn)
  local st = self.conns[conn]
  if st and st.context then st.context:close() end
  self.conns[conn] = nil
end

-- Does a token start a handshake (rather than continue one)?  A GSS
-- InitialContextToken ([APPLICATION 0], 0x60) or an NTLM NEGOTIATE message.
local function is_initial_token(tok)
  return tok:byte(1) == 0x60 or tok:sub(1, 12) == "NTLMSSP\0\1\0\0\0"
end

function Server:_reject(conn, status, reason, err)
  self:forget(conn)
  return { status = status, www_authenticate = self:challenges(), reason = reason, err = err }
end

--- Authenticates one request.  `conn` is any object standing for the
-- connection (a socket); `authorization` is the request's Authorization
-- value or nil.  Returns a table:
--   status            200 (authenticated), 401 (challenge or refusal) or 400 (malformed)
--   www_authenticate  list of WWW-Authenticate values to send (may be empty)
--   name              the authenticated client name (status 200)
--   scheme, context   the scheme used and its completed context (status 200)
--   delegated_credential  the client's delegated credential (ISC_REQ_DELEGATE), an
--                     outbound sspi credential for a second hop, or nil (status 200)
--   reason, err       why it was refused (err: an error object)
function Server:authenticate(conn, authorization)
  if conn == nil then
    error("bad argument #1 to 'authenticate' (connection object expected)", 2)
  end
  local st = self.conns[conn]
  if authorization == nil then
    if st and st.name and st.scheme == "ntlm" and self.opts.connection_auth ~= false then
      return { status = 200, www_authenticate = {}, name = st.name, scheme = SCHEME_NAME[st.scheme],
        context = st.context }
    end
    return { status = 401, www_authenticate = self:challenges(), reason = "no credentials" }
  end
  local cred, perr = M.parse_credentials(authorization)
  if not cred then return self:_reject(conn, 400, perr) end
  local key = cred.scheme:lower()
  if not self.creds[key] or not SCHEME_PACKAGE[key] then
    return self:_reject(conn, 401, "scheme " .. cred.scheme .. " not offered")
  end
  if not cred.token68 then
    return self:_reject(conn, 400, "Authorization: " .. cred.scheme .. " without a token")
  end
  local token, derr = M.b64decode(cred.token68)
  if not token or #token == 0 then
    return self:_reject(conn, 400, "Authorization: " .. (derr or "empty token"))
  end
  if not st or st.scheme ~= key or st.name or is_initial_token(token) then
    if not is_initial_token(token) then
      -- a continuation without its start on this connection: NTLM's
      -- AUTHENTICATE must come over the connection that got the CHALLENGE
      return self:_reject(conn, 401, "no " .. cred.scheme .. " handshake in progress on this connection",
        layer_error("SEC_E_OUT_OF_SEQUENCE", "continuation token without a handshake on this connection"))
    end
    self:forget(conn)
    st = { scheme = key, context = sspi_module().context(self.creds[key]) }
    self.conns[conn] = st
  end
  local sspi = sspi_module()
  local res, err = step(st.context, "step_accept", {
    input = token, context_req = self.opts.context_req or sspi.ASC_REQ_CONNECTION,
  })
  if not res then
    return self:_reject(conn, 401, tostring(err), err)
  end
  local out = res.token and #res.token > 0 and M.b64encode(res.token) or nil
  if not is_done(res) then
    return { status = 401, www_authenticate = { M.format_challenge(SCHEME_NAME[key], out) },
      reason = "handshake continues" }
  end
  st.name = context_name(st.context)
  return { status = 200, www_authenticate = out and { M.format_challenge(SCHEME_NAME[key], out) } or {},
    name = st.name, scheme = SCHEME_NAME[key], context = st.context,
    delegated_credential = st.context:query("delegated_credential") }
end

--- One request with a throw-away client: `http.request(url [, body [, opts]])`
-- or `http.request(reqt [, opts])`.
function M.request(reqt, a, b)
  local body, opts = a, b
  if type(reqt) == "table" then body, opts = nil, a end
  local client = M.client(opts)
  local r = table.pack(client:request(reqt, body))
  client.conn:shutdown()
  return table.unpack(r, 1, r.n)
end

return M
