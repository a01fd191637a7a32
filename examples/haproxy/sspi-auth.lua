-- examples/haproxy/sspi-auth.lua: Kerberos and NTLM single sign-on in
-- HAProxy (2.6, which embeds Lua 5.3), as an action:
--
--   lua-load /path/to/sspi-auth.lua
--   frontend sso
--     http-request lua.sspi-auth
--     http-request return status 401 ... unless { var(txn.sspi_user) -m found }
--
-- The action answers the browser's Authorization (Negotiate: Kerberos or
-- NTLM inside SPNEGO; NTLM) with sspi.http's server.  Authenticated: it sets
-- txn.sspi_user, removes any X-Remote-User the client sent and the client's
-- Authorization, and adds X-Remote-User with the name for the backend; a
-- final server token (Kerberos mutual authentication) is left in
-- txn.sspi_www_authenticate for an `http-response set-header`.  Otherwise it
-- replies 401 with the challenges (or the next handshake leg) itself.
--
-- NTLM authenticates a connection: its three legs must meet the same
-- context.  HAProxy 2.6 gives a Lua action no connection object, so each
-- client connection gets an id in a session-scoped variable (sess.sspi_id,
-- which lives as long as the connection) and the context lives in a Lua
-- table under that id.  (Keying by the client address mixes connections
-- up: several connections come from one address.)  2.6 has no
-- connection-close hook either: a task closes the state of connections
-- idle longer than SSPI_IDLE_SECONDS (default 60).
--
-- Nothing here waits for the network: the acceptor reads its keytab
-- (KRB5_KTNAME) and the NTLM user file (NTLM_USER_FILE), never the KDC, so
-- each call runs to its end in microseconds inside HAProxy's event loop.
--
-- A Lua error in an action lets the request through with no name: the
-- guard rule after the action (401 unless txn.sspi_user is set) is what
-- makes that fail closed.

local sspi = require "sspi"
local http = require "sspi.http"

local function log(fmt, ...)
  core.Alert("sspi-auth: " .. fmt:format(...))
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
  -- Negotiate: Kerberos (KRB5_KTNAME), and NTLM inside SPNEGO from the user file
  local user_file = os.getenv("NTLM_USER_FILE")
  local cred, err = acquire { package = "Negotiate", usage = "inbound", user_file = user_file }
  if cred then credentials.Negotiate = cred else log("Negotiate not offered: %s", tostring(err)) end
  if user_file then
    cred, err = acquire { package = "NTLM", usage = "inbound", user_file = user_file }
    if cred then credentials.NTLM = cred else log("NTLM not offered: %s", tostring(err)) end
  end
end
if not next(credentials) then
  error("sspi-auth: no credentials: set KRB5_KTNAME and/or NTLM_USER_FILE")
end

local auth = http.server { credentials = credentials }
local IDLE = tonumber(os.getenv("SSPI_IDLE_SECONDS")) or 60

-- id -> { key = table handed to auth as the connection, seen = core.now() seconds }
local connections = {}
local next_id = 0

local function connection(txn)
  local id = txn:get_var("sess.sspi_id")
  local c = id and connections[id]
  if not c then
    next_id = next_id + 1
    id = tostring(next_id)
    txn:set_var("sess.sspi_id", id)
    c = { key = {} }
    connections[id] = c
  end
  c.seen = core.now().sec
  return c
end

-- The Authorization field: one value, or the repeated ones joined.  Asked
-- through sample fetches, not req_get_headers(): that builds a table of
-- every header of every request, on the login's hot path.
local function authorization(txn)
  local n = txn.f:req_fhdr_cnt("authorization")
  if n == 0 then return nil end
  if n == 1 then return txn.f:req_fhdr("authorization") end
  local all = {}
  for i = 1, n do all[i] = txn.f:req_fhdr("authorization", i) end
  return table.concat(all, ", ")
end

local function unauthorized(txn, r)
  local reply = txn:reply {
    status = r.status,
    reason = r.status == 400 and "Bad Request" or "Unauthorized",
    headers = { ["www-authenticate"] = r.www_authenticate, ["content-type"] = { "text/plain" } },
    body = r.status == 400 and "bad request\n" or "unauthorized\n",
  }
  txn:done(reply)
end

core.register_action("sspi-auth", { "http-req" }, function(txn)
  local c = connection(txn)
  local r = auth:authenticate(c.key, authorization(txn))
  txn.http:req_del_header("x-remote-user")
  if r.status ~= 200 then
    return unauthorized(txn, r)
  end
  txn.http:req_del_header("authorization")
  txn.http:req_set_header("X-Remote-User", r.name)
  txn:set_var("txn.sspi_user", r.name)
  if r.www_authenticate[1] then
    txn:set_var("txn.sspi_www_authenticate", r.www_authenticate[1])
  end
end)

-- The sweeper: HAProxy 2.6 cannot tell Lua that a connection closed.
core.register_task(function()
  while true do
    core.sleep(math.max(1, IDLE // 4))
    local now = core.now().sec
    for id, c in pairs(connections) do
      if now - c.seen > IDLE then
        auth:forget(c.key)
        connections[id] = nil
      end
    end
  end
end)
