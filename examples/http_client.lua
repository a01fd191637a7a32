-- examples/http_client.lua URL [CA]
--
-- Fetches URL with LuaSocket's socket.http, answering Negotiate (and NTLM)
-- challenges with the default credentials (the Kerberos ticket cache,
-- KRB5CCNAME), and prints the status line and the body.  An https:// URL
-- goes over sspi.tls (the Schannel package), checking the server against
-- CA (a PEM file; default the system's trust anchors), and the handshake
-- carries the TLS channel bindings (Extended Protection).  Exits 0 on a
-- 2xx answer, 1 on any other answer, 2 on an error (the server could not
-- be reached, or did not authenticate itself).

local http = require "sspi.http"

local url, ca = arg[1], arg[2]
if not url or not url:match("^https?://") then
  io.stderr:write("usage: lua5.4 examples/http_client.lua http[s]://HOST[:PORT]/PATH [CA]\n")
  os.exit(2)
end

local opts
if url:match("^https://") then
  local sspi = require "sspi"
  opts = { tls = { credential = assert(sspi.credential{ package = "Schannel", usage = "outbound",
    ca = ca }) } }
end

local body, code, _, status = http.request(url, nil, opts)
if not body then
  io.stderr:write("http_client: ", tostring(code), "\n")
  os.exit(2)
end
io.write(status or tostring(code), "\n", body)
if body ~= "" and body:sub(-1) ~= "\n" then io.write("\n") end
os.exit(code >= 200 and code < 300 and 0 or 1)
