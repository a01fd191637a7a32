-- examples/http_server.lua PORT [CERT KEY]
--
-- (With CERT and KEY, PEM files, it serves HTTPS through sspi.tls, and the
-- Negotiate / NTLM handshakes are bound to the TLS channel: Extended
-- Protection, see examples/https_server.lua.)
--
-- A small HTTP/1.1 server on LuaSocket whose GET /whoami is protected by
-- Negotiate and NTLM (sspi.http): 200 with the authenticated name as the
-- body, 401 with the challenges otherwise.  Connections are kept alive and
-- served side by side (one coroutine each over socket.select), because NTLM
-- authenticates a connection: its three legs must share one.
--
-- Credentials come from the environment: KRB5_KTNAME (the acceptor keytab,
-- read by Kerberos) for Negotiate, NTLM_USER_FILE ("DOMAIN:USER:PASSWORD"
-- lines) for NTLM.  Runs until killed; logs one line per request to stderr.

local socket = require "socket"
local sspi = require "sspi"
local http = require "sspi.http"

local port = tonumber(arg[1])
local cert, key = arg[2], arg[3]
if not port or (cert and not key) then
  io.stderr:write("usage: lua5.4 examples/http_server.lua PORT [CERT KEY]\n")
  os.exit(2)
end

local function log(fmt, ...)
  io.stderr:write(os.date("!%H:%M:%S "), fmt:format(...), "\n")
  io.stderr:flush()
end

-- Inbound credentials by scheme; a scheme whose credential cannot be had is
-- not offered (and the reason is logged).
local function acquire(args)
  local ok, cred, err = pcall(sspi.credential, args)
  if not ok then return nil, cred end
  return cred, err
end

local credentials = {}
do
  local cred, err = acquire{ package = "Negotiate", usage = "inbound" }
  if cred then credentials.Negotiate = cred else log("Negotiate not offered: %s", tostring(err)) end
  local user_file = os.getenv("NTLM_USER_FILE")
  if user_file then
    cred, err = acquire{ package = "NTLM", usage = "inbound", user_file = user_file }
    if cred then credentials.NTLM = cred else log("NTLM not offered: %s", tostring(err)) end
  else
    log("NTLM not offered: NTLM_USER_FILE is not set")
  end
end
if not next(credentials) then
  log("no credentials: set KRB5_KTNAME and/or NTLM_USER_FILE")
  os.exit(1)
end
local tls, tls_cred
if cert then
  tls = require "sspi.tls"
  tls_cred = assert(sspi.credential{ package = "Schannel", usage = "inbound", certificate = cert,
    private_key = key })
end
-- Over HTTPS every handshake is bound to its TLS channel (Extended Protection).
local auth = http.server{ credentials = credentials, channel_bindings = tls and function(conn)
  return conn:channel_bindings()
end or nil }

-------------------------------------------------------------- scheduler
-- Each connection is a coroutine; its socket is non-blocking and the
-- coroutine yields (socket, "r" | "w") when it would block.

local IDLE_TIMEOUT = 30

local function co_receive(sock, pattern)
  local got = ""
  while true do
    local data, err, partial = sock:receive(pattern, got)
    if data then return data end
    if err ~= "timeout" then return nil, err end
    got = partial
    if not coroutine.yield(sock, "r") then return nil, "idle timeout" end
  end
end

local function co_send(sock, data)
  local i = 1
  while i <= #data do
    local last, err, partial = sock:send(data, i)
    if last then
      i = last + 1
    elseif err ~= "timeout" then
      return nil, err
    else
      i = partial + 1
      if not coroutine.yield(sock, "w") then return nil, "idle timeout" end
    end
  end
  return true
end

--------------------------------------------------------------- HTTP/1.1

local REASONS = { [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized",
  [404] = "Not Found", [405] = "Method Not Allowed", [411] = "Length Required" }

local function respond(sock, status, headers, body, close)
  local lines = { ("HTTP/1.1 %d %s"):format(status, REASONS[status] or "Status") }
  for _, h in ipairs(headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  lines[#lines + 1] = "Content-Type: text/plain"
  lines[#lines + 1] = "Content-Length: " .. #body
  lines[#lines + 1] = "Connection: " .. (close and "close" or "keep-alive")
  return co_send(sock, table.concat(lines, "\r\n") .. "\r\n\r\n" .. body)
end

-- Reads one request: method, target, version, headers (lower-case names;
-- repeated fields as a list) and body.  nil, err at end of stream.
local function read_request(sock)
  local line, err = co_receive(sock, "*l")
  if not line then return nil, err end
  while line == "" do -- tolerate CRLF between requests
    line, err = co_receive(sock, "*l")
    if not line then return nil, err end
  end
  local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return nil, "bad request line" end
  local headers = {}
  while true do
    local h
    h, err = co_receive(sock, "*l")
    if not h then return nil, err end
    if h == "" then break end
    local name, value = h:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
    if not name then return nil, "bad header line" end
    name = name:lower()
    headers[name] = headers[name] or {}
    table.insert(headers[name], value)
  end
  local len = headers["content-length"] and tonumber(headers["content-length"][1])
  if headers["transfer-encoding"] then return nil, "chunked request bodies are not supported" end
  local body = ""
  if len and len > 0 then
    body, err = co_receive(sock, len)
    if not body then return nil, err end
  end
  return { method = method, target = target, version = version, headers = headers, body = body }
end

local function wants_close(req)
  local c = req.headers["connection"] and table.concat(req.headers["connection"], ","):lower() or ""
  if req.version == "1.0" then return not c:find("keep-alive", 1, true) end
  return c:find("close", 1, true) ~= nil
end

-- HTTPS: the TLS handshake first, yielding while the socket has nothing.
local function co_handshake(conn)
  while true do
    local ok, err = conn:handshake()
    if ok then return true end
    if err ~= "timeout" then return nil, err end
    if not coroutine.yield(conn, "r") then return nil, "idle timeout" end
  end
end

local function serve_connection(sock, peer)
  if tls then
    local ok, err = co_handshake(sock)
    if not ok then
      log("%s: TLS handshake: %s", peer, tostring(err))
      sock:close()
      return
    end
  end
  while true do
    local req, err = read_request(sock)
    if not req then
      if err ~= "closed" and err ~= "idle timeout" then log("%s: %s", peer, err) end
      break
    end
    local close = wants_close(req)
    local status, headers, body
    local path = req.target:match("^[^?]*")
    if path ~= "/whoami" then
      status, headers, body = 404, {}, "not found\n"
    elseif req.method ~= "GET" and req.method ~= "HEAD" then
      status, headers, body = 405, { { "Allow", "GET, HEAD" } }, "method not allowed\n"
    else
      local authz = req.headers["authorization"]
      if authz and #authz > 1 then authz = table.concat(authz, ", ") else authz = authz and authz[1] end
      local r = auth:authenticate(sock, authz)
      headers = {}
      for _, v in ipairs(r.www_authenticate) do headers[#headers + 1] = { "WWW-Authenticate", v } end
      status = r.status
      if r.status == 200 then
        body = r.name .. "\n"
        log("%s: %s %s -> 200 %s (%s)", peer, req.method, req.target, r.name, r.scheme)
      else
        body = (r.status == 400 and "bad request: " or "unauthorized: ") .. (r.reason or "") .. "\n"
        log("%s: %s %s -> %d %s", peer, req.method, req.target, r.status, r.reason or "")
      end
      if req.method == "HEAD" then body = "" end
    end
    if not respond(sock, status, headers, body, close) or close then break end
  end
  auth:forget(sock)
  sock:close()
end

------------------------------------------------------------------- main

local listener = assert(socket.bind("127.0.0.1", port))
listener:settimeout(0)
log("listening on %s://127.0.0.1:%d/whoami (schemes: %s)", tls and "https" or "http", port,
  table.concat(auth:challenges(), ", "))
io.stdout:write("ready ", port, "\n")
io.stdout:flush()

local waiting = {} -- socket -> { co, mode, since }

local function run(sock, co, ...)
  local ok, wsock, mode = coroutine.resume(co, ...)
  if not ok then
    log("connection handler failed: %s", tostring(wsock))
    pcall(sock.close, sock)
    waiting[sock] = nil
  elseif coroutine.status(co) == "dead" then
    waiting[sock] = nil
  else
    waiting[wsock] = { co = co, mode = mode, since = socket.gettime() }
  end
end

while true do
  local readers, writers = { listener }, {}
  for s, w in pairs(waiting) do
    if w.mode == "r" then readers[#readers + 1] = s else writers[#writers + 1] = s end
  end
  local readable, writable = socket.select(readers, writers, 1)
  for _, s in ipairs(readable) do
    if s == listener then
      local client = listener:accept()
      if client then
        client:settimeout(0)
        local ip, cport = client:getpeername()
        if tls then client = tls.wrap(client, { credential = tls_cred, server = true }) end
        local co = coroutine.create(serve_connection)
        run(client, co, client, ("%s:%s"):format(ip, cport))
      end
    elseif waiting[s] then
      run(s, waiting[s].co, true)
    end
  end
  for _, s in ipairs(writable) do
    if waiting[s] then run(s, waiting[s].co, true) end
  end
  local now = socket.gettime()
  for s, w in pairs(waiting) do
    if now - w.since > IDLE_TIMEOUT then run(s, w.co, false) end
  end
end
