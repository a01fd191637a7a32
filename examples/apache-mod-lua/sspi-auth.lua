-- examples/apache-mod-lua/sspi-auth.lua: Kerberos and NTLM single sign-on
-- in Apache's mod_lua (Lua 5.3), as an authentication hook:
--
--   LuaScope conn
--   LuaHookCheckUserID /path/to/sspi-auth.lua authenticate
--   AuthType SSPI
--   Require valid-user
--
-- `authenticate` answers the browser's Authorization (Negotiate: Kerberos,
-- or NTLM inside SPNEGO; NTLM) with sspi.http's server and sets r.user,
-- which Apache logs and hands to every later phase (REMOTE_USER); otherwise
-- it answers 401 with the challenges (or the next handshake leg).
--
-- `LuaScope conn` gives each client connection its own Lua state, loaded
-- when the connection's first request needs it and closed with the
-- connection: this file's locals are the connection's, so NTLM's three
-- legs (which authenticate a connection) meet one context.  The
-- credentials come from KRB5_KTNAME and NTLM_USER_FILE, read by Apache's
-- user.

local sspi = require "sspi"
local http = require "sspi.http"

local user_file = os.getenv("NTLM_USER_FILE")
local credentials = {}
do
  local ok, cred = pcall(sspi.credential, { package = "Negotiate", usage = "inbound", user_file = user_file })
  if ok and cred then credentials.Negotiate = cred end
  if user_file then
    ok, cred = pcall(sspi.credential, { package = "NTLM", usage = "inbound", user_file = user_file })
    if ok and cred then credentials.NTLM = cred end
  end
end
local auth = next(credentials) and http.server { credentials = credentials }

-- This state belongs to one connection: one key stands for it.
local CONNECTION = {}

function authenticate(r) -- mod_lua calls a global
  if not auth then
    r:err("sspi-auth: no credentials: set KRB5_KTNAME and/or NTLM_USER_FILE")
    return 500
  end
  local res = auth:authenticate(CONNECTION, r.headers_in["Authorization"])
  if res.status == 200 then
    r.user = res.name
    if res.www_authenticate[1] then -- Kerberos mutual authentication
      r.headers_out["WWW-Authenticate"] = res.www_authenticate[1]
    end
    return apache2.OK
  end
  -- several challenges in one field (RFC 7235): err_headers_out keeps one value per name
  r.err_headers_out["WWW-Authenticate"] = table.concat(res.www_authenticate, ", ")
  if res.reason then r:info("sspi-auth: " .. res.reason) end
  return res.status
end
