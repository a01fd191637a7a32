--- sspi.http.server: the server side of HTTP Negotiate (RFC 4559) and
-- NTLM authentication, framework-agnostic: it keeps one context per
-- connection object, answers each request's Authorization value with a
-- status and WWW-Authenticate values, and returns the authenticated name.
-- Sockets, request parsing and responses stay the host's (see
-- examples/http_server.lua).  Reached through `sspi.http` (`http.server`).
--
-- @module sspi.http.server

local base = require "sspi.base"
local headers = require "sspi.http.headers"

local SCHEME_PACKAGE, SCHEME_NAME = headers.SCHEME_PACKAGE, headers.SCHEME_NAME

local M = {}
local Server = {}
Server.__index = Server
Server.__name = "sspi.http.server"

local SERVER_OPTIONS = { schemes = true, credentials = true, context_req = true,
  connection_auth = true, channel_bindings = true }

--- The server side.
-- opts.credentials     { Negotiate = cred, NTLM = cred }: inbound credentials by scheme;
--                      a scheme is offered only when it has one
-- opts.schemes         order of the challenges (default {"Negotiate", "NTLM"})
-- opts.context_req     ASC_REQ_* mask (default ASC_REQ_CONNECTION)
-- opts.connection_auth keep an NTLM authentication for the rest of its
--                      connection, as IIS does (default true)
-- opts.channel_bindings function(conn) -> the connection's channel bindings
--                      (Extended Protection: conn:channel_bindings() of an
--                      sspi.tls connection), checked by every handshake on it;
--                      a client without them is refused unless context_req
--                      has ASC_REQ_ALLOW_MISSING_BINDINGS (NTLM; MIT Kerberos
--                      itself accepts a client that sent none)
function M.new(opts)
  opts = base.check_options(opts, SERVER_OPTIONS, "server")
  if type(opts.credentials) ~= "table" then
    error("bad argument #1 to 'server' (credentials table expected)", 2)
  end
  local creds, offered = {}, {}
  for k, v in pairs(opts.credentials) do
    creds[headers.scheme_key(k)] = v
  end
  for _, s in ipairs(opts.schemes or { "Negotiate", "NTLM" }) do
    local key = headers.scheme_key(s)
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
  local cred, perr = headers.parse_credentials(authorization)
  if not cred then return self:_reject(conn, 400, perr) end
  local key = cred.scheme:lower()
  if not self.creds[key] or not SCHEME_PACKAGE[key] then
    return self:_reject(conn, 401, "scheme " .. cred.scheme .. " not offered")
  end
  if not cred.token68 then
    return self:_reject(conn, 400, "Authorization: " .. cred.scheme .. " without a token")
  end
  local token, derr = base.b64decode(cred.token68)
  if not token or #token == 0 then
    return self:_reject(conn, 400, "Authorization: " .. (derr or "empty token"))
  end
  if not st or st.scheme ~= key or st.name or is_initial_token(token) then
    if not is_initial_token(token) then
      -- a continuation without its start on this connection: NTLM's
      -- AUTHENTICATE must come over the connection that got the CHALLENGE
      return self:_reject(conn, 401, "no " .. cred.scheme .. " handshake in progress on this connection",
        base.error("SEC_E_OUT_OF_SEQUENCE", "continuation token without a handshake on this connection"))
    end
    self:forget(conn)
    st = { scheme = key, context = base.sspi().context(self.creds[key]) }
    self.conns[conn] = st
  end
  local sspi = base.sspi()
  local input = token
  if self.opts.channel_bindings then
    local cb = self.opts.channel_bindings(conn)
    if cb then input = { token, cb } end
  end
  local res, err = base.step(st.context, "step_accept", {
    input = input, context_req = self.opts.context_req or sspi.ASC_REQ_CONNECTION,
  })
  if not res then
    return self:_reject(conn, 401, tostring(err), err)
  end
  local out = res.token and #res.token > 0 and base.b64encode(res.token) or nil
  if res.result ~= "Ok" then
    return { status = 401, www_authenticate = { headers.format_challenge(SCHEME_NAME[key], out) },
      reason = "handshake continues" }
  end
  st.name = st.context:query("names").user
  return { status = 200, www_authenticate = out and { headers.format_challenge(SCHEME_NAME[key], out) } or {},
    name = st.name, scheme = SCHEME_NAME[key], context = st.context,
    delegated_credential = st.context:query("delegated_credential") }
end

return M
