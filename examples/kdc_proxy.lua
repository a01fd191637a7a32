-- examples/kdc_proxy.lua PORT CERT KEY KDC_HOST:KDC_PORT [REALM,...]
--
-- An MS-KKDCP KDC proxy (sspi.kdcproxy) over HTTPS (sspi.tls, the Schannel
-- package; CERT and KEY are PEM files) at https://127.0.0.1:PORT/KdcProxy:
-- each POSTed KDC-PROXY-MESSAGE goes to the KDC at KDC_HOST:KDC_PORT over
-- TCP and its reply comes back the same way.  REALM,... lists the realms it
-- serves (the KDC_PROXY_REALMS environment variable, same syntax, when not
-- given); without either, any realm.  MIT's kinit uses it with
--
--   [realms]
--     EXAMPLE.COM = {
--       kdc = https://127.0.0.1:PORT/KdcProxy
--       http_anchors = FILE:/path/to/ca.pem
--     }
--
-- One connection at a time (a KDC exchange takes milliseconds; a client
-- gets client_timeout seconds to send its request).  Prints "ready PORT"
-- when listening; runs until killed; logs one line per request to stderr.

local socket = require "socket"
local sspi = require "sspi"
local tls = require "sspi.tls"
local kdcproxy = require "sspi.kdcproxy"

local port, cert, key, kdc = tonumber(arg[1]), arg[2], arg[3], arg[4]
if not (port and cert and key and kdc) then
  io.stderr:write("usage: lua5.4 examples/kdc_proxy.lua PORT CERT KEY KDC_HOST:KDC_PORT [REALM,...]\n")
  os.exit(2)
end

local function log(fmt, ...)
  io.stderr:write(os.date("!%H:%M:%S "), fmt:format(...), "\n")
  io.stderr:flush()
end

local realms
for r in (arg[5] or os.getenv("KDC_PROXY_REALMS") or ""):gmatch("[^,%s]+") do
  realms = realms or {}
  realms[#realms + 1] = r
end

local proxy = kdcproxy.new {
  kdcs = { kdc }, realms = realms, any_realm = realms == nil, path = "/KdcProxy",
  log = function(line) log("%s", line) end,
}
local cred = assert(sspi.credential { package = "Schannel", usage = "inbound", certificate = cert,
  private_key = key })

local listener = assert(socket.bind("127.0.0.1", port))
log("KDC proxy on https://127.0.0.1:%d/KdcProxy -> %s (realms: %s)", port, kdc,
  realms and table.concat(realms, ", ") or "any")
io.stdout:write("ready ", port, "\n")
io.stdout:flush()

while true do
  local conn, err = tls.accept(listener, { credential = cred, timeout = 10 })
  if conn then
    -- a bug in the handler is logged; the proxy goes on with the next client
    local ok, perr = pcall(proxy.serve, proxy, conn)
    if not ok then log("handler failed: %s", tostring(perr)) end
    conn:close()
  else
    log("TLS: %s", tostring(err))
  end
end
