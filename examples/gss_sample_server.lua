-- gss_sample_server.lua: a Lua twin of MIT's gss-server (krb5-gss-samples).
--
--   lua5.4 examples/gss_sample_server.lua [-once] PORT SERVICE
--
-- Listens on PORT (all IPv4 addresses, as gss-server does), accepts
-- gss-client connections one after another, establishes a context as
-- SERVICE ("host@localhost"; keys from KRB5_KTNAME), prints the client's
-- name, then unwraps each message, prints it and answers with a MIC when
-- the client asks for one.  Runs until killed (or after one connection
-- with -once).  Prints "starting..." on stderr once it is listening.

local sspi = require "sspi"
local socket = require "socket"
local handshake = require "sspi.handshake"
local transport = require "sspi.transport"

local USAGE = "usage: lua5.4 examples/gss_sample_server.lua [-once] PORT SERVICE\n"

local args, once = {}, false
for _, a in ipairs(arg) do
  if a == "-once" then once = true else args[#args + 1] = a end
end
local port, service = tonumber(args[1]), args[2]
if #args ~= 2 or not port or port ~= math.floor(port) or port < 0 or port > 65535 then
  io.stderr:write(USAGE)
  os.exit(2)
end

local cred, cerr = sspi.credential{ package = "Kerberos", usage = "inbound", username = service }
if not cred then
  io.stderr:write("acquiring credentials for ", service, ": ", tostring(cerr), "\n")
  os.exit(1)
end

local server = assert(socket.bind("0.0.0.0", port))
io.stderr:write("starting...\n")
io.stderr:flush()

-- One connection: the whole of gss-server's sign_server.
local function serve(conn)
  conn:settimeout(30)
  local t = transport.gss_sample(conn)
  local authenticated, err = t:server_start()
  if authenticated == nil then return nil, err end
  local ctx
  if authenticated then
    ctx = sspi.context(cred)
    local res, herr = handshake.server(ctx, t, { max_steps = 8 })
    if not res then ctx:close(); return nil, herr end
    local names = ctx:query("names")
    io.stdout:write(string.format("Accepted connection: %q\n", names and names.user or "?"))
  else
    io.stdout:write("Accepted unauthenticated connection.\n")
  end
  io.stdout:flush()
  local count, merr = t:server_messages(ctx, function(text, info)
    io.stdout:write(string.format("Received message%s: %q\n",
                                  info.encrypted and " (encrypted)" or "", text))
    io.stdout:flush()
  end)
  if ctx then ctx:close() end
  if not count then return nil, merr end
  return true
end

repeat
  local conn = server:accept()
  if conn then
    -- a bug or a hostile client must not end a server that runs until killed
    local called, ok, err = pcall(serve, conn)
    if not called then ok, err = false, ok end
    if not ok then
      io.stderr:write("connection failed: ", handshake.describe(err), "\n")
      io.stderr:flush()
    end
    conn:close()
  end
until once
server:close()
