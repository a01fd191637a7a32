--- sspi.http.client: HTTP requests authenticated with Negotiate / NTLM,
-- over LuaSocket's socket.http.  Each request is answered through an
-- sspi.http.initiator, on one kept connection (sspi.http.connection) so
-- that a multi-leg handshake stays on one TCP stream.  Reached through
-- `sspi.http` (`http.client`, `http.request`).
--
-- @module sspi.http.client

local base = require "sspi.base"
local SCHEME_NAME = require("sspi.http.headers").SCHEME_NAME
local initiator = require "sspi.http.initiator"
local connection = require "sspi.http.connection"

local M = {}

-- The initiator's options, and `connect`: the `open(host, port, timeout)`
-- of sspi.http.connection (default: LuaSocket TCP).
local CLIENT_OPTIONS = { connect = true, tls = true }
for k in pairs(initiator.OPTIONS) do CLIENT_OPTIONS[k] = true end

local Client = {}
Client.__index = Client
Client.__name = "sspi.http.client"

--- A client that authenticates its requests with Negotiate / NTLM.
-- Takes the options of `http.initiator` (the target defaults to
-- "HTTP/<host of each URL>") and `connect`, a function(host, port,
-- timeout) that opens the stream (default: LuaSocket TCP; see
-- sspi.http.connection).  client:request behaves like socket.http.request.
-- `tls`: HTTPS through sspi.tls: true, or {credential = a Schannel
-- outbound credential} (default: the system's trust anchors); the
-- Negotiate / NTLM handshake then carries the TLS channel bindings
-- (Extended Protection) unless `channel_bindings` is given.
function M.new(opts)
  opts = base.check_options(opts, CLIENT_OPTIONS, "client")
  if opts.connect ~= nil and type(opts.connect) ~= "function" then
    error("bad argument #1 to 'client' (connect: function expected)", 2)
  end
  local connect = opts.connect
  if opts.tls then
    local t = type(opts.tls) == "table" and opts.tls or {}
    connect = connect or require("sspi.tls").opener { credential = t.credential }
  end
  local self = setmetatable({ opts = opts, conn = connection.kept(connect) }, Client)
  if opts.tls and opts.channel_bindings == nil then
    local conn = self.conn
    self.bindings = function()
      return conn.sock and conn.sock.channel_bindings and conn.sock:channel_bindings() or nil
    end
  end
  return self
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
  iopts.connect, iopts.tls = nil, nil
  iopts.channel_bindings = iopts.channel_bindings or self.bindings
  iopts.host = parsed.host or reqt.host
  if not iopts.target and not iopts.host then
    error("bad argument #1 to 'request' (no host in the URL)", 2)
  end
  local ini = initiator.new(iopts)
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
        return base.fail("SEC_E_INTERNAL_ERROR", "the server closed the connection in the middle of the "
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

--- One request with a throw-away client: `http.request(url [, body [, opts]])`
-- or `http.request(reqt [, opts])`.
function M.request(reqt, a, b)
  local body, opts = a, b
  if type(reqt) == "table" then body, opts = nil, a end
  local client = M.new(opts)
  local r = table.pack(client:request(reqt, body))
  client.conn:shutdown()
  return table.unpack(r, 1, r.n)
end

return M
