--- One HTTP client for every single sign-on server in `make bench`:
-- Kerberos logins (Negotiate, SPNEGO with the AP-REQ in the first token,
-- mutual authentication checked on the 200) over one kept-alive connection,
-- reconnecting when the server closes it.
--
--   lua5.4 bench/http_login.lua URL login SECONDS
--
-- Prints "ops=N secs=T bytes=0" (N logins answered 200 with the server's
-- final token accepted).  KRB5CCNAME holds the client's ticket, the target
-- is HTTP/<host of URL>.  Any failure raises: a benchmark must not time an
-- error path.
local sspi = require "sspi"
local socket = require "socket"
local http = require "sspi.http"

local url, mode, seconds = arg[1], arg[2], tonumber(arg[3])
local host, port, path = (url or ""):match("^http://([^:/]+):(%d+)(/.*)$")
if not host or mode ~= "login" or not seconds then
  io.stderr:write("usage: lua5.4 bench/http_login.lua http://HOST:PORT/PATH login SECONDS\n")
  os.exit(2)
end

local cred = assert(sspi.credential { package = "Negotiate", mechs = { "Kerberos" } })
local target = "HTTP/" .. host
local req = sspi.ISC_REQ_MUTUAL_AUTH

local conn
local function connect()
  if conn then conn:close() end
  conn = assert(socket.tcp())
  conn:settimeout(10)
  assert(conn:connect("127.0.0.1", tonumber(port)))
  conn:setoption("tcp-nodelay", true)
end

-- One request; returns status, the WWW-Authenticate value, whether the
-- server keeps the connection; nil when the connection was closed under it.
local function exchange(authorization)
  local ok = conn:send(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: %s\r\n\r\n")
    :format(path, host, port, authorization))
  if not ok then return nil end
  local status = conn:receive("*l")
  if not status then return nil end
  local len, www, keep = 0, nil, true
  while true do
    local line = assert(conn:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    k = k:lower()
    if k == "content-length" then len = tonumber(v)
    elseif k == "www-authenticate" then www = v
    elseif k == "connection" and v:lower() == "close" then keep = false end
  end
  if len > 0 then assert(conn:receive(len)) end
  return tonumber(status:match("^HTTP/1%.%d (%d+)")), www, keep
end

local function login()
  local ctx = sspi.context(cred)
  local res = assert(ctx:step_init { target = target, context_req = req })
  local authz = "Negotiate " .. http.b64encode(res.token)
  local code, www, keep = exchange(authz)
  if not code then -- the server had closed the kept connection
    connect()
    code, www, keep = exchange(authz)
  end
  if code ~= 200 then error(("login answered %s (%s)"):format(tostring(code), tostring(www)), 0) end
  local final = assert(www and www:match("^Negotiate ([%w+/=]+)$"), "no final Negotiate token")
  local done = assert(ctx:step_init { target = target, context_req = req, input = assert(http.b64decode(final)) })
  assert(done.result == "Ok", "mutual authentication did not complete")
  ctx:close()
  if not keep then connect() end
end

connect()
login() -- warm: the first connection, the replay cache
local ops, t0 = 0, socket.gettime()
local elapsed
repeat
  login()
  ops = ops + 1
  elapsed = socket.gettime() - t0
until elapsed >= seconds
print(("ops=%d secs=%.6f bytes=0"):format(ops, elapsed))
