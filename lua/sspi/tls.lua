-- sspi.tls: TLS over any LuaSocket-like transport with the Schannel package,
-- the way LuaSec slides under LuaSocket: the wrapped object has the
-- socket's send/receive/close/settimeout/getfd, so HTTP and the framings of
-- sspi.transport run over it unchanged.
--
--   local tls = require "sspi.tls"
--   local cred = sspi.credential{ package = "Schannel", usage = "outbound" }
--   local conn = tls.wrap(sock, { credential = cred, target = "web.example.test" })
--   assert(conn:handshake())
--   conn:send("GET / HTTP/1.1\r\n...")
--   local line = conn:receive("*l")
--
-- `sock` is a LuaSocket TCP object or a cqueues socket (inside a cqueues
-- controller its reads and writes yield, as in sspi.transport).  The
-- handshake is the script's own loop of step_init/step_accept with SSPI's
-- stream rules: IncompleteMessage reads the missing bytes, EXTRA is kept
-- for the next call, SEC_I_RENEGOTIATE (a TLS 1.3 session ticket or key
-- update) goes back through a step, close_notify ends receive with
-- nil, "closed" (as LuaSocket does for a closed connection).
local sspi = require "sspi"
local transport = require "sspi.transport"

local tls = {}

local Conn = { __name = "sspi.tls.connection" }
Conn.__index = Conn
Conn.__tostring = function(c)
  return ("sspi.tls.connection (%s, %s)"):format(c.server and "server" or "client",
    c.closed and "closed" or c.ready and "ready" or "handshake")
end

local WRAP_KEYS = { credential = true, target = true, server = true, context_req = true }

--- Wraps a connected socket.  opts: credential (a Schannel credential,
-- required), target (the server name: SNI and the name checked against its
-- certificate), server (true on the accepting side), context_req.
function tls.wrap(sock, opts)
  if type(opts) ~= "table" then error("bad argument #2 to 'wrap' (table expected)", 2) end
  for k in pairs(opts) do
    if not WRAP_KEYS[k] then error("bad argument #2 to 'wrap' (unknown option '" .. tostring(k) .. "')", 2) end
  end
  if opts.credential == nil then error("bad argument #2 to 'wrap' (credential required)", 2) end
  local ctx, err, status = sspi.context(opts.credential)
  if not ctx then return nil, err, status end
  return setmetatable({
    sock = sock, stream = transport.stream(sock), ctx = ctx, server = opts.server and true or false,
    target = opts.target, context_req = opts.context_req,
    inbuf = "", plain = "", ready = false, closed = false, peer_closed = false,
  }, Conn)
end

-- Reads the rest of one record (or n bytes) into inbuf.
function Conn:_read(n)
  local data, err = self.stream:read_exact(n)
  if not data then return nil, err end
  self.inbuf = self.inbuf .. data
  return true
end

-- Reads one whole record when inbuf is empty.
function Conn:_read_record()
  local ok, err = self:_read(5)
  if not ok then return nil, err end
  local n = self.inbuf:byte(#self.inbuf - 1) * 256 + self.inbuf:byte(#self.inbuf)
  return self:_read(n)
end

function Conn:_step(input)
  local args = { input = input ~= "" and input or nil, context_req = self.context_req }
  if self.server then
    return self.ctx:step_accept(args)
  end
  args.target = self.target
  return self.ctx:step_init(args)
end

function Conn:_send_raw(bytes)
  if bytes and #bytes > 0 then return self.stream:write(bytes) end
  return true
end

--- Runs the handshake to completion.  Returns true, or nil, err, status.
function Conn:handshake()
  if self.ready then return true end
  local first = not self.server
  while true do
    if self.inbuf == "" and not first then
      local ok, err = self:_read_record()
      if not ok then return nil, err, err and err.status end
    end
    first = false
    local res, err, status = self:_step(self.inbuf)
    if not res then return nil, err, status end
    local ok, werr = self:_send_raw(res.token)
    if not ok then return nil, werr, werr and werr.status end
    if res.result == "IncompleteMessage" then
      ok, werr = self:_read(res.missing)
      if not ok then return nil, werr, werr and werr.status end
    elseif res.result ~= "IncompleteCredentials" then
      -- (IncompleteCredentials: step again with the same input, without a
      -- client certificate)
      self.inbuf = res.extra or ""
      if res.result == "Ok" then
        self.ready = true
        return true
      end
    end
  end
end

--- Sends data (one or more TLS records).  Returns the number of bytes sent
-- (LuaSocket's convention), or nil, err.
function Conn:send(data, i, j)
  if self.closed then return nil, "closed" end
  if not self.ready then
    local ok, err = self:handshake()
    if not ok then return nil, err end
  end
  data = tostring(data)
  if i or j then data = data:sub(i or 1, j or -1) end
  if #data == 0 then return 0 end
  local records, err, status = self.ctx:wrap(data)
  if not records then return nil, err, status end
  local ok, werr = self.stream:write(records)
  if not ok then return nil, werr end
  return #data
end

-- Decrypts more into plain; false (and the reason) when nothing more comes.
function Conn:_fill()
  while true do
    if self.peer_closed then return nil, "closed" end
    if self.inbuf == "" then
      local ok, err = self:_read_record()
      if not ok then
        if err and err.reason == "closed" then return nil, "closed" end
        return nil, err and err.reason == "timeout" and "timeout" or err
      end
    end
    local data, extra_or_err, status = self.ctx:unwrap(self.inbuf)
    if data then
      self.inbuf = extra_or_err or ""
      if #data > 0 then
        self.plain = self.plain .. data
        return true
      end
    elseif status == "SEC_E_INCOMPLETE_MESSAGE" then
      local ok, err = self:_read(extra_or_err.missing)
      if not ok then return nil, err end
    elseif status == "SEC_I_RENEGOTIATE" then
      local res, err, st = self:_step(extra_or_err.extra)
      if not res then return nil, err, st end
      local ok, werr = self:_send_raw(res.token)
      if not ok then return nil, werr end
      self.inbuf = res.extra or ""
    elseif status == "SEC_I_CONTEXT_EXPIRED" then
      self.peer_closed = true
      self.inbuf = ""
      return nil, "closed"
    else
      return nil, extra_or_err, status
    end
  end
end

--- LuaSocket's receive: "*l" / "l" (a line, without CR LF), "*a" / "a"
-- (until the peer closes), or a byte count; prefix is prepended.
-- Returns data, or nil, err, partial ("closed" after close_notify).
function Conn:receive(pattern, prefix)
  if self.closed then return nil, "closed" end
  if not self.ready then
    local ok, err = self:handshake()
    if not ok then return nil, err end
  end
  pattern = pattern or "*l"
  prefix = prefix or ""
  if type(pattern) == "number" then
    while #self.plain < pattern do
      local ok, err = self:_fill()
      if not ok then
        local partial = self.plain
        self.plain = ""
        return nil, err, prefix .. partial
      end
    end
    local out = self.plain:sub(1, pattern)
    self.plain = self.plain:sub(pattern + 1)
    return prefix .. out
  end
  if pattern == "*a" or pattern == "a" then
    while true do
      local ok, err = self:_fill()
      if not ok then
        if err ~= "closed" then return nil, err, prefix .. self.plain end
        break
      end
    end
    local out = self.plain
    self.plain = ""
    return prefix .. out
  end
  if pattern == "*l" or pattern == "l" then
    while true do
      local nl = self.plain:find("\n", 1, true)
      if nl then
        local line = self.plain:sub(1, nl - 1):gsub("\r", "")
        self.plain = self.plain:sub(nl + 1)
        return prefix .. line
      end
      local ok, err = self:_fill()
      if not ok then
        local partial = self.plain
        self.plain = ""
        return nil, err, prefix .. partial
      end
    end
  end
  error("bad argument #1 to 'receive' (invalid pattern)", 2)
end

--- Sends close_notify (SCHANNEL_SHUTDOWN, then a step) and closes the socket.
function Conn:close()
  if self.closed then return 1 end
  self.closed = true
  if self.ready then
    if self.ctx:apply_control_token(sspi.SCHANNEL_SHUTDOWN) then
      local res = self:_step("")
      if res and res.token then pcall(self._send_raw, self, res.token) end
    end
  end
  self.ctx:close()
  self.stream:close()
  return 1
end

function Conn:settimeout(t, mode)
  if self.sock.settimeout then return self.sock:settimeout(t, mode) end
  self.stream:settimeout(t)
  return 1
end

function Conn:getfd()
  if self.sock.getfd then return self.sock:getfd() end
  if self.sock.pollfd then return self.sock:pollfd() end
  return -1
end

function Conn:dirty() return #self.plain > 0 or #self.inbuf > 0 end

--- The sspi.context underneath (for queries: endpoint_bindings, remote_cert ...).
function Conn:context() return self.ctx end

--- Connects to host:port over LuaSocket, wraps and runs the handshake.
-- opts as for wrap; target defaults to host.  Returns the connection or
-- nil, err, status.
function tls.connect(host, port, opts)
  local socket = require "socket"
  opts = opts or {}
  local sock, err = socket.connect(host, port)
  if not sock then return nil, err end
  if opts.timeout then sock:settimeout(opts.timeout) end
  local o = { credential = opts.credential, target = opts.target or host, context_req = opts.context_req }
  local conn, werr, status = tls.wrap(sock, o)
  if not conn then sock:close(); return nil, werr, status end
  local ok, herr, hstatus = conn:handshake()
  if not ok then conn.closed = true; conn.ctx:close(); sock:close(); return nil, herr, hstatus end
  return conn
end

--- Accepts one connection on a listening LuaSocket server, wraps it as
-- the server side and runs the handshake.  Returns the connection or
-- nil, err, status (the accepted socket is closed then).
function tls.accept(server, opts)
  opts = opts or {}
  local sock, err = server:accept()
  if not sock then return nil, err end
  if opts.timeout then sock:settimeout(opts.timeout) end
  local conn, werr, status = tls.wrap(sock, { credential = opts.credential, server = true,
    context_req = opts.context_req })
  if not conn then sock:close(); return nil, werr, status end
  local ok, herr, hstatus = conn:handshake()
  if not ok then conn.closed = true; conn.ctx:close(); sock:close(); return nil, herr, hstatus end
  return conn
end

return tls
