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

local WRAP_KEYS = { credential = true, target = true, server = true, context_req = true, alpn = true,
  client_credential = true, nodelay = true }

--- An input SECBUFFER_APPLICATION_PROTOCOLS for a client's first step (the
-- ALPN offer of that context, instead of the credential's `alpn`): Windows'
-- SEC_APPLICATION_PROTOCOLS structure, little-endian: ULONG
-- ProtocolListsSize, then one list: ULONG ProtoNegoExt (2, ALPN), USHORT
-- ProtocolListSize, the names in ALPN wire format (a length byte, the name).
--   ctx:step_init{ target = host, input = { tls.alpn_buffer{ "h2", "http/1.1" } } }
function tls.alpn_buffer(protocols)
  if type(protocols) ~= "table" or protocols[1] == nil then
    error("bad argument #1 to 'alpn_buffer' (non-empty list of protocol names expected)", 2)
  end
  local parts = {}
  for i, name in ipairs(protocols) do
    if type(name) ~= "string" or #name == 0 or #name > 255 then
      error(("bad argument #1 to 'alpn_buffer' (protocol %d: a name of 1 to 255 bytes expected)")
        :format(i), 2)
    end
    parts[i] = string.char(#name) .. name
  end
  local list = table.concat(parts)
  if #list > 65535 then error("bad argument #1 to 'alpn_buffer' (more than 65535 bytes of names)", 2) end
  local lists = string.pack("<I4I2", 2, #list) .. list
  return sspi.buffer(sspi.SECBUFFER_APPLICATION_PROTOCOLS, string.pack("<I4", #lists) .. lists)
end

--- Wraps a connected socket.  opts: credential (a Schannel credential,
-- required), target (the server name: SNI and the name checked against its
-- certificate), server (true on the accepting side), context_req, alpn (the
-- protocols of this connection instead of the credential's: a client's
-- offer, a server's choice; a tls.alpn_buffer with the handshake's steps),
-- client_credential (a client's credential holding a client certificate, or
-- a function(conn) returning one or nil: used when the server asks for a
-- certificate the credential lacks, IncompleteCredentials), nodelay
-- (default true: TCP_NODELAY on a LuaSocket TCP socket; false leaves the
-- socket as it is).
--
-- Why TCP_NODELAY: each send hands the kernel whole records already, so
-- Nagle's algorithm has nothing to coalesce, only delays.  LuaSocket writes
-- a 16 KiB record in 8192-byte steps; its small last piece waited for the
-- peer's ACK while the peer waited for the whole record (loopback HTTPS:
-- both processes idle three quarters of the time).
function tls.wrap(sock, opts)
  if type(opts) ~= "table" then error("bad argument #2 to 'wrap' (table expected)", 2) end
  for k in pairs(opts) do
    if not WRAP_KEYS[k] then error("bad argument #2 to 'wrap' (unknown option '" .. tostring(k) .. "')", 2) end
  end
  if opts.credential == nil then error("bad argument #2 to 'wrap' (credential required)", 2) end
  local alpn = opts.alpn ~= nil and tls.alpn_buffer(opts.alpn) or nil
  local ctx, err, status = sspi.context(opts.credential)
  if not ctx then return nil, err, status end
  if opts.nodelay ~= false and type(sock) == "userdata" and tostring(sock):find("^tcp{") then
    sock:setoption("tcp-nodelay", true)
  end
  return setmetatable({
    sock = sock, stream = transport.stream(sock), ctx = ctx, server = opts.server and true or false,
    target = opts.target, context_req = opts.context_req, alpn = alpn,
    client_credential = opts.client_credential,
    inbuf = "", plain = "", ready = false, closed = false, peer_closed = false,
  }, Conn)
end

-- Makes inbuf hold at least n bytes.  Resumable: on a LuaSocket timeout
-- (a non-blocking socket) what arrived is kept and nil, "timeout" returned;
-- calling again goes on.
function Conn:_need(n)
  while #self.inbuf < n do
    if self.stream.kind == "cqueues" then
      local data, err = self.stream:read_exact(n - #self.inbuf)
      if not data then return nil, err and err.reason == "closed" and "closed" or err end
      self.inbuf = self.inbuf .. data
    else
      -- inbuf as LuaSocket's prefix: the bytes arrive straight after it
      -- in one string (n counts the prefix), no second copy to join them;
      -- a partial result on a timeout starts with the prefix too
      local data, err, partial = self.sock:receive(n, self.inbuf)
      if data then
        self.inbuf = data
      else
        if partial then self.inbuf = partial end
        return nil, err
      end
    end
  end
  return true
end

-- The size of the record at the start of inbuf, once its header is there.
function Conn:_record_size()
  if #self.inbuf < 5 then return nil end
  return 5 + self.inbuf:byte(4) * 256 + self.inbuf:byte(5)
end

-- Makes inbuf hold a whole record.
function Conn:_read_record()
  local ok, err = self:_need(5)
  if not ok then return nil, err end
  return self:_need(self:_record_size())
end

function Conn:_step(input)
  local args = { input = input ~= "" and input or nil, context_req = self.context_req,
    credential = self.step_credential }
  self.step_credential = nil
  if self.alpn and not self.ready then
    -- the package takes it on the context's first step
    args.input = args.input and { args.input, self.alpn } or { self.alpn }
  end
  local res, err, status
  if self.server then
    res, err, status = self.ctx:step_accept(args)
  else
    args.target = self.target
    res, err, status = self.ctx:step_init(args)
  end
  if not res and type(err) == "table" and err.token then
    -- the alert of a failed step (unknown_ca, protocol_version ...): the
    -- peer learns why before the connection closes
    self:_send_raw(err.token)
  end
  return res, err, status
end

-- Sends bytes; on a non-blocking LuaSocket waits until it can write (a
-- write that blocks is rare and short, and a half-sent record would stall
-- the peer).
function Conn:_send_raw(bytes)
  if not bytes or #bytes == 0 then return true end
  if self.stream.kind == "cqueues" then return self.stream:write(bytes) end
  local i = 1
  while i <= #bytes do
    local last, err, partial = self.sock:send(bytes, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = (partial or i - 1) + 1
      require("socket").select(nil, { self.sock }, 5)
    else
      return nil, err
    end
  end
  return true
end

--- Runs the handshake to completion.  Returns true, or nil, err, status;
-- on a non-blocking socket nil, "timeout" means "call again when readable".
function Conn:handshake()
  if self.ready then return true end
  while true do
    if self.started and self.need then
      local ok, err = self:_need(self.need)
      if not ok then return nil, err, type(err) == "table" and err.status or nil end
      self.need = nil
    end
    self.started = true
    local res, err, status = self:_step(self.inbuf)
    if not res then return nil, err, status end
    local ok, werr = self:_send_raw(res.token)
    if not ok then return nil, werr end
    if res.result == "IncompleteMessage" then
      self.need = #self.inbuf + res.missing
    elseif res.result == "IncompleteCredentials" then
      -- step again with the same input: with client_credential's
      -- certificate, or without one
      local cc = self.client_credential
      if type(cc) == "function" then cc = cc(self) end
      self.step_credential = cc
    else
      self.inbuf = res.extra or ""
      if res.result == "Ok" then
        self.ready = true
        return true
      end
      self.need = self.inbuf == "" and 5 or nil
      if self.need then
        -- a whole record: its header first, then the rest
        local okh, herr = self:_need(5)
        if not okh then return nil, herr end
        self.need = self:_record_size()
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
  local ok, werr = self:_send_raw(records)
  if not ok then return nil, werr end
  return (i or 1) + #data - 1
end

-- Decrypts more into plain; false (and the reason) when nothing more comes.
function Conn:_fill()
  while true do
    if self.peer_closed then return nil, "closed" end
    if self.inbuf == "" or self.need then
      local ok, err = self:_need(self.need or 5)
      if ok and not self.need then ok, err = self:_need(self:_record_size()) end
      if not ok then return nil, err end
      self.need = nil
    end
    local data, extra_or_err, status = self.ctx:unwrap(self.inbuf)
    if data then
      self.inbuf = extra_or_err or ""
      if #data > 0 then
        self.plain = self.plain .. data
        return true
      end
    elseif status == "SEC_E_INCOMPLETE_MESSAGE" then
      self.need = #self.inbuf + extra_or_err.missing
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
    local out = self.plain
    if #out == pattern then
      self.plain = "" -- the common case of a reader in record-sized pieces: no copy
    else
      out = out:sub(1, pattern)
      self.plain = self.plain:sub(pattern + 1)
    end
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

function Conn:setoption(...)
  if self.sock.setoption then return self.sock:setoption(...) end
  return 1
end

function Conn:getfd()
  if self.sock.getfd then return self.sock:getfd() end
  if self.sock.pollfd then return self.sock:pollfd() end
  return -1
end

-- Readable without waiting: decrypted data, or a whole record received.
function Conn:dirty()
  local n = self:_record_size()
  return #self.plain > 0 or (n ~= nil and #self.inbuf >= n)
end

--- The channel bindings of this connection for Negotiate / NTLM (Extended
-- Protection): an sspi.buffer from RFC 5929 tls-server-end-point.
function Conn:channel_bindings()
  local cb, err, status = self.ctx:query("endpoint_bindings")
  if not cb then return nil, err, status end
  return sspi.channel_bindings { application_data = cb }
end

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
  local o = { credential = opts.credential, target = opts.target or host, context_req = opts.context_req,
    alpn = opts.alpn, client_credential = opts.client_credential, nodelay = opts.nodelay }
  local conn, werr, status = tls.wrap(sock, o)
  if not conn then sock:close(); return nil, werr, status end
  local ok, herr, hstatus = conn:handshake()
  if not ok then conn.closed = true; conn.ctx:close(); sock:close(); return nil, herr, hstatus end
  return conn
end

--- An `open(host, port, timeout)` for sspi.http's client (its `connect`
-- option): TCP, then TLS with `target` = the host.  opts: credential
-- (default: an outbound Schannel credential with the system's trust
-- anchors), context_req.
function tls.opener(opts)
  opts = opts or {}
  local cred = opts.credential
  return function(host, port, timeout)
    if not cred then
      local c, err = sspi.credential { package = "Schannel", usage = "outbound" }
      if not c then return nil, tostring(err) end
      cred = c
    end
    local conn, err = tls.connect(host, port, { credential = cred, timeout = timeout,
      context_req = opts.context_req })
    if not conn then return nil, tostring(err) end
    return conn
  end
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
    context_req = opts.context_req, alpn = opts.alpn, nodelay = opts.nodelay })
  if not conn then sock:close(); return nil, werr, status end
  local ok, herr, hstatus = conn:handshake()
  if not ok then conn.closed = true; conn.ctx:close(); sock:close(); return nil, herr, hstatus end
  return conn
end

return tls
