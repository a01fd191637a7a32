-- examples/https_server.lua PORT CERT KEY
--
-- HTTPS (sspi.tls, the Schannel package; CERT and KEY are PEM files) with
-- GET /whoami protected by Negotiate and NTLM with Extended Protection:
-- each handshake is bound to its TLS channel (tls-server-end-point channel
-- bindings), so a client that sends none (NTLM) or other ones is refused.
-- Credentials as examples/http_server.lua: KRB5_KTNAME for Negotiate,
-- NTLM_USER_FILE ("DOMAIN:USER:PASSWORD" lines) for NTLM.  Prints
-- "ready PORT" when listening; runs until killed.

if not (tonumber(arg[1]) and arg[2] and arg[3]) then
  io.stderr:write("usage: lua5.4 examples/https_server.lua PORT CERT KEY\n")
  os.exit(2)
end
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
dofile(dir .. "/http_server.lua")
