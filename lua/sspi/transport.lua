-- sspi.transport: token framings for sspi.handshake, over LuaSocket and
-- cqueues sockets.
--
--   local transport = require "sspi.transport"
--   local t = transport.framed(sock [, {max_token =, timeout =}])
--       -- each token as a 4-byte big-endian length, then the bytes
--   local t = transport.gss_sample(sock [, opts])
--       -- the framing of MIT's gss-client / gss-server (krb5-gss-samples):
--       -- 1 flag byte, a 4-byte big-endian length, the bytes; plus their
--       -- message exchange after the handshake (wrap, MIC, NOOP)
--
-- `sock` is a LuaSocket TCP object (receive/send), a cqueues socket
-- (xread/xwrite; inside a cqueues controller its reads and writes yield, so
-- handshakes on several sockets interleave), or a stream made by
-- transport.stream.  Every transport has send(token) -> true | nil, err,
-- receive() -> token | nil, err, settimeout(seconds) and close().
--
-- Errors are tables { status, message, reason } that print as
-- "status: message": status "timeout" when the socket timed out,
-- "SEC_E_INCOMPLETE_MESSAGE" when the peer closed or the socket failed in
-- the middle of a token, "SEC_E_INVALID_TOKEN" for a frame longer than
-- max_token or a gss-sample token of an unexpected kind.

local base = require "sspi.base"

local transport = {}

local DEFAULT_MAX_TOKEN = 1024 * 1024

-- gss-misc.h token flags.
transport.GSS_SAMPLE = {
  NOOP = 0x01, CONTEXT = 0x02, DATA = 0x04, MIC = 0x08,
  CONTEXT_NEXT = 0x10, WRAPPED = 0x20, ENCRYPTED = 0x40, SEND_MIC = 0x80,
}
local G = transport.GSS_SAMPLE

-- The layer's one error class (sspi.base): status, message, reason.
local function failure(status, message, reason)
  return base.error(status, message, { reason = reason })
end
transport.error = failure

transport.is_error = base.is_error

-- Streams ------------------------------------------------------------------

-- read_exact(n) -> bytes | nil, err ; write(data) -> true | nil, err
local Stream = {}
Stream.__index = Stream

local function luasocket_stream(sock)
  local s = setmetatable({ sock = sock, kind = "luasocket" }, Stream)
  function s.read_exact(_, n)
    if n == 0 then return "" end
    local data, err, partial = sock:receive(n)
    if data then return data end
    local got = partial and #partial or 0
    if err == "timeout" then
      return nil, failure("timeout", string.format("timed out after %d of %d bytes", got, n), err)
    end
    return nil, failure("SEC_E_INCOMPLETE_MESSAGE",
                        string.format("%s after %d of %d bytes", tostring(err), got, n), err)
  end
  function s.write(_, data)
    local i, err, last = sock:send(data)
    if i == #data then return true end
    local status = err == "timeout" and "timeout" or "SEC_E_INCOMPLETE_MESSAGE"
    return nil, failure(status, string.format("%s after %d of %d bytes", tostring(err),
                                              last or i or 0, #data), err)
  end
  function s.settimeout(_, t) sock:settimeout(t) end
  function s.close(_) sock:close() end
  return s
end

local function cqueues_errno()
  local ok, errno = pcall(require, "cqueues.errno")
  return ok and errno or {}
end

local function cqueues_stream(sock)
  local errno = cqueues_errno()
  local s = setmetatable({ sock = sock, kind = "cqueues" }, Stream)
  local function describe(why)
    if why == errno.ETIMEDOUT then return "timeout", "timed out" end
    if type(why) == "number" and errno.strerror then return "SEC_E_INCOMPLETE_MESSAGE", errno.strerror(why) end
    return "SEC_E_INCOMPLETE_MESSAGE", tostring(why)
  end
  function s.read_exact(self, n)
    local parts, got = {}, 0
    while got < n do
      -- cqueues raises socket errors other than EPIPE / ETIMEDOUT by
      -- default; pcall (yieldable in 5.4) turns them into return values.
      local ok, data, why = pcall(sock.xread, sock, n - got, "b", self.timeout)
      if not ok then return nil, failure("SEC_E_INCOMPLETE_MESSAGE", tostring(data), data) end
      if not data then
        if why == nil then
          return nil, failure("SEC_E_INCOMPLETE_MESSAGE",
                              string.format("closed after %d of %d bytes", got, n), "closed")
        end
        local status, text = describe(why)
        return nil, failure(status, string.format("%s after %d of %d bytes", text, got, n), why)
      end
      parts[#parts + 1] = data
      got = got + #data
    end
    return table.concat(parts)
  end
  function s.write(self, data)
    local ok, res, why = pcall(sock.xwrite, sock, data, "bn", self.timeout)
    if not ok then return nil, failure("SEC_E_INCOMPLETE_MESSAGE", tostring(res), res) end
    if not res then
      local status, text = describe(why)
      return nil, failure(status, "write failed: " .. text, why)
    end
    return true
  end
  function s.settimeout(self, t) self.timeout = t end
  function s.close(_) sock:close() end
  return s
end

--- Wraps a LuaSocket or cqueues socket (or returns a stream unchanged).
function transport.stream(sock)
  if getmetatable(sock) == Stream then return sock end
  local ok_x = pcall(function() return sock.xread end)
  if ok_x and type(sock.xread) == "function" and type(sock.xwrite) == "function" then
    return cqueues_stream(sock)
  end
  if (type(sock) == "table" or type(sock) == "userdata")
     and type(sock.receive) == "function" and type(sock.send) == "function" then
    return luasocket_stream(sock)
  end
  error("bad argument #1 to 'stream' (LuaSocket or cqueues socket expected)", 2)
end

local OPTIONS = { max_token = true, timeout = true }

local function check_opts(fname, opts)
  opts = base.check_options(opts, OPTIONS, fname, 2, 5)
  local max = opts.max_token or DEFAULT_MAX_TOKEN
  if math.type(max) ~= "integer" or max < 1 or max > 0xffffffff then
    error("bad argument #2 to '" .. fname .. "' (max_token must be an integer in 1..2^32-1)", 4)
  end
  return opts, max
end

local function check_token(fname, token)
  if type(token) ~= "string" then
    error("bad argument #1 to '" .. fname .. "' (string expected, got " .. type(token) .. ")", 3)
  end
  if #token > 0xffffffff then error("bad argument #1 to '" .. fname .. "' (token too long)", 3) end
end

-- Length-prefixed framing -------------------------------------------------

local Framed = {}
Framed.__index = Framed

-- A framing object of `class` over sock (both framings take the same options).
local function new_framing(fname, class, sock, opts)
  local max
  opts, max = check_opts(fname, opts)
  local t = setmetatable({ stream = transport.stream(sock), max_token = max }, class)
  if opts.timeout then t:settimeout(opts.timeout) end
  return t
end

-- Reads a body of `len` bytes, refusing one longer than max_token.
local function read_body(t, len, what)
  if len > t.max_token then
    return nil, failure("SEC_E_INVALID_TOKEN",
                        string.format("%s of %d bytes exceeds max_token (%d)", what, len, t.max_token))
  end
  return t.stream:read_exact(len)
end

function transport.framed(sock, opts)
  local t = new_framing("framed", Framed, sock, opts)
  return t
end

function Framed:send(token)
  check_token("send", token)
  return self.stream:write(string.pack(">I4", #token) .. token)
end

function Framed:receive()
  local header, err = self.stream:read_exact(4)
  if not header then return nil, err end
  return read_body(self, string.unpack(">I4", header), "frame")
end

function Framed:settimeout(t) self.stream:settimeout(t) end
function Framed:close() self.stream:close() end

-- gss-sample framing and protocol -----------------------------------------

local GssSample = {}
GssSample.__index = GssSample

function transport.gss_sample(sock, opts)
  local t = new_framing("gss_sample", GssSample, sock, opts)
  return t
end

--- send_token of gss-misc.c: the flag byte (omitted when 0, the v1
-- format), the 4-byte big-endian length, the bytes.
function GssSample:send_token(flags, body)
  if math.type(flags) ~= "integer" or flags < 0 or flags > 255 then
    error("bad argument #1 to 'send_token' (flags must be an integer 0..255)", 2)
  end
  check_token("send_token", body)
  local flag_byte = flags ~= 0 and string.char(flags) or ""
  return self.stream:write(flag_byte .. string.pack(">I4", #body) .. body)
end

--- recv_token of gss-misc.c -> flags, body.  A zero first byte is the v1
-- format, where that byte was the top of the length.
function GssSample:receive_token()
  local first, err = self.stream:read_exact(1)
  if not first then return nil, err end
  local flags = first:byte()
  local len_bytes
  if flags == 0 then
    local rest, rerr = self.stream:read_exact(3)
    if not rest then return nil, rerr end
    len_bytes = "\0" .. rest
  else
    local rest, rerr = self.stream:read_exact(4)
    if not rest then return nil, rerr end
    len_bytes = rest
  end
  local body, berr = read_body(self, string.unpack(">I4", len_bytes), "token")
  if not body then return nil, berr end
  return flags, body
end

-- For sspi.handshake: context tokens.
function GssSample:send(token)
  check_token("send", token)
  return self:send_token(G.CONTEXT, token)
end

function GssSample:receive()
  local flags, body = self:receive_token()
  if not flags then return nil, body end
  -- gss-server sends TOKEN_CONTEXT; the v1 format has no flags at all.
  if flags ~= G.CONTEXT and flags ~= 0 then
    return nil, failure("SEC_E_INVALID_TOKEN",
                        string.format("expected a context token, got flags 0x%02x", flags))
  end
  return body
end

function GssSample:settimeout(t) self.stream:settimeout(t) end
function GssSample:close() self.stream:close() end

--- Client: announce a handshake (NOOP | CONTEXT_NEXT), as gss-client does
-- before its first context token; `authenticate = false` announces an
-- unauthenticated session (NOOP alone, gss-client -na).
function GssSample:client_start(authenticate)
  if authenticate == false then return self:send_token(G.NOOP, "") end
  return self:send_token(G.NOOP | G.CONTEXT_NEXT, "")
end

--- Client: one message of gss-client's call_server: wrap (and encrypt)
-- the message, send it as DATA, read the server's MIC of the plain text
-- and verify it.  opts: wrap (true), encrypt (true), mic (true).  With no
-- context (unauthenticated) the message goes in the clear.  Returns true,
-- or nil and an error (the core's error object for a failed unwrap/verify).
function GssSample:client_message(ctx, message, opts)
  opts = opts or {}
  local wrap = opts.wrap ~= false and ctx ~= nil
  local encrypt = wrap and opts.encrypt ~= false
  local mic = opts.mic ~= false and ctx ~= nil
  local body = message
  if wrap then
    local wrapped, err = ctx:wrap(message, { encrypt = encrypt })
    if not wrapped then return nil, err end
    body = wrapped
  end
  local flags = G.DATA | (wrap and G.WRAPPED or 0) | (encrypt and G.ENCRYPTED or 0)
                | (mic and G.SEND_MIC or 0)
  local ok, err = self:send_token(flags, body)
  if not ok then return nil, err end
  local rflags, reply = self:receive_token()
  if not rflags then return nil, reply end
  if mic then
    if rflags & G.MIC == 0 then
      return nil, failure("SEC_E_INVALID_TOKEN", string.format("expected a MIC token, got flags 0x%02x", rflags))
    end
    local verified, verr = ctx:verify(message, reply)
    if not verified then return nil, verr end
  end
  return true
end

--- Client: end the session (NOOP), as gss-client does after its messages.
function GssSample:client_finish()
  return self:send_token(G.NOOP, "")
end

--- Server: read the client's opening NOOP.  Returns true when a
-- handshake follows (CONTEXT_NEXT), false for an unauthenticated session.
function GssSample:server_start()
  local flags, body = self:receive_token()
  if not flags then return nil, body end
  if flags & G.NOOP == 0 then
    return nil, failure("SEC_E_INVALID_TOKEN", string.format("expected a NOOP token, got flags 0x%02x", flags))
  end
  return flags & G.CONTEXT_NEXT ~= 0
end

--- Server: gss-server's sign_server loop after the handshake.  For each
-- DATA token: unwrap it if WRAPPED, call on_message(text, info) (info:
-- flags, wrapped, encrypted), answer with a MIC of the text if the client
-- asked (SEND_MIC), else with a NOOP.  Ends at the client's NOOP and
-- returns the number of messages, or nil and an error.
function GssSample:server_messages(ctx, on_message)
  local count = 0
  while true do
    local flags, body = self:receive_token()
    if not flags then return nil, body end
    if flags & G.NOOP ~= 0 then return count end
    if ctx == nil and flags & (G.WRAPPED | G.ENCRYPTED | G.SEND_MIC) ~= 0 then
      return nil, failure("SEC_E_INVALID_TOKEN", "unauthenticated client asked for protected messages")
    end
    local text, encrypted = body, false
    if flags & G.WRAPPED ~= 0 then
      local data, enc = ctx:unwrap(body)
      if not data then return nil, enc end
      text, encrypted = data, enc
    end
    count = count + 1
    if on_message then
      on_message(text, { flags = flags, wrapped = flags & G.WRAPPED ~= 0, encrypted = encrypted and true or false })
    end
    local ok, err
    if flags & G.SEND_MIC ~= 0 then
      local mic, merr = ctx:sign(text)
      if not mic then return nil, merr end
      ok, err = self:send_token(G.MIC, mic)
    else
      ok, err = self:send_token(G.NOOP, "")
    end
    if not ok then return nil, err end
  end
end

return transport
