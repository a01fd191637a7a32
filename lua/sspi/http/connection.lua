--- sspi.http.connection: the transport under sspi.http's client, in one
-- replaceable place.
--
-- socket.http closes its connection after each request; a multi-leg
-- handshake (NTLM, NTLM inside SPNEGO) must stay on one TCP stream, so the
-- client hands socket.http (through its `create` hook) a kept connection
-- that survives that close.  The kept connection opens its stream with an
-- `open(host, port, timeout)` function: `connection.tcp` (LuaSocket)
-- unless the client was given another (`http.client{ connect = ... }`),
-- so a TLS layer slides underneath, as LuaSec does under LuaSocket,
-- without touching the client.  What `open` returns needs LuaSocket's
-- send, receive, settimeout and close (and getfd, dirty, setoption when
-- socket.http asks for them).
--
-- @module sspi.http.connection

local M = {}

--- The default `open`: a LuaSocket TCP connection.  Returns the socket, or
-- nil and LuaSocket's message.
function M.tcp(host, port, timeout)
  local socket = require "socket"
  local sock, err = socket.tcp()
  if not sock then return nil, err end
  if timeout then sock:settimeout(timeout) end
  local ok, cerr = sock:connect(host, port)
  if not ok then
    sock:close()
    return nil, cerr
  end
  return sock
end

local Kept = {}
Kept.__index = Kept
Kept.__name = "sspi.http.connection"

--- A kept connection over `open` (default `connection.tcp`).
function M.kept(open)
  return setmetatable({ open = open or M.tcp, timeout = nil, keep = true, opened = 0 }, Kept)
end

function Kept:settimeout(t, mode)
  self.timeout = t
  if self.sock then return self.sock:settimeout(t, mode) end
  return 1
end

function Kept:connect(host, port)
  if self.sock and not self.dead and self.host == host and self.port == port then
    return 1
  end
  self:shutdown()
  local sock, err = self.open(host, port, self.timeout)
  if not sock then return nil, err end
  self.sock, self.host, self.port, self.dead = sock, host, port, false
  self.opened = self.opened + 1
  return 1
end

-- A failed send or receive marks the stream dead: the next leg reconnects.
local function forward(self, method, ...)
  local r = table.pack(self.sock[method](self.sock, ...))
  if not r[1] then self.dead = true end
  return table.unpack(r, 1, r.n)
end

function Kept:send(...) return forward(self, "send", ...) end
function Kept:receive(...) return forward(self, "receive", ...) end
function Kept:getfd() return self.sock:getfd() end
function Kept:dirty() return self.sock:dirty() end
function Kept:setoption(...) return self.sock:setoption(...) end

--- socket.http's close: kept unless the stream died or keeping is off.
function Kept:close()
  if not self.keep or self.dead then self:shutdown() end
  return 1
end

--- Closes the stream for good.
function Kept:shutdown()
  if self.sock then self.sock:close() end
  self.sock, self.dead = nil, true
end

return M
